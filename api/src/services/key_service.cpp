#include "services/key_service.hpp"

#include <set>

#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::api {

using nlohmann::json;

namespace {

std::vector<std::string> DecodeScopes(const json& body) {
    auto it = body.find("scopes");
    if (it == body.end() || it->is_null())
        core::ThrowUnprocessable("'scopes' is required", "scopes");
    if (!it->is_array()) core::ThrowUnprocessable("'scopes' must be an array of strings", "scopes");
    if (it->empty()) core::ThrowUnprocessable("'scopes' must name at least one scope", "scopes");
    if (it->size() > 32) core::ThrowUnprocessable("'scopes' has more than 32 entries", "scopes");
    std::set<std::string> seen;
    std::vector<std::string> out;
    for (size_t i = 0; i < it->size(); ++i) {
        const auto& v = (*it)[i];
        std::string field = "scopes[" + std::to_string(i) + "]";
        if (!v.is_string()) core::ThrowUnprocessable(field + " must be a string", field);
        auto name = v.get<std::string>();
        if (!core::ParseScope(name)) {
            std::string known;
            for (auto s : core::AllScopeNames())
                known += (known.empty() ? "" : ", ") + std::string(s);
            core::ThrowUnprocessable("unknown scope '" + name + "'; known scopes: " + known, field);
        }
        if (seen.insert(name).second) out.push_back(name);
    }
    return out;
}

}  // namespace

CreateKeyRequest DecodeCreateKey(const json& j) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"name", "scopes", "expires_in"});
    CreateKeyRequest r;
    r.name = core::RequireName(body, "name", 128);
    r.scopes = DecodeScopes(body);
    r.expires_in_s = core::OptionalInt(body, "expires_in", 60, 315360000);
    return r;
}

KeyService::KeyService(store::KeyRepository& keys) : keys_(keys) {}

CreatedKey KeyService::Create(const core::Actor& actor,
                              const core::TenantId& tenant,
                              const CreateKeyRequest& r) {
    auto gen = core::GenerateApiKey();
    auto key = keys_.Create(actor, tenant, r.name, r.scopes, r.expires_in_s, gen);
    return {std::move(key), gen.plaintext};
}

void KeyService::Revoke(const core::Actor& actor,
                        const core::TenantId& tenant,
                        const std::string& id) {
    keys_.Revoke(actor, tenant, id);
}

}  // namespace recs::api

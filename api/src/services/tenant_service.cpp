#include "services/tenant_service.hpp"

#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/log.hpp"
#include "recs/core/text.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::api {

using nlohmann::json;

namespace {

core::TenantStatus StatusOrThrow(const std::string& name, const std::string& field) {
    auto s = core::ParseTenantStatus(name);
    if (!s) core::ThrowUnprocessable("'status' must be 'active' or 'suspended'", field);
    return *s;
}

// A unique violation of the repository becomes a conflict that names the field.
template <typename F>
core::Tenant NameMustBeFree(const std::string& name, F&& f) {
    try {
        return f();
    } catch (const core::Error& e) {
        if (e.code() == core::ErrorCode::kConflict)
            core::ThrowConflict("a tenant named '" + name + "' already exists", "name");
        throw;
    }
}

}  // namespace

CreateTenantRequest DecodeCreateTenant(const json& j) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"name"});
    return {core::RequireName(body, "name", 128)};
}

UpdateTenantRequest DecodeUpdateTenant(const json& j) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"name", "status"});
    UpdateTenantRequest r;
    r.name = core::OptionalString(body, "name", 128);
    if (r.name) core::CheckIdText(*r.name, "name", 128);
    if (auto s = core::OptionalString(body, "status", 32)) r.status = StatusOrThrow(*s, "status");
    if (!r.name && !r.status)
        core::ThrowUnprocessable("nothing to change: send 'name' or 'status'");
    return r;
}

std::optional<core::TenantStatus> DecodeTenantStatusFilter(const std::optional<std::string>& q) {
    if (!q) return std::nullopt;
    return StatusOrThrow(*q, "status");
}

TenantService::TenantService(store::TenantRepository& tenants,
                             store::EventStream* stream,
                             core::PredictionPool* pool,
                             Forget forget)
    : tenants_(tenants), stream_(stream), pool_(pool), forget_(std::move(forget)) {}

core::Tenant TenantService::Create(const core::Actor& actor, const CreateTenantRequest& r) {
    return NameMustBeFree(r.name, [&] { return tenants_.Create(actor, r.name); });
}

core::Tenant TenantService::Update(const core::Actor& actor,
                                   const std::string& tenant_id,
                                   const UpdateTenantRequest& r) {
    return NameMustBeFree(r.name.value_or(""),
                          [&] { return tenants_.Update(actor, tenant_id, r.name, r.status); });
}

void TenantService::Delete(const core::Actor& actor, const std::string& tenant_id) {
    tenants_.Delete(actor, tenant_id);
    const core::TenantId id{tenant_id};
    if (forget_) forget_(id);
    try {
        if (stream_) stream_->Delete(id);
    } catch (const core::Error& e) {
        core::Log(core::LogLevel::kWarn, "event stream of a deleted tenant not removed",
                  {{"tenant", tenant_id}, {"error", e.detail()}});
    }
    try {
        if (pool_) pool_->Evict(tenant_id);
    } catch (const core::Error& e) {
        core::Log(core::LogLevel::kWarn, "a deleted tenant's models not evicted from the pool",
                  {{"tenant", tenant_id}, {"error", e.detail()}});
    }
}

}  // namespace recs::api

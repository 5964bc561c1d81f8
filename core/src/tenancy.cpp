#include "recs/core/tenancy.hpp"

#include <algorithm>
#include <array>

#include "recs/core/crypto.hpp"

namespace recs::core {
namespace {

struct ScopeEntry {
    std::string_view name;
    Scope scope;
};

constexpr std::array<ScopeEntry, 12> kScopes = {{
    {"admin", Scope::kAdmin},
    {"predict", Scope::kPredict},
    {"events:write", Scope::kEventsWrite},
    {"events:read", Scope::kEventsRead},
    {"models:read", Scope::kModelsRead},
    {"models:write", Scope::kModelsWrite},
    {"jobs:read", Scope::kJobsRead},
    {"jobs:write", Scope::kJobsWrite},
    {"experiments:read", Scope::kExperimentsRead},
    {"experiments:write", Scope::kExperimentsWrite},
    {"features:read", Scope::kFeaturesRead},
    {"features:write", Scope::kFeaturesWrite},
}};

}  // namespace

const std::vector<std::string_view>& AllScopeNames() {
    static const std::vector<std::string_view> names = [] {
        std::vector<std::string_view> v;
        for (const auto& e : kScopes) v.push_back(e.name);
        return v;
    }();
    return names;
}

std::string_view TenantStatusName(TenantStatus s) {
    return s == TenantStatus::kSuspended ? "suspended" : "active";
}

std::optional<TenantStatus> ParseTenantStatus(std::string_view name) {
    if (name == "active") return TenantStatus::kActive;
    if (name == "suspended") return TenantStatus::kSuspended;
    return std::nullopt;
}

std::optional<Scope> ParseScope(std::string_view name) {
    for (const auto& e : kScopes)
        if (e.name == name) return e.scope;
    return std::nullopt;
}

std::string_view ScopeName(Scope s) {
    for (const auto& e : kScopes)
        if (e.scope == s) return e.name;
    return "";
}

bool Principal::HasScope(Scope s) const {
    if (platform_admin) return true;
    auto name = ScopeName(s);
    // Features had no scopes of their own before features:*: the models scopes still grant them.
    std::string_view legacy = s == Scope::kFeaturesRead    ? "models:read"
                              : s == Scope::kFeaturesWrite ? "models:write"
                                                           : "";
    return std::any_of(scopes.begin(), scopes.end(), [&](const std::string& x) {
        return x == name || x == "admin" || (!legacy.empty() && x == legacy);
    });
}

GeneratedKey GenerateApiKey() {
    GeneratedKey k;
    k.prefix = RandomToken(8);
    k.plaintext = "rk_" + k.prefix + "_" + RandomToken(32);
    k.hash = Sha256Hex(k.plaintext);
    return k;
}

}  // namespace recs::core

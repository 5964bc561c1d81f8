#include "serving_resolver.hpp"

#include <charconv>

#include "recs/core/error.hpp"
#include "recs/store/canary_store.hpp"

namespace recs::api {

const core::ServingTarget& Resolution::For(const std::string& unit_id, bool* in_canary) const {
    bool in = canary && core::InCanaryCohort(model_id, unit_id, canary->canary.traffic_pct);
    if (in_canary) *in_canary = in;
    return in ? canary->target : deployed;
}

Resolution ServingResolver::ResolveAll(const core::TenantId& tenant, const std::string& spec) {
    std::string key = tenant.value + "|" + spec;
    auto now = std::chrono::steady_clock::now();
    if (auto hit = cache_.Get(key, now)) return *hit;
    try {
        auto t = Load(tenant, spec);
        cache_.Put(key, t, now);
        return t;
    } catch (const core::Error& e) {
        if (e.code() != core::ErrorCode::kUnavailable) throw;
        if (auto stale = cache_.GetStale(key, now, std::chrono::minutes(10))) return *stale;
        throw;
    }
}

void ServingResolver::Invalidate(const core::TenantId& tenant) {
    std::string prefix = tenant.value + "|";
    cache_.EraseIf(
        [&](const std::string& k, const Resolution&) { return k.rfind(prefix, 0) == 0; });
}

Resolution ServingResolver::Load(const core::TenantId& tenant, const std::string& spec) {
    std::string name = spec;
    std::optional<int> number;
    auto at = spec.find('@');
    if (at != std::string::npos) {
        name = spec.substr(0, at);
        std::string v = spec.substr(at + 1);
        if (!v.empty() && (v[0] == 'v' || v[0] == 'V')) v.erase(0, 1);
        int n = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (name.empty() || v.empty() || ec != std::errc() || p != v.data() + v.size() || n < 1)
            core::ThrowUnprocessable("'model' must be 'name' or 'name@version'", "model");
        number = n;
    }
    std::optional<core::ModelDef> model =
        name.empty() ? models_.FindDefault(tenant) : models_.FindByName(tenant, name);
    if (!model) {
        if (name.empty())
            core::ThrowNotFound(
                "no model named in the request and no default model (PATCH a "
                "model with is_default: true)");
        core::ThrowNotFound("model '" + name + "' not found");
    }
    std::optional<core::ModelVersion> v;
    if (number) {
        v = models_.FindVersionByNumber(tenant, model->id, *number);
        if (!v)
            core::ThrowNotFound("model '" + model->name + "' has no version " +
                                std::to_string(*number));
        if (v->status == "failed") core::ThrowConflict("that version failed and cannot serve");
    } else {
        if (!model->deployed_version_id)
            core::ThrowConflict("model '" + model->name +
                                "' has no deployed version: train it, then deploy a version");
        v = models_.FindVersion(tenant, model->id, *model->deployed_version_id);
        if (!v) core::ThrowConflict("the deployed version of '" + model->name + "' is gone");
    }
    Resolution out;
    out.model_id = model->id;
    out.deployed = core::ServingTarget{tenant.value,       model->name,         v->id,
                                       v->version,         model->algorithm,    v->artifact_path,
                                       v->artifact_sha256, model->deployed_pool};
    if (!number && canaries_) {
        if (auto c = canaries_->Active(tenant, model->id)) {
            if (auto cv = models_.FindVersion(tenant, model->id, c->version_id)) {
                core::ServingTarget t = out.deployed;
                t.version_id = cv->id;
                t.version = cv->version;
                t.artifact_path = cv->artifact_path;
                t.artifact_sha256 = cv->artifact_sha256;
                t.pool = c->pool;
                out.canary = CanaryRoute{*c, std::move(t)};
            }
        }
    }
    return out;
}

}  // namespace recs::api

#include "services/predict_service.hpp"

#include <chrono>
#include <unordered_map>

#include "canary_monitor.hpp"
#include "recs/core/domain.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/text.hpp"
#include "recs/store/feature_store.hpp"
#include "serving_resolver.hpp"

namespace recs::api {
namespace {

using nlohmann::json;
constexpr size_t kMaxIds = 10000;

std::vector<std::string> IdList(const json& body, const std::string& field) {
    std::vector<std::string> out;
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) return out;
    if (!it->is_array()) core::ThrowUnprocessable("'" + field + "' must be an array", field);
    if (it->size() > kMaxIds)
        core::ThrowUnprocessable("'" + field + "' has more than 10000 ids", field);
    for (size_t i = 0; i < it->size(); ++i) {
        const auto& v = (*it)[i];
        std::string f = field + "[" + std::to_string(i) + "]";
        if (v.is_string()) {
            core::CheckIdText(v.get_ref<const std::string&>(), f, core::kMaxIdBytes);
            out.push_back(v.get<std::string>());
        } else if (v.is_number_integer()) {
            out.push_back(v.dump());
        } else {
            core::ThrowUnprocessable(f + " must be a non-empty string or an integer", f);
        }
    }
    return out;
}

}  // namespace

PredictRequest DecodePredict(const json& body) {
    core::RequireObject(body);
    core::RejectUnknownFields(
        body, {"user_id", "limit", "candidate_ids", "exclude_ids", "filters", "exclude_seen",
               "model", "return_scores", "explain", "context", "surface"});
    PredictRequest r;
    r.rank.user_id = core::RequireId(body, "user_id");
    r.rank.limit = static_cast<size_t>(core::OptionalInt(body, "limit", 1, 500).value_or(10));
    if (body.contains("candidate_ids") && !body["candidate_ids"].is_null())
        r.rank.candidate_ids = IdList(body, "candidate_ids");
    for (auto& id : IdList(body, "exclude_ids")) r.rank.exclude_ids.insert(std::move(id));
    r.rank.exclude_seen = core::OptionalBool(body, "exclude_seen").value_or(true);
    r.return_scores = core::OptionalBool(body, "return_scores").value_or(true);
    r.explain = core::OptionalBool(body, "explain").value_or(false);
    auto ctx = body.find("context");
    if (ctx != body.end() && !ctx->is_null() && !ctx->is_object())
        core::ThrowUnprocessable("'context' must be an object", "context");
    if (ctx != body.end() && core::JsonSize(*ctx) > 16 * 1024)
        core::ThrowUnprocessable("'context' is larger than 16 KiB", "context");
    if (body.contains("filters") && !body["filters"].is_null()) {
        r.filters = body["filters"];
        core::ValidateFilters(r.filters);
    }
    r.model = core::OptionalString(body, "model", 200).value_or("");
    r.surface = core::OptionalString(body, "surface", 64).value_or("");
    if (!r.surface.empty()) core::CheckIdText(r.surface, "surface", 64);
    if (ctx != body.end() && ctx->is_object()) {
        auto sid = ctx->find("session_id");
        if (sid != ctx->end() && sid->is_string() && !sid->get_ref<const std::string&>().empty()) {
            r.session_id = sid->get<std::string>();
            core::CheckIdText(r.session_id, "context.session_id", core::kMaxIdBytes);
        }
    }
    return r;
}

PredictService::PredictService(ServingResolver& resolver,
                               store::FeatureRepository& features,
                               core::PredictionPool* pool,
                               CanaryMonitor* canaries)
    : resolver_(resolver), features_(features), pool_(pool), canaries_(canaries) {}

core::PredictionPool& PredictService::pool() {
    if (!pool_)
        throw core::Error(core::ErrorCode::kUnavailable,
                          "no prediction pool is attached to this api process");
    return *pool_;
}

PredictOutcome PredictService::Predict(const core::TenantId& tenant, const PredictRequest& r) {
    PredictOutcome out;
    auto resolution = resolver_.ResolveAll(tenant, r.model);
    // An experiment's variant with a pool of its own pins the deployed version there (the
    // canary's version is loaded on the canary's pool only).
    out.target = r.pool.empty() ? resolution.For(r.rank.user_id, &out.canary) : resolution.deployed;
    if (!r.pool.empty()) out.target.pool = r.pool;
    // Predictions of a model with a guarded canary are timed on both sides for its guard.
    const bool watched = canaries_ && resolution.canary && resolution.canary->canary.guard;
    auto started = std::chrono::steady_clock::now();
    auto record = [&](bool ok) {
        if (!watched) return;
        double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count();
        canaries_->Record(resolution.canary->canary, out.canary, ok, ms);
    };
    bool pool_failed = false;
    try {
        Rank(tenant, r, out, &pool_failed);
    } catch (...) {
        // Only the pool's failures say something of the version that serves (not a request's
        // own fault, nor the feature store's).
        if (pool_failed) record(false);
        throw;
    }
    record(true);
    return out;
}

void PredictService::Rank(const core::TenantId& tenant,
                          const PredictRequest& r,
                          PredictOutcome& out,
                          bool* pool_failed) {
    auto rank = [&](const core::RankRequest& req) {
        try {
            return pool().Rank(out.target, req);
        } catch (const core::Error& e) {
            *pool_failed =
                e.code() == core::ErrorCode::kUnavailable || e.code() == core::ErrorCode::kInternal;
            throw;
        } catch (...) {
            *pool_failed = true;
            throw;
        }
    };
    core::RankRequest rr = r.rank;
    if (r.filters.is_null() || r.filters.empty()) {
        out.result = rank(rr);
        return;
    }
    // Rank a wide slate, keep what passes the item-feature filters; widen once if short.
    size_t wanted = rr.limit;
    size_t first = std::min(std::max<size_t>(wanted * 20, 500), kMaxFilterSlate);
    std::vector<size_t> passes = {first};
    if (first < kMaxFilterSlate) passes.push_back(kMaxFilterSlate);
    auto& result = out.result;
    for (size_t wide : passes) {
        rr.limit = wide;
        auto slate = rank(rr);
        std::vector<std::string> ids;
        for (auto& it : slate.items) ids.push_back(it.item_id);
        std::unordered_map<std::string, json> feats;
        for (auto& [id, f] : features_.FindItems(tenant, ids)) feats[id] = std::move(f);
        result.cold_start = slate.cold_start;
        result.items.clear();
        for (auto& it : slate.items) {
            auto f = feats.find(it.item_id);
            if (f != feats.end() && core::MatchesFilters(f->second, r.filters)) {
                result.items.push_back(std::move(it));
                if (result.items.size() == wanted) break;
            }
        }
        if (result.items.size() == wanted || slate.items.size() < wide) break;
    }
}

}  // namespace recs::api

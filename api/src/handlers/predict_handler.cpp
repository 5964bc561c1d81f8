#include <chrono>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "handlers/handlers.hpp"
#include "http/problem.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/domain.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/text.hpp"
#include "services/experiment_service.hpp"
#include "services/predict_service.hpp"
#include "services/quota_service.hpp"
#include "serving_resolver.hpp"

namespace recs::api {
namespace {

using nlohmann::json;
/// The most items a batch may ask for in all (sum of its requests' limits).
constexpr size_t kMaxBatchItems = 20000;

std::string NowIso() {
    return core::FormatIso8601Ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

core::PredictionPool& Pool(Services& s) { return s.predict_service->pool(); }

std::string ModelLabel(const core::ServingTarget& t) {
    return t.model_name + "@v" + std::to_string(t.version);
}

/// One prediction: decodes `body`, and answers what the service ranked.
json PredictOne(Services& s,
                const core::TenantId& tenant,
                const json& body,
                const std::string& request_id) {
    auto r = DecodePredict(body);
    // A surface without a model: its running experiment picks the variant (and its pool).
    std::optional<Routed> routed;
    if (r.model.empty() && !r.surface.empty() && s.experiment_service) {
        routed = s.experiment_service->Route(tenant, r.surface, r.rank.user_id, r.session_id);
        if (routed) {
            r.model = routed->variant.model;
            r.pool = routed->variant.pool;
        }
    }
    auto [target, result, by_canary] = s.predict_service->Predict(tenant, r);
    if (routed) s.experiment_service->Exposed(tenant, *routed);  // served: now it counts
    bool scores = r.return_scores, explain = r.explain;
    json items = json::array();
    for (const auto& it : result.items) {
        json j = {{"item_id", it.item_id}, {"reason", it.reason}};
        if (scores) j["score"] = it.score;
        if (explain)
            j["explanation"] = result.cold_start
                                   ? "the user is unknown to the model: most popular items"
                                   : "scored by " + target.algorithm + " from the user's history";
        items.push_back(std::move(j));
    }
    json out = {{"request_id", request_id},
                {"model", ModelLabel(target)},
                {"items", std::move(items)},
                {"served_at", NowIso()}};
    if (result.cold_start) out["cold_start"] = true;
    if (by_canary) out["canary"] = true;
    if (routed) {
        out["experiment"] = {{"id", routed->experiment_id}, {"name", routed->experiment_name}};
        out["variant"] = routed->variant.id;
        if (routed->forced) out["forced"] = true;
    }
    return out;
}

Response Predict(Services& s, Request& req) {
    return Response::Json(200, PredictOne(s, req.Tenant(), req.json, req.request_id).dump());
}

Response User(Services& s, Request& req) {
    json body = {{"user_id", req.Param("user_id")}};
    if (auto l = req.Query("limit")) body["limit"] = core::ParseIntParam("limit", *l, 1, 500);
    if (auto m = req.Query("model")) body["model"] = *m;
    if (auto sf = req.Query("surface")) body["surface"] = *sf;
    if (auto sid = req.Query("session_id")) body["context"] = {{"session_id", *sid}};
    return Response::Json(200, PredictOne(s, req.Tenant(), body, req.request_id).dump());
}

Response Score(Services& s, Request& req) {
    const auto& body = core::RequireObject(req.json);
    core::RejectUnknownFields(body, {"user_id", "candidates", "return_sorted", "model"});
    auto user = core::RequireId(body, "user_id");
    auto it = body.find("candidates");
    if (it == body.end() || !it->is_array() || it->empty() || it->size() > 1000)
        core::ThrowUnprocessable("'candidates' must be an array of 1..1000 {item_id} objects",
                                 "candidates");
    std::vector<std::string> items;
    for (size_t i = 0; i < it->size(); ++i) {
        std::string f = "candidates[" + std::to_string(i) + "]";
        if (!(*it)[i].is_object()) core::ThrowUnprocessable(f + " must be an object", f);
        core::RejectUnknownFields((*it)[i], {"item_id"}, f + ".");
        items.push_back(core::RequireId((*it)[i], "item_id"));
    }
    bool sorted = core::OptionalBool(body, "return_sorted").value_or(false);
    auto target =
        s.resolver->Resolve(req.Tenant(), core::OptionalString(body, "model", 200).value_or(""));
    auto scores = Pool(s).Score(target, user, items);
    std::vector<std::pair<std::string, std::optional<float>>> rows;
    for (size_t i = 0; i < items.size(); ++i) rows.emplace_back(items[i], scores[i]);
    if (sorted)
        std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
            return a.second.value_or(-1e30f) > b.second.value_or(-1e30f);
        });
    json out = json::array();
    for (auto& [id, sc] : rows) {
        json j = {{"item_id", id}};
        j["score"] = sc ? json(*sc) : json();
        if (!sc) j["reason"] = "unknown_item";
        out.push_back(std::move(j));
    }
    return Response::Json(200, json{{"request_id", req.request_id},
                                    {"model", ModelLabel(target)},
                                    {"items", out},
                                    {"served_at", NowIso()}}
                                   .dump());
}

Response Related(Services& s, Request& req) {
    size_t limit = 10;
    if (auto l = req.Query("limit"))
        limit = static_cast<size_t>(core::ParseIntParam("limit", *l, 1, 500));
    auto target = s.resolver->Resolve(req.Tenant(), req.Query("model").value_or(""));
    json items = json::array();
    for (auto& it : Pool(s).Related(target, req.Param("item_id"), limit))
        items.push_back({{"item_id", it.item_id}, {"score", it.score}});
    return Response::Json(200, json{{"request_id", req.request_id},
                                    {"model", ModelLabel(target)},
                                    {"item_id", req.Param("item_id")},
                                    {"items", items}}
                                   .dump());
}

Response Batch(Services& s, Request& req) {
    const auto& body = core::RequireObject(req.json);
    core::RejectUnknownFields(body, {"requests"});
    auto it = body.find("requests");
    if (it == body.end() || !it->is_array() || it->empty() || it->size() > 1000)
        core::ThrowUnprocessable("'requests' must be an array of 1..1000 predict requests",
                                 "requests");
    // The work and the response of one batch are bounded (finding M16).
    size_t total = 0;
    for (const auto& r : *it) {
        auto l = r.is_object() ? r.find("limit") : r.end();
        total += l != r.end() && l->is_number_unsigned()
                     ? std::min<uint64_t>(l->get<uint64_t>(), 500)
                     : 10;
    }
    if (total > kMaxBatchItems)
        core::ThrowUnprocessable("the batch asks for " + std::to_string(total) +
                                     " items in all; at most " + std::to_string(kMaxBatchItems) +
                                     " (the sum of the requests' limits)",
                                 "requests");
    // Each request of the batch is a prediction of the monthly quota (the route admitted one).
    if (s.quota_service && it->size() > 1) {
        s.quota_service->AdmitPredictions(req.Tenant(), static_cast<int64_t>(it->size()) - 1);
        s.quota_service->Count(req.Tenant(), "predictions", static_cast<int64_t>(it->size()) - 1);
    }
    json results = json::array();
    for (size_t i = 0; i < it->size(); ++i) {
        std::string rid = req.request_id + "-" + std::to_string(i);
        try {
            results.push_back({{"index", i},
                               {"status", 200},
                               {"response", PredictOne(s, req.Tenant(), (*it)[i], rid)}});
        } catch (const core::Error& e) {
            auto p = ProblemResponse(e, req.path);
            results.push_back({{"index", i}, {"status", p.status}, {"error", json::parse(p.body)}});
        }
    }
    return Response::Json(200, json{{"results", results}}.dump());
}

}  // namespace

void RegisterPredictRoutes(Router& router, Services& s) {
    const auto t = AuthMode::kTenant;
    const auto p = core::Scope::kPredict;
    auto add = [&](const char* m, const char* path, Response (*fn)(Services&, Request&),
                   BodyKind body) {
        router.Add({.method = m,
                    .path = path,
                    .auth = t,
                    .scope = p,
                    .handler = [&s, fn](Request& req) { return fn(s, req); },
                    .body = body});
    };
    add("POST", "/v1/recs/predict", Predict, BodyKind::kJson);
    add("GET", "/v1/recs/users/{user_id}", User, BodyKind::kNone);
    add("POST", "/v1/recs/score", Score, BodyKind::kJson);
    add("GET", "/v1/recs/item/{item_id}/related", Related, BodyKind::kNone);
    add("POST", "/v1/recs/batch/predict", Batch, BodyKind::kJson);
    router.Add({.method = "GET",
                .path = "/v1/recs/pools",
                .auth = AuthMode::kPlatformOrTenant,
                .scope = core::Scope::kModelsRead,
                .handler = [&s](Request&) {
                    auto status = Pool(s).Status();
                    json pools = json::array();
                    const json listed = status.value("pools", json::object());
                    for (auto it = listed.begin(); it != listed.end(); ++it)
                        pools.push_back({{"name", it.key()},
                                         {"status", it->value("status", "down")},
                                         {"members", it->value("members", json::array())}});
                    return Response::Json(200, json{{"items", pools}}.dump());
                }});
}

}  // namespace recs::api

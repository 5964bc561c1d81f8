#include <chrono>
#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "http/decode.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "services/quota_service.hpp"

namespace recs::api {
namespace {

using nlohmann::json;
constexpr size_t kMaxBulkItems = 200000;

int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Response Post(Services& s, Request& req) {
    auto ev = core::ParseEvent(req.json, NowMs());
    if (s.quota_service) s.quota_service->AdmitEvents(req.Tenant(), 1);
    store::InsertResult res;
    try {
        res = s.ingestor->Submit(req.Tenant(), {ev});
    } catch (...) {
        if (s.quota_service) s.quota_service->ReturnEvents(req.Tenant(), 1);
        throw;
    }
    if (s.quota_service) {
        s.quota_service->ReturnEvents(req.Tenant(), res.duplicates);
        s.quota_service->Count(req.Tenant(), "events", res.accepted);
    }
    return Response::Json(
        202, json{{"event_id", ev.event_id}, {"duplicate", res.duplicates > 0}}.dump());
}

Response Bulk(Services& s, Request& req) {
    auto start = std::chrono::steady_clock::now();
    int64_t now = NowMs();
    std::vector<core::Event> valid;
    std::vector<const BulkItem*> valid_items;
    json rejected = json::array();
    for (const auto& item : req.items) {
        try {
            if (item.error) throw *item.error;
            valid.push_back(core::ParseEvent(item.value, now));
            valid_items.push_back(&item);
        } catch (const core::Error& e) {
            rejected.push_back(RejectedItem(item, e));
        }
    }
    // The monthly quota admits the first `granted` valid events; the rest are refused with a
    // reason each, so that the answer says exactly what was stored.
    int64_t granted = static_cast<int64_t>(valid.size());
    std::optional<core::Error> over_quota;
    if (s.quota_service && !valid.empty()) {
        try {
            granted = s.quota_service->AdmitEvents(req.Tenant(), granted);
        } catch (const core::Error& e) {
            if (e.code() != core::ErrorCode::kRateLimited) throw;
            granted = 0;
            over_quota = e;
        }
        if (granted < static_cast<int64_t>(valid.size()) && !over_quota)
            over_quota =
                core::Error(core::ErrorCode::kRateLimited,
                            "the monthly quota events_per_month is used up", "events_per_month");
    }
    size_t quota_refused = valid.size() - static_cast<size_t>(granted);
    if (quota_refused > 0) {
        for (size_t i = static_cast<size_t>(granted); i < valid.size(); ++i)
            rejected.push_back(RejectedItem(*valid_items[i], *over_quota));
        valid.resize(static_cast<size_t>(granted));
    }
    store::InsertResult res;
    if (!valid.empty()) {
        try {
            res = s.ingestor->Submit(req.Tenant(), std::move(valid));
        } catch (...) {
            if (s.quota_service) s.quota_service->ReturnEvents(req.Tenant(), granted);
            throw;
        }
    }
    if (s.quota_service) {
        s.quota_service->ReturnEvents(req.Tenant(), res.duplicates);
        s.quota_service->Count(req.Tenant(), "events", res.accepted);
    }
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    json out = {{"accepted", res.accepted},
                {"duplicates", res.duplicates},
                {"rejected", rejected},
                {"took_ms", ms}};
    if (quota_refused > 0) {
        out["quota_refused"] = quota_refused;
        out["quota"] = {{"quota", "events_per_month"},
                        {"detail", over_quota->detail()},
                        {"resets_at", core::MonthOf(std::chrono::system_clock::now()).resets_at}};
    }
    return Response::Json(200, out.dump());
}

Response Get(Services& s, Request& req) {
    auto e = s.events->Find(req.Tenant(), req.Param("event_id"));
    if (!e) core::ThrowNotFound("event not found");
    return Response::Json(200, core::EventJson(*e).dump());
}

}  // namespace

void RegisterEventRoutes(Router& router, Services& s) {
    const auto t = AuthMode::kTenant;
    router.Add({.method = "POST",
                .path = "/v1/recs/events",
                .auth = t,
                .scope = core::Scope::kEventsWrite,
                .handler = [&s](Request& r) { return Post(s, r); },
                .body = BodyKind::kJson});
    router.Add({.method = "POST",
                .path = "/v1/recs/events/bulk",
                .auth = t,
                .scope = core::Scope::kEventsWrite,
                .handler = [&s](Request& r) { return Bulk(s, r); },
                .body = BodyKind::kBulk,
                .max_items = kMaxBulkItems});
    router.Add({.method = "GET",
                .path = "/v1/recs/events/{event_id}",
                .auth = t,
                .scope = core::Scope::kEventsRead,
                .handler = [&s](Request& r) { return Get(s, r); }});
}

}  // namespace recs::api

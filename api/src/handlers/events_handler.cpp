#include <chrono>
#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "http/decode.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"

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
    auto res = s.ingestor->Submit(req.Tenant(), {ev});
    return Response::Json(
        202, json{{"event_id", ev.event_id}, {"duplicate", res.duplicates > 0}}.dump());
}

Response Bulk(Services& s, Request& req) {
    auto start = std::chrono::steady_clock::now();
    int64_t now = NowMs();
    std::vector<core::Event> valid;
    json rejected = json::array();
    for (const auto& item : req.items) {
        try {
            if (item.error) throw *item.error;
            valid.push_back(core::ParseEvent(item.value, now));
        } catch (const core::Error& e) {
            rejected.push_back(RejectedItem(item, e));
        }
    }
    store::InsertResult res;
    if (!valid.empty()) res = s.ingestor->Submit(req.Tenant(), std::move(valid));
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return Response::Json(200, json{{"accepted", res.accepted},
                                    {"duplicates", res.duplicates},
                                    {"rejected", rejected},
                                    {"took_ms", ms}}
                                   .dump());
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

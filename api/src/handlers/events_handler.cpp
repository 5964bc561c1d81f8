#include <chrono>
#include <nlohmann/json.hpp>

#include "handlers/bulk_body.hpp"
#include "handlers/handlers.hpp"
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
    auto body = core::ParseJsonBody(req.body);
    auto ev = core::ParseEvent(body, NowMs());
    auto res = s.ingestor->Submit(req.Tenant(), {ev});
    return Response::Json(
        202, json{{"event_id", ev.event_id}, {"duplicate", res.duplicates > 0}}.dump());
}

Response Bulk(Services& s, Request& req) {
    auto start = std::chrono::steady_clock::now();
    int64_t now = NowMs();
    std::vector<core::Event> valid;
    json rejected = json::array();
    auto items = BulkItems(req, kMaxBulkItems, "events");
    for (size_t i = 0; i < items.size(); ++i) {
        try {
            if (items[i].is_discarded()) core::ThrowInvalid("line is not valid JSON");
            valid.push_back(core::ParseEvent(items[i], now));
        } catch (const core::Error& e) {
            rejected.push_back(RejectedItem(i, e));
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
    router.Add({"POST", "/v1/recs/events", t, core::Scope::kEventsWrite, false,
                [&s](Request& r) { return Post(s, r); }});
    router.Add({"POST", "/v1/recs/events/bulk", t, core::Scope::kEventsWrite, false,
                [&s](Request& r) { return Bulk(s, r); }});
    router.Add({"GET", "/v1/recs/events/{event_id}", t, core::Scope::kEventsRead, false,
                [&s](Request& r) { return Get(s, r); }});
}

}  // namespace recs::api

#include <chrono>
#include <nlohmann/json.hpp>

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

bool IsNdjson(const Request& req) {
    const std::string* ct = req.Header("content-type");
    return ct && ct->find("application/x-ndjson") != std::string::npos;
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
    auto take = [&](size_t index, const json& item) {
        try {
            valid.push_back(core::ParseEvent(item, now));
        } catch (const core::Error& e) {
            json r = {{"index", index}, {"detail", e.detail()}};
            r["field"] = e.field() ? json(*e.field()) : json();
            rejected.push_back(std::move(r));
        }
    };
    size_t count = 0;
    if (IsNdjson(req)) {
        size_t pos = 0, index = 0;
        const std::string& b = req.body;
        while (pos < b.size()) {
            size_t end = b.find('\n', pos);
            if (end == std::string::npos) end = b.size();
            std::string_view line(b.data() + pos, end - pos);
            pos = end + 1;
            while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
                line.remove_suffix(1);
            if (line.empty()) continue;  // blank lines are skipped, not counted
            if (++count > kMaxBulkItems)
                core::ThrowUnprocessable("at most 200000 events per request");
            auto j = json::parse(line, nullptr, false);
            if (j.is_discarded()) {
                rejected.push_back(
                    {{"index", index}, {"field", nullptr}, {"detail", "line is not valid JSON"}});
            } else {
                take(index, j);
            }
            ++index;
        }
    } else {
        auto body = core::ParseJsonBody(req.body);
        if (!body.is_array())
            core::ThrowUnprocessable(
                "the body must be a JSON array of events (or NDJSON with Content-Type "
                "application/x-ndjson)");
        if (body.size() > kMaxBulkItems)
            core::ThrowUnprocessable("at most 200000 events per request");
        for (size_t i = 0; i < body.size(); ++i) take(i, body[i]);
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

#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"

namespace recs::api {

void RegisterHealthRoutes(Router& router, Services& s) {
    router.Add({.method = "GET",
                .path = "/v1/recs/health",
                .auth = AuthMode::kNone,
                .run_inline = true,
                .handler = [&s](Request&) {
                    auto report = s.health->Snapshot();
                    bool draining = s.draining.load();
                    nlohmann::json j = {
                        {"status", draining ? "draining" : (report.up ? "ok" : "degraded")},
                        {"version", RECS_VERSION},
                        {"checks", report.checks},
                        {"checked_ms_ago", report.age_ms}};
                    Response r = Response::Json(report.up && !draining ? 200 : 503, j.dump());
                    if (r.status == 503) r.headers.emplace_back("Retry-After", "1");
                    return r;
                }});
    router.Add({.method = "GET",
                .path = "/metrics",
                .auth = AuthMode::kNone,
                .run_inline = true,
                .handler = [&s](Request&) {
                    return Response{200, s.metrics.Render(), "text/plain; version=0.0.4", {}};
                }});
}

}  // namespace recs::api

// libFuzzer target over the HTTP framing path the api runs before a handler: Pistache's request
// parser (fed in two pieces, as reads arrive), the checked Content-Length, path splitting and
// percent-decoding, routing, and the request text checks.
#include <pistache/http.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "http/decode.hpp"
#include "http/pistache_adapter.hpp"
#include "http/router.hpp"
#include "recs/core/error.hpp"

namespace {

recs::api::Router& Routes() {
    static recs::api::Router r = [] {
        recs::api::Router router;
        for (const char* p :
             {"/v1/recs/events/{event_id}", "/v1/recs/models/{model_id}",
              "/v1/recs/models/{model_id}/versions/{version_id}/deploy",
              "/v1/recs/features/entities/{entity_type}/{entity_id}", "/v1/recs/health"})
            router.Add({.method = "GET", .path = p, .handler = {}});
        return router;
    }();
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static bool installed = (recs::api::InstallHeaderGuards(1 << 16), true);
    (void)installed;
    std::string raw(reinterpret_cast<const char*>(data), size);
    Pistache::Http::Private::ParserImpl<Pistache::Http::Request> parser(1 << 16);
    size_t half = size / 2;
    try {
        if (!parser.feed(raw.data(), half)) return 0;
        auto state = parser.parse();
        if (state != Pistache::Http::Private::State::Done) {
            if (!parser.feed(raw.data() + half, size - half)) return 0;
            state = parser.parse();
        }
        if (state != Pistache::Http::Private::State::Done) return 0;
    } catch (const std::exception&) {
        return 0;  // answered with a 400 problem by the handler
    }
    const auto& in = parser.request;
    recs::api::Request req;
    req.method = Pistache::Http::methodString(in.method());
    req.path = in.resource();
    for (auto it = in.query().parameters_begin(); it != in.query().parameters_end(); ++it)
        req.query[recs::api::PercentDecode(it->first)] = recs::api::PercentDecode(it->second);
    for (const auto& [name, value] : in.headers().rawList()) req.headers[name] = value.value();
    auto match = Routes().Find("GET", req.path);
    req.path_params = match.params;
    try {
        recs::api::CheckRequestText(req);
    } catch (const recs::core::Error&) {
    }
    return 0;
}

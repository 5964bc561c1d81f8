// libFuzzer target over the bulk body decoder (a JSON array, or NDJSON lines): the first byte
// picks the Content-Type; every item is decoded on its own and a bad one is only rejected.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/decode.hpp"
#include "recs/core/domain.hpp"
#include "recs/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    static const char* kTypes[] = {"application/json", "application/x-ndjson",
                                   "application/ndjson; charset=utf-8", "text/plain", "text/xml"};
    recs::api::Request req;
    req.headers["content-type"] = kTypes[data[0] % 5];
    req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
    recs::api::RouteSpec route;
    route.body = recs::api::BodyKind::kBulk;
    route.max_items = 1000;
    try {
        recs::api::DecodeBody(route, req);
        for (const auto& item : req.items) {
            if (item.error) {
                (void)recs::api::RejectedItem(item, *item.error);
                continue;
            }
            try {
                (void)recs::core::ParseEvent(item.value, 0);
            } catch (const recs::core::Error& e) {
                (void)recs::api::RejectedItem(item, e);
            }
        }
    } catch (const recs::core::Error&) {
    }
    return 0;
}

// libFuzzer target over the request decoder: the one entry point of request JSON (nesting,
// UTF-8, NUL and number checks), then the validators that walk what it returns; and the
// parsers of webhook input (URL, IP literal, secret, base64, retry schedule).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "recs/core/domain.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/text.hpp"
#include "recs/core/webhook.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)recs::core::FindInvalidUtf8(text);
    (void)recs::core::WebhookUrlProblem(text);
    (void)recs::core::ForbiddenAddressReason(text);
    (void)recs::core::WebhookSecretKey(text);
    (void)recs::core::ParseWebhookSchedule(text);
    if (auto bytes = recs::core::Base64Decode(text))
        if (recs::core::Base64Encode(*bytes).size() < text.size() - text.size() % 4)
            __builtin_trap();
    try {
        auto doc = recs::core::ParseJsonBody(text);
        (void)recs::core::JsonSize(doc);
        try {
            (void)recs::core::ParseEvent(doc, 0);
        } catch (const recs::core::Error&) {
        }
        if (doc.is_object() && doc.contains("filters")) {
            try {
                recs::core::ValidateFilters(doc["filters"]);
                (void)recs::core::MatchesFilters(doc.value("features", nlohmann::json::object()),
                                                 doc["filters"]);
            } catch (const recs::core::Error&) {
            }
        }
        (void)doc.dump();  // recursive: must stay within the depth the decoder allows
    } catch (const recs::core::Error&) {
        // Refused with a 400 or 422: the expected outcome for most inputs.
    }
    return 0;
}

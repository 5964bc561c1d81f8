#include "recs/core/error.hpp"

namespace recs::core {

std::string_view ErrorCodeSlug(ErrorCode code) {
    switch (code) {
        case ErrorCode::kInvalidArgument:
            return "malformed-request";
        case ErrorCode::kUnprocessable:
            return "validation-failed";
        case ErrorCode::kUnauthenticated:
            return "unauthenticated";
        case ErrorCode::kForbidden:
            return "forbidden";
        case ErrorCode::kNotFound:
            return "not-found";
        case ErrorCode::kMethodNotAllowed:
            return "method-not-allowed";
        case ErrorCode::kConflict:
            return "conflict";
        case ErrorCode::kPayloadTooLarge:
            return "payload-too-large";
        case ErrorCode::kUnsupportedMedia:
            return "unsupported-media-type";
        case ErrorCode::kRateLimited:
            return "rate-limited";
        case ErrorCode::kUnavailable:
            return "unavailable";
        case ErrorCode::kInternal:
            return "internal";
    }
    return "internal";
}

void ThrowInvalid(std::string detail, std::optional<std::string> field) {
    throw Error(ErrorCode::kInvalidArgument, std::move(detail), std::move(field));
}
void ThrowUnprocessable(std::string detail, std::optional<std::string> field) {
    throw Error(ErrorCode::kUnprocessable, std::move(detail), std::move(field));
}
void ThrowNotFound(std::string detail) { throw Error(ErrorCode::kNotFound, std::move(detail)); }
void ThrowConflict(std::string detail, std::optional<std::string> field) {
    throw Error(ErrorCode::kConflict, std::move(detail), std::move(field));
}

}  // namespace recs::core

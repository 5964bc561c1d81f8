#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recs::core {

/// Error codes of the platform. Adding a code requires a mapping in api/src/http/problem.cpp
/// (status and problem type) and in ErrorCodeSlug below.
enum class ErrorCode {
    kInvalidArgument,   ///< malformed request (400)
    kUnprocessable,     ///< well-formed but invalid values (422)
    kUnauthenticated,   ///< no or bad credentials (401)
    kForbidden,         ///< credentials lack the scope (403)
    kNotFound,          ///< unknown or another tenant's resource (404)
    kMethodNotAllowed,  ///< route exists, method does not (405)
    kConflict,          ///< state conflict or duplicate (409)
    kPayloadTooLarge,   ///< body over the limit (413)
    kUnsupportedMedia,  ///< content type not accepted (415)
    kRateLimited,       ///< too many requests (429)
    kUnavailable,       ///< a dependency is down (503)
    kInternal,          ///< a bug (500)
};

/// Stable slug of a code, used as the last path segment of the problem `type`.
std::string_view ErrorCodeSlug(ErrorCode code);

/// The one error type of recsplane. Thrown for failures; mapped to problem+json by api.
class Error : public std::runtime_error {
public:
    Error(ErrorCode code, std::string detail, std::optional<std::string> field = std::nullopt)
        : std::runtime_error(detail),
          code_(code),
          detail_(std::move(detail)),
          field_(std::move(field)) {}

    ErrorCode code() const { return code_; }
    const std::string& detail() const { return detail_; }
    const std::optional<std::string>& field() const { return field_; }
    std::optional<int> retry_after() const { return retry_after_; }
    Error& WithRetryAfter(int seconds) {
        retry_after_ = seconds;
        return *this;
    }
    /// Extension members of the problem: a JSON object's text, merged into the body.
    const std::string& extensions() const { return extensions_; }
    Error& WithExtensions(std::string json_object) {
        extensions_ = std::move(json_object);
        return *this;
    }
    /// Headers the response carries (rate-limit headers of a 429).
    const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
    Error& WithHeader(std::string name, std::string value) {
        headers_.emplace_back(std::move(name), std::move(value));
        return *this;
    }

private:
    ErrorCode code_;
    std::string detail_;
    std::optional<std::string> field_;
    std::optional<int> retry_after_;
    std::string extensions_;
    std::vector<std::pair<std::string, std::string>> headers_;
};

/// Shorthands for the common errors.
[[noreturn]] void ThrowInvalid(std::string detail, std::optional<std::string> field = {});
[[noreturn]] void ThrowUnprocessable(std::string detail, std::optional<std::string> field = {});
[[noreturn]] void ThrowNotFound(std::string detail);
[[noreturn]] void ThrowConflict(std::string detail, std::optional<std::string> field = {});

}  // namespace recs::core

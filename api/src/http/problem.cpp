#include "http/problem.hpp"

#include <nlohmann/json.hpp>

namespace recs::api {
namespace {

constexpr const char* kTypeBase = "https://recsplane.dev/problems/";

const char* TitleOf(int status) {
    switch (status) {
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 411:
            return "Length Required";
        case 409:
            return "Conflict";
        case 413:
            return "Payload Too Large";
        case 415:
            return "Unsupported Media Type";
        case 422:
            return "Unprocessable Content";
        case 429:
            return "Too Many Requests";
        case 503:
            return "Service Unavailable";
        default:
            return "Internal Server Error";
    }
}

const char* SlugOfStatus(int status) {
    switch (status) {
        case 404:
            return "not-found";
        case 405:
            return "method-not-allowed";
        case 413:
            return "payload-too-large";
        case 408:
            return "request-timeout";
        case 411:
            return "length-required";
        case 503:
            return "unavailable";
        case 400:
            return "malformed-request";
        default:
            return "internal";
    }
}

Response Build(int status,
               const std::string& slug,
               const std::string& detail,
               const std::string& instance,
               const std::optional<std::string>& field) {
    nlohmann::json j = {{"type", std::string(kTypeBase) + slug},
                        {"title", TitleOf(status)},
                        {"status", status},
                        {"detail", detail},
                        {"instance", instance}};
    if (field) j["field"] = *field;
    return Response{status,
                    j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/problem+json",
                    {}};
}

}  // namespace

// Adding an ErrorCode requires a mapping here.
int StatusOf(core::ErrorCode code) {
    using core::ErrorCode;
    switch (code) {
        case ErrorCode::kInvalidArgument:
            return 400;
        case ErrorCode::kUnprocessable:
            return 422;
        case ErrorCode::kUnauthenticated:
            return 401;
        case ErrorCode::kForbidden:
            return 403;
        case ErrorCode::kNotFound:
            return 404;
        case ErrorCode::kMethodNotAllowed:
            return 405;
        case ErrorCode::kConflict:
            return 409;
        case ErrorCode::kPayloadTooLarge:
            return 413;
        case ErrorCode::kUnsupportedMedia:
            return 415;
        case ErrorCode::kRateLimited:
            return 429;
        case ErrorCode::kUnavailable:
            return 503;
        case ErrorCode::kInternal:
            return 500;
    }
    return 500;
}

Response ProblemResponse(const core::Error& e, const std::string& instance) {
    int status = StatusOf(e.code());
    std::string detail =
        status == 500 ? "an internal error occurred; quote the request id" : e.detail();
    auto r = Build(status, std::string(core::ErrorCodeSlug(e.code())), detail, instance, e.field());
    if (!e.extensions().empty() && status != 500) {
        auto body = nlohmann::json::parse(r.body);
        auto ext = nlohmann::json::parse(e.extensions(), nullptr, false);
        if (ext.is_object())
            for (auto& [k, v] : ext.items())
                if (!body.contains(k)) body[k] = v;
        r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    for (const auto& h : e.headers()) r.headers.push_back(h);
    // A 503 or 429 always says when to come back.
    if (e.retry_after())
        r.headers.emplace_back("Retry-After", std::to_string(*e.retry_after()));
    else if (status == 503 || status == 429)
        r.headers.emplace_back("Retry-After", "1");
    if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
}

Response ProblemResponse(int status, const std::string& detail, const std::string& instance) {
    return Build(status, SlugOfStatus(status), detail, instance, std::nullopt);
}

}  // namespace recs::api

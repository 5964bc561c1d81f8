#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recs/core/error.hpp"
#include "recs/core/tenancy.hpp"

namespace recs::api {

/// One item of a bulk body: the decoded value, or why it was rejected.
struct BulkItem {
    nlohmann::json value;
    size_t index = 0;                  ///< position among the items (non-blank NDJSON lines)
    std::optional<size_t> line;        ///< NDJSON: the 1-based line of the body
    std::optional<core::Error> error;  ///< set when the item could not be decoded
};

/// A request as handlers see it, decoupled from Pistache.
struct Request {
    std::string method;
    std::string path;
    std::string route;  ///< the matched template, e.g. /v1/recs/keys/{key_id}
    std::map<std::string, std::string> path_params;
    std::map<std::string, std::string> query;
    std::map<std::string, std::string> headers;  ///< lower-case names
    std::string body;
    nlohmann::json json;          ///< the decoded body (BodyKind::kJson, kOptionalJson)
    std::vector<BulkItem> items;  ///< the decoded items (BodyKind::kBulk)
    std::string request_id;
    std::string client;  ///< the peer's address (for throttling failed auth)
    core::Principal principal;

    const std::string* Header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? nullptr : &it->second;
    }
    const std::string& Param(const std::string& name) const { return path_params.at(name); }
    std::optional<std::string> Query(const std::string& name) const {
        auto it = query.find(name);
        if (it == query.end()) return std::nullopt;
        return it->second;
    }
    /// The tenant acted on; present on every tenant-scoped route (checked by the adapter).
    const core::TenantId& Tenant() const { return *principal.tenant; }
    core::Actor Actor() const {
        return principal.platform_admin
                   ? core::Actor{"platform_admin", "admin", "", request_id}
                   : core::Actor{"api_key", principal.key_id, principal.key_prefix, request_id};
    }
};

/// A response to send.
struct Response {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;

    static Response Json(int status, std::string body) {
        return Response{status, std::move(body), "application/json", {}};
    }
    static Response NoContent() { return Response{204, "", "", {}}; }
};

enum class AuthMode {
    kNone,           ///< health, metrics
    kPlatformAdmin,  ///< only RECS_ADMIN_KEY
    kTenant,         ///< a tenant key with the scope, or the admin key with X-Tenant-ID
    /// Platform-wide reads: the admin key alone (X-Tenant-ID optional), or a tenant key with
    /// the scope.
    kPlatformOrTenant,
};

/// What a route's body is; the adapter decodes it (api/src/http/decode.hpp) before the handler.
enum class BodyKind {
    kNone,          ///< no body is read
    kJson,          ///< one JSON document, required
    kOptionalJson,  ///< one JSON document, or an empty body (read as {})
    kBulk,          ///< a JSON array or NDJSON lines, each item decoded on its own
};

using HandlerFn = std::function<Response(Request&)>;

/// One route of the API.
struct RouteSpec {
    std::string method;
    std::string path;
    AuthMode auth = AuthMode::kTenant;
    std::optional<core::Scope> scope = std::nullopt;
    bool run_inline = false;  ///< answered on the reactor thread (no blocking I/O at all)
    HandlerFn handler;
    /// A create route that honours the Idempotency-Key header: a repeat of the same request
    /// returns the first response (without secrets); a different request under the key is 422.
    bool idempotent = false;
    BodyKind body = BodyKind::kNone;
    size_t max_items = 0;  ///< kBulk: the most items a request may carry
};

}  // namespace recs::api

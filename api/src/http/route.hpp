#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recs/core/tenancy.hpp"

namespace recs::api {

/// A request as handlers see it, decoupled from Pistache.
struct Request {
    std::string method;
    std::string path;
    std::string route;  ///< the matched template, e.g. /v1/recs/keys/{key_id}
    std::map<std::string, std::string> path_params;
    std::map<std::string, std::string> query;
    std::map<std::string, std::string> headers;  ///< lower-case names
    std::string body;
    std::string request_id;
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
        return principal.platform_admin ? core::Actor{"platform_admin", "admin"}
                                        : core::Actor{"api_key", principal.key_id};
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
};

using HandlerFn = std::function<Response(Request&)>;

/// One route of the API.
struct RouteSpec {
    std::string method;
    std::string path;
    AuthMode auth = AuthMode::kTenant;
    std::optional<core::Scope> scope;
    bool run_inline = false;  ///< answered on the reactor thread (no blocking I/O at all)
    HandlerFn handler;
    /// A create route that honours the Idempotency-Key header: a repeat of the same request
    /// returns the first response (without secrets); a different request under the key is 422.
    bool idempotent = false;
};

}  // namespace recs::api

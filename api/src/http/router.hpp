#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http/route.hpp"

namespace recs::api {

/// Matches (method, path) against route templates with `{param}` segments.
class Router {
public:
    void Add(RouteSpec spec);

    struct Match {
        const RouteSpec* route = nullptr;  ///< null: no route (404) or wrong method (405)
        std::vector<std::string> allowed;  ///< methods of the path when the method is wrong
        std::map<std::string, std::string> params;
    };
    Match Find(std::string_view method, std::string_view path) const;

    const std::vector<RouteSpec>& routes() const { return routes_; }

private:
    struct Compiled {
        std::vector<std::string> segments;  ///< "{x}" marks a parameter
    };
    std::vector<RouteSpec> routes_;
    std::vector<Compiled> compiled_;
};

/// Decodes %XX escapes (a malformed escape is kept as it is; '+' stays '+').
std::string PercentDecode(std::string_view s);

/// Splits a path on '/', dropping empty segments. Percent-decodes each segment.
std::vector<std::string> SplitPath(std::string_view path);

}  // namespace recs::api

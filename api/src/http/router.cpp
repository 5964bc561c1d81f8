#include "http/router.hpp"

#include <algorithm>

namespace recs::api {
namespace {

int HexVal(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string PercentDecode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int h = HexVal(s[i + 1]), l = HexVal(s[i + 2]);
            if (h >= 0 && l >= 0) {
                out.push_back(static_cast<char>(h * 16 + l));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

std::vector<std::string> SplitPath(std::string_view path) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (j > i) out.push_back(PercentDecode(path.substr(i, j - i)));
        i = j + 1;
    }
    return out;
}

void Router::Add(RouteSpec spec) {
    Compiled c;
    size_t i = 0;
    const std::string& p = spec.path;
    while (i < p.size()) {
        size_t j = p.find('/', i);
        if (j == std::string::npos) j = p.size();
        if (j > i) c.segments.push_back(p.substr(i, j - i));
        i = j + 1;
    }
    routes_.push_back(std::move(spec));
    compiled_.push_back(std::move(c));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
    Match m;
    auto segs = SplitPath(path);
    for (size_t r = 0; r < routes_.size(); ++r) {
        const auto& tmpl = compiled_[r].segments;
        if (tmpl.size() != segs.size()) continue;
        std::map<std::string, std::string> params;
        bool ok = true;
        for (size_t s = 0; s < tmpl.size() && ok; ++s) {
            const auto& t = tmpl[s];
            if (t.size() > 2 && t.front() == '{' && t.back() == '}') {
                if (segs[s].empty())
                    ok = false;
                else
                    params[t.substr(1, t.size() - 2)] = segs[s];
            } else if (t != segs[s]) {
                ok = false;
            }
        }
        if (!ok) continue;
        if (routes_[r].method == method) {
            m.route = &routes_[r];
            m.params = std::move(params);
            return m;
        }
        if (std::find(m.allowed.begin(), m.allowed.end(), routes_[r].method) == m.allowed.end())
            m.allowed.push_back(routes_[r].method);
    }
    return m;
}

}  // namespace recs::api

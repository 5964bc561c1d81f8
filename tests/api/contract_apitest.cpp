// Every route the server has is in openapi/openapi.yaml, and nothing else is.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "recs/api/server.hpp"
#include "support/test_env.hpp"

namespace recs {
namespace {

std::set<std::pair<std::string, std::string>> SpecRoutes() {
    std::ifstream f(std::string(RECS_SOURCE_DIR) + "/openapi/openapi.yaml");
    std::set<std::pair<std::string, std::string>> out;
    std::string line, path;
    bool in_paths = false;
    std::regex path_re(R"(^  (/[^:]*):\s*$)");
    std::regex method_re(R"(^    (get|post|put|patch|delete|head|options):\s*$)");
    std::smatch m;
    while (std::getline(f, line)) {
        if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = line == "paths:";
        if (!in_paths) continue;
        if (std::regex_match(line, m, path_re)) {
            path = m[1];
        } else if (!path.empty() && std::regex_match(line, m, method_re)) {
            std::string method = m[1];
            for (auto& c : method)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            out.emplace(method, path);
        }
    }
    return out;
}

TEST(Contract, ServerRoutesEqualSpecRoutes) {
    RECS_REQUIRE_SERVICES();
    testing::TestServer srv;
    auto spec = SpecRoutes();
    ASSERT_FALSE(spec.empty()) << "could not read openapi/openapi.yaml";
    std::set<std::pair<std::string, std::string>> server;
    for (auto& r : srv.server().Routes()) server.insert(r);
    for (const auto& r : server)
        EXPECT_TRUE(spec.count(r))
            << "route missing from openapi.yaml: " << r.first << " " << r.second;
    for (const auto& r : spec)
        EXPECT_TRUE(server.count(r))
            << "openapi.yaml route the server lacks: " << r.first << " " << r.second;
}

}  // namespace
}  // namespace recs

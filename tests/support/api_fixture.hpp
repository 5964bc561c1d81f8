#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/test_env.hpp"

namespace recs::testing {

/// A test with an api server in process (and, by default, its worker and scheduler) and one
/// tenant with an admin key, over a freshly truncated database.
class TenantApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        RECS_REQUIRE_SERVICES();
        TestDatabase::Get().Truncate();
        Start(true);
    }
    /// (Re)starts the server; the tenant and its key are made on the first start.
    void Start(bool roles, core::Config cfg = TestServer::DefaultConfig()) {
        srv_.reset();
        srv_ = std::make_unique<TestServer>(cfg, roles);
        if (tenant_.empty()) {
            tenant_ = srv_->CreateTenant("acme");
            key_ = srv_->CreateKey(tenant_, {"admin"});
        }
    }
    TestServer& srv() { return *srv_; }
    /// A request with the tenant's admin key.
    HttpResponse Call(const std::string& m,
                      const std::string& p,
                      const std::string& body = "",
                      std::vector<std::pair<std::string, std::string>> h = {}) {
        return srv().Call(m, p, key_, body, std::move(h));
    }
    nlohmann::json J(const HttpResponse& r) { return srv().Json(r); }
    void ExpectProblem(const HttpResponse& r, int status, const std::string& field = "") {
        EXPECT_EQ(r.status, status) << r.body;
        EXPECT_EQ(r.Header("content-type"), "application/problem+json") << r.body;
        if (!field.empty()) {
            EXPECT_EQ(J(r).value("field", ""), field) << r.body;
        }
    }
    std::unique_ptr<TestServer> srv_;
    std::string tenant_, key_;
};

}  // namespace recs::testing

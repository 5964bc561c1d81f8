#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recs/core/config.hpp"
#include "support/http_client.hpp"

namespace recs::store {
class PgPool;
class RedisClient;
}  // namespace recs::store
namespace recs::api {
class Server;
}
namespace recs::workers {
class Worker;
}
namespace recs::scheduler {
class Scheduler;
}
namespace recs::wiring {
class Platform;
}

namespace recs::testing {

/// RECS_TEST_PG_DSN / RECS_TEST_REDIS_URL, empty when unset (tests then GTEST_SKIP).
std::string PgDsn();
std::string RedisUrl();

/// A fresh database for this test binary, migrated with the real migrator, dropped at exit.
class TestDatabase {
public:
    static TestDatabase& Get();
    const std::string& dsn() const { return dsn_; }
    store::PgPool& pool() { return *pool_; }
    /// Empties every table but schema_migrations.
    void Truncate();
    ~TestDatabase();

private:
    TestDatabase();
    std::string name_;
    std::string dsn_;
    std::unique_ptr<store::PgPool> pool_;
};

/// The api server in process on port 0 against the test database and Redis.
class TestServer {
public:
    /// With `roles`, an in-process worker and scheduler run too (as in `recsplane all`).
    explicit TestServer(core::Config config = DefaultConfig(), bool roles = false);
    ~TestServer();
    static core::Config DefaultConfig();

    int port() const { return port_; }
    api::Server& server() { return *server_; }
    store::PgPool& pg();
    store::RedisClient& redis();
    /// The composition root this server was built with (its stores, for tests that run a
    /// scheduler or worker of their own).
    wiring::Platform& platform() { return *platform_; }
    workers::Worker* worker() { return worker_.get(); }
    const std::string& admin_key() const { return admin_key_; }

    /// Creates a tenant through the API; returns its id.
    std::string CreateTenant(const std::string& name);
    /// Creates a key for a tenant through the API (platform admin + X-Tenant-ID); returns the
    /// plaintext.
    std::string CreateKey(const std::string& tenant_id,
                          const std::vector<std::string>& scopes,
                          std::string* key_id = nullptr);
    /// One request with `Authorization: Bearer key` (no header when key is empty).
    HttpResponse Call(const std::string& method,
                      const std::string& path,
                      const std::string& key,
                      const std::string& body = "",
                      std::vector<std::pair<std::string, std::string>> headers = {});
    nlohmann::json Json(const HttpResponse& r) const;

private:
    std::string admin_key_ = "test-platform-admin-key-0123456789abcdef";
    std::unique_ptr<wiring::Platform> platform_;
    std::unique_ptr<workers::Worker> worker_;
    std::unique_ptr<scheduler::Scheduler> scheduler_;
    std::unique_ptr<api::Server> server_;
    int port_ = 0;
};

#define RECS_REQUIRE_SERVICES()                                                      \
    do {                                                                             \
        if (::recs::testing::PgDsn().empty() || ::recs::testing::RedisUrl().empty()) \
            GTEST_SKIP() << "RECS_TEST_PG_DSN / RECS_TEST_REDIS_URL not set";        \
    } while (0)

}  // namespace recs::testing

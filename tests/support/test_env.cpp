#include "support/test_env.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "recs/api/server.hpp"
#include "recs/core/crypto.hpp"
#include "recs/engine/model.hpp"
#include "recs/scheduler/scheduler.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/redis.hpp"
#include "recs/store/testing.hpp"
#include "recs/wiring/platform.hpp"
#include "recs/workers/in_process_pool.hpp"
#include "recs/workers/worker.hpp"

namespace recs::testing {

std::string PgDsn() {
    const char* v = std::getenv("RECS_TEST_PG_DSN");
    return v ? v : "";
}

std::string RedisUrl() {
    const char* v = std::getenv("RECS_TEST_REDIS_URL");
    return v ? v : "";
}

TestDatabase& TestDatabase::Get() {
    static TestDatabase db;
    return db;
}

TestDatabase::TestDatabase() {
    name_ = "recs_t_" + std::to_string(::getpid()) + "_" + core::RandomToken(6);
    for (auto& c : name_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    store::CreateDatabaseForTesting(PgDsn(), name_);
    dsn_ = store::DsnWithDatabase(PgDsn(), name_);
    pool_ = std::make_unique<store::PgPool>(dsn_, 8);
    store::ApplyMigrations(*pool_);
}

TestDatabase::~TestDatabase() {
    pool_.reset();
    try {
        store::DropDatabaseForTesting(PgDsn(), name_);
    } catch (...) {
    }
}

void TestDatabase::Truncate() {
    auto tables = store::QueryForTesting(
        *pool_,
        "SELECT string_agg(quote_ident(tablename), ',') FROM pg_tables WHERE schemaname = "
        "'public' AND tablename <> 'schema_migrations'");
    if (!tables.empty() && !tables[0].empty())
        store::QueryForTesting(*pool_, "TRUNCATE " + tables[0] + " CASCADE; SELECT 1");
}

core::Config TestServer::DefaultConfig() {
    core::Config c;
    c.http_port = 0;
    c.http_host = "127.0.0.1";
    c.key_cache_ttl_ms = 0;  // revocation is visible at once in tests
    c.body_limit = 1024 * 1024;
    c.drain_seconds = 10;
    const char* d = std::getenv("RECS_TEST_DATA_DIR");
    c.data_dir = d ? d : "/tmp";
    c.job_heartbeat_ms = 200;
    c.job_backoff_ms = 100;
    c.job_repush_ms = 1000;
    c.scheduler_tick_ms = 50;
    return c;
}

TestServer::TestServer(core::Config config, bool roles) {
    auto& db = TestDatabase::Get();
    config.database_url = db.dsn();
    config.redis_url = RedisUrl();
    // The same composition root as the binary's, with every role's stores.
    platform_ = std::make_unique<wiring::Platform>(
        config, wiring::Roles{.api = true, .scheduler = true, .worker = true});
    api::ServerDeps deps;
    deps.stores = platform_->api_stores();
    deps.admin_key_hash = core::Sha256Hex(admin_key_);
    worker_ = std::make_unique<workers::Worker>(platform_->worker_stores(/*serve=*/false),
                                                "default", config);
    if (roles) {
        worker_->Start();
        scheduler_ = std::make_unique<scheduler::Scheduler>(platform_->scheduler_stores(), config);
        scheduler_->Start();
    }
    deps.pool = &worker_->pool();
    deps.validate_model = [](const std::string& algorithm, const nlohmann::json& hp) {
        engine::Train(algorithm, hp, {});
    };
    deps.worker_status = [] {
        return nlohmann::json{{"status", "up"}, {"pools", nlohmann::json::object()}};
    };
    server_ = std::make_unique<api::Server>(deps, config);
    port_ = server_->Start();
}

TestServer::~TestServer() {
    server_->Stop();
    if (scheduler_) scheduler_->Stop();
    worker_->Stop();
    server_.reset();
    scheduler_.reset();
    worker_.reset();  // the roles go before the stores they use
}

store::PgPool& TestServer::pg() { return TestDatabase::Get().pool(); }

store::RedisClient& TestServer::redis() { return platform_->redis(); }

HttpResponse TestServer::Call(const std::string& method,
                              const std::string& path,
                              const std::string& key,
                              const std::string& body,
                              std::vector<std::pair<std::string, std::string>> headers) {
    if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
    return Http(port_, method, path, body, headers);
}

nlohmann::json TestServer::Json(const HttpResponse& r) const {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_discarded() ? nlohmann::json() : j;
}

std::string TestServer::CreateTenant(const std::string& name) {
    auto r =
        Call("POST", "/v1/recs/admin/tenants", admin_key_, nlohmann::json{{"name", name}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r).value("id", "");
}

std::string TestServer::CreateKey(const std::string& tenant_id,
                                  const std::vector<std::string>& scopes,
                                  std::string* key_id) {
    auto r = Call("POST", "/v1/recs/keys", admin_key_,
                  nlohmann::json{{"name", "test"}, {"scopes", scopes}}.dump(),
                  {{"X-Tenant-ID", tenant_id}});
    EXPECT_EQ(r.status, 201) << r.body;
    auto j = Json(r);
    if (key_id) *key_id = j.value("id", "");
    return j.value("key", "");
}

}  // namespace recs::testing

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "recs/core/error.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/tenant_store.hpp"
#include "recs/store/testing.hpp"
#include "support/test_env.hpp"

namespace recs::store {
namespace {

using testing::TestDatabase;

class PgStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (testing::PgDsn().empty()) GTEST_SKIP() << "RECS_TEST_PG_DSN not set";
        TestDatabase::Get().Truncate();
    }
    PgPool& pool() { return TestDatabase::Get().pool(); }
    core::Actor actor{"platform_admin", "admin", "", ""};
};

TEST_F(PgStoreTest, MigrationsAreIdempotent) {
    EXPECT_EQ(ApplyMigrations(pool()), 0);
    auto n = QueryForTesting(pool(), "SELECT count(*) FROM schema_migrations");
    EXPECT_GE(std::stoi(n.at(0)), 1);
}

// Two `recsplane migrate` processes at once on an empty database: each migration applied once.
TEST_F(PgStoreTest, ConcurrentMigrateProcessesApplyEachMigrationOnce) {
    std::string name = "recs_mig_" + std::to_string(::getpid());
    CreateDatabaseForTesting(testing::PgDsn(), name);
    std::string dsn = DsnWithDatabase(testing::PgDsn(), name);
    std::vector<pid_t> kids;
    for (int i = 0; i < 2; ++i) {
        pid_t pid = fork();
        if (pid == 0) {
            setenv("RECS_DATABASE_URL", dsn.c_str(), 1);
            int devnull = open("/dev/null", 1);
            dup2(devnull, 1);
            execl(RECS_BINARY_PATH, "recsplane", "migrate", nullptr);
            _exit(127);
        }
        kids.push_back(pid);
    }
    for (pid_t k : kids) {
        int status = 0;
        waitpid(k, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
    {
        PgPool p(dsn, 1);
        auto rows = QueryForTesting(
            p, "SELECT count(*) || '/' || count(DISTINCT version) FROM schema_migrations");
        auto expected = QueryForTesting(pool(), "SELECT count(*) FROM schema_migrations");
        EXPECT_EQ(rows.at(0), expected.at(0) + "/" + expected.at(0));
        auto tenants = QueryForTesting(p, "SELECT count(*) FROM tenants");
        EXPECT_EQ(tenants.at(0), "0");
    }
    DropDatabaseForTesting(testing::PgDsn(), name);
}

TEST_F(PgStoreTest, TenantLifecycleWithAudit) {
    auto repo = MakePgTenantRepository(pool());
    auto t = repo->Create(actor, "acme");
    EXPECT_EQ(t.status, "active");
    EXPECT_THROW(repo->Create(actor, "acme"), core::Error);
    auto found = repo->Find(t.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->name, "acme");
    EXPECT_FALSE(repo->Find("not-a-uuid"));
    EXPECT_FALSE(repo->Find("00000000-0000-4000-8000-000000000000"));
    auto u = repo->Update(actor, t.id, std::nullopt, core::TenantStatus::kSuspended);
    EXPECT_EQ(u.status, "suspended");
    EXPECT_EQ(u.name, "acme");
    repo->Delete(actor, t.id);
    EXPECT_FALSE(repo->Find(t.id));
    try {
        repo->Delete(actor, t.id);
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kNotFound);
    }
    auto audit = MakePgAuditRepository(pool())->ListForResource(t.id);
    ASSERT_EQ(audit.size(), 3u);
    EXPECT_EQ(audit[0].action, "create");
    EXPECT_EQ(audit[1].action, "update");
    EXPECT_NE(audit[1].before_json.find("active"), std::string::npos);
    EXPECT_NE(audit[1].after_json.find("suspended"), std::string::npos);
    EXPECT_EQ(audit[2].action, "delete");
    EXPECT_EQ(audit[2].actor_kind, "platform_admin");
}

TEST_F(PgStoreTest, TenantListPages) {
    auto repo = MakePgTenantRepository(pool());
    for (int i = 0; i < 5; ++i) repo->Create(actor, "t" + std::to_string(i));
    PageRequest p;
    p.limit = 2;
    std::vector<std::string> names;
    for (int guard = 0; guard < 10; ++guard) {
        auto page = repo->List(p, std::nullopt);
        for (auto& t : page.items) names.push_back(t.name);
        if (!page.next_cursor) break;
        p.cursor = page.next_cursor;
    }
    EXPECT_EQ(names, (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4"}));
}

TEST_F(PgStoreTest, KeysAreTenantScopedAndStoreOnlyTheHash) {
    auto tenants = MakePgTenantRepository(pool());
    auto keys = MakePgKeyRepository(pool());
    auto a = tenants->Create(actor, "a");
    auto b = tenants->Create(actor, "b");
    auto gen = core::GenerateApiKey();
    auto k = keys->Create(actor, core::TenantId{a.id}, "k", {"predict", "events:write"},
                          std::nullopt, gen);
    EXPECT_EQ(k.scopes, (std::vector<std::string>{"predict", "events:write"}));
    EXPECT_TRUE(keys->Find(core::TenantId{a.id}, k.id));
    EXPECT_FALSE(keys->Find(core::TenantId{b.id}, k.id));  // other tenant: absent
    EXPECT_TRUE(keys->List(core::TenantId{b.id}, {}).items.empty());
    EXPECT_THROW(keys->Revoke(actor, core::TenantId{b.id}, k.id), core::Error);
    auto stored = QueryForTesting(pool(), "SELECT key_hash FROM api_keys");
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0], gen.hash);
    auto plain =
        QueryForTesting(pool(), "SELECT count(*) FROM audit_log WHERE before::text LIKE '%" +
                                    gen.plaintext + "%' OR after::text LIKE '%" + gen.plaintext +
                                    "%' OR after::text LIKE '%" + gen.hash + "%'");
    EXPECT_EQ(plain.at(0), "0");  // neither key nor hash in the audit trail
    auto rec = keys->FindByHash(gen.hash);
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->tenant_status, "active");
    EXPECT_FALSE(rec->expired);
    keys->Revoke(actor, core::TenantId{a.id}, k.id);
    EXPECT_FALSE(keys->FindByHash(gen.hash));
    EXPECT_EQ(keys->Find(core::TenantId{a.id}, k.id)->revoked_at.has_value(), true);
}

TEST_F(PgStoreTest, DeletingATenantRemovesItsKeys) {
    auto tenants = MakePgTenantRepository(pool());
    auto keys = MakePgKeyRepository(pool());
    auto a = tenants->Create(actor, "a");
    auto gen = core::GenerateApiKey();
    keys->Create(actor, core::TenantId{a.id}, "k", {"admin"}, 3600, gen);
    tenants->Delete(actor, a.id);
    EXPECT_FALSE(keys->FindByHash(gen.hash));
}

TEST_F(PgStoreTest, UnreachableDatabaseIsUnavailable) {
    try {
        PgPool p("postgresql://recs@127.0.0.1:1/recs", 1);
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);
    }
}

}  // namespace
}  // namespace recs::store

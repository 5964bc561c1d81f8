// The job queue's state machine, fencing, the stream outbox, idempotency claims, leadership and
// the pool's bounds, against the real PostgreSQL (reliability findings H2, M4, M5, M11, M12,
// L4, L8, L9).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "recs/core/error.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/leader_lock.hpp"
#include "recs/store/model_store.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/tenant_store.hpp"
#include "recs/store/testing.hpp"
#include "support/test_env.hpp"

namespace recs::store {
namespace {

using nlohmann::json;
using testing::TestDatabase;
using Clock = std::chrono::steady_clock;

class QueueTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (testing::PgDsn().empty()) GTEST_SKIP() << "RECS_TEST_PG_DSN not set";
        TestDatabase::Get().Truncate();
        tenants_ = MakePgTenantRepository(pool());
        jobs_ = MakePgJobRepository(pool());
        models_ = MakePgModelRepository(pool());
        tenant_ = core::TenantId{tenants_->Create(actor_, "t").id};
    }
    PgPool& pool() { return TestDatabase::Get().pool(); }
    std::string Q(const std::string& sql) { return QueryForTesting(pool(), sql).at(0); }
    core::Job Leased(int max_attempts = 3) {
        auto job = jobs_->Create(tenant_, core::JobKind::kTrain, json{{"model_id", "x"}},
                                 max_attempts, {});
        auto l = jobs_->Lease(job.id, "w1", 30000);
        EXPECT_TRUE(l);
        return *l;
    }
    core::Actor actor_{"platform_admin", "admin", "", ""};
    std::unique_ptr<TenantRepository> tenants_;
    std::unique_ptr<JobRepository> jobs_;
    std::unique_ptr<ModelRepository> models_;
    core::TenantId tenant_;
    core::Backoff backoff_{100, 60000};
};

// M11: a cancel asked while the job runs wins over the retry of its failure.
TEST_F(QueueTest, ACancelIsNeverLostOnTheRetryPath) {
    auto job = Leased();
    auto c = jobs_->Cancel(tenant_, job.id);
    EXPECT_TRUE(c.cancel_requested);
    EXPECT_EQ(core::JobJson(c)["cancel_requested"], true);
    jobs_->Fail(job.id, "w1", "boom", /*retryable=*/true, backoff_);
    auto after = jobs_->Find(tenant_, job.id);
    EXPECT_EQ(after->status, "cancelled");
    EXPECT_FALSE(jobs_->Lease(job.id, "w2", 30000));
}

// L4: the retry backoff is capped whatever the attempt count.
TEST_F(QueueTest, BackoffIsCapped) {
    auto job = Leased(100);
    QueryForTesting(pool(),
                    "UPDATE jobs SET attempts = 60 WHERE id = '" + job.id + "' RETURNING 1");
    jobs_->Fail(job.id, "w1", "again", true, backoff_);
    double wait = std::stod(
        Q("SELECT extract(epoch from run_after - now()) FROM jobs WHERE id = '" + job.id + "'"));
    EXPECT_LE(wait, 61);
    EXPECT_EQ(jobs_->Find(tenant_, job.id)->status, "queued");
}

// M12: a stopping worker gives its job back at once, without counting the attempt.
TEST_F(QueueTest, ReleaseRequeuesAtOnce) {
    auto job = Leased();
    EXPECT_EQ(job.attempts, 1);
    jobs_->Release(job.id, "w2");  // not the owner: nothing
    EXPECT_EQ(jobs_->Find(tenant_, job.id)->status, "running");
    jobs_->Release(job.id, "w1");
    auto after = jobs_->Find(tenant_, job.id);
    EXPECT_EQ(after->status, "queued");
    EXPECT_EQ(after->attempts, 0);
    EXPECT_TRUE(jobs_->Lease(job.id, "w2", 30000));  // due now
}

// M5: a worker whose lease was lost cannot record a version; the version keeps a checksum.
TEST_F(QueueTest, VersionsAreFencedByTheLease) {
    core::ModelDef def;
    def.name = "m";
    def.type = "candidate";
    def.algorithm = "popularity";
    auto model = models_->Create(actor_, tenant_, def);
    auto job = jobs_->Create(tenant_, core::JobKind::kTrain, json{{"model_id", model.id}}, 3, {});
    ASSERT_TRUE(jobs_->Lease(job.id, "w1", 30000));
    core::ModelVersion v;
    v.model_id = model.id;
    v.artifact_path = "/x/a.bin";
    v.artifact_bytes = 10;
    v.artifact_sha256 = std::string(64, 'a');
    v.training_job_id = job.id;
    try {
        models_->CreateVersion(tenant_, v, JobFence{job.id, "stale-worker"});
        FAIL() << "a stale worker recorded a version";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kConflict);
    }
    auto made = models_->CreateVersion(tenant_, v, JobFence{job.id, "w1"});
    EXPECT_EQ(made.artifact_sha256, std::string(64, 'a'));
    EXPECT_EQ(models_->FindVersion(tenant_, model.id, made.id)->artifact_sha256,
              made.artifact_sha256);
}

// H4: updates of a model deleted meanwhile are 404s, not a dereference of nothing.
TEST_F(QueueTest, UpdatesOfADeletedModelAreNotFound) {
    core::ModelDef def;
    def.name = "m";
    def.type = "candidate";
    def.algorithm = "popularity";
    auto model = models_->Create(actor_, tenant_, def);
    models_->Delete(actor_, tenant_, model.id);
    EXPECT_THROW(
        models_->Update(actor_, tenant_, model.id, std::nullopt, std::string("d"), std::nullopt),
        core::Error);
    EXPECT_THROW(models_->Deploy(actor_, tenant_, model.id, model.id, "default"), core::Error);
    EXPECT_THROW(jobs_->Cancel(tenant_, model.id), core::Error);
}

TEST_F(QueueTest, EventsAndTheirStreamOutboxAreWrittenTogether) {
    auto events = MakePgEventRepository(pool());
    std::vector<core::Event> batch;
    for (int i = 0; i < 250; ++i) {  // the COPY path
        core::Event e;
        e.event_id = "e" + std::to_string(i);
        e.type = "view";
        e.user_id = "u";
        e.item_id = "i";
        batch.push_back(e);
    }
    auto big = events->Insert(tenant_, batch);
    EXPECT_GT(big.outbox_id, 0);
    auto small = events->Insert(tenant_, {batch[0]});  // a duplicate: nothing to stream
    EXPECT_EQ(small.outbox_id, 0);
    EXPECT_EQ(Q("SELECT count(*) FROM event_stream_outbox"), "1");
    size_t appended = 0;
    EXPECT_EQ(events->RepairStreams(60000, 10,
                                    [&](const core::TenantId&, const std::vector<core::Event>& e) {
                                        appended += e.size();
                                    }),
              0u);  // younger than the repair's age
    EXPECT_EQ(
        events->RepairStreams(0, 10,
                              [&](const core::TenantId& t, const std::vector<core::Event>& e) {
                                  EXPECT_EQ(t, tenant_);
                                  appended += e.size();
                              }),
        250u);
    EXPECT_EQ(appended, 250u);
    EXPECT_EQ(Q("SELECT count(*) FROM event_stream_outbox"), "0");
    // A failing append keeps the row.
    core::Event e2 = batch[0];
    e2.event_id = "fresh";
    auto one = events->Insert(tenant_, {e2});
    EXPECT_THROW(events->RepairStreams(0, 10,
                                       [](const core::TenantId&, const std::vector<core::Event>&) {
                                           throw core::Error(core::ErrorCode::kUnavailable, "down");
                                       }),
                 core::Error);
    EXPECT_EQ(Q("SELECT count(*) FROM event_stream_outbox"), "1");
    events->AckStreamed({one.outbox_id});
    EXPECT_EQ(Q("SELECT count(*) FROM event_stream_outbox"), "0");
}

// M4, L9: one claim per key; in flight answers 409; expired records are deleted.
TEST_F(QueueTest, IdempotencyClaims) {
    auto repo = MakePgIdempotencyRepository(pool());
    using Kind = IdempotencyClaim::Kind;
    EXPECT_EQ(repo->Claim("s", "k", "h1").kind, Kind::kClaimed);
    EXPECT_EQ(repo->Claim("s", "k", "h1").kind, Kind::kInFlight);
    EXPECT_EQ(repo->Claim("s", "k", "h2").kind, Kind::kMismatch);
    repo->Complete("s", "k", 201, "{\"id\":1}");
    auto replay = repo->Claim("s", "k", "h1");
    EXPECT_EQ(replay.kind, Kind::kReplay);
    EXPECT_EQ(replay.response.body, "{\"id\":1}");
    EXPECT_EQ(repo->Claim("s", "other", "h1").kind, Kind::kClaimed);
    repo->Abandon("s", "other");
    EXPECT_EQ(repo->Claim("s", "other", "h1").kind, Kind::kClaimed);
    QueryForTesting(pool(),
                    "UPDATE idempotency_keys SET expires_at = now() - interval '1 s' "
                    "WHERE key = 'k' RETURNING 1");
    EXPECT_EQ(repo->Expire(100), 1);
    EXPECT_EQ(repo->Claim("s", "k", "h2").kind, Kind::kClaimed);
}

// L8: one leader; a standby takes over when the leader goes.
TEST_F(QueueTest, OneSchedulerLeadsAtATime) {
    auto a = MakePgLeaderLock(TestDatabase::Get().dsn(), "test-role");
    auto b = MakePgLeaderLock(TestDatabase::Get().dsn(), "test-role");
    EXPECT_TRUE(a->TryAcquire());
    EXPECT_FALSE(b->TryAcquire());
    EXPECT_TRUE(a->TryAcquire());  // still ours
    a->Release();
    EXPECT_TRUE(b->TryAcquire());
    EXPECT_FALSE(a->TryAcquire());
}

// H2: a pool waits a bounded time for a connection, and an operation the server does not
// answer in time fails on the client (the socket is shut down), leaving the pool usable.
TEST_F(QueueTest, PoolWaitsAreBounded) {
    PgPoolOptions o;
    o.size = 1;
    o.acquire_timeout_ms = 300;
    o.statement_timeout_ms = 60000;  // the server would wait: the client must not
    o.client_timeout_ms = 500;
    PgPool p(TestDatabase::Get().dsn(), o);
    auto start = Clock::now();
    try {
        QueryForTesting(p, "SELECT pg_sleep(5)::text");
        FAIL() << "the sleep returned";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);
        EXPECT_TRUE(e.retry_after());
    }
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the breaker closes
    EXPECT_NO_THROW(p.Ping());
    // The only connection held: a second caller waits acquire_timeout_ms, then 503.
    auto held =
        std::async(std::launch::async, [&] { QueryForTesting(p, "SELECT pg_sleep(0.45)::text"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    start = Clock::now();
    EXPECT_THROW(p.Ping(), core::Error);
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000));
    held.get();
    // Server-side timeouts are set on every connection.
    EXPECT_EQ(QueryForTesting(p, "SHOW lock_timeout").at(0), "3s");
    EXPECT_EQ(QueryForTesting(p, "SHOW idle_in_transaction_session_timeout").at(0), "30s");
}

}  // namespace
}  // namespace recs::store

// The contract of jobs: creation, listing, and the queue's state machine (push, lease,
// heartbeat, succeed, fail with backoff, release, reap, redrive, cancel).
#include <algorithm>
#include <atomic>
#include <future>
#include <set>

#include "contract/contract.hpp"
#include "recs/core/crypto.hpp"

namespace recs::contract {
namespace {

using nlohmann::json;
using store::PageRequest;

constexpr const char* kLeaseExpired = "lease expired: the worker stopped heart-beating";

class JobContract : public ContractTest {
protected:
    std::set<std::string> TakeDue(int64_t repush_after_ms = 500, int limit = 10) {
        auto ids = jobs().TakeDueForPush(repush_after_ms, limit);
        return {ids.begin(), ids.end()};
    }
};
RECS_CONTRACT_SIDES(JobContract);

TEST_P(JobContract, CreateAndFind) {
    auto t = NewTenant("a");
    auto j = jobs().Create(t, core::JobKind::kTrain, {{"model_id", "m1"}}, 4, std::nullopt);
    EXPECT_TRUE(core::IsUuid(j.id));
    EXPECT_EQ(j.tenant_id, t.value);
    EXPECT_EQ(j.kind, "train");
    EXPECT_EQ(j.status, "queued");
    EXPECT_EQ(j.payload, json({{"model_id", "m1"}}));
    EXPECT_EQ(j.progress, 0);
    EXPECT_EQ(j.attempts, 0);
    EXPECT_EQ(j.max_attempts, 4);
    EXPECT_FALSE(j.error);
    EXPECT_TRUE(j.result.is_null());
    EXPECT_FALSE(j.cancel_requested);
    EXPECT_TRUE(IsTimestamp(j.created_at));
    EXPECT_FALSE(j.started_at);
    EXPECT_FALSE(j.finished_at);
    auto f = jobs().Find(t, j.id);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->id, j.id);
    EXPECT_EQ(f->payload, j.payload);
    EXPECT_EQ(f->created_at, j.created_at);
    EXPECT_EQ(f->max_attempts, 4);
    EXPECT_EQ(jobs().Find(t, Upper(j.id))->id, j.id);
    EXPECT_FALSE(jobs().Find(t, "not-a-uuid"));
    EXPECT_FALSE(jobs().Find(t, core::RandomUuid()));
    EXPECT_CODE(jobs().Create(core::TenantId{core::RandomUuid()}, core::JobKind::kTrain,
                              json::object(), 3, std::nullopt),
                kNotFound);
}

TEST_P(JobContract, AnIdempotencyKeyReturnsTheFirstJob) {
    auto a = NewTenant("a");
    auto b = NewTenant("b");
    json p = {{"model_id", "m1"}};
    auto first = jobs().Create(a, core::JobKind::kTrain, p, 3, std::string("key-1"));
    auto again = jobs().Create(a, core::JobKind::kTrain, p, 5, std::string("key-1"));
    EXPECT_EQ(again.id, first.id);
    EXPECT_EQ(again.max_attempts, 3);  // the first job, as it was made
    EXPECT_CODE(
        jobs().Create(a, core::JobKind::kTrain, {{"model_id", "m2"}}, 3, std::string("key-1")),
        kUnprocessable);
    EXPECT_NE(jobs().Create(b, core::JobKind::kTrain, p, 3, std::string("key-1")).id,
              first.id);  // per tenant
    EXPECT_NE(jobs().Create(a, core::JobKind::kTrain, p, 3, std::string("key-2")).id, first.id);
    EXPECT_NE(jobs().Create(a, core::JobKind::kTrain, p, 3, std::nullopt).id, first.id);
    EXPECT_EQ(jobs().List(a, PageRequest{}, std::nullopt, std::nullopt).items.size(), 3u);
}

TEST_P(JobContract, ListFiltersByStatusAndKindAndPages) {
    auto t = NewTenant("a");
    auto j1 = NewJob(t);
    auto j2 = LeasedJob(t, "w1", 30000);
    auto j3 = NewJob(t);
    auto j4 = NewJob(t);
    jobs().Cancel(t, j4.id);
    using core::JobKind;
    using core::JobStatus;
    auto ids = [&](const std::optional<JobStatus>& status, const std::optional<JobKind>& kind) {
        return Ids(jobs().List(t, PageRequest{}, status, kind).items);
    };
    EXPECT_EQ(ids(std::nullopt, std::nullopt),
              (std::vector<std::string>{j1.id, j2.id, j3.id, j4.id}));
    EXPECT_EQ(ids(JobStatus::kQueued, std::nullopt), (std::vector<std::string>{j1.id, j3.id}));
    EXPECT_EQ(ids(JobStatus::kRunning, std::nullopt), (std::vector<std::string>{j2.id}));
    EXPECT_EQ(ids(JobStatus::kCancelled, std::nullopt), (std::vector<std::string>{j4.id}));
    EXPECT_EQ(ids(std::nullopt, JobKind::kTrain),
              (std::vector<std::string>{j1.id, j2.id, j3.id, j4.id}));
    EXPECT_EQ(ids(JobStatus::kQueued, JobKind::kTrain), (std::vector<std::string>{j1.id, j3.id}));
    EXPECT_TRUE(ids(JobStatus::kDead, std::nullopt).empty());
    std::vector<size_t> sizes;
    std::vector<bool> cursors;
    auto all = AllPages<core::Job>(
        [&](const PageRequest& p) { return jobs().List(t, p, std::nullopt, std::nullopt); }, 3,
        &sizes, &cursors);
    EXPECT_EQ(Ids(all), (std::vector<std::string>{j1.id, j2.id, j3.id, j4.id}));
    EXPECT_EQ(sizes, (std::vector<size_t>{3, 1}));
    EXPECT_EQ(cursors, (std::vector<bool>{true, false}));
    EXPECT_CODE(jobs().List(t, PageRequest{3, std::string("x")}, std::nullopt, std::nullopt),
                kUnprocessable);
}

TEST_P(JobContract, TakeDueForPushTakesDueJobsOnceUntilRepushAfter) {
    auto t = NewTenant("a");
    auto due = NewJob(t);
    LeasedJob(t, "w1", 30000);               // running
    auto later = LeasedJob(t, "w1", 30000);  // queued, but not due yet
    jobs().Fail(later.id, "w1", "boom", true, core::Backoff{60000, 60000});
    auto s = NewTenant("s");
    auto suspended = NewJob(s);
    tenants().Update(actor, s.value, std::nullopt, core::TenantStatus::kSuspended);

    EXPECT_EQ(TakeDue(), (std::set<std::string>{due.id}));
    EXPECT_TRUE(TakeDue().empty());  // pushed just now
    Advance(600);
    EXPECT_EQ(TakeDue(), (std::set<std::string>{due.id}));  // pushed longer ago than 500 ms

    // `limit`, oldest run_after first.
    Advance(600);
    auto j5 = NewJob(t);
    Advance(20);
    NewJob(t);
    EXPECT_EQ(TakeDue(500, 2), (std::set<std::string>{due.id, j5.id}));
    // The suspended tenant's job waits until the tenant is active again.
    tenants().Update(actor, s.value, std::nullopt, core::TenantStatus::kActive);
    EXPECT_TRUE(TakeDue().count(suspended.id));
}

TEST_P(JobContract, LeaseTakesOnlyAQueuedDueJobOnce) {
    auto t = NewTenant("a");
    auto j = NewJob(t);
    auto l = jobs().Lease(j.id, "w1", 30000);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->id, j.id);
    EXPECT_EQ(l->status, "running");
    EXPECT_EQ(l->attempts, 1);
    EXPECT_TRUE(IsTimestamp(l->started_at));
    EXPECT_FALSE(l->finished_at);
    EXPECT_FALSE(jobs().Lease(j.id, "w2", 30000));  // leased already
    EXPECT_TRUE(jobs().Heartbeat(j.id, "w1", 30000, 0, nullptr));
    EXPECT_FALSE(jobs().Heartbeat(j.id, "w2", 30000, 0, nullptr));
    EXPECT_EQ(MustFind(t, j.id).attempts, 1);
    EXPECT_FALSE(jobs().Lease("not-a-uuid", "w1", 30000));
    EXPECT_FALSE(jobs().Lease(core::RandomUuid(), "w1", 30000));
    auto c = NewJob(t);
    jobs().Cancel(t, c.id);
    EXPECT_FALSE(jobs().Lease(c.id, "w1", 30000));
    auto s = NewTenant("s");
    auto js = NewJob(s);
    tenants().Update(actor, s.value, std::nullopt, core::TenantStatus::kSuspended);
    EXPECT_FALSE(jobs().Lease(js.id, "w1", 30000));
    tenants().Update(actor, s.value, std::nullopt, core::TenantStatus::kActive);
    EXPECT_TRUE(jobs().Lease(js.id, "w1", 30000));
}

TEST_P(JobContract, ConcurrentLeasesGrantOne) {
    auto t = NewTenant("a");
    auto j = NewJob(t);
    std::atomic<int> granted{0};
    std::vector<std::future<void>> runs;
    for (int i = 0; i < 4; ++i)
        runs.push_back(std::async(std::launch::async, [&, i] {
            if (jobs().Lease(j.id, "w" + std::to_string(i), 30000)) ++granted;
        }));
    for (auto& r : runs) r.get();
    EXPECT_EQ(granted.load(), 1);
    EXPECT_EQ(MustFind(t, j.id).attempts, 1);
}

TEST_P(JobContract, HeartbeatStoresProgressAndReportsACancel) {
    auto t = NewTenant("a");
    auto j = LeasedJob(t, "w1", 30000);
    bool cancel = true;
    EXPECT_TRUE(jobs().Heartbeat(j.id, "w1", 30000, 0.25, &cancel));
    EXPECT_FALSE(cancel);
    EXPECT_EQ(MustFind(t, j.id).progress, 0.25);
    EXPECT_TRUE(jobs().Heartbeat(j.id, "w1", 30000, 0.1, &cancel));
    EXPECT_EQ(MustFind(t, j.id).progress, 0.25);  // progress never goes back
    cancel = true;
    EXPECT_FALSE(jobs().Heartbeat(j.id, "w2", 30000, 0.9, &cancel));  // not the owner
    EXPECT_TRUE(cancel);                                              // untouched
    EXPECT_EQ(MustFind(t, j.id).progress, 0.25);
    auto c = jobs().Cancel(t, j.id);
    EXPECT_EQ(c.status, "running");
    EXPECT_TRUE(c.cancel_requested);
    cancel = false;
    EXPECT_TRUE(jobs().Heartbeat(j.id, "w1", 30000, 0.5, &cancel));
    EXPECT_TRUE(cancel);
    EXPECT_CODE(jobs().Heartbeat("not-a-uuid", "w1", 30000, 0, nullptr),
                kUnprocessable);  // the id is cast, not checked first
}

TEST_P(JobContract, HeartbeatExtendsTheLease) {
    auto t = NewTenant("a");
    auto j = LeasedJob(t, "w1", 400);
    Advance(250);
    EXPECT_TRUE(jobs().Heartbeat(j.id, "w1", 400, 0.1, nullptr));  // now expires at ~650
    Advance(250);                                                  // past the first expiry
    EXPECT_EQ(jobs().ReapExpired(core::Backoff{}), 0);
    EXPECT_EQ(MustFind(t, j.id).status, "running");
    Advance(300);  // past the extended one
    EXPECT_EQ(jobs().ReapExpired(core::Backoff{}), 1);
    EXPECT_EQ(MustFind(t, j.id).status, "queued");
    EXPECT_FALSE(jobs().Heartbeat(j.id, "w1", 400, 0.2, nullptr));
}

TEST_P(JobContract, SucceedRecordsTheResultForTheOwnerOnly) {
    auto t = NewTenant("a");
    auto j = LeasedJob(t, "w1", 30000);
    jobs().Succeed(j.id, "w2", {{"version", 9}});
    EXPECT_EQ(MustFind(t, j.id).status, "running");
    jobs().Heartbeat(j.id, "w1", 30000, 0.5, nullptr);
    jobs().Succeed(j.id, "w1", {{"version", 1}});
    auto f = MustFind(t, j.id);
    EXPECT_EQ(f.status, "succeeded");
    EXPECT_EQ(f.progress, 1);
    EXPECT_EQ(f.result, json({{"version", 1}}));
    EXPECT_FALSE(f.error);
    EXPECT_TRUE(IsTimestamp(f.finished_at));
    EXPECT_FALSE(jobs().Heartbeat(j.id, "w1", 30000, 0.5, nullptr));
    jobs().Succeed(j.id, "w1", {{"version", 2}});  // once only
    EXPECT_EQ(MustFind(t, j.id).result, json({{"version", 1}}));
    EXPECT_FALSE(jobs().Lease(j.id, "w1", 30000));
    EXPECT_CODE(jobs().Cancel(t, j.id), kConflict);
    EXPECT_CODE(jobs().Redrive(t, j.id), kConflict);
}

TEST_P(JobContract, FailRetryableRequeuesAfterTheBackoffAndDiesAtMaxAttempts) {
    auto t = NewTenant("a");
    auto j = LeasedJob(t, "w1", 30000, /*max_attempts=*/2);
    core::Backoff backoff{400, 60000};
    jobs().Fail(j.id, "w2", "not mine", true, backoff);  // not the owner: nothing
    EXPECT_EQ(MustFind(t, j.id).status, "running");
    jobs().Fail(j.id, "w1", "boom", true, backoff);
    auto f = MustFind(t, j.id);
    EXPECT_EQ(f.status, "queued");
    EXPECT_EQ(f.error, "boom");
    EXPECT_EQ(f.attempts, 1);
    EXPECT_FALSE(f.finished_at);
    EXPECT_FALSE(jobs().Lease(j.id, "w1", 30000));  // not due before the backoff
    EXPECT_TRUE(TakeDue(0).empty());
    Advance(550);
    EXPECT_EQ(TakeDue(0), (std::set<std::string>{j.id}));
    auto l = jobs().Lease(j.id, "w2", 30000);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->attempts, 2);
    jobs().Fail(j.id, "w2", "boom again", true, backoff);
    f = MustFind(t, j.id);
    EXPECT_EQ(f.status, "dead");
    EXPECT_EQ(f.error, "boom again");
    EXPECT_EQ(f.attempts, 2);
    EXPECT_TRUE(IsTimestamp(f.finished_at));
    Advance(1000);
    EXPECT_FALSE(jobs().Lease(j.id, "w1", 30000));
    EXPECT_TRUE(TakeDue(0).empty());
}

TEST_P(JobContract, RetryBackoffDoublesWithEachAttempt) {
    auto t = NewTenant("a");
    auto j = LeasedJob(t, "w1", 30000, /*max_attempts=*/5);
    core::Backoff backoff{400, 60000};
    jobs().Fail(j.id, "w1", "1", true, backoff);  // next attempt after 400 ms
    Advance(550);
    ASSERT_TRUE(jobs().Lease(j.id, "w1", 30000));
    jobs().Fail(j.id, "w1", "2", true, backoff);  // after 800 ms
    Advance(500);
    EXPECT_FALSE(jobs().Lease(j.id, "w1", 30000));
    Advance(450);
    EXPECT_TRUE(jobs().Lease(j.id, "w1", 30000));
    // The cap bounds it.
    jobs().Fail(j.id, "w1", "3", true, core::Backoff{400, 300});
    Advance(400);
    EXPECT_TRUE(jobs().Lease(j.id, "w1", 30000));
}

TEST_P(JobContract, FailNotRetryableFailsAndACancelWinsOverARetry) {
    auto t = NewTenant("a");
    auto j = LeasedJob(t, "w1", 30000);
    jobs().Fail(j.id, "w1", "bad input", false, core::Backoff{});
    auto f = MustFind(t, j.id);
    EXPECT_EQ(f.status, "failed");
    EXPECT_EQ(f.error, "bad input");
    EXPECT_EQ(f.attempts, 1);
    EXPECT_TRUE(IsTimestamp(f.finished_at));
    EXPECT_FALSE(jobs().Lease(j.id, "w1", 30000));

    auto c = LeasedJob(t, "w1", 30000);
    jobs().Cancel(t, c.id);
    jobs().Fail(c.id, "w1", "boom", true, core::Backoff{1, 1});
    auto fc = MustFind(t, c.id);
    EXPECT_EQ(fc.status, "cancelled");
    EXPECT_EQ(fc.error, "boom");
    EXPECT_TRUE(IsTimestamp(fc.finished_at));
    Advance(50);
    EXPECT_FALSE(jobs().Lease(c.id, "w2", 30000));
}

TEST_P(JobContract, ReleaseRequeuesAtOnceWithoutCountingTheAttempt) {
    auto t = NewTenant("a");
    auto j = LeasedJob(t, "w1", 30000);
    EXPECT_EQ(j.attempts, 1);
    jobs().Release(j.id, "w2");  // not the owner: nothing
    EXPECT_EQ(MustFind(t, j.id).status, "running");
    jobs().Release(j.id, "w1");
    auto f = MustFind(t, j.id);
    EXPECT_EQ(f.status, "queued");
    EXPECT_EQ(f.attempts, 0);
    EXPECT_FALSE(f.finished_at);
    EXPECT_EQ(TakeDue(), (std::set<std::string>{j.id}));  // due now, pushed again
    auto l = jobs().Lease(j.id, "w2", 30000);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->attempts, 1);
    // With a cancel requested, a release cancels.
    jobs().Cancel(t, j.id);
    jobs().Release(j.id, "w2");
    f = MustFind(t, j.id);
    EXPECT_EQ(f.status, "cancelled");
    EXPECT_EQ(f.attempts, 0);
    EXPECT_TRUE(IsTimestamp(f.finished_at));
}

TEST_P(JobContract, ReapExpiredRequeuesKillsAndCancels) {
    auto t = NewTenant("a");
    auto last = LeasedJob(t, "w1", 200, /*max_attempts=*/1);
    auto retry = LeasedJob(t, "w1", 200, /*max_attempts=*/3);
    auto cancelled = LeasedJob(t, "w1", 200, /*max_attempts=*/3);
    auto failed_before = LeasedJob(t, "w1", 30000, /*max_attempts=*/3);
    jobs().Fail(failed_before.id, "w1", "boom", true, core::Backoff{1, 1});
    auto alive = LeasedJob(t, "w1", 30000);
    jobs().Cancel(t, cancelled.id);
    EXPECT_EQ(jobs().ReapExpired(core::Backoff{100, 60000}), 0);  // nothing expired yet
    Advance(20);
    ASSERT_TRUE(jobs().Lease(failed_before.id, "w2", 200));
    Advance(300);
    EXPECT_EQ(jobs().ReapExpired(core::Backoff{100, 60000}), 4);
    auto d = MustFind(t, last.id);
    EXPECT_EQ(d.status, "dead");
    EXPECT_EQ(d.error, kLeaseExpired);
    EXPECT_TRUE(IsTimestamp(d.finished_at));
    auto q = MustFind(t, retry.id);
    EXPECT_EQ(q.status, "queued");
    EXPECT_EQ(q.error, kLeaseExpired);
    EXPECT_EQ(q.attempts, 1);
    EXPECT_FALSE(q.finished_at);
    auto c = MustFind(t, cancelled.id);
    EXPECT_EQ(c.status, "cancelled");
    EXPECT_TRUE(IsTimestamp(c.finished_at));
    auto fb = MustFind(t, failed_before.id);
    EXPECT_EQ(fb.status, "queued");
    EXPECT_EQ(fb.error, "boom");  // an earlier error is kept
    EXPECT_EQ(fb.attempts, 2);
    EXPECT_EQ(MustFind(t, alive.id).status, "running");
    EXPECT_FALSE(jobs().Heartbeat(retry.id, "w1", 30000, 0, nullptr));  // the lease is lost
    EXPECT_EQ(jobs().ReapExpired(core::Backoff{100, 60000}), 0);
    // Requeued after the backoff (100 ms for a first attempt).
    EXPECT_FALSE(jobs().Lease(retry.id, "w2", 30000));
    Advance(150);
    auto again = jobs().Lease(retry.id, "w2", 30000);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->attempts, 2);
}

TEST_P(JobContract, RedriveRunsADeadOrFailedJobAgainFromItsFirstAttempt) {
    auto t = NewTenant("a");
    auto dead = LeasedJob(t, "w1", 30000, /*max_attempts=*/1);
    jobs().Heartbeat(dead.id, "w1", 30000, 0.5, nullptr);
    jobs().Fail(dead.id, "w1", "boom", true, core::Backoff{60000, 60000});
    ASSERT_EQ(MustFind(t, dead.id).status, "dead");
    auto failed = LeasedJob(t, "w1", 30000);
    jobs().Fail(failed.id, "w1", "bad", false, core::Backoff{});
    auto queued = NewJob(t);
    auto running = LeasedJob(t, "w1", 30000);
    auto done = LeasedJob(t, "w1", 30000);
    jobs().Succeed(done.id, "w1", json::object());
    auto cancelled = NewJob(t);
    jobs().Cancel(t, cancelled.id);

    auto r = jobs().Redrive(t, dead.id);
    EXPECT_EQ(r.status, "queued");
    EXPECT_EQ(r.attempts, 0);
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.progress, 0);
    EXPECT_TRUE(r.result.is_null());
    EXPECT_FALSE(r.started_at);
    EXPECT_FALSE(r.finished_at);
    EXPECT_FALSE(r.cancel_requested);
    EXPECT_EQ(TakeDue(), (std::set<std::string>{queued.id, dead.id}));  // due now
    auto l = jobs().Lease(dead.id, "w2", 30000);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->attempts, 1);
    EXPECT_EQ(jobs().Redrive(t, failed.id).status, "queued");
    EXPECT_CODE(jobs().Redrive(t, queued.id), kConflict);
    EXPECT_CODE(jobs().Redrive(t, running.id), kConflict);
    EXPECT_CODE(jobs().Redrive(t, done.id), kConflict);
    EXPECT_CODE(jobs().Redrive(t, cancelled.id), kConflict);
    EXPECT_CODE(jobs().Redrive(t, core::RandomUuid()), kNotFound);
    EXPECT_CODE(jobs().Redrive(t, "not-a-uuid"), kNotFound);
}

TEST_P(JobContract, CancelQueuedAtOnceRunningOnRequestFinishedNever) {
    auto t = NewTenant("a");
    auto q = NewJob(t);
    auto c = jobs().Cancel(t, q.id);
    EXPECT_EQ(c.status, "cancelled");
    EXPECT_TRUE(c.cancel_requested);
    EXPECT_TRUE(IsTimestamp(c.finished_at));
    EXPECT_EQ(MustFind(t, q.id).status, "cancelled");
    EXPECT_CODE(jobs().Cancel(t, q.id), kConflict);
    EXPECT_TRUE(TakeDue().empty());

    auto r = LeasedJob(t, "w1", 30000);
    auto rc = jobs().Cancel(t, r.id);
    EXPECT_EQ(rc.status, "running");
    EXPECT_TRUE(rc.cancel_requested);
    EXPECT_FALSE(rc.finished_at);
    EXPECT_EQ(jobs().Cancel(t, r.id).status, "running");  // asking twice is fine
    jobs().MarkCancelled(r.id, "w2");                     // not the owner: nothing
    EXPECT_EQ(MustFind(t, r.id).status, "running");
    jobs().MarkCancelled(r.id, "w1");
    auto f = MustFind(t, r.id);
    EXPECT_EQ(f.status, "cancelled");
    EXPECT_TRUE(IsTimestamp(f.finished_at));
    EXPECT_FALSE(jobs().Heartbeat(r.id, "w1", 30000, 0, nullptr));

    auto d = LeasedJob(t, "w1", 30000);
    jobs().Fail(d.id, "w1", "bad", false, core::Backoff{});
    EXPECT_CODE(jobs().Cancel(t, d.id), kConflict);
    EXPECT_EQ(MustFind(t, d.id).cancel_requested, false);
    EXPECT_CODE(jobs().Cancel(t, core::RandomUuid()), kNotFound);
    EXPECT_CODE(jobs().Cancel(t, "not-a-uuid"), kNotFound);
}

TEST_P(JobContract, JobsAreTenantScoped) {
    auto a = NewTenant("a");
    auto b = NewTenant("b");
    auto j = NewJob(a);
    auto r = LeasedJob(a, "w1", 30000);
    jobs().Fail(r.id, "w1", "bad", false, core::Backoff{});
    EXPECT_FALSE(jobs().Find(b, j.id));
    EXPECT_TRUE(jobs().List(b, PageRequest{}, std::nullopt, std::nullopt).items.empty());
    EXPECT_CODE(jobs().Cancel(b, j.id), kNotFound);
    EXPECT_CODE(jobs().Redrive(b, r.id), kNotFound);
    EXPECT_EQ(MustFind(a, j.id).status, "queued");
    EXPECT_FALSE(MustFind(a, j.id).cancel_requested);
    EXPECT_EQ(MustFind(a, r.id).status, "failed");
    // The queue operations serve every tenant, by id.
    EXPECT_EQ(TakeDue(), (std::set<std::string>{j.id}));
    EXPECT_TRUE(jobs().Lease(j.id, "w2", 30000));
}

}  // namespace
}  // namespace recs::contract

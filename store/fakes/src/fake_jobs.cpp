// Jobs and their queue state machine (store/src/pg/queries/jobs.hpp).
#include <algorithm>
#include <cmath>

#include "fake_state.hpp"
#include "recs/core/crypto.hpp"

namespace recs::store {
namespace {

using fake::Lower;
using fake::Ts;
using fake::UuidParam;
using nlohmann::json;

/// RECS_BACKOFF: LEAST(base * 2^LEAST(GREATEST(attempts - 1, 0), 40), cap) milliseconds, as
/// microseconds.
int64_t BackoffUs(int attempts, const core::Backoff& b) {
    double exp = std::min(std::max(attempts - 1, 0), 40);
    double ms = std::min(static_cast<double>(b.base_ms) * std::pow(2.0, exp),
                         static_cast<double>(b.cap_ms));
    return static_cast<int64_t>(std::llround(ms * 1000));
}

class FakeJobRepository final : public JobRepository {
public:
    explicit FakeJobRepository(std::shared_ptr<FakeDatabase> db)
        : db_(std::move(db)), s_(db_->state()) {}

    core::Job Create(const core::TenantId& tenant,
                     core::JobKind kind,
                     const json& payload,
                     int max_attempts,
                     const std::optional<std::string>& idem) override {
        s_.Enter("jobs.create");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        if (idem) {
            for (const auto& [seq, r] : s_.jobs.rows) {
                if (r.j.tenant_id != t || r.idempotency_key != idem) continue;
                if (r.j.payload != payload)
                    core::ThrowUnprocessable(
                        "the Idempotency-Key was used before with a different request",
                        "Idempotency-Key");
                return r.j;
            }
        }
        s_.RequireTenant(t);
        int64_t now = s_.NowUs();
        fake::JobRow row;
        row.j.id = core::RandomUuid();
        row.j.tenant_id = t;
        row.j.kind = kind;
        row.j.status = core::JobStatus::kQueued;
        row.j.payload = payload;
        row.j.max_attempts = max_attempts;
        row.j.created_at = Ts(now);
        row.run_after_us = now;
        row.idempotency_key = idem;
        std::string id = row.j.id;  // not a reference into the row it moves
        return s_.jobs.Insert(id, std::move(row)).j;
    }

    std::optional<core::Job> Find(const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id)) return std::nullopt;
        s_.Enter("jobs.find");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto* r = Job(t, Lower(id));
        if (!r) return std::nullopt;
        return r->j;
    }

    Page<core::Job> List(const core::TenantId& tenant,
                         const PageRequest& page,
                         const std::optional<core::JobStatus>& status,
                         const std::optional<core::JobKind>& kind) override {
        int64_t after = fake::StartSeq(page);
        s_.Enter("jobs.list");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        return fake::PageOf<fake::JobRow, core::Job>(
            s_.jobs, after, page.limit,
            [&](const fake::JobRow& r) {
                return r.j.tenant_id == t && (!status || r.j.status == *status) &&
                       (!kind || r.j.kind == *kind);
            },
            [](const fake::JobRow& r) { return r.j; });
    }

    core::Job Cancel(const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("job not found");
        s_.Enter("jobs.cancel");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto* r = Job(t, Lower(id));
        if (!r) core::ThrowNotFound("job not found");
        if (r->j.status == "queued") {
            r->j.status = core::JobStatus::kCancelled;
            r->j.finished_at = Ts(s_.NowUs());
        } else if (r->j.status != "running") {
            core::ThrowConflict("the job already finished (" +
                                std::string(core::JobStatusName(r->j.status)) + ")");
        }
        r->j.cancel_requested = true;
        return r->j;
    }

    core::Job Redrive(const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("job not found");
        s_.Enter("jobs.redrive");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto* r = Job(t, Lower(id));
        if (!r) core::ThrowNotFound("job not found");
        if (r->j.status != "dead" && r->j.status != "failed")
            core::ThrowConflict("only a dead or failed job can be retried (this one is " +
                                std::string(core::JobStatusName(r->j.status)) + ")");
        r->j.status = core::JobStatus::kQueued;
        r->j.attempts = 0;
        r->j.error.reset();
        r->j.result = json();
        r->j.progress = 0;
        r->j.finished_at.reset();
        r->j.started_at.reset();
        r->j.cancel_requested = false;
        r->run_after_us = s_.NowUs();
        r->pushed_us.reset();
        return r->j;
    }

    std::vector<std::string> TakeDueForPush(int64_t repush_after_ms, int limit) override {
        s_.Enter("jobs.take_due");
        if (limit < 0) fake::ThrowBadValue();
        std::lock_guard lock(s_.mu);
        int64_t now = s_.NowUs();
        std::vector<fake::JobRow*> due;
        for (auto& [seq, r] : s_.jobs.rows) {
            if (r.j.status != "queued" || r.run_after_us > now || !TenantActive(r.j.tenant_id))
                continue;
            if (r.pushed_us && *r.pushed_us >= now - repush_after_ms * 1000) continue;
            due.push_back(&r);
        }
        std::stable_sort(due.begin(), due.end(), [](const fake::JobRow* a, const fake::JobRow* b) {
            return a->run_after_us < b->run_after_us;
        });
        if (static_cast<int>(due.size()) > limit) due.resize(static_cast<size_t>(limit));
        std::vector<std::string> ids;
        for (auto* r : due) {
            r->pushed_us = now;
            ids.push_back(r->j.id);
        }
        return ids;
    }

    std::optional<core::Job> Lease(const std::string& id,
                                   const std::string& owner,
                                   int64_t lease_ms) override {
        if (!core::IsUuid(id)) return std::nullopt;
        s_.Enter("jobs.lease");
        std::lock_guard lock(s_.mu);
        auto* r = s_.jobs.Find(Lower(id));
        int64_t now = s_.NowUs();
        if (!r || r->j.status != "queued" || r->j.cancel_requested || r->run_after_us > now ||
            !TenantActive(r->j.tenant_id))
            return std::nullopt;
        r->j.status = core::JobStatus::kRunning;
        r->j.attempts += 1;
        r->lease_owner = owner;
        r->lease_expires_us = now + lease_ms * 1000;
        if (!r->j.started_at) r->j.started_at = Ts(now);
        return r->j;
    }

    bool Heartbeat(const std::string& id,
                   const std::string& owner,
                   int64_t lease_ms,
                   double progress,
                   bool* cancel) override {
        s_.Enter("jobs.heartbeat");
        std::string jid = UuidParam(id);  // no IsUuid guard in the real one: a cast error
        std::lock_guard lock(s_.mu);
        auto* r = Held(jid, owner);
        if (!r) return false;
        r->lease_expires_us = s_.NowUs() + lease_ms * 1000;
        // GREATEST: NaN sorts above every number in PostgreSQL.
        if (std::isnan(progress) || std::isnan(r->j.progress))
            r->j.progress = std::nan("");
        else
            r->j.progress = std::max(r->j.progress, progress);
        if (cancel) *cancel = r->j.cancel_requested;
        return true;
    }

    void Succeed(const std::string& id, const std::string& owner, const json& result) override {
        s_.Enter("jobs.succeed");
        std::string jid = UuidParam(id);
        std::lock_guard lock(s_.mu);
        auto* r = Held(jid, owner);
        if (!r) return;
        r->j.status = core::JobStatus::kSucceeded;
        r->j.progress = 1;
        r->j.result = result;
        r->j.error.reset();
        r->j.finished_at = Ts(s_.NowUs());
        ClearLease(*r);
    }

    void Fail(const std::string& id,
              const std::string& owner,
              const std::string& error,
              bool retryable,
              const core::Backoff& backoff) override {
        s_.Enter("jobs.fail");
        std::string jid = UuidParam(id);
        std::lock_guard lock(s_.mu);
        auto* r = Held(jid, owner);
        if (!r) return;
        int64_t now = s_.NowUs();
        r->j.error = error;
        ClearLease(*r);
        bool terminal = true;
        if (r->j.cancel_requested)
            r->j.status = core::JobStatus::kCancelled;
        else if (!retryable)
            r->j.status = core::JobStatus::kFailed;
        else if (r->j.attempts >= r->j.max_attempts)
            r->j.status = core::JobStatus::kDead;
        else
            r->j.status = core::JobStatus::kQueued, terminal = false;
        r->run_after_us = now + BackoffUs(r->j.attempts, backoff);
        r->pushed_us.reset();
        if (terminal)
            r->j.finished_at = Ts(now);
        else
            r->j.finished_at.reset();
    }

    void MarkCancelled(const std::string& id, const std::string& owner) override {
        s_.Enter("jobs.cancelled");
        std::string jid = UuidParam(id);
        std::lock_guard lock(s_.mu);
        auto* r = Held(jid, owner);
        if (!r) return;
        r->j.status = core::JobStatus::kCancelled;
        r->j.finished_at = Ts(s_.NowUs());
        ClearLease(*r);
    }

    void Release(const std::string& id, const std::string& owner) override {
        s_.Enter("jobs.release");
        std::string jid = UuidParam(id);
        std::lock_guard lock(s_.mu);
        auto* r = Held(jid, owner);
        if (!r) return;
        int64_t now = s_.NowUs();
        if (r->j.cancel_requested) {
            r->j.status = core::JobStatus::kCancelled;
            r->j.finished_at = Ts(now);
        } else {
            r->j.status = core::JobStatus::kQueued;
            r->j.finished_at.reset();
        }
        r->j.attempts = std::max(r->j.attempts - 1, 0);
        ClearLease(*r);
        r->run_after_us = now;
        r->pushed_us.reset();
    }

    int ReapExpired(const core::Backoff& backoff) override {
        s_.Enter("jobs.reap");
        std::lock_guard lock(s_.mu);
        int64_t now = s_.NowUs();
        std::vector<fake::JobRow*> expired;
        for (auto& [seq, r] : s_.jobs.rows)
            if (r.j.status == "running" && r.lease_expires_us && *r.lease_expires_us < now)
                expired.push_back(&r);
        std::stable_sort(expired.begin(), expired.end(),
                         [](const fake::JobRow* a, const fake::JobRow* b) {
                             return *a->lease_expires_us < *b->lease_expires_us;
                         });
        if (expired.size() > 500) expired.resize(500);
        for (auto* r : expired) {
            ClearLease(*r);
            r->pushed_us.reset();
            if (!r->j.error) r->j.error = "lease expired: the worker stopped heart-beating";
            bool terminal = true;
            if (r->j.cancel_requested)
                r->j.status = core::JobStatus::kCancelled;
            else if (r->j.attempts >= r->j.max_attempts)
                r->j.status = core::JobStatus::kDead;
            else
                r->j.status = core::JobStatus::kQueued, terminal = false;
            r->run_after_us = now + BackoffUs(r->j.attempts, backoff);
            if (terminal)
                r->j.finished_at = Ts(now);
            else
                r->j.finished_at.reset();
        }
        return static_cast<int>(expired.size());
    }

private:
    fake::JobRow* Job(const std::string& t, const std::string& id) {
        auto* r = s_.jobs.Find(id);
        return r && r->j.tenant_id == t ? r : nullptr;
    }
    /// Running and leased by `owner` (`status = 'running' AND lease_owner = $2`).
    fake::JobRow* Held(const std::string& id, const std::string& owner) {
        auto* r = s_.jobs.Find(id);
        return r && r->j.status == "running" && r->lease_owner == owner ? r : nullptr;
    }
    bool TenantActive(const std::string& t) {
        auto* tr = s_.TenantById(t);
        return tr && tr->t.status == "active";
    }
    static void ClearLease(fake::JobRow& r) {
        r.lease_owner.reset();
        r.lease_expires_us.reset();
    }

    std::shared_ptr<FakeDatabase> db_;
    FakeDatabase::State& s_;
};

}  // namespace

std::unique_ptr<JobRepository> MakeFakeJobRepository(std::shared_ptr<FakeDatabase> db) {
    return std::make_unique<FakeJobRepository>(std::move(db));
}

}  // namespace recs::store

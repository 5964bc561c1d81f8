#include <nlohmann/json.hpp>

#include "pg/pg_pool_impl.hpp"
#include "pg/queries/jobs.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/store/job_store.hpp"

namespace recs::store {
namespace {

using nlohmann::json;
namespace q = pg;

core::Job RowToJob(const pqxx::row& r) {
    core::Job j;
    j.id = r[1].as<std::string>();
    j.tenant_id = r[2].as<std::string>();
    // CHECK constraints keep both columns to the names the enums know.
    j.kind = core::ParseJobKind(r[3].as<std::string>()).value_or(core::JobKind::kTrain);
    j.status = core::ParseJobStatus(r[4].as<std::string>()).value_or(core::JobStatus::kQueued);
    j.payload = json::parse(r[5].as<std::string>());
    j.progress = r[6].as<double>();
    j.attempts = r[7].as<int>();
    j.max_attempts = r[8].as<int>();
    j.error = OptText(r[9]);
    j.result = r[10].is_null() ? json() : json::parse(r[10].as<std::string>());
    j.cancel_requested = r[11].as<bool>();
    j.created_at = r[12].as<std::string>();
    j.started_at = OptText(r[13]);
    j.finished_at = OptText(r[14]);
    return j;
}

class PgJobRepository final : public JobRepository {
public:
    explicit PgJobRepository(PgPool& pool) : pool_(pool) {}

    core::Job Create(const core::TenantId& tenant,
                     core::JobKind kind_enum,
                     const json& payload,
                     int max_attempts,
                     const std::optional<std::string>& idem) override {
        const std::string kind(core::JobKindName(kind_enum));
        std::optional<core::Job> out;
        WithTransaction(pool_, "jobs.create", [&](pqxx::work& tx) {
            auto r = tx.exec_params(SqlCat({q::kInsertJob, q::kJobColumns}), tenant.value, kind,
                                    payload.dump(), max_attempts, OrNull(idem));
            if (!r.empty()) {
                out = RowToJob(r[0]);
                return;
            }
            auto prev = tx.exec_params(SqlCat({"SELECT ", q::kJobColumns, q::kJobByIdempotency}),
                                       tenant.value, *idem);
            if (prev.empty()) core::ThrowConflict("the Idempotency-Key is in use; retry");
            out = RowToJob(prev[0]);
            if (out->payload != payload)
                core::ThrowUnprocessable(
                    "the Idempotency-Key was used before with a different request",
                    "Idempotency-Key");
        });
        return *out;
    }

    std::optional<core::Job> Find(const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id)) return std::nullopt;
        std::optional<core::Job> out;
        WithConnection(pool_, "jobs.find", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r =
                tx.exec_params(SqlCat({"SELECT ", q::kJobColumns, q::kJobById}), tenant.value, id);
            if (!r.empty()) out = RowToJob(r[0]);
        });
        return out;
    }

    Page<core::Job> List(const core::TenantId& tenant,
                         const PageRequest& page,
                         const std::optional<core::JobStatus>& status_enum,
                         const std::optional<core::JobKind>& kind_enum) override {
        std::optional<std::string> status, kind;
        if (status_enum) status = std::string(core::JobStatusName(*status_enum));
        if (kind_enum) kind = std::string(core::JobKindName(*kind_enum));
        Page<core::Job> out;
        int64_t after = page.cursor ? DecodeCursor(*page.cursor) : 0;
        WithConnection(pool_, "jobs.list", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kJobColumns, q::kJobPage}), tenant.value,
                                    after, OrNull(status), OrNull(kind), page.limit + 1);
            FillPage(r, page.limit, RowToJob, &out);
        });
        return out;
    }

    core::Job Cancel(const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("job not found");
        std::optional<core::Job> out;
        WithConnection(pool_, "jobs.cancel", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({q::kCancel, q::kJobColumns}), tenant.value, id);
            if (!r.empty()) out = RowToJob(r[0]);
        });
        if (out) return *out;
        // Not cancellable: unknown (or gone), or already finished.
        auto job = Find(tenant, id);
        if (!job) core::ThrowNotFound("job not found");
        core::ThrowConflict("the job already finished (" +
                            std::string(core::JobStatusName(job->status)) + ")");
    }

    core::Job Redrive(const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("job not found");
        std::optional<core::Job> out;
        WithConnection(pool_, "jobs.redrive", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({q::kRedrive, q::kJobColumns}), tenant.value, id);
            if (!r.empty()) out = RowToJob(r[0]);
        });
        if (out) return *out;
        auto job = Find(tenant, id);
        if (!job) core::ThrowNotFound("job not found");
        core::ThrowConflict("only a dead or failed job can be retried (this one is " +
                            std::string(core::JobStatusName(job->status)) + ")");
    }

    std::vector<std::string> TakeDueForPush(int64_t repush_after_ms, int limit) override {
        std::vector<std::string> ids;
        WithConnection(pool_, "jobs.take_due", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            for (const auto& r : tx.exec_params(std::string(q::kTakeDue),
                                                static_cast<double>(repush_after_ms), limit))
                ids.push_back(r[0].as<std::string>());
        });
        return ids;
    }

    std::optional<core::Job> Lease(const std::string& id,
                                   const std::string& owner,
                                   int64_t lease_ms) override {
        if (!core::IsUuid(id)) return std::nullopt;
        std::optional<core::Job> out;
        WithTransaction(pool_, "jobs.lease", [&](pqxx::work& tx) {
            // A tenant with a concurrent_jobs quota: its leases one at a time (a transaction
            // lock), so that two workers never both see a free slot.
            tx.exec_params(std::string(q::kLockJobCap), id);
            auto r = tx.exec_params(SqlCat({q::kLease, q::kJobColumns}), id, owner,
                                    static_cast<double>(lease_ms));
            if (!r.empty()) out = RowToJob(r[0]);
        });
        return out;
    }

    bool Heartbeat(const std::string& id,
                   const std::string& owner,
                   int64_t lease_ms,
                   double progress,
                   bool* cancel) override {
        bool held = false;
        WithConnection(pool_, "jobs.heartbeat", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(std::string(q::kHeartbeat), id, owner,
                                    static_cast<double>(lease_ms), progress);
            if (!r.empty()) {
                held = true;
                if (cancel) *cancel = r[0][0].as<bool>();
            }
        });
        return held;
    }

    void Succeed(const std::string& id, const std::string& owner, const json& result) override {
        Exec("jobs.succeed", std::string(q::kSucceed), id, owner, result.dump());
    }

    void Fail(const std::string& id,
              const std::string& owner,
              const std::string& error,
              bool retryable,
              const core::Backoff& backoff) override {
        WithConnection(pool_, "jobs.fail", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(std::string(q::kFail), id, owner, error, retryable ? "true" : "false",
                           static_cast<double>(backoff.base_ms),
                           static_cast<double>(backoff.cap_ms));
        });
    }

    void Release(const std::string& id, const std::string& owner) override {
        WithConnection(pool_, "jobs.release", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(std::string(q::kRelease), id, owner);
        });
    }

    void MarkCancelled(const std::string& id, const std::string& owner) override {
        WithConnection(pool_, "jobs.cancelled", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(std::string(q::kMarkCancelled), id, owner);
        });
    }

    int ReapExpired(const core::Backoff& backoff) override {
        int n = 0;
        WithConnection(pool_, "jobs.reap", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            n = static_cast<int>(tx.exec_params(std::string(q::kReap),
                                                static_cast<double>(backoff.base_ms),
                                                static_cast<double>(backoff.cap_ms))
                                     .size());
        });
        return n;
    }

private:
    void Exec(const char* what,
              const std::string& sql,
              const std::string& a,
              const std::string& b,
              const std::string& c3) {
        WithConnection(pool_, what, [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(sql, a, b, c3);
        });
    }

    PgPool& pool_;
};

}  // namespace

std::unique_ptr<JobRepository> MakePgJobRepository(PgPool& pool) {
    return std::make_unique<PgJobRepository>(pool);
}

}  // namespace recs::store

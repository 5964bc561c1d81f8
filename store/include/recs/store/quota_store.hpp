#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/quotas.hpp"
#include "recs/core/tenancy.hpp"

namespace recs::store {

class PgPool;

/// What a tenant has now, for the count quotas.
struct QuotaCounts {
    int64_t models = 0;
    int64_t artifact_bytes = 0;
    int64_t running_jobs = 0;
    int64_t queued_jobs = 0;
    int64_t max_versions_of_a_model = 0;
};

/// The outcome of a reservation against a monthly quota.
struct Reservation {
    int64_t granted = 0;  ///< how many of the asked were admitted (0..n)
    int64_t used = 0;     ///< the period's use after it
    /// The quota ran out in this call and nobody was told yet this period: quota.exceeded
    /// was raised in the same transaction.
    bool notified = false;
};

/// One hourly usage counter to add.
struct UsageDelta {
    std::string tenant_id;
    int64_t hour_epoch_s = 0;  ///< the hour's first second
    std::string metric;        ///< "requests.predict", "predictions", "events", "jobs", ...
    int64_t count = 0;
};

/// One bucket of usage read back.
struct UsageRow {
    std::string start;  ///< RFC 3339
    std::string metric;
    int64_t count = 0;
};

/// Quotas, monthly reservations and usage counters of tenants, in PostgreSQL (so that every
/// api process shares them and they survive restarts).
class QuotaRepository {
public:
    virtual ~QuotaRepository() = default;
    /// The tenant's quotas (all unset when it has none). kNotFound for an unknown tenant.
    virtual core::Quotas Get(const core::TenantId& tenant) = 0;
    /// Sets the fields named in `set` (a null value: unlimited), with an audit row.
    virtual core::Quotas Update(const core::Actor& actor,
                                const core::TenantId& tenant,
                                const core::Quotas& values,
                                const std::vector<std::string>& set) = 0;
    /// Admits up to n against `limit` in the period (atomic across processes: a row lock).
    /// When fewer than n fit and the period was not notified yet, raises quota.exceeded.
    virtual Reservation Reserve(const core::TenantId& tenant,
                                const std::string& quota,
                                const core::QuotaPeriod& period,
                                int64_t n,
                                int64_t limit) = 0;
    /// Gives back what was reserved and not used.
    virtual void Release(const core::TenantId& tenant,
                         const std::string& quota,
                         const core::QuotaPeriod& period,
                         int64_t n) = 0;
    virtual int64_t Used(const core::TenantId& tenant,
                         const std::string& quota,
                         const core::QuotaPeriod& period) = 0;
    /// Raises quota.exceeded for a count quota once per period; true when this call did.
    virtual bool NotifyOnce(const core::TenantId& tenant,
                            const std::string& quota,
                            const core::QuotaPeriod& period,
                            int64_t limit) = 0;
    virtual QuotaCounts Counts(const core::TenantId& tenant) = 0;
    /// Adds the counters (one statement; concurrent adders sum).
    virtual void AddUsage(const std::vector<UsageDelta>& deltas) = 0;
    /// Counters of [from, to) summed by `granularity` ("hour" | "day"), oldest first.
    virtual std::vector<UsageRow> Usage(const core::TenantId& tenant,
                                        const std::string& from,
                                        const std::string& to,
                                        const std::string& granularity) = 0;
};

std::unique_ptr<QuotaRepository> MakePgQuotaRepository(PgPool& pool);

}  // namespace recs::store

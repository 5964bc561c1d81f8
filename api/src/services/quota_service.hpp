#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http/metrics.hpp"
#include "recs/core/quotas.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/core/ttl_cache.hpp"
#include "recs/store/quota_store.hpp"
#include "recs/store/rate_limiter.hpp"

namespace recs::api {

/// How a route is counted in usage and treated when the limiter cannot answer.
enum class RouteClass { kPredict, kEvents, kJobs, kControl };

/// Quotas, rate limits and usage of tenants. Rate limits are checked in Redis (GCRA, shared by
/// every api process); monthly quotas are reserved in PostgreSQL (exact across processes:
/// events one request at a time, predictions in small chunks per process); usage counters are
/// summed in memory and added to PostgreSQL every second (and at Stop).
class QuotaService {
public:
    QuotaService(store::QuotaRepository& repo, store::RateLimiter* limiter, Metrics* metrics);
    ~QuotaService();
    void Start();
    void Stop();

    /// The tenant's quotas, cached for a second or two.
    core::Quotas QuotasOf(const core::TenantId& tenant);
    /// Forgets the cached quotas (after a change).
    void Forget(const core::TenantId& tenant);

    /// Checks the rate limits of the caller (tenant keys; the platform admin key is the
    /// operator's and is not limited) and returns the RateLimit-Policy and RateLimit headers.
    /// Over a limit: Error(kRateLimited) with Retry-After and the same headers. When Redis does
    /// not answer: admits predictions and reads (fail open), refuses writes (503).
    std::vector<std::pair<std::string, std::string>> Limit(const core::Principal& p,
                                                           RouteClass cls,
                                                           bool write);
    /// The limits in force for the caller, with their state (nothing consumed).
    nlohmann::json RateLimitView(const core::Principal& p);

    /// Admits up to n events this month; throws Error(kRateLimited) naming the quota when none
    /// is left (and n > 0). Returns how many were admitted.
    int64_t AdmitEvents(const core::TenantId& tenant, int64_t n);
    /// Gives back admitted events that were not stored.
    void ReturnEvents(const core::TenantId& tenant, int64_t n);
    /// Admits one prediction this month or throws Error(kRateLimited).
    void AdmitPrediction(const core::TenantId& tenant) { AdmitPredictions(tenant, 1); }
    /// Admits n predictions (a batch) or throws Error(kRateLimited) and admits none.
    void AdmitPredictions(const core::TenantId& tenant, int64_t n);
    /// Count quotas, checked before the change: Error(kForbidden) naming the quota.
    void CheckNewModel(const core::TenantId& tenant);
    void CheckNewJob(const core::TenantId& tenant);

    /// Adds to a usage counter of the current hour.
    void Count(const core::TenantId& tenant, const std::string& metric, int64_t n = 1);
    /// The usage of [from, to) by hour or day, with totals.
    nlohmann::json Usage(const core::TenantId& tenant,
                         const std::string& from,
                         const std::string& to,
                         const std::string& granularity);
    /// GET /quotas: the quotas with this month's use.
    nlohmann::json Overview(const core::TenantId& tenant);
    /// Writes the pending usage counters now.
    void Flush();

    static nlohmann::json QuotasJson(const core::Quotas& q);

private:
    [[noreturn]] void Exceeded(const core::TenantId& tenant,
                               const std::string& quota,
                               int64_t limit,
                               bool monthly);
    std::vector<store::RateLimit> LimitsOf(const core::Principal& p, const core::Quotas& q);
    void FlushLoop();

    store::QuotaRepository& repo_;
    store::RateLimiter* limiter_;
    Metrics* metrics_;
    core::TtlCache<std::string, core::Quotas> cache_;
    struct Chunk {
        std::string period;
        int64_t left = 0;
    };
    std::mutex chunk_mu_;
    std::map<std::string, Chunk> chunks_;  ///< predictions reserved by this process
    std::mutex usage_mu_;
    std::map<std::tuple<std::string, int64_t, std::string>, int64_t> usage_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread flusher_;
    std::atomic<int64_t> last_outage_log_ms_{0};
};

}  // namespace recs::api

#pragma once

// In-memory fakes of the store interfaces, for tests of the code above store/. They follow the
// PostgreSQL and Redis implementations (store/src/pg/queries/*.hpp define the semantics: order,
// conflicts, statuses, backoff, leases, fences); tests/contract runs one suite against both.

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "recs/core/domain.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/feature_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/model_store.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::store {

/// The shared state of the fakes: one "PostgreSQL database" and one "Redis" in memory, so that
/// rules across repositories hold (a tenant's deletion cascades, a version's fence checks the
/// job's lease, leasing checks the tenant's status). Each side has its own mutex and every call
/// is atomic, as one SQL statement or transaction is. Thread-safe.
///
/// Time: every operation reads the clock once, like now() in its transaction; the clock never
/// goes back and each operation sees a later instant than the one before (by a microsecond at
/// least). By default it is the system clock; tests move it with Advance() (leases expire,
/// backoffs become due) or replace it with SetClock().
class FakeDatabase {
public:
    FakeDatabase();
    ~FakeDatabase();
    FakeDatabase(const FakeDatabase&) = delete;
    FakeDatabase& operator=(const FakeDatabase&) = delete;

    /// Replaces the base clock (epoch milliseconds). Advance() offsets still apply. The function
    /// runs under the clock's lock: it must not call back into the fakes.
    void SetClock(std::function<int64_t()> now_ms);
    /// Moves the clock forward by `ms`.
    void Advance(int64_t ms);
    /// The current time (epoch milliseconds) as the next operation would see it.
    int64_t NowMs();

    /// Called with the operation's name (e.g. "jobs.lease", "queue.push", "stream.append")
    /// before every operation, outside the locks; it may throw (e.g. core::Error kUnavailable) to
    /// make the operation fail before it changes anything. Empty: no failures.
    void SetFailureHook(std::function<void(std::string_view op)> hook);

    /// Empties every table and the Redis side (not the clock, not the sequences).
    void Clear();

    /// What a tenant's event stream holds, oldest first (what XRANGE would return: event_id,
    /// type, user_id, item_id, timestamp_ms).
    std::vector<core::Event> StreamEntries(const core::TenantId& tenant);

    struct State;
    State& state() { return *state_; }

private:
    std::unique_ptr<State> state_;
};

/// Every fake store on one FakeDatabase.
struct FakeStores {
    std::shared_ptr<FakeDatabase> db;
    std::unique_ptr<TenantRepository> tenants;
    std::unique_ptr<KeyRepository> keys;
    std::unique_ptr<SettingsRepository> settings;
    std::unique_ptr<IdempotencyRepository> idempotency;
    std::unique_ptr<EventRepository> events;
    std::unique_ptr<FeatureRepository> features;
    std::unique_ptr<ModelRepository> models;
    std::unique_ptr<JobRepository> jobs;
    std::unique_ptr<JobQueue> queue;
    std::unique_ptr<EventStream> streams;
};

/// Makes every fake on `db` (a new FakeDatabase when null).
FakeStores MakeFakeStores(std::shared_ptr<FakeDatabase> db = nullptr);

std::unique_ptr<TenantRepository> MakeFakeTenantRepository(std::shared_ptr<FakeDatabase> db);
std::unique_ptr<KeyRepository> MakeFakeKeyRepository(std::shared_ptr<FakeDatabase> db);
std::unique_ptr<SettingsRepository> MakeFakeSettingsRepository(std::shared_ptr<FakeDatabase> db);
std::unique_ptr<IdempotencyRepository> MakeFakeIdempotencyRepository(
    std::shared_ptr<FakeDatabase> db);
std::unique_ptr<EventRepository> MakeFakeEventRepository(std::shared_ptr<FakeDatabase> db);
std::unique_ptr<FeatureRepository> MakeFakeFeatureRepository(std::shared_ptr<FakeDatabase> db);
std::unique_ptr<ModelRepository> MakeFakeModelRepository(std::shared_ptr<FakeDatabase> db);
std::unique_ptr<JobRepository> MakeFakeJobRepository(std::shared_ptr<FakeDatabase> db);
std::unique_ptr<JobQueue> MakeFakeJobQueue(std::shared_ptr<FakeDatabase> db);
std::unique_ptr<EventStream> MakeFakeEventStream(std::shared_ptr<FakeDatabase> db);

}  // namespace recs::store

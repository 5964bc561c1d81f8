#pragma once

// The store contract: every test runs on two sides, "fake" (recs/store/fakes.hpp) and "real"
// (PostgreSQL and Redis through the Pg*/Redis* repositories). The real side defines the
// contract; it skips when RECS_TEST_PG_DSN / RECS_TEST_REDIS_URL are unset.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/domain.hpp"
#include "recs/core/error.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/fakes.hpp"
#include "recs/store/feature_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/model_store.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::contract {

/// One side's stores (owned by the fixture).
struct Stores {
    std::unique_ptr<store::TenantRepository> tenants;
    std::unique_ptr<store::KeyRepository> keys;
    std::unique_ptr<store::SettingsRepository> settings;
    std::unique_ptr<store::IdempotencyRepository> idempotency;
    std::unique_ptr<store::EventRepository> events;
    std::unique_ptr<store::FeatureRepository> features;
    std::unique_ptr<store::ModelRepository> models;
    std::unique_ptr<store::JobRepository> jobs;
    std::unique_ptr<store::JobQueue> queue;
    std::unique_ptr<store::EventStream> streams;
};

class ContractTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override;

    bool fake() const { return GetParam() == "fake"; }
    /// Lets `ms` pass: moves the fake's clock, sleeps on the real side (keep it short there).
    void Advance(int64_t ms);

    store::TenantRepository& tenants() { return *s_.tenants; }
    store::KeyRepository& keys() { return *s_.keys; }
    store::SettingsRepository& settings() { return *s_.settings; }
    store::IdempotencyRepository& idempotency() { return *s_.idempotency; }
    store::EventRepository& events() { return *s_.events; }
    store::FeatureRepository& features() { return *s_.features; }
    store::ModelRepository& models() { return *s_.models; }
    store::JobRepository& jobs() { return *s_.jobs; }
    store::JobQueue& queue() { return *s_.queue; }
    store::EventStream& streams() { return *s_.streams; }

    /// A new active tenant.
    core::TenantId NewTenant(const std::string& name);
    /// A queued job of `tenant` (kind train).
    core::Job NewJob(const core::TenantId& tenant,
                     int max_attempts = 3,
                     const nlohmann::json& payload = {{"model_id", "m"}});
    /// A job leased by `owner`.
    core::Job LeasedJob(const core::TenantId& tenant,
                        const std::string& owner,
                        int64_t lease_ms,
                        int max_attempts = 3);
    core::Job MustFind(const core::TenantId& tenant, const std::string& job_id);

    core::Actor actor{"platform_admin", "admin", "", ""};

private:
    Stores s_;
    std::shared_ptr<store::FakeDatabase> db_;
};

/// The two sides, named "fake" and "real" in test names.
#define RECS_CONTRACT_SIDES(suite)                       \
    INSTANTIATE_TEST_SUITE_P(                            \
        Sides, suite, ::testing::Values("fake", "real"), \
        [](const ::testing::TestParamInfo<std::string>& info) { return info.param; })

/// Success when `fn` throws core::Error with `code`.
::testing::AssertionResult ThrowsCode(const std::function<void()>& fn, core::ErrorCode code);
#define EXPECT_CODE(statement, code) \
    EXPECT_TRUE(::recs::contract::ThrowsCode([&] { statement; }, ::recs::core::ErrorCode::code))

/// True for timestamps as the store formats them: 2024-05-01T10:00:00.123Z.
bool IsTimestamp(const std::string& s);
bool IsTimestamp(const std::optional<std::string>& s);
std::string Upper(std::string s);

/// An event with the required fields.
core::Event Ev(const std::string& event_id,
               const std::string& user_id = "u1",
               const std::optional<std::string>& item_id = std::string("i1"),
               const std::string& type = "view");
/// A model definition (candidate, popularity).
core::ModelDef Def(const std::string& name);
/// A version to record for `model_id`.
core::ModelVersion Ver(const std::string& model_id,
                       const std::string& artifact_path,
                       const std::optional<std::string>& training_job_id = std::nullopt);

/// Ids of items, for comparisons.
template <typename T>
std::vector<std::string> Ids(const std::vector<T>& items) {
    std::vector<std::string> out;
    for (const auto& i : items) out.push_back(i.id);
    return out;
}

/// Every page of `list(page)` with page size `limit`; `sizes` gets each page's size and `cursors`
/// whether each page had a next cursor.
template <typename T, typename ListFn>
std::vector<T> AllPages(ListFn list,
                        int limit,
                        std::vector<size_t>* sizes = nullptr,
                        std::vector<bool>* cursors = nullptr) {
    std::vector<T> out;
    store::PageRequest p;
    p.limit = limit;
    for (int guard = 0; guard < 100; ++guard) {
        auto page = list(p);
        if (sizes) sizes->push_back(page.items.size());
        if (cursors) cursors->push_back(page.next_cursor.has_value());
        for (auto& i : page.items) out.push_back(std::move(i));
        if (!page.next_cursor) break;
        p.cursor = page.next_cursor;
    }
    return out;
}

}  // namespace recs::contract

#include "contract/contract.hpp"

#include <chrono>
#include <mutex>
#include <regex>
#include <thread>

#include "recs/store/pg_pool.hpp"
#include "recs/store/redis.hpp"
#include "support/test_env.hpp"

namespace recs::contract {
namespace {

/// One Redis client for the real side of every test (a blocking pop holds a connection).
store::RedisClient& Redis() {
    static std::once_flag once;
    static std::unique_ptr<store::RedisClient> client;
    std::call_once(once, [] {
        client = std::make_unique<store::RedisClient>(testing::RedisUrl(),
                                                      store::RedisOptions{.size = 4});
    });
    return *client;
}

}  // namespace

void ContractTest::SetUp() {
    if (fake()) {
        auto f = store::MakeFakeStores();
        db_ = f.db;
        s_ = Stores{std::move(f.tenants),     std::move(f.keys),   std::move(f.settings),
                    std::move(f.idempotency), std::move(f.events), std::move(f.features),
                    std::move(f.models),      std::move(f.jobs),   std::move(f.queue),
                    std::move(f.streams)};
        return;
    }
    RECS_REQUIRE_SERVICES();
    auto& db = testing::TestDatabase::Get();
    db.Truncate();
    Redis().Command({"DEL", "recs:jobs:ready"});  // what tests/redis do: the queue's one key
    auto& pool = db.pool();
    s_.tenants = store::MakePgTenantRepository(pool);
    s_.keys = store::MakePgKeyRepository(pool);
    s_.settings = store::MakePgSettingsRepository(pool);
    s_.idempotency = store::MakePgIdempotencyRepository(pool);
    s_.events = store::MakePgEventRepository(pool);
    s_.features = store::MakePgFeatureRepository(pool);
    s_.models = store::MakePgModelRepository(pool);
    s_.jobs = store::MakePgJobRepository(pool);
    s_.queue = store::MakeRedisJobQueue(Redis());
    s_.streams = store::MakeRedisEventStream(Redis());
}

void ContractTest::Advance(int64_t ms) {
    if (db_)
        db_->Advance(ms);
    else
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

core::TenantId ContractTest::NewTenant(const std::string& name) {
    return core::TenantId{tenants().Create(actor, name).id};
}

core::Job ContractTest::NewJob(const core::TenantId& tenant,
                               int max_attempts,
                               const nlohmann::json& payload) {
    return jobs().Create(tenant, core::JobKind::kTrain, payload, max_attempts, std::nullopt);
}

core::Job ContractTest::LeasedJob(const core::TenantId& tenant,
                                  const std::string& owner,
                                  int64_t lease_ms,
                                  int max_attempts) {
    auto job = NewJob(tenant, max_attempts);
    auto leased = jobs().Lease(job.id, owner, lease_ms);
    EXPECT_TRUE(leased) << "a new job is leasable";
    return leased ? *leased : job;
}

core::Job ContractTest::MustFind(const core::TenantId& tenant, const std::string& job_id) {
    auto j = jobs().Find(tenant, job_id);
    EXPECT_TRUE(j) << "job " << job_id;
    return j ? *j : core::Job{};
}

::testing::AssertionResult ThrowsCode(const std::function<void()>& fn, core::ErrorCode code) {
    try {
        fn();
    } catch (const core::Error& e) {
        if (e.code() == code) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure()
               << "threw " << core::ErrorCodeSlug(e.code()) << " (" << e.what() << "), expected "
               << core::ErrorCodeSlug(code);
    } catch (const std::exception& e) {
        return ::testing::AssertionFailure() << "threw a non-core::Error: " << e.what();
    }
    return ::testing::AssertionFailure() << "did not throw; expected " << core::ErrorCodeSlug(code);
}

bool IsTimestamp(const std::string& s) {
    static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
    return std::regex_match(s, re);
}

bool IsTimestamp(const std::optional<std::string>& s) { return s && IsTimestamp(*s); }

std::string Upper(std::string s) {
    for (auto& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

core::Event Ev(const std::string& event_id,
               const std::string& user_id,
               const std::optional<std::string>& item_id,
               const std::string& type) {
    core::Event e;
    e.event_id = event_id;
    e.type = type;
    e.user_id = user_id;
    e.item_id = item_id;
    e.timestamp_ms = 1700000000000;
    return e;
}

core::ModelDef Def(const std::string& name) {
    core::ModelDef d;
    d.name = name;
    d.type = "candidate";
    d.algorithm = "popularity";
    d.hyperparameters = {{"k", 1}};
    d.description = "d";
    return d;
}

core::ModelVersion Ver(const std::string& model_id,
                       const std::string& artifact_path,
                       const std::optional<std::string>& training_job_id) {
    core::ModelVersion v;
    v.model_id = model_id;
    v.metrics = {{"ndcg", 0.5}};
    v.artifact_path = artifact_path;
    v.artifact_bytes = 42;
    v.artifact_sha256 = std::string(64, 'a');
    v.training_job_id = training_job_id;
    return v;
}

}  // namespace recs::contract

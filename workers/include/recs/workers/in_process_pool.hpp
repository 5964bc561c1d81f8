#pragma once

#include <chrono>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "recs/core/error.hpp"
#include "recs/core/prediction_pool.hpp"

namespace recs::engine {
class Model;
}
namespace recs::store {
class ArtifactStore;
}

namespace recs::workers {

/// Bounds of the models one process keeps loaded.
struct PoolLimits {
    size_t max_bytes = size_t{4} << 30;  ///< artifacts' bytes loaded at once (LRU evicted past it)
    size_t max_models = 256;
    size_t max_models_per_tenant = 16;  ///< one tenant cannot evict every other tenant's models
    std::chrono::milliseconds failure_ttl{5000};  ///< a failed load is not retried before this
};

/// The prediction pool inside this process: loaded model versions by version id, bounded in
/// bytes, in count and per tenant (least recently used evicted first). Loads are single-flight
/// per version and never wait on another version's load; a load that failed (missing or
/// corrupt artifact, checksum mismatch) is remembered for PoolLimits::failure_ttl. A deploy
/// loads the new version next to the old one and swaps the serving pointer; requests in flight
/// keep their shared_ptr to the old model until they finish.
class InProcessPool final : public core::PredictionPool {
public:
    /// `artifacts` resolves a version's artifact reference to a local file (fetching it from
    /// PostgreSQL when the store is there); null: references are file paths.
    explicit InProcessPool(std::string name,
                           PoolLimits limits = {},
                           store::ArtifactStore* artifacts = nullptr);
    ~InProcessPool() override;

    // core::PredictionPool
    core::Rollout Preload(const core::ServingTarget& target) override;
    core::RankResult Rank(const core::ServingTarget& target,
                          const core::RankRequest& request) override;
    std::vector<std::optional<float>> Score(const core::ServingTarget& target,
                                            const std::string& user_id,
                                            const std::vector<std::string>& items) override;
    std::vector<core::RankedItem> Related(const core::ServingTarget& target,
                                          const std::string& item_id,
                                          size_t limit) override;
    void Evict(const std::string& tenant_id) override;
    nlohmann::json Status() override;

    size_t loaded() const;
    size_t loaded_bytes() const;
    /// The version ids loaded now.
    std::vector<std::string> LoadedVersions() const;

private:
    using ModelPtr = std::shared_ptr<const engine::Model>;
    struct Slot {
        std::shared_future<ModelPtr> model;
        bool ready = false;
        size_t bytes = 0;
        std::string tenant;
        std::list<std::string>::iterator lru;
    };
    struct Failure {
        std::string detail;
        core::ErrorCode code = core::ErrorCode::kConflict;
        std::chrono::steady_clock::time_point until;
    };
    ModelPtr Get(const core::ServingTarget& target);
    ModelPtr Load(const core::ServingTarget& target, size_t* bytes);
    void EvictLocked(const std::string& keep);

    std::string name_;
    PoolLimits limits_;
    store::ArtifactStore* artifacts_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, Slot> slots_;  ///< by version id
    std::list<std::string> lru_;                   ///< ready versions, front = most recent
    std::unordered_map<std::string, Failure> failures_;
    size_t bytes_ = 0;
};

}  // namespace recs::workers

#pragma once

#include <memory>
#include <string>

#include "recs/core/prediction_pool.hpp"

namespace recs::store {
class PoolRegistry;
}

namespace recs::pool_client {

/// Bounds of the calls to pool members.
struct RemotePoolOptions {
    std::string token;              ///< RECS_INTERNAL_TOKEN
    int connect_timeout_ms = 500;   ///< a member that does not accept in time is skipped
    int request_timeout_ms = 5000;  ///< a call that takes longer fails (and is retried once)
    int refresh_ms = 500;           ///< how often the member list is read from the registry
};

/// The prediction pools served by worker processes. Each call goes to a live member of the
/// pool its target names: the less busy of two picked at random (power of two choices, by the
/// calls this process has in flight to each), over persistent keep-alive connections. A call
/// that fails before any answer (refused, reset, timed out) is retried once on another member;
/// a pool with no live member answers core::Error(kUnavailable) with Retry-After at once.
/// Preload reaches every live member of the pool (a deploy switches only when all have the
/// version); Evict reaches all members of all pools.
class RemotePool final : public core::PredictionPool {
public:
    RemotePool(store::PoolRegistry& registry, RemotePoolOptions options);
    ~RemotePool() override;
    RemotePool(const RemotePool&) = delete;
    RemotePool& operator=(const RemotePool&) = delete;

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

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace recs::pool_client

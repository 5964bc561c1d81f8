#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "recs/core/prediction_pool.hpp"

namespace recs::engine {
class Model;
}

namespace recs::workers {

/// The prediction pool inside this process: loaded model versions by version id (LRU bounded).
/// A deploy loads the new version next to the old one and swaps the serving pointer; requests
/// in flight keep their shared_ptr to the old model until they finish.
class InProcessPool final : public core::PredictionPool {
public:
    explicit InProcessPool(std::string name, size_t max_models = 64);
    ~InProcessPool() override;

    // core::PredictionPool
    void Preload(const core::ServingTarget& target) override;
    core::RankResult Rank(const core::ServingTarget& target,
                          const core::RankRequest& request) override;
    std::vector<std::optional<float>> Score(const core::ServingTarget& target,
                                            const std::string& user_id,
                                            const std::vector<std::string>& items) override;
    std::vector<core::RankedItem> Related(const core::ServingTarget& target,
                                          const std::string& item_id,
                                          size_t limit) override;
    nlohmann::json Status() override;

    size_t loaded() const;

private:
    std::shared_ptr<const engine::Model> Get(const core::ServingTarget& target);

    std::string name_;
    size_t max_models_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<const engine::Model>> models_;
    std::list<std::string> lru_;  ///< front = most recent
    std::mutex load_mu_;          ///< one artifact load at a time
};

}  // namespace recs::workers

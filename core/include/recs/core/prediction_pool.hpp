#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace recs::core {

/// Which deployed model version serves a request.
struct ServingTarget {
    std::string tenant_id;
    std::string model_name;
    std::string version_id;
    int version = 0;
    std::string algorithm;
    std::string artifact_path;
    std::string artifact_sha256;   ///< checked on every load (empty for versions made before)
    std::string pool = "default";  ///< the worker pool its deployment names
};

/// One item of a ranking.
struct RankedItem {
    std::string item_id;
    float score = 0;
    std::string reason;
};

/// A ranking request, validated by api.
struct RankRequest {
    std::string user_id;
    size_t limit = 10;
    std::optional<std::vector<std::string>> candidate_ids;
    std::unordered_set<std::string> exclude_ids;
    bool exclude_seen = true;
};

/// What a deploy's load ahead of the switch reached: the live members of the pool, and those
/// that have the version loaded now. Members that joined later load it on first use.
struct Rollout {
    std::string pool;
    int members = 0;
    int loaded = 0;
    std::vector<std::string> unreachable;  ///< member ids that did not answer (dropped)
    bool complete() const { return loaded == members; }
};

struct RankResult {
    std::vector<RankedItem> items;
    bool cold_start = false;
};

/// The worker pool that serves predictions. api reaches models only through this interface:
/// cmd/ hands it the in-process pool in `recsplane all`, or a client of a remote pool.
class PredictionPool {
public:
    virtual ~PredictionPool() = default;
    /// Loads a version ahead of traffic (deploy) on every live member of the target's pool.
    /// Throws Error on a bad artifact, or when no member could load it.
    virtual Rollout Preload(const ServingTarget& target) = 0;
    virtual RankResult Rank(const ServingTarget& target, const RankRequest& request) = 0;
    /// Scores the given items for a user (items unknown to the model get nullopt).
    virtual std::vector<std::optional<float>> Score(const ServingTarget& target,
                                                    const std::string& user_id,
                                                    const std::vector<std::string>& items) = 0;
    virtual std::vector<RankedItem> Related(const ServingTarget& target,
                                            const std::string& item_id,
                                            size_t limit) = 0;
    /// Unloads every model of a tenant (its deletion).
    virtual void Evict(const std::string& tenant_id) = 0;
    /// {"status": "up"|"down", ...} for /health.
    virtual nlohmann::json Status() = 0;
};

}  // namespace recs::core

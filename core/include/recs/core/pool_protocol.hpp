#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recs/core/prediction_pool.hpp"

namespace recs::core {

/// The wire form of a prediction pool's calls between the api and a worker that serves a pool
/// (POST /internal/v1/{rank,score,related,preload,evict} on the worker's serving port).
/// Decoding throws Error(kInvalidArgument) for a document of the wrong shape.
nlohmann::json TargetToJson(const ServingTarget& t);
ServingTarget TargetFromJson(const nlohmann::json& j);
nlohmann::json RankRequestToJson(const RankRequest& r);
RankRequest RankRequestFromJson(const nlohmann::json& j);
nlohmann::json RankResultToJson(const RankResult& r);
RankResult RankResultFromJson(const nlohmann::json& j);
nlohmann::json ItemsToJson(const std::vector<RankedItem>& items);
std::vector<RankedItem> ItemsFromJson(const nlohmann::json& j);

/// A worker that serves a pool, as it registers itself (and lists through GET /pools).
struct PoolMember {
    std::string id;                   ///< unique per process
    std::string pool;                 ///< the pool's name
    std::string address;              ///< host:port of its serving endpoint
    std::vector<std::string> loaded;  ///< model version ids it has loaded
    int inflight = 0;                 ///< requests it is serving now
    double p50_ms = 0, p99_ms = 0;    ///< its serving latency over the last minute
    int64_t heartbeat_ms = 0;         ///< epoch milliseconds of its last heartbeat
};
nlohmann::json MemberToJson(const PoolMember& m);
PoolMember MemberFromJson(const nlohmann::json& j);

/// The name of the pool that serves when a deployment names none.
inline constexpr const char* kDefaultPool = "default";

/// True for a pool name: 1..64 of [a-z0-9-], starting with a letter or digit.
bool IsPoolName(const std::string& name);

}  // namespace recs::core

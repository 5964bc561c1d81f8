#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>

namespace recs::store {
class PgPool;
class RedisClient;
}  // namespace recs::store

namespace recs::workers {

/// A member of a named worker pool: runs jobs and serves predictions.
class Worker {
public:
    Worker(store::PgPool& pg, store::RedisClient& redis, std::string pool_name,
           std::string data_dir);
    ~Worker();
    void Start();
    void Stop();
    /// {"status": "up"|"down", "pools": {name: {...}}} for /health.
    nlohmann::json Status() const;

private:
    store::PgPool& pg_;
    store::RedisClient& redis_;
    std::string pool_name_;
    std::string data_dir_;
    std::atomic<bool> running_{false};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace recs::workers

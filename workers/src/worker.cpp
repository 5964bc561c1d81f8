#include "recs/workers/worker.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "recs/core/log.hpp"

namespace recs::workers {

Worker::Worker(store::PgPool& pg, store::RedisClient& redis, std::string pool_name,
               std::string data_dir)
    : pg_(pg), redis_(redis), pool_name_(std::move(pool_name)), data_dir_(std::move(data_dir)) {}

Worker::~Worker() { Stop(); }

void Worker::Start() {
    running_ = true;
    thread_ = std::thread([this] {
        core::Log(core::LogLevel::kInfo, "worker started", {{"pool", pool_name_}});
        while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    });
}

void Worker::Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    running_ = false;
}

nlohmann::json Worker::Status() const {
    bool up = running_.load();
    return {{"status", up ? "up" : "down"},
            {"pools", {{pool_name_, {{"status", up ? "up" : "down"}, {"workers", 1}}}}}};
}

}  // namespace recs::workers

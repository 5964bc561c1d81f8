#include "recs/scheduler/scheduler.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"

namespace recs::scheduler {

Scheduler::Scheduler(store::PgPool& pg, store::RedisClient& redis) : pg_(pg), redis_(redis) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
    thread_ = std::thread([this] {
        core::Log(core::LogLevel::kInfo, "scheduler started");
        while (!stop_) {
            try {
                Tick();
            } catch (const core::Error& e) {
                core::Log(core::LogLevel::kWarn, "scheduler tick failed", {{"error", e.detail()}});
            }
            for (int i = 0; i < 10 && !stop_; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
}

void Scheduler::Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

int Scheduler::Tick() {
    (void)pg_;
    (void)redis_;
    return 0;
}

}  // namespace recs::scheduler

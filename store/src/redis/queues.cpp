#include <nlohmann/json.hpp>

#include "recs/core/error.hpp"
#include "recs/store/loop_store.hpp"
#include "recs/store/redis.hpp"
#include "redis/redis_keys.hpp"

namespace recs::store {
namespace {

constexpr const char* kStreamMaxLen = "1000000";

class RedisJobQueue final : public JobQueue {
public:
    explicit RedisJobQueue(RedisClient& r) : redis_(r) {}

    void Push(const std::vector<std::string>& job_ids) override {
        if (job_ids.empty()) return;
        std::vector<std::string> cmd = {"LPUSH", redis_keys::JobQueue()};
        cmd.insert(cmd.end(), job_ids.begin(), job_ids.end());
        auto r = redis_.Command(cmd);
        if (r.type == RedisReply::Type::kError)
            throw core::Error(core::ErrorCode::kUnavailable, "Redis refused the job push");
    }

    std::optional<std::string> Pop(int timeout_ms) override {
        double secs = timeout_ms / 1000.0;
        auto r = redis_.Command({"BRPOP", redis_keys::JobQueue(), std::to_string(secs)});
        if (r.type != RedisReply::Type::kArray || r.elements.size() != 2) return std::nullopt;
        return r.elements[1].str;
    }

private:
    RedisClient& redis_;
};

class RedisEventStream final : public EventStream {
public:
    explicit RedisEventStream(RedisClient& r) : redis_(r) {}

    void Append(const core::TenantId& tenant, const std::vector<core::Event>& events) override {
        if (events.empty()) return;
        std::string key = redis_keys::EventStream(tenant.value);
        std::vector<std::vector<std::string>> cmds;
        cmds.reserve(events.size());
        for (const auto& e : events) {
            cmds.push_back({"XADD", key, "MAXLEN", "~", kStreamMaxLen, "*", "event_id", e.event_id,
                            "type", e.type, "user_id", e.user_id, "item_id", e.item_id.value_or(""),
                            "ts", std::to_string(e.timestamp_ms)});
        }
        // Chunks keep a single pipeline's memory bounded.
        constexpr size_t kChunk = 2000;
        for (size_t i = 0; i < cmds.size(); i += kChunk) {
            std::vector<std::vector<std::string>> part(
                cmds.begin() + static_cast<long>(i),
                cmds.begin() + static_cast<long>(std::min(cmds.size(), i + kChunk)));
            redis_.Pipeline(part);
        }
    }

    int64_t Length(const core::TenantId& tenant) override {
        return redis_.Command({"XLEN", redis_keys::EventStream(tenant.value)}).integer;
    }

private:
    RedisClient& redis_;
};

}  // namespace

std::unique_ptr<JobQueue> MakeRedisJobQueue(RedisClient& redis) {
    return std::make_unique<RedisJobQueue>(redis);
}
std::unique_ptr<EventStream> MakeRedisEventStream(RedisClient& redis) {
    return std::make_unique<RedisEventStream>(redis);
}

}  // namespace recs::store

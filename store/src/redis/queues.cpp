#include <chrono>
#include <nlohmann/json.hpp>

#include "recs/core/error.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/job_store.hpp"
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
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        // NX: a job already waiting keeps its place (and is not added twice).
        std::vector<std::string> cmd = {"ZADD", redis_keys::JobQueue(), "NX"};
        for (const auto& id : job_ids) {
            cmd.push_back(std::to_string(now));
            cmd.push_back(id);
        }
        auto r = redis_.Command(cmd);
        if (r.type == RedisReply::Type::kError)
            throw core::Error(core::ErrorCode::kUnavailable,
                              "Redis refused the job push: " + r.str);
    }

    std::optional<std::string> Pop(int timeout_ms) override {
        double secs = timeout_ms / 1000.0;
        auto r = redis_.Command({"BZPOPMIN", redis_keys::JobQueue(), std::to_string(secs)});
        if (r.type == RedisReply::Type::kError)
            throw core::Error(core::ErrorCode::kUnavailable, "Redis refused the job pop: " + r.str);
        if (r.type != RedisReply::Type::kArray || r.elements.size() != 3) return std::nullopt;
        return r.elements[1].str;
    }

    int64_t Depth() override { return redis_.Command({"ZCARD", redis_keys::JobQueue()}).integer; }

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
            for (const auto& reply : redis_.Pipeline(part))
                if (reply.type == RedisReply::Type::kError)  // e.g. OOM under maxmemory
                    throw core::Error(core::ErrorCode::kUnavailable,
                                      "Redis refused the stream append: " + reply.str);
        }
    }

    int64_t Length(const core::TenantId& tenant) override {
        return redis_.Command({"XLEN", redis_keys::EventStream(tenant.value)}).integer;
    }

    void Delete(const core::TenantId& tenant) override {
        auto r = redis_.Command({"UNLINK", redis_keys::EventStream(tenant.value)});
        if (r.type == RedisReply::Type::kError)
            throw core::Error(core::ErrorCode::kUnavailable, "Redis refused UNLINK: " + r.str);
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

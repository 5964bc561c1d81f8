#include "recs/store/pool_registry.hpp"

#include <nlohmann/json.hpp>

#include "recs/core/error.hpp"
#include "recs/store/redis.hpp"
#include "redis/redis_keys.hpp"

namespace recs::store {
namespace {

class RedisPoolRegistry final : public PoolRegistry {
public:
    explicit RedisPoolRegistry(RedisClient& r) : redis_(r) {}

    void Heartbeat(const core::PoolMember& m, int ttl_ms) override {
        auto replies =
            redis_.Pipeline({{"SET", redis_keys::PoolMember(m.pool, m.id),
                              core::MemberToJson(m).dump(), "PX", std::to_string(ttl_ms)},
                             {"SADD", redis_keys::PoolMembers(m.pool), m.id},
                             {"SADD", redis_keys::Pools(), m.pool}});
        for (const auto& r : replies)
            if (r.type == RedisReply::Type::kError)
                throw core::Error(core::ErrorCode::kUnavailable,
                                  "Redis refused the pool heartbeat: " + r.str);
    }

    void Leave(const core::PoolMember& m) override {
        redis_.Pipeline({{"DEL", redis_keys::PoolMember(m.pool, m.id)},
                         {"SREM", redis_keys::PoolMembers(m.pool), m.id}});
    }

    std::vector<core::PoolMember> Members(const std::string& pool) override {
        std::vector<core::PoolMember> out;
        auto ids = redis_.Command({"SMEMBERS", redis_keys::PoolMembers(pool)});
        if (ids.type != RedisReply::Type::kArray || ids.elements.empty()) return out;
        std::vector<std::string> mget = {"MGET"};
        for (const auto& id : ids.elements) mget.push_back(redis_keys::PoolMember(pool, id.str));
        auto values = redis_.Command(mget);
        std::vector<std::string> gone;
        for (size_t i = 0; i < ids.elements.size() && i < values.elements.size(); ++i) {
            const auto& v = values.elements[i];
            if (v.IsNil()) {
                gone.push_back(ids.elements[i].str);  // stopped heart-beating: forget it
                continue;
            }
            auto j = nlohmann::json::parse(v.str, nullptr, false);
            if (j.is_discarded()) continue;
            try {
                out.push_back(core::MemberFromJson(j));
            } catch (const core::Error&) {
            }
        }
        if (!gone.empty()) {
            std::vector<std::string> srem = {"SREM", redis_keys::PoolMembers(pool)};
            srem.insert(srem.end(), gone.begin(), gone.end());
            redis_.Command(srem);
        }
        return out;
    }

    std::vector<std::string> Pools() override {
        std::vector<std::string> out;
        auto r = redis_.Command({"SMEMBERS", redis_keys::Pools()});
        for (const auto& e : r.elements) out.push_back(e.str);
        return out;
    }

private:
    RedisClient& redis_;
};

}  // namespace

std::unique_ptr<PoolRegistry> MakeRedisPoolRegistry(RedisClient& redis) {
    return std::make_unique<RedisPoolRegistry>(redis);
}

}  // namespace recs::store

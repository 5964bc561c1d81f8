#pragma once

#include <memory>
#include <string>
#include <vector>

#include "recs/core/pool_protocol.hpp"

namespace recs::store {

class RedisClient;

/// Where the members of worker pools announce themselves. A member's entry lives for
/// `ttl_ms` after its last heartbeat: a member that stops disappears by itself.
class PoolRegistry {
public:
    virtual ~PoolRegistry() = default;
    /// Registers or refreshes `member` (its pool, address and state) for ttl_ms.
    virtual void Heartbeat(const core::PoolMember& member, int ttl_ms) = 0;
    /// Removes a member at once (a clean shutdown).
    virtual void Leave(const core::PoolMember& member) = 0;
    /// The live members of a pool.
    virtual std::vector<core::PoolMember> Members(const std::string& pool) = 0;
    /// The names of the pools that have had members.
    virtual std::vector<std::string> Pools() = 0;
};

std::unique_ptr<PoolRegistry> MakeRedisPoolRegistry(RedisClient& redis);

}  // namespace recs::store

#pragma once

#include <string>

namespace recs::store::redis_keys {

/// The ready jobs: a sorted set of job ids scored by the time they were pushed, popped
/// lowest first (BZPOPMIN). A set, so that re-pushing a job Redis still has never makes a
/// duplicate (ids are leased in PostgreSQL, so a popped id that is not leasable is dropped).
inline std::string JobQueue() { return "recs:jobs:ready"; }

/// A tenant's event stream (consumed by the real-time layer). The {tenant} hash tag keeps all of
/// a tenant's keys on one Redis Cluster slot.
inline std::string EventStream(const std::string& tenant_id) {
    return "recs:t:{" + tenant_id + "}:events";
}

/// The worker pools: the set of pool names, each pool's set of member ids, and each member's
/// state (a key that expires when the member stops heart-beating).
inline std::string Pools() { return "recs:pools"; }
inline std::string PoolMembers(const std::string& pool) {
    return "recs:pool:{" + pool + "}:members";
}
inline std::string PoolMember(const std::string& pool, const std::string& id) {
    return "recs:pool:{" + pool + "}:member:" + id;
}

}  // namespace recs::store::redis_keys

namespace recs::store::redis_keys {

/// Rate limits (GCRA): each holds the theoretical arrival time of the next request, in
/// microseconds of Redis's clock. Both of a tenant's keys hash to its slot.
inline std::string RateLimitKey(const std::string& tenant_id, const std::string& key_id) {
    return "recs:t:{" + tenant_id + "}:rl:key:" + key_id;
}
inline std::string RateLimitTenant(const std::string& tenant_id) {
    return "recs:t:{" + tenant_id + "}:rl:tenant";
}

}  // namespace recs::store::redis_keys

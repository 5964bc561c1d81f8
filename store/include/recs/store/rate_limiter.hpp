#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace recs::store {

class RedisClient;

/// One limit to check: `rate` requests per second with bursts of up to `burst` at once.
struct RateLimit {
    std::string name;  ///< "key" | "tenant"
    std::string redis_key;
    int64_t rate = 0;   ///< > 0
    int64_t burst = 1;  ///< >= 1
};

/// A limit's state after a check.
struct RateLimitState {
    std::string name;
    int64_t rate = 0, burst = 0;
    int64_t remaining = 0;  ///< requests admitted at once from now
    int64_t reset_ms = 0;   ///< until the full burst is available again
};

struct RateDecision {
    bool allowed = true;
    int64_t retry_after_ms = 0;  ///< when denied: until the request would be admitted
    std::vector<RateLimitState> states;
};

/// The generic cell rate algorithm in Redis: one Lua script checks every limit of a request
/// and consumes from all of them only when all admit it, atomically (no read-modify-write
/// race between api processes), on Redis's clock (no skew between them). After `n` seconds
/// a limit has admitted at most rate * n + burst requests.
class RateLimiter {
public:
    virtual ~RateLimiter() = default;
    /// Throws core::Error(kUnavailable) when Redis does not answer. consume = false: only
    /// reads the state (GET /rate-limits).
    virtual RateDecision Check(const std::vector<RateLimit>& limits, bool consume = true) = 0;
};

std::unique_ptr<RateLimiter> MakeRedisRateLimiter(RedisClient& redis);

/// The Redis keys of a tenant's limits.
std::string RateLimitKeyOf(const std::string& tenant_id, const std::string& key_id);
std::string RateLimitTenantKeyOf(const std::string& tenant_id);

}  // namespace recs::store

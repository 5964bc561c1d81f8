#include "recs/store/rate_limiter.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string_view>

#include "recs/core/error.hpp"
#include "recs/store/redis.hpp"
#include "redis/redis_keys.hpp"

namespace recs::store {
namespace {

// KEYS: the limits' keys. ARGV: per limit its emission interval T and tolerance tau (both in
// microseconds), then 1 to consume or 0 to read. A request is admitted by a limit when its new
// theoretical arrival time max(tat, now) + T is at most now + tau (tau = burst * T).
// Returns {allowed, retry_after_us, then per limit: remaining, reset_us}.
constexpr std::string_view kScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #KEYS
local consume = tonumber(ARGV[2 * n + 1]) == 1
local tats = {}
local allowed = 1
local retry = 0
for i = 1, n do
  local T = tonumber(ARGV[2 * i - 1])
  local tau = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  local new = tat + T
  if new - now > tau + 0.001 then
    allowed = 0
    local wait = new - now - tau
    if wait > retry then retry = wait end
  end
end
local out = {allowed, retry}
for i = 1, n do
  local T = tonumber(ARGV[2 * i - 1])
  local tau = tonumber(ARGV[2 * i])
  local tat = tats[i]
  if allowed == 1 and consume then
    tat = tat + T
    redis.call('SET', KEYS[i], string.format('%.3f', tat), 'PX',
               string.format('%.0f', math.floor((tat - now) / 1000) + 1000))
  end
  local remaining = math.floor((tau - (tat - now)) / T + 1e-6)
  if remaining < 0 then remaining = 0 end
  out[#out + 1] = remaining
  out[#out + 1] = tat - now
end
return out
)lua";

class RedisRateLimiter final : public RateLimiter {
public:
    explicit RedisRateLimiter(RedisClient& redis) : redis_(redis) {}

    RateDecision Check(const std::vector<RateLimit>& limits, bool consume) override {
        RateDecision d;
        if (limits.empty()) return d;
        std::vector<std::string> args{"EVALSHA", Sha(), std::to_string(limits.size())};
        for (const auto& l : limits) args.push_back(l.redis_key);
        for (const auto& l : limits) {
            // Fractional microseconds: a rate that does not divide a second stays exact.
            double T = 1e6 / static_cast<double>(std::max<int64_t>(1, l.rate));
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.6f", T);
            args.push_back(buf);
            std::snprintf(buf, sizeof buf, "%.6f",
                          T * static_cast<double>(std::max<int64_t>(1, l.burst)));
            args.push_back(buf);
        }
        args.push_back(consume ? "1" : "0");
        auto r = redis_.Command(args);
        if (r.type == RedisReply::Type::kError && r.str.rfind("NOSCRIPT", 0) == 0) {
            // Redis restarted (or flushed its scripts): run it in full, load it again later.
            args[0] = "EVAL";
            args[1] = std::string(kScript);
            r = redis_.Command(args);
            std::lock_guard lock(mu_);
            sha_.clear();
        }
        if (r.type != RedisReply::Type::kArray || r.elements.size() != 2 + 2 * limits.size())
            throw core::Error(core::ErrorCode::kUnavailable,
                              "the rate limiter's script failed: " + r.str);
        d.allowed = r.elements[0].integer == 1;
        d.retry_after_ms = (r.elements[1].integer + 999) / 1000;
        for (size_t i = 0; i < limits.size(); ++i) {
            RateLimitState s;
            s.name = limits[i].name;
            s.rate = limits[i].rate;
            s.burst = limits[i].burst;
            s.remaining = r.elements[2 + 2 * i].integer;
            s.reset_ms = (r.elements[3 + 2 * i].integer + 999) / 1000;
            d.states.push_back(s);
        }
        return d;
    }

private:
    std::string Sha() {
        std::lock_guard lock(mu_);
        if (sha_.empty()) {
            auto r = redis_.Command({"SCRIPT", "LOAD", std::string(kScript)});
            if (r.type != RedisReply::Type::kString)
                throw core::Error(core::ErrorCode::kUnavailable,
                                  "the rate limiter's script did not load: " + r.str);
            sha_ = r.str;
        }
        return sha_;
    }
    RedisClient& redis_;
    std::mutex mu_;
    std::string sha_;
};

}  // namespace

std::unique_ptr<RateLimiter> MakeRedisRateLimiter(RedisClient& redis) {
    return std::make_unique<RedisRateLimiter>(redis);
}

std::string RateLimitKeyOf(const std::string& tenant_id, const std::string& key_id) {
    return redis_keys::RateLimitKey(tenant_id, key_id);
}
std::string RateLimitTenantKeyOf(const std::string& tenant_id) {
    return redis_keys::RateLimitTenant(tenant_id);
}

}  // namespace recs::store

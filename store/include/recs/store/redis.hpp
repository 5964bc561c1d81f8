#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace recs::store {

/// A reply of Redis (RESP2), converted from hiredis.
struct RedisReply {
    enum class Type { kNil, kString, kInteger, kArray, kStatus, kError };
    Type type = Type::kNil;
    std::string str;
    int64_t integer = 0;
    std::vector<RedisReply> elements;
    bool IsNil() const { return type == Type::kNil; }
};

/// Bounds of a Redis connection pool: every wait has one.
struct RedisOptions {
    int size = 8;
    int connect_timeout_ms = 2000;
    int io_timeout_ms = 2000;  ///< a command's reply; blocking pops need more than their block
    int acquire_timeout_ms = 2000;
};

/// A small pool of synchronous hiredis connections with reconnect on failure. Thread-safe.
/// Redis keys are built only in store/src/redis/redis_keys.hpp.
class RedisClient {
public:
    /// url: redis://[[user]:password@]host[:port][/db] (AUTH and SELECT on every connection).
    /// Connects once to validate; throws core::Error(kUnavailable), or kInvalidArgument for a
    /// URL it cannot use (rediss://: hiredis 0.14 has no TLS).
    RedisClient(const std::string& url, RedisOptions options);
    RedisClient(const std::string& url, int size);
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    /// Runs one command (binary-safe arguments). Throws kUnavailable on a connection failure;
    /// an error reply is returned as Type::kError.
    RedisReply Command(const std::vector<std::string>& args);
    /// Sends the commands in one round trip (pipelined) and returns their replies in order.
    std::vector<RedisReply> Pipeline(const std::vector<std::vector<std::string>>& commands);
    /// PING round trip in milliseconds; throws kUnavailable.
    double Ping();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace recs::store

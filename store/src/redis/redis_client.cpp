#include <hiredis/hiredis.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/store/redis.hpp"

namespace recs::store {
namespace {

struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

struct Endpoint {
    std::string host = "127.0.0.1";
    int port = 6379;
    int db = 0;
    std::string user;  ///< ACL user (Redis 6+), empty for the default user
    std::string password;
};

int ParsePart(const std::string& text, const char* what, int lo, int hi) {
    int v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi)
        throw core::Error(core::ErrorCode::kInvalidArgument,
                          std::string("RECS_REDIS_URL has an invalid ") + what, "RECS_REDIS_URL");
    return v;
}

std::string UrlDecode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() &&
            std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

/// redis://[[user]:password@]host[:port][/db]. rediss:// (TLS) is refused with a clear line:
/// hiredis 0.14 has no TLS.
Endpoint ParseUrl(const std::string& url) {
    Endpoint e;
    std::string rest = url;
    if (rest.rfind("redis://", 0) == 0) {
        rest = rest.substr(8);
    } else if (rest.rfind("rediss://", 0) == 0) {
        throw core::Error(core::ErrorCode::kInvalidArgument,
                          "RECS_REDIS_URL: TLS (rediss://) is not supported; terminate TLS in a "
                          "local proxy (stunnel, a sidecar) and use redis://",
                          "RECS_REDIS_URL");
    } else if (rest.find("://") != std::string::npos) {
        throw core::Error(core::ErrorCode::kInvalidArgument,
                          "RECS_REDIS_URL must look like redis://[:password@]host:port[/db]",
                          "RECS_REDIS_URL");
    }
    auto at = rest.rfind('@');
    if (at != std::string::npos) {
        std::string cred = rest.substr(0, at);
        rest = rest.substr(at + 1);
        auto colon = cred.find(':');
        if (colon == std::string::npos) {
            e.password = UrlDecode(cred);  // redis://password@host, as redis-cli -u reads it
        } else {
            e.user = UrlDecode(cred.substr(0, colon));
            e.password = UrlDecode(cred.substr(colon + 1));
        }
    }
    auto slash = rest.find('/');
    if (slash != std::string::npos) {
        std::string db = rest.substr(slash + 1);
        if (!db.empty()) e.db = ParsePart(db, "database number", 0, 1 << 20);
        rest = rest.substr(0, slash);
    }
    auto colon = rest.rfind(':');
    if (colon != std::string::npos) {
        e.port = ParsePart(rest.substr(colon + 1), "port", 1, 65535);
        rest = rest.substr(0, colon);
    }
    if (!rest.empty()) e.host = rest;
    return e;
}

RedisReply Convert(const redisReply* r) {
    RedisReply out;
    if (!r) return out;
    switch (r->type) {
        case REDIS_REPLY_STRING:
            out.type = RedisReply::Type::kString;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = RedisReply::Type::kStatus;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = RedisReply::Type::kError;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = RedisReply::Type::kInteger;
            out.integer = r->integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = RedisReply::Type::kArray;
            for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
            break;
        default:
            break;
    }
    return out;
}

}  // namespace

struct RedisClient::Impl {
    Endpoint ep;
    RedisOptions opts;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<ContextPtr> idle;
    int open = 0;

    static timeval Tv(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

    /// Sends one command on a fresh connection during set-up; throws kUnavailable on failure.
    static void Setup(redisContext* c, std::vector<std::string> args, const char* what) {
        std::vector<const char*> argv;
        std::vector<size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        auto* r = static_cast<redisReply*>(
            redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
        if (!r)
            throw core::Error(core::ErrorCode::kUnavailable,
                              std::string("Redis ") + what + " failed: " + c->errstr);
        bool error = r->type == REDIS_REPLY_ERROR;
        std::string msg = error ? std::string(r->str, r->len) : "";
        freeReplyObject(r);
        if (error)  // e.g. WRONGPASS: said once, clearly, instead of failing every command
            throw core::Error(core::ErrorCode::kUnavailable,
                              std::string("Redis refused ") + what + ": " + msg);
    }

    ContextPtr Connect() {
        ContextPtr c(
            redisConnectWithTimeout(ep.host.c_str(), ep.port, Tv(opts.connect_timeout_ms)));
        if (!c || c->err) {
            std::string why = c ? c->errstr : "out of memory";
            throw core::Error(core::ErrorCode::kUnavailable,
                              "cannot connect to Redis at " + ep.host + ":" +
                                  std::to_string(ep.port) + ": " + why);
        }
        redisSetTimeout(c.get(), Tv(opts.io_timeout_ms));
        if (!ep.password.empty()) {
            if (ep.user.empty())
                Setup(c.get(), {"AUTH", ep.password}, "AUTH");
            else
                Setup(c.get(), {"AUTH", ep.user, ep.password}, "AUTH");
        }
        if (ep.db != 0) Setup(c.get(), {"SELECT", std::to_string(ep.db)}, "SELECT");
        return c;
    }

    ContextPtr Acquire() {
        std::unique_lock lock(mu);
        auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.acquire_timeout_ms);
        if (!cv.wait_until(lock, deadline, [&] { return !idle.empty() || open < opts.size; }))
            throw core::Error(core::ErrorCode::kUnavailable,
                              "no Redis connection became free in time")
                .WithRetryAfter(1);
        if (!idle.empty()) {
            auto c = std::move(idle.back());
            idle.pop_back();
            return c;
        }
        ++open;
        lock.unlock();
        try {
            return Connect();
        } catch (...) {
            std::lock_guard relock(mu);
            --open;
            cv.notify_one();
            throw;
        }
    }

    void Release(ContextPtr c) {
        std::lock_guard lock(mu);
        if (!c || c->err) {
            --open;
        } else {
            idle.push_back(std::move(c));
        }
        cv.notify_one();
    }
};

RedisClient::RedisClient(const std::string& url, RedisOptions options)
    : impl_(std::make_unique<Impl>()) {
    impl_->ep = ParseUrl(url);
    impl_->opts = options;
    if (impl_->opts.size < 1) impl_->opts.size = 1;
    auto c = impl_->Connect();
    impl_->open = 1;
    impl_->idle.push_back(std::move(c));
}

RedisClient::RedisClient(const std::string& url, int size)
    : RedisClient(url, RedisOptions{.size = size}) {}

RedisClient::~RedisClient() = default;

RedisReply RedisClient::Command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    // One retry on a fresh connection: a pooled connection may have been closed by the server.
    for (int attempt = 0; attempt < 2; ++attempt) {
        ContextPtr c = impl_->Acquire();
        auto* r = static_cast<redisReply*>(
            redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data()));
        if (r) {
            RedisReply out = Convert(r);
            freeReplyObject(r);
            impl_->Release(std::move(c));
            return out;
        }
        std::string why = c->errstr;
        impl_->Release(std::move(c));  // c->err is set: the slot is freed
        if (attempt == 1) {
            core::Log(core::LogLevel::kError, "redis command failed", {{"error", why}});
            throw core::Error(core::ErrorCode::kUnavailable, "Redis is unavailable")
                .WithRetryAfter(1);
        }
    }
    throw core::Error(core::ErrorCode::kUnavailable, "Redis is unavailable").WithRetryAfter(1);
}

std::vector<RedisReply> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
    std::vector<RedisReply> out;
    if (commands.empty()) return out;
    ContextPtr c = impl_->Acquire();
    for (const auto& args : commands) {
        std::vector<const char*> argv;
        std::vector<size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        redisAppendCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data());
    }
    for (size_t i = 0; i < commands.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(c.get(), &raw) != REDIS_OK || !raw) {
            std::string why = c->errstr;
            impl_->Release(std::move(c));
            core::Log(core::LogLevel::kError, "redis pipeline failed", {{"error", why}});
            throw core::Error(core::ErrorCode::kUnavailable, "Redis is unavailable");
        }
        auto* r = static_cast<redisReply*>(raw);
        out.push_back(Convert(r));
        freeReplyObject(r);
    }
    impl_->Release(std::move(c));
    return out;
}

double RedisClient::Ping() {
    auto start = std::chrono::steady_clock::now();
    auto r = Command({"PING"});
    if (r.type == RedisReply::Type::kError)
        throw core::Error(core::ErrorCode::kUnavailable, "Redis PING failed: " + r.str);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

}  // namespace recs::store

#include <hiredis/hiredis.h>

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
};

Endpoint ParseUrl(const std::string& url) {
    Endpoint e;
    std::string rest = url;
    if (rest.rfind("redis://", 0) == 0)
        rest = rest.substr(8);
    else if (!rest.empty() && rest.find("://") != std::string::npos)
        throw core::Error(core::ErrorCode::kInvalidArgument,
                          "RECS_REDIS_URL must look like redis://host:port[/db]", "RECS_REDIS_URL");
    auto at = rest.rfind('@');  // credentials are not supported by this client; drop them
    if (at != std::string::npos) rest = rest.substr(at + 1);
    auto slash = rest.find('/');
    if (slash != std::string::npos) {
        std::string db = rest.substr(slash + 1);
        if (!db.empty()) e.db = std::atoi(db.c_str());
        rest = rest.substr(0, slash);
    }
    auto colon = rest.rfind(':');
    if (colon != std::string::npos) {
        e.port = std::atoi(rest.substr(colon + 1).c_str());
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
    int size = 1;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<ContextPtr> idle;
    int open = 0;

    ContextPtr Connect() {
        timeval tv{2, 0};
        ContextPtr c(redisConnectWithTimeout(ep.host.c_str(), ep.port, tv));
        if (!c || c->err) {
            std::string why = c ? c->errstr : "out of memory";
            throw core::Error(core::ErrorCode::kUnavailable,
                              "cannot connect to Redis at " + ep.host + ":" +
                                  std::to_string(ep.port) + ": " + why);
        }
        timeval io{10, 0};
        redisSetTimeout(c.get(), io);
        if (ep.db != 0) {
            auto* r = static_cast<redisReply*>(redisCommand(c.get(), "SELECT %d", ep.db));
            if (r) freeReplyObject(r);
        }
        return c;
    }

    ContextPtr Acquire() {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !idle.empty() || open < size; });
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

RedisClient::RedisClient(const std::string& url, int size) : impl_(std::make_unique<Impl>()) {
    impl_->ep = ParseUrl(url);
    impl_->size = size < 1 ? 1 : size;
    auto c = impl_->Connect();
    impl_->open = 1;
    impl_->idle.push_back(std::move(c));
}

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
            throw core::Error(core::ErrorCode::kUnavailable, "Redis is unavailable");
        }
    }
    throw core::Error(core::ErrorCode::kUnavailable, "Redis is unavailable");
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

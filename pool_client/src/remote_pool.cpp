#include "recs/pool_client/remote_pool.hpp"

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/core/pool_protocol.hpp"
#include "recs/store/pool_registry.hpp"

namespace recs::pool_client {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

core::ErrorCode CodeOf(long status) {
    switch (status) {
        case 400:
            return core::ErrorCode::kInvalidArgument;
        case 404:
            return core::ErrorCode::kNotFound;
        case 409:
            return core::ErrorCode::kConflict;
        case 422:
            return core::ErrorCode::kUnprocessable;
        case 503:
            return core::ErrorCode::kUnavailable;
        default:
            return core::ErrorCode::kInternal;
    }
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

/// What this process knows of one member: its connections and its calls in flight.
struct Conn {
    std::mutex mu;
    std::vector<CurlPtr> idle;  ///< keep-alive handles, one per call in flight at most
    std::atomic<int> inflight{0};
    std::atomic<int64_t> suspect_until_ms{0};  ///< skipped after a failed call, for a while
};

int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
        .count();
}

}  // namespace

struct RemotePool::Impl {
    store::PoolRegistry& registry;
    RemotePoolOptions opts;
    std::mutex mu;
    struct Cached {
        std::vector<core::PoolMember> members;
        Clock::time_point read{};
    };
    std::map<std::string, Cached> pools;                 ///< by pool name
    std::map<std::string, std::shared_ptr<Conn>> conns;  ///< by member address
    std::mt19937 rng{std::random_device{}()};

    Impl(store::PoolRegistry& r, RemotePoolOptions o) : registry(r), opts(std::move(o)) {}

    std::vector<core::PoolMember> Members(const std::string& pool) {
        auto now = Clock::now();
        {
            std::lock_guard lock(mu);
            auto it = pools.find(pool);
            if (it != pools.end() &&
                now - it->second.read < std::chrono::milliseconds(opts.refresh_ms))
                return it->second.members;
        }
        std::vector<core::PoolMember> fresh;
        try {
            fresh = registry.Members(pool);
        } catch (const core::Error& e) {
            // Redis unreachable: the members known a moment ago still serve.
            std::lock_guard lock(mu);
            auto it = pools.find(pool);
            if (it != pools.end() && now - it->second.read < std::chrono::seconds(30))
                return it->second.members;
            throw core::Error(core::ErrorCode::kUnavailable,
                              "the pool registry is unavailable: " + e.detail())
                .WithRetryAfter(1);
        }
        std::lock_guard lock(mu);
        pools[pool] = Cached{fresh, now};
        return fresh;
    }

    /// Drops the cached member list of a pool.
    void Forget(const std::string& pool) {
        std::lock_guard lock(mu);
        pools.erase(pool);
    }

    std::shared_ptr<Conn> ConnOf(const std::string& address) {
        std::lock_guard lock(mu);
        return ConnOfUnlocked(address);
    }

    /// Two live members at random, the one with fewer calls in flight; never `avoid`.
    const core::PoolMember* Pick(const std::vector<core::PoolMember>& members,
                                 const std::string& avoid) {
        std::vector<const core::PoolMember*> ok;
        int64_t now = NowMs();
        for (const auto& m : members)
            if (m.address != avoid && ConnOf(m.address)->suspect_until_ms.load() < now)
                ok.push_back(&m);
        if (ok.empty())  // every member failed lately: try them anyway rather than refuse
            for (const auto& m : members)
                if (m.address != avoid) ok.push_back(&m);
        if (ok.empty()) return nullptr;
        std::lock_guard lock(mu);
        std::uniform_int_distribution<size_t> d(0, ok.size() - 1);
        const auto* a = ok[d(rng)];
        const auto* b = ok[d(rng)];
        return ConnOfUnlocked(a->address)->inflight <= ConnOfUnlocked(b->address)->inflight ? a : b;
    }

    std::shared_ptr<Conn> ConnOfUnlocked(const std::string& address) {
        auto& c = conns[address];
        if (!c) c = std::make_shared<Conn>();
        return c;
    }

    /// One HTTP call; true when the member answered (status and body set), false when the
    /// call failed before any answer.
    bool Post(const core::PoolMember& m,
              const std::string& op,
              const json& body,
              long* status,
              std::string* out) {
        auto conn = ConnOf(m.address);
        CurlPtr h;
        {
            std::lock_guard lock(conn->mu);
            if (!conn->idle.empty()) {
                h = std::move(conn->idle.back());
                conn->idle.pop_back();
            }
        }
        if (!h) h.reset(curl_easy_init());
        if (!h) return false;
        std::string url = "http://" + m.address + "/internal/v1/" + op;
        std::string payload = body.dump(-1, ' ', false, json::error_handler_t::replace);
        std::string auth = "Authorization: Bearer " + opts.token;
        curl_slist* headers = nullptr;
        headers = curl_slist_append(headers, auth.c_str());
        headers = curl_slist_append(headers, "Content-Type: application/json");
        headers = curl_slist_append(headers, "Expect:");
        out->clear();
        CURL* c = h.get();
        curl_easy_setopt(c, CURLOPT_URL, url.c_str());
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout_ms));
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(opts.request_timeout_ms));
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
        ++conn->inflight;
        CURLcode rc = curl_easy_perform(c);
        --conn->inflight;
        curl_slist_free_all(headers);
        if (rc != CURLE_OK) {
            conn->suspect_until_ms = NowMs() + 1000;
            core::Log(
                core::LogLevel::kWarn, "pool member call failed",
                {{"member", m.id}, {"address", m.address}, {"error", curl_easy_strerror(rc)}});
            return false;  // the handle is dropped: its connection is in an unknown state
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        std::lock_guard lock(conn->mu);
        if (conn->idle.size() < 64) conn->idle.push_back(std::move(h));
        return true;
    }

    /// A call on a member of the target's pool, retried once on another when the first fails
    /// before any answer (predictions are reads: repeating one is harmless).
    json Call(const std::string& pool, const std::string& op, const json& body) {
        auto members = Members(pool);
        if (members.empty())
            throw core::Error(core::ErrorCode::kUnavailable,
                              "the pool '" + pool + "' has no live member to serve this")
                .WithRetryAfter(1);
        std::string avoid;
        for (int attempt = 0; attempt < 2; ++attempt) {
            const auto* m = Pick(members, avoid);
            if (!m) break;
            long status = 0;
            std::string out;
            if (!Post(*m, op, body, &status, &out)) {
                avoid = m->address;
                continue;
            }
            auto j = json::parse(out, nullptr, false);
            if (status == 200 && !j.is_discarded()) return j;
            std::string detail = j.is_object() ? j.value("detail", "") : "";
            if (status == 401 || status >= 500 || detail.empty())
                throw core::Error(core::ErrorCode::kUnavailable,
                                  "a member of the pool '" + pool + "' failed the call")
                    .WithRetryAfter(1);
            throw core::Error(CodeOf(status), detail);
        }
        throw core::Error(core::ErrorCode::kUnavailable,
                          "no member of the pool '" + pool + "' answered")
            .WithRetryAfter(1);
    }
};

RemotePool::RemotePool(store::PoolRegistry& registry, RemotePoolOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(options))) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

RemotePool::~RemotePool() = default;

core::Rollout RemotePool::Preload(const core::ServingTarget& target) {
    // Read the registry afresh: a deploy must reach the members that are live now.
    std::vector<core::PoolMember> members;
    try {
        members = impl_->registry.Members(target.pool);
    } catch (const core::Error& e) {
        throw core::Error(core::ErrorCode::kUnavailable,
                          "the pool registry is unavailable: " + e.detail())
            .WithRetryAfter(1);
    }
    core::Rollout rollout{.pool = target.pool,
                          .members = static_cast<int>(members.size()),
                          .loaded = 0,
                          .unreachable = {}};
    json body = {{"target", core::TargetToJson(target)}};
    for (const auto& m : members) {
        long status = 0;
        std::string out;
        if (!impl_->Post(m, "preload", body, &status, &out)) {
            // Connection refused or no answer: the member died and its entry has not expired
            // yet. It leaves the registry now (a live one announces itself again within 1 s).
            try {
                impl_->registry.Leave(m);
            } catch (const core::Error&) {
            }
            rollout.unreachable.push_back(m.id);
            --rollout.members;
            continue;
        }
        if (status != 200) {
            auto j = json::parse(out, nullptr, false);
            std::string detail = j.is_object() ? j.value("detail", "") : "";
            throw core::Error(status >= 500 ? core::ErrorCode::kUnavailable : CodeOf(status),
                              detail.empty() ? "a member could not load the version" : detail);
        }
        ++rollout.loaded;
    }
    if (rollout.loaded == 0)
        throw core::Error(core::ErrorCode::kUnavailable,
                          "the pool '" + target.pool + "' has no live member to load the version")
            .WithRetryAfter(1);
    impl_->Forget(target.pool);  // the next call reads the members that answered
    return rollout;
}

core::RankResult RemotePool::Rank(const core::ServingTarget& target,
                                  const core::RankRequest& request) {
    return core::RankResultFromJson(impl_->Call(
        target.pool, "rank",
        {{"target", core::TargetToJson(target)}, {"request", core::RankRequestToJson(request)}}));
}

std::vector<std::optional<float>> RemotePool::Score(const core::ServingTarget& target,
                                                    const std::string& user_id,
                                                    const std::vector<std::string>& items) {
    auto j = impl_->Call(
        target.pool, "score",
        {{"target", core::TargetToJson(target)}, {"user_id", user_id}, {"items", items}});
    std::vector<std::optional<float>> out;
    for (const auto& s : j.value("scores", json::array()))
        out.push_back(s.is_number() ? std::optional<float>(s.get<float>()) : std::nullopt);
    if (out.size() != items.size())
        throw core::Error(core::ErrorCode::kUnavailable, "a pool member answered a bad score list");
    return out;
}

std::vector<core::RankedItem> RemotePool::Related(const core::ServingTarget& target,
                                                  const std::string& item_id,
                                                  size_t limit) {
    auto j = impl_->Call(
        target.pool, "related",
        {{"target", core::TargetToJson(target)}, {"item_id", item_id}, {"limit", limit}});
    return core::ItemsFromJson(j.value("items", json::array()));
}

void RemotePool::Evict(const std::string& tenant_id) {
    std::vector<std::string> pools;
    try {
        pools = impl_->registry.Pools();
    } catch (const core::Error&) {
        return;  // best effort: members evict by LRU anyway
    }
    for (const auto& p : pools)
        for (const auto& m : impl_->Members(p)) {
            long status = 0;
            std::string out;
            impl_->Post(m, "evict", {{"tenant_id", tenant_id}}, &status, &out);
        }
}

nlohmann::json RemotePool::Status() {
    // The api is ready while it can read the registry: a pool without members makes its own
    // predictions 503, but events and everything else still work (readiness would drop all).
    json pools = json::object();
    try {
        for (const auto& p : impl_->registry.Pools()) {
            auto members = impl_->registry.Members(p);
            json list = json::array();
            for (const auto& m : members) list.push_back(core::MemberToJson(m));
            pools[p] = {{"status", members.empty() ? "down" : "up"}, {"members", list}};
        }
    } catch (const core::Error&) {
        return {{"status", "down"}, {"pools", pools}};
    }
    return {{"status", "up"}, {"pools", pools}};
}

}  // namespace recs::pool_client

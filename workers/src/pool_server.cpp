#include "recs/workers/pool_server.hpp"

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/log.hpp"
#include "recs/workers/in_process_pool.hpp"

namespace recs::workers {

using namespace Pistache;
using nlohmann::json;

struct PoolServer::State {
    InProcessPool* pool = nullptr;
    PoolServerOptions opts;
    std::shared_ptr<Http::Endpoint> endpoint;
    std::atomic<int> inflight{0};
    mutable std::mutex mu;
    std::vector<double> latencies = std::vector<double>(2048, 0.0);
    size_t next = 0, filled = 0;
    bool stopped = false;
};

namespace {

using Clock = std::chrono::steady_clock;

int StatusOf(core::ErrorCode c) {
    switch (c) {
        case core::ErrorCode::kInvalidArgument:
            return 400;
        case core::ErrorCode::kUnauthenticated:
            return 401;
        case core::ErrorCode::kNotFound:
            return 404;
        case core::ErrorCode::kConflict:
            return 409;
        case core::ErrorCode::kUnprocessable:
            return 422;
        case core::ErrorCode::kUnavailable:
            return 503;
        default:
            return 500;
    }
}

/// One call of the pool protocol.
json Dispatch(InProcessPool& pool,
              const PoolServerOptions& opts,
              const std::string& op,
              const json& body) {
    if (op == "rank") {
        auto r = pool.Rank(core::TargetFromJson(body.at("target")),
                           core::RankRequestFromJson(body.at("request")));
        return core::RankResultToJson(r);
    }
    if (op == "score") {
        auto scores = pool.Score(core::TargetFromJson(body.at("target")),
                                 body.at("user_id").get<std::string>(),
                                 body.at("items").get<std::vector<std::string>>());
        json a = json::array();
        for (const auto& s : scores) a.push_back(s ? json(*s) : json());
        return {{"scores", a}};
    }
    if (op == "related") {
        auto items =
            pool.Related(core::TargetFromJson(body.at("target")),
                         body.at("item_id").get<std::string>(), body.at("limit").get<size_t>());
        return {{"items", core::ItemsToJson(items)}};
    }
    if (op == "preload") {
        pool.Preload(core::TargetFromJson(body.at("target")));
        if (opts.on_loaded) opts.on_loaded();
        return {{"loaded", true}};
    }
    if (op == "evict") {
        pool.Evict(body.at("tenant_id").get<std::string>());
        return {{"evicted", true}};
    }
    throw core::Error(core::ErrorCode::kNotFound, "no such pool operation: " + op);
}

class Handler : public Http::Handler {
public:
    HTTP_PROTOTYPE(Handler)
    explicit Handler(std::shared_ptr<PoolServer::State> st) : st_(std::move(st)) {}

    void onRequest(const Http::Request& in, Http::ResponseWriter writer) override {
        auto start = Clock::now();
        auto& st = *st_;
        if (in.resource() == "/internal/v1/health" && in.method() == Http::Method::Get) {
            // The probe of the orchestrator: no token, not counted in the serving latency.
            writer.headers().add<Http::Header::ContentType>(MIME(Application, Json));
            writer.send(Http::Code::Ok, R"({"status":"up"})");
            return;
        }
        ++st.inflight;
        int status = 200;
        std::string body;
        try {
            auto auth = in.headers().tryGetRaw("Authorization");
            std::string expected = "Bearer " + st.opts.token;
            if (st.opts.token.empty() || !auth ||
                !core::ConstantTimeEquals(auth->value(), expected))
                throw core::Error(core::ErrorCode::kUnauthenticated, "internal token required");
            const std::string& path = in.resource();
            const std::string prefix = "/internal/v1/";
            if (path.rfind(prefix, 0) != 0)
                throw core::Error(core::ErrorCode::kNotFound, "no route");
            std::string op = path.substr(prefix.size());
            json out;
            if (op == "status" && in.method() == Http::Method::Get) {
                out = {{"loaded", st.pool->loaded()}, {"inflight", st.inflight.load()}};
            } else if (in.method() == Http::Method::Post) {
                auto doc = core::ParseJsonDocument(in.body(), "body");
                try {
                    out = Dispatch(*st.pool, st.opts, op, doc);
                } catch (const json::exception&) {
                    throw core::Error(core::ErrorCode::kInvalidArgument,
                                      "pool protocol: a field is missing or of the wrong type");
                }
            } else {
                throw core::Error(core::ErrorCode::kNotFound, "no route");
            }
            body = out.dump(-1, ' ', false, json::error_handler_t::replace);
        } catch (const core::Error& e) {
            status = StatusOf(e.code());
            body = json{{"status", status},
                        {"code", std::string(core::ErrorCodeSlug(e.code()))},
                        {"detail", e.detail()}}
                       .dump(-1, ' ', false, json::error_handler_t::replace);
        } catch (const std::exception& e) {
            status = 500;
            core::Log(core::LogLevel::kError, "pool request failed", {{"error", e.what()}});
            body = json{{"status", 500}, {"code", "internal"}, {"detail", "internal error"}}.dump();
        }
        auto& h = writer.headers();
        h.add<Http::Header::ContentType>(MIME(Application, Json));
        h.remove<Http::Header::Connection>();
        h.add<Http::Header::Connection>(Http::ConnectionControl::KeepAlive);
        writer.send(static_cast<Http::Code>(status), body);
        --st.inflight;
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        std::lock_guard lock(st.mu);
        st.latencies[st.next] = ms;
        st.next = (st.next + 1) % st.latencies.size();
        st.filled = std::min(st.filled + 1, st.latencies.size());
    }

private:
    std::shared_ptr<PoolServer::State> st_;
};

}  // namespace

PoolServer::PoolServer(InProcessPool& pool, PoolServerOptions options)
    : state_(std::make_shared<State>()) {
    state_->pool = &pool;
    state_->opts = std::move(options);
}

PoolServer::~PoolServer() { Stop(); }

int PoolServer::Start() {
    auto& st = *state_;
    Address addr(st.opts.host, Port(static_cast<uint16_t>(st.opts.port)));
    st.endpoint = std::make_shared<Http::Endpoint>(addr);
    auto opts = Http::Endpoint::options()
                    .threads(std::max(1, st.opts.threads))
                    .flags(Tcp::Options::ReuseAddr)
                    .maxRequestSize(16u << 20)
                    .maxResponseSize(64u << 20);
    st.endpoint->init(opts);
    st.endpoint->setHandler(std::make_shared<Handler>(state_));
    st.endpoint->serveThreaded();
    int port = static_cast<int>(static_cast<uint16_t>(st.endpoint->getPort()));
    core::Log(core::LogLevel::kInfo, "pool serving", {{"port", port}});
    return port;
}

void PoolServer::Stop() {
    auto& st = *state_;
    if (st.stopped || !st.endpoint) return;
    st.stopped = true;
    st.endpoint->shutdown();
    st.endpoint.reset();
}

int PoolServer::inflight() const { return state_->inflight.load(); }

std::pair<double, double> PoolServer::LatencyP50P99() const {
    std::vector<double> v;
    {
        std::lock_guard lock(state_->mu);
        v.assign(state_->latencies.begin(),
                 state_->latencies.begin() + static_cast<long>(state_->filled));
    }
    if (v.empty()) return {0, 0};
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
        return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
    };
    return {at(0.5), at(0.99)};
}

}  // namespace recs::workers

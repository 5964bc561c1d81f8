#include "recs/api/server.hpp"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "canary_monitor.hpp"
#include "exposure_log.hpp"
#include "handlers/handlers.hpp"
#include "http/connection_order.hpp"
#include "http/decode.hpp"
#include "http/pistache_adapter.hpp"
#include "http/problem.hpp"
#include "http/router.hpp"
#include "http/thread_pool.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/store/tenant_store.hpp"
#include "services.hpp"
#include "services/experiment_service.hpp"
#include "services/feature_service.hpp"
#include "services/job_service.hpp"
#include "services/key_service.hpp"
#include "services/model_service.hpp"
#include "services/predict_service.hpp"
#include "services/quota_service.hpp"
#include "services/tenant_service.hpp"
#include "services/webhook_service.hpp"
#include "serving_resolver.hpp"

namespace recs::api {

using namespace Pistache;

struct Server::State {
    ServerDeps deps;
    Services services;
    Router router;
    std::unique_ptr<ThreadPool> pool;
    ConnectionOrder order;
    std::atomic<size_t> queued_bytes{0};  ///< bodies waiting in the handler queue
    std::shared_ptr<Http::Endpoint> endpoint;
    std::atomic<int> inflight{0};
    int port = 0;
    bool stopped = false;
};

namespace {

using Clock = std::chrono::steady_clock;
/// The largest response body sent; Pistache's own limit is above it.
constexpr size_t kMaxResponseBytes = 32u << 20;
/// The most request-body bytes waiting for a handler thread.
constexpr size_t kMaxQueuedBytes = 256u << 20;

/// A response header with any name. Pistache 0.0.5 writes only typed headers, not raw ones.
class AnyHeader : public Http::Header::Header {
public:
    AnyHeader(std::string name, std::string value)
        : name_(std::move(name)), value_(std::move(value)) {}
    const char* name() const override { return name_.c_str(); }
    uint64_t hash() const override { return 0; }  // never the target of a safe header cast
    void write(std::ostream& os) const override { os << value_; }

private:
    std::string name_;
    std::string value_;
};

std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool ValidRequestId(const std::string& id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id)
        if (c < 0x21 || c > 0x7e) return false;
    return true;
}

Request Convert(const Http::Request& in) {
    Request r;
    r.method = Http::methodString(in.method());
    r.path = in.resource();
    for (auto it = in.query().parameters_begin(); it != in.query().parameters_end(); ++it)
        r.query[PercentDecode(it->first)] = PercentDecode(it->second);
    for (const auto& [name, raw] : in.headers().rawList()) r.headers[Lower(name)] = raw.value();
    for (const auto& h : in.headers().list()) {
        std::ostringstream os;
        h->write(os);
        r.headers[Lower(h->name())] = os.str();
    }
    r.body = in.body();
    r.client = in.address().host();
    const std::string* rid = r.Header("x-request-id");
    r.request_id = rid && ValidRequestId(*rid) ? *rid : core::RandomUuid();
    return r;
}

/// Runs a create handler under its Idempotency-Key, if the request has one. The key is claimed
/// before the work (a concurrent request with the same key gets 409, a repeat after it gets the
/// first answer), completed with the response after it, and dropped if the work failed.
Response RunIdempotent(Server::State& st, const RouteSpec& route, Request& req) {
    const std::string* key = req.Header("idempotency-key");
    if (!key) return route.handler(req);
    if (key->empty() || key->size() > 128)
        throw core::Error(core::ErrorCode::kUnprocessable,
                          "Idempotency-Key must be 1..128 characters", "Idempotency-Key");
    std::string scope = (req.principal.tenant ? req.principal.tenant->value : "platform") + " " +
                        req.method + " " + req.route;
    std::string hash = core::Sha256Hex(req.body);
    auto& repo = *st.services.idempotency;
    auto claim = repo.Claim(scope, *key, hash);
    using Kind = store::IdempotencyClaim::Kind;
    switch (claim.kind) {
        case Kind::kMismatch:
            throw core::Error(core::ErrorCode::kUnprocessable,
                              "the Idempotency-Key was used before with a different request",
                              "Idempotency-Key");
        case Kind::kInFlight:
            throw core::Error(core::ErrorCode::kConflict,
                              claim.abandoned
                                  ? "a request with this Idempotency-Key started but did not "
                                    "finish; its outcome is unknown: check, then use a new key"
                                  : "a request with this Idempotency-Key is in progress; retry "
                                    "after it finishes",
                              "Idempotency-Key");
        case Kind::kReplay: {
            Response r = Response::Json(claim.response.status, claim.response.body);
            r.headers.emplace_back("Idempotent-Replayed", "true");
            return r;
        }
        case Kind::kClaimed:
            break;
    }
    Response r;
    try {
        r = route.handler(req);
    } catch (...) {
        try {
            repo.Abandon(scope, *key);
        } catch (const std::exception&) {  // the claim expires; a retry gets 409 until then
        }
        throw;
    }
    try {
        if (r.status >= 200 && r.status < 300) {
            // Secrets (a new API key) are shown once: never stored for replays.
            auto body = nlohmann::json::parse(r.body, nullptr, false);
            if (body.is_object()) {
                body.erase("key");
                body.erase("secret");
            }
            repo.Complete(scope, *key, r.status, body.is_discarded() ? r.body : body.dump());
        } else {
            repo.Abandon(scope, *key);
        }
    } catch (const core::Error& e) {
        // The work is done and answered; a retry finds the claim and gets 409, never a duplicate.
        core::Log(core::LogLevel::kWarn, "idempotency record not completed",
                  {{"request_id", req.request_id}, {"error", e.detail()}});
    }
    return r;
}

RouteClass ClassOf(const RouteSpec& route) {
    if (route.scope == core::Scope::kPredict) return RouteClass::kPredict;
    const std::string& p = route.path;
    if (p.rfind("/v1/recs/events", 0) == 0) return RouteClass::kEvents;
    if (p.rfind("/v1/recs/jobs", 0) == 0 || p.rfind("/v1/recs/simulate", 0) == 0)
        return RouteClass::kJobs;
    return RouteClass::kControl;
}

const char* ClassName(RouteClass c) {
    switch (c) {
        case RouteClass::kPredict:
            return "requests.predict";
        case RouteClass::kEvents:
            return "requests.events";
        case RouteClass::kJobs:
            return "requests.jobs";
        case RouteClass::kControl:
            break;
    }
    return "requests.control";
}

/// Usage, rate limits and the monthly prediction quota of a tenant's request (after it is
/// authenticated, before its body is decoded). Returns the rate-limit headers to send.
std::vector<std::pair<std::string, std::string>> Admit(Server::State& st,
                                                       const RouteSpec& route,
                                                       const Request& req) {
    auto* q = st.services.quota_service.get();
    if (!q || !req.principal.tenant || route.auth == AuthMode::kNone) return {};
    RouteClass cls = ClassOf(route);
    q->Count(*req.principal.tenant, ClassName(cls));
    auto headers = q->Limit(req.principal, cls, req.method != "GET");
    if (cls == RouteClass::kPredict) q->AdmitPrediction(*req.principal.tenant);
    return headers;
}

/// Counts what a tenant's request did, once answered.
void CountOutcome(Server::State& st, const RouteSpec& route, const Request& req, int status) {
    auto* q = st.services.quota_service.get();
    if (!q || !req.principal.tenant || status < 200 || status >= 300) return;
    RouteClass cls = ClassOf(route);
    if (cls == RouteClass::kPredict) q->Count(*req.principal.tenant, "predictions");
    if (cls == RouteClass::kJobs && req.method == "POST" && status == 202)
        q->Count(*req.principal.tenant, "jobs");
}

Response ExecuteRoute(Server::State& st,
                      const RouteSpec& route,
                      Request& req,
                      std::vector<std::pair<std::string, std::string>>& limit_headers);

/// Runs the route: authentication, tenant context, limits, handler; every failure becomes a
/// problem. The rate-limit headers go on every answer of a limited route, errors included.
Response Execute(Server::State& st, const RouteSpec& route, Request& req) {
    std::vector<std::pair<std::string, std::string>> limit_headers;
    Response r = ExecuteRoute(st, route, req, limit_headers);
    for (auto& h : limit_headers) r.headers.push_back(std::move(h));
    try {
        CountOutcome(st, route, req, r.status);
    } catch (const std::exception&) {  // counting never fails a request
    }
    return r;
}

Response ExecuteRoute(Server::State& st,
                      const RouteSpec& route,
                      Request& req,
                      std::vector<std::pair<std::string, std::string>>& limit_headers) {
    try {
        CheckRequestText(req);
        req.principal = st.services.auth->Authenticate(req, route.auth, route.scope);
        limit_headers = Admit(st, route, req);
        DecodeBody(route, req);
        if (route.idempotent) return RunIdempotent(st, route, req);
        return route.handler(req);
    } catch (const core::Error& e) {
        if (e.code() == core::ErrorCode::kInternal || e.code() == core::ErrorCode::kUnavailable)
            core::Log(core::LogLevel::kError, "request failed",
                      {{"request_id", req.request_id}, {"error", e.detail()}});
        return ProblemResponse(e, req.path);
    } catch (const std::exception& e) {
        core::Log(core::LogLevel::kError, "unhandled exception",
                  {{"request_id", req.request_id}, {"route", req.route}, {"error", e.what()}});
        return ProblemResponse(500, "an internal error occurred; quote the request id", req.path);
    } catch (...) {
        core::Log(core::LogLevel::kError, "unhandled exception", {{"request_id", req.request_id}});
        return ProblemResponse(500, "an internal error occurred; quote the request id", req.path);
    }
}

void Send(Server::State& st,
          Http::ResponseWriter& writer,
          const Request& req,
          Response& resp,
          bool keep_alive,
          Clock::time_point start,
          const std::shared_ptr<Tcp::Peer>& close_after = nullptr) {
    if (resp.body.size() > kMaxResponseBytes) {
        // Never hand Pistache more than it sends (it would drop the response silently).
        core::Log(core::LogLevel::kWarn, "response over the limit",
                  {{"request_id", req.request_id}, {"bytes", resp.body.size()}});
        resp = ProblemResponse(
            core::Error(core::ErrorCode::kUnprocessable,
                        "the response would be " + std::to_string(resp.body.size() >> 20) +
                            " MiB, over the limit of " + std::to_string(kMaxResponseBytes >> 20) +
                            " MiB: ask for fewer items"),
            req.path);
    }
    auto& h = writer.headers();
    h.add(std::make_shared<AnyHeader>("X-Request-Id", req.request_id));
    for (const auto& [k, v] : resp.headers) h.add(std::make_shared<AnyHeader>(k, v));
    if (!resp.content_type.empty())
        h.add(std::make_shared<AnyHeader>("Content-Type", resp.content_type));
    // Pistache 0.0.5 answers "Connection: Close" to HTTP/1.1 clients that sent no Connection
    // header (against RFC 9112); persistent connections are the HTTP/1.1 default.
    if (keep_alive) {
        h.remove<Http::Header::Connection>();
        h.add<Http::Header::Connection>(Http::ConnectionControl::KeepAlive);
    }
    auto sent = writer.send(static_cast<Http::Code>(resp.status), resp.body);
    if (close_after) {
        // Pistache 0.0.5 writes "Connection: Close" but keeps the connection open: when the
        // connection must end (pipelined requests it dropped, a body of unknown extent, a
        // framing error), its write side is shut down once the response is out, so the client
        // sees the end. Only then: a continuation attached off the reactor thread races the
        // reactor resolving the promise (a crash in Pistache's write path was seen once under
        // ThreadSanitizer), so the common path attaches none.
        std::string rid = req.request_id;
        sent.then([close_after](ssize_t) { ::shutdown(close_after->fd(), SHUT_WR); },
                  [rid, close_after](std::exception_ptr) {
                      ::shutdown(close_after->fd(), SHUT_WR);
                      core::Log(core::LogLevel::kWarn, "response not sent", {{"request_id", rid}});
                  });
    }
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    const std::string& route = req.route.empty() ? std::string("unmatched") : req.route;
    st.services.metrics.Observe(req.method, route, resp.status, secs);
    bool quiet = req.route == "/v1/recs/health" || req.route == "/metrics";
    auto level = quiet ? core::LogLevel::kDebug : core::LogLevel::kInfo;
    if (core::LogEnabled(level)) {
        nlohmann::json f = {{"request_id", req.request_id},
                            {"method", req.method},
                            {"route", route},
                            {"status", resp.status},
                            {"duration_ms", secs * 1000.0}};
        if (req.principal.tenant) f["tenant"] = req.principal.tenant->value;
        if (!req.principal.key_prefix.empty()) f["key_prefix"] = req.principal.key_prefix;
        core::Log(level, "request", f);
    }
}

/// One request and its answer, from the reactor thread that read it to the thread that
/// answers it.
struct Exchange {
    explicit Exchange(Http::ResponseWriter w) : writer(std::move(w)) {}
    Http::ResponseWriter writer;
    std::shared_ptr<Tcp::Peer> peer;  ///< keeps the connection's identity while in flight
    Request req;
    Response resp;
    const RouteSpec* route = nullptr;  ///< null: `resp` is already the answer
    bool keep_alive = false;
    bool close = false;  ///< end the connection after the answer
    Clock::time_point start;
    size_t body_bytes = 0;
};

class HttpHandler : public Http::Handler {
public:
    HTTP_PROTOTYPE(HttpHandler)

    explicit HttpHandler(std::weak_ptr<Server::State> st) : st_(std::move(st)) {}

    void onRequest(const Http::Request& in, Http::ResponseWriter writer) override {
        auto st = st_.lock();
        if (!st) return;
        auto ex = std::make_shared<Exchange>(std::move(writer));
        ex->start = Clock::now();
        try {
            ex->peer = ex->writer.peer();
        } catch (const std::exception&) {
            return;  // the client is gone
        }
        // Requests pipelined into the same read are dropped by Pistache: answer this one and
        // close, so the client knows the others were not processed (never a silent loss).
        ex->close = UnparsedBytes(ex->peer) > 0;
        ex->keep_alive = in.version() == Http::Version::Http11 && !in.headers().has("Connection");
        Prepare(*st, in, *ex);
        ConnectionOrder::Task task;
        task.inline_ok = ex->route == nullptr || ex->route->run_inline;
        task.bytes = ex->body_bytes;
        task.run = [st, ex] { Answer(st, ex, false); };
        task.shed = [st, ex] { Answer(st, ex, true); };
        ++st->inflight;
        switch (st->order.Enter(ex->peer.get(), task)) {
            case ConnectionOrder::Admit::kRunNow:
                Dispatch(st, std::move(task));
                break;
            case ConnectionOrder::Admit::kQueued:
                break;  // answered after the connection's earlier requests
            case ConnectionOrder::Admit::kRefused:
                --st->inflight;  // too deep a pipeline: dropped; the last answer closes
                break;
        }
    }

    void onDisconnection(const std::shared_ptr<Tcp::Peer>& peer) override {
        if (auto st = st_.lock()) st->order.Forget(peer.get());
    }

    /// Pistache's own onInput answers framing errors in text/plain (a transfer coding it does
    /// not know with a 501), and waits until the header timeout on a header section it cannot
    /// parse. This one follows it step by step and answers every framing error with a problem,
    /// then ends the connection (the rest of its bytes cannot be framed).
    void onInput(const char* buffer, size_t len, const std::shared_ptr<Tcp::Peer>& peer) override {
        auto parser = getParser(peer);
        auto& request = parser->request;
        try {
            if (!parser->feed(buffer, len)) {
                parser->reset();
                FramingProblem(peer, Http::Version::Http11, 413,
                               "the request is larger than the limit of " +
                                   std::to_string(getMaxRequestSize()) + " bytes");
                return;
            }
            auto state = parser->parse();
            if (state == Http::Private::State::Done) {
                Http::ResponseWriter response(request.version(), transport(), this, peer);
                request.copyAddress(peer->address());
                auto connection = request.headers().tryGet<Http::Header::Connection>();
                response.headers().add<Http::Header::Connection>(
                    connection ? connection->control() : Http::ConnectionControl::Close);
                peer->setIdle(false);
                onRequest(request, std::move(response));
                parser->reset();
                return;
            }
            // Still reading: past a complete header section, only the body may be missing.
            auto* step = parser->step();
            bool in_head = step && step->id() != Http::Private::BodyStep::Id;
            if (in_head &&
                std::string_view(buffer, len).find("\r\n\r\n") != std::string_view::npos) {
                parser->reset();
                FramingProblem(peer, request.version(), 400,
                               "the request line or a header is malformed");
            }
        } catch (const Http::HttpError& err) {
            bool chunked = request.headers().has("Transfer-Encoding");
            parser->reset();
            if (chunked)
                FramingProblem(peer, request.version(), 411,
                               "a body must come with Content-Length (Transfer-Encoding is not "
                               "accepted)");
            else
                FramingProblem(peer, request.version(), err.code() == 413 ? 413 : 400,
                               err.reason());
        } catch (const std::exception&) {
            parser->reset();
            FramingProblem(peer, request.version(), 400, "the request could not be framed");
        }
    }

    /// Pistache's header and body timeouts: a problem, then the connection ends.
    void onTimeout(const Http::Request& request, Http::ResponseWriter response) override {
        (void)response;
        try {
            if (auto peer = response.peer())
                FramingProblem(peer, request.version(), 408,
                               "the request was not received in time");
        } catch (const std::exception&) {  // the client is gone
        }
    }

private:
    void FramingProblem(const std::shared_ptr<Tcp::Peer>& peer,
                        Http::Version version,
                        int status,
                        const std::string& detail) {
        auto st = st_.lock();
        if (!st) return;
        Http::ResponseWriter writer(version, transport(), this, peer);
        Request req;
        req.request_id = core::RandomUuid();
        req.method = "-";
        Response resp = ProblemResponse(status, detail, "/");
        Send(*st, writer, req, resp, false, Clock::now(), peer);
    }

    /// Everything that needs no I/O: framing checks, conversion, routing, the body limit.
    static void Prepare(Server::State& st, const Http::Request& in, Exchange& ex) {
        auto length = std::dynamic_pointer_cast<const CheckedContentLength>(
            in.headers().tryGet<Http::Header::ContentLength>());
        if (length != nullptr && length->too_large()) {
            ex.close = true;  // its body is not read
            ex.req.request_id = core::RandomUuid();
            ex.resp = ProblemResponse(
                core::Error(core::ErrorCode::kPayloadTooLarge,
                            "the body is larger than the limit of " +
                                std::to_string(st.services.config.body_limit) + " bytes",
                            "Content-Length"),
                in.resource());
            return;
        }
        if (length != nullptr && !length->valid()) {
            // The body's extent is unknown, so the connection cannot carry another request.
            ex.close = true;
            ex.req.request_id = core::RandomUuid();
            ex.resp = ProblemResponse(
                core::Error(core::ErrorCode::kInvalidArgument,
                            "Content-Length must be a decimal number of bytes", "Content-Length"),
                in.resource());
            return;
        }
        for (unsigned char c : in.resource()) {
            if (c < 0x21 || c == 0x7f) {  // RFC 9112: no controls or spaces in the target
                ex.close = true;
                ex.req.request_id = core::RandomUuid();
                ex.resp = ProblemResponse(
                    core::Error(core::ErrorCode::kInvalidArgument,
                                "the request target holds a control character", "path"),
                    "/");
                return;
            }
        }
        try {
            ex.req = Convert(in);
        } catch (const std::exception&) {
            ex.req.request_id = core::RandomUuid();
            ex.resp = ProblemResponse(400, "the request could not be parsed", in.resource());
            return;
        }
        auto match = st.router.Find(ex.req.method, ex.req.path);
        if (!match.route) {
            if (match.allowed.empty()) {
                ex.resp = ProblemResponse(404, "no route for " + ex.req.method + " " + ex.req.path,
                                          ex.req.path);
            } else {
                ex.resp = ProblemResponse(405, "method " + ex.req.method + " is not allowed here",
                                          ex.req.path);
                std::string allow;
                for (const auto& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
                ex.resp.headers.emplace_back("Allow", allow);
            }
            return;
        }
        ex.req.route = match.route->path;
        ex.req.path_params = std::move(match.params);
        if (ex.req.body.size() > st.services.config.body_limit) {
            ex.resp = ProblemResponse(
                core::Error(core::ErrorCode::kPayloadTooLarge,
                            "the body is larger than the limit of " +
                                std::to_string(st.services.config.body_limit) + " bytes"),
                ex.req.path);
            return;
        }
        ex.route = match.route;
        ex.body_bytes = ex.req.body.size();
    }

    /// Runs a task now: on this thread when it may, else on the handler pool, whose queue is
    /// bounded in requests and in bytes; a full pool sheds the request (503 + Retry-After).
    static void Dispatch(const std::shared_ptr<Server::State>& st, ConnectionOrder::Task task) {
        if (task.inline_ok) {
            task.run();
            return;
        }
        size_t bytes = task.bytes;
        if (st->queued_bytes.fetch_add(bytes) + bytes > kMaxQueuedBytes) {
            st->queued_bytes -= bytes;
            task.shed();
            return;
        }
        auto shed = task.shed;
        bool queued = st->pool->Submit([st, bytes, run = std::move(task.run)] {
            st->queued_bytes -= bytes;
            run();
        });
        if (!queued) {
            st->queued_bytes -= bytes;
            shed();
        }
    }

    static void Answer(const std::shared_ptr<Server::State>& st,
                       const std::shared_ptr<Exchange>& ex,
                       bool overloaded) {
        if (overloaded) {
            ex->resp = ProblemResponse(
                core::Error(core::ErrorCode::kUnavailable, "the server is overloaded; retry")
                    .WithRetryAfter(1),
                ex->req.path);
        } else if (ex->route) {
            ex->resp = Execute(*st, *ex->route, ex->req);
        }
        bool close = ex->close || st->order.Closing(ex->peer.get());
        Send(*st, ex->writer, ex->req, ex->resp, ex->keep_alive && !close, ex->start,
             close ? ex->peer : nullptr);
        --st->inflight;
        if (auto next = st->order.Done(ex->peer.get())) Dispatch(st, std::move(*next));
    }

    std::weak_ptr<Server::State> st_;
};

}  // namespace

Server::Server(ServerDeps deps, core::Config config) : state_(std::make_shared<State>()) {
    auto& s = state_->services;
    state_->deps = std::move(deps);
    s.config = std::move(config);
    const auto& stores = state_->deps.stores;
    s.tenants = stores.tenants;
    s.keys = stores.keys;
    s.idempotency = stores.idempotency;
    s.auth = std::make_unique<Authenticator>(
        *s.keys, *s.tenants, state_->deps.admin_key_hash,
        AuthOptions{s.config.key_cache_ttl_ms, s.config.auth_failures_per_minute});
    s.health = std::make_unique<HealthMonitor>(s.config.database_url, s.config.redis_url,
                                               state_->deps.worker_status);
    s.events = stores.events;
    s.event_stream = stores.event_stream;
    s.relay = std::make_unique<StreamRelay>(*s.events, *s.event_stream);
    s.ingestor = std::make_unique<EventIngestor>(*s.events, *s.relay);
    s.features = stores.features;
    s.models = stores.models;
    s.jobs = stores.jobs;
    s.pool = state_->deps.pool;
    s.validate_model = state_->deps.validate_model;
    s.canaries = stores.canaries;
    s.resolver = std::make_unique<ServingResolver>(*s.models, 2000, s.canaries);
    s.model_service = std::make_unique<ModelService>(
        *s.models, s.pool, s.validate_model,
        [r = s.resolver.get()](const core::TenantId& t) { r->Invalidate(t); }, s.canaries);
    if (s.canaries)
        s.canary_monitor = std::make_unique<CanaryMonitor>(
            [m = s.model_service.get()](const core::Canary& c, const std::string& why) {
                m->CanaryTripped(c, why);
            });
    s.predict_service =
        std::make_unique<PredictService>(*s.resolver, *s.features, s.pool, s.canary_monitor.get());
    s.tenant_service = std::make_unique<TenantService>(*s.tenants, s.event_stream, s.pool,
                                                       [&s](const core::TenantId& t) {
                                                           s.auth->ForgetTenant(t.value);
                                                           s.resolver->Invalidate(t);
                                                           if (s.experiment_service)
                                                               s.experiment_service->Invalidate(t);
                                                       });
    s.key_service = std::make_unique<KeyService>(*s.keys);
    s.feature_service = std::make_unique<FeatureService>(*s.features);
    s.job_service = std::make_unique<JobService>(*s.jobs, *s.models, s.validate_model,
                                                 s.config.job_max_attempts, stores.experiments);
    s.webhooks = stores.webhooks;
    if (s.webhooks)
        s.webhook_service =
            std::make_unique<WebhookService>(*s.webhooks, s.config.webhook_allow_private);
    s.quota_repo = stores.quotas;
    if (s.quota_repo)
        s.quota_service =
            std::make_unique<QuotaService>(*s.quota_repo, stores.rate_limiter, &s.metrics);
    s.audit = stores.audit;
    s.experiments = stores.experiments;
    if (s.experiments) {
        s.exposures = std::make_unique<ExposureLog>(*s.experiments, 200);
        s.experiment_service =
            std::make_unique<ExperimentService>(*s.experiments, *s.models, s.exposures.get(), 2000);
    }
    RegisterHealthRoutes(state_->router, s);
    RegisterTenantRoutes(state_->router, s);
    RegisterKeyRoutes(state_->router, s);
    RegisterEventRoutes(state_->router, s);
    RegisterFeatureRoutes(state_->router, s);
    RegisterModelRoutes(state_->router, s);
    RegisterJobRoutes(state_->router, s);
    RegisterPredictRoutes(state_->router, s);
    if (s.experiment_service) RegisterExperimentRoutes(state_->router, s);
    RegisterPlatformRoutes(state_->router, s);
}

Server::~Server() { Stop(); }

int Server::Start() {
    auto& st = *state_;
    st.services.health->Start();
    if (st.services.quota_service) st.services.quota_service->Start();
    // A bounded queue: a few requests per handler thread, and not more than kMaxQueuedBytes of
    // bodies, worth of bytes, so that overload is a fast 503 instead of a growing backlog.
    st.pool =
        std::make_unique<ThreadPool>(st.services.config.handler_threads,
                                     static_cast<size_t>(st.services.config.handler_threads) * 4);
    Address addr(st.services.config.http_host,
                 Port(static_cast<uint16_t>(st.services.config.http_port)));
    st.endpoint = std::make_shared<Http::Endpoint>(addr);
    auto opts = Http::Endpoint::options()
                    .threads(st.services.config.http_threads)
                    .flags(Tcp::Options::ReuseAddr)
                    .maxRequestSize(st.services.config.body_limit + 64 * 1024)
                    .maxResponseSize(kMaxResponseBytes + (1u << 20))
                    // A client has this long to send a request's head, and then its body.
                    .headerTimeout(std::chrono::seconds(10))
                    .bodyTimeout(std::chrono::seconds(30));
    st.endpoint->init(opts);
    InstallHeaderGuards(st.services.config.body_limit + 64 * 1024);
    st.endpoint->setHandler(std::make_shared<HttpHandler>(std::weak_ptr<State>(state_)));
    st.endpoint->serveThreaded();
    st.port = static_cast<int>(static_cast<uint16_t>(st.endpoint->getPort()));
    core::Log(core::LogLevel::kInfo, "http server listening", {{"port", st.port}});
    return st.port;
}

void Server::DrainAndStop() {
    auto& st = *state_;
    st.services.draining = true;
    core::Log(core::LogLevel::kInfo, "draining", {{"inflight", st.inflight.load()}});
    auto deadline = Clock::now() + std::chrono::seconds(st.services.config.drain_seconds);
    while (st.inflight.load() > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (st.inflight.load() > 0)
        core::Log(core::LogLevel::kWarn, "drain deadline passed",
                  {{"inflight", st.inflight.load()}});
    Stop();
}

void Server::Stop() {
    auto& st = *state_;
    if (st.stopped) return;
    st.stopped = true;
    if (st.pool) st.pool->Stop();
    if (st.endpoint) st.endpoint->shutdown();
    st.endpoint.reset();
    if (st.services.health) st.services.health->Stop();
    if (st.services.relay) st.services.relay->Stop();
    if (st.services.quota_service) st.services.quota_service->Stop();
}

int Server::port() const { return state_->port; }

std::vector<std::pair<std::string, std::string>> Server::Routes() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& r : state_->router.routes()) out.emplace_back(r.method, r.path);
    return out;
}

}  // namespace recs::api

#include "services/quota_service.hpp"

#include <algorithm>

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"

namespace recs::api {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string PolicyHeader(const std::vector<store::RateLimitState>& states) {
    std::string s;
    for (const auto& st : states) {
        if (!s.empty()) s += ", ";
        s += "\"" + st.name + "\";q=" + std::to_string(st.rate) +
             ";w=1;burst=" + std::to_string(st.burst);
    }
    return s;
}

std::string StateHeader(const std::vector<store::RateLimitState>& states) {
    std::string s;
    for (const auto& st : states) {
        if (!s.empty()) s += ", ";
        s += "\"" + st.name + "\";r=" + std::to_string(st.remaining) +
             ";t=" + std::to_string((st.reset_ms + 999) / 1000);
    }
    return s;
}

}  // namespace

QuotaService::QuotaService(store::QuotaRepository& repo,
                           store::RateLimiter* limiter,
                           Metrics* metrics)
    : repo_(repo),
      limiter_(limiter),
      metrics_(metrics),
      cache_(std::chrono::milliseconds(2000), 100000) {}

QuotaService::~QuotaService() { Stop(); }

void QuotaService::Start() {
    std::lock_guard lock(mu_);
    if (flusher_.joinable()) return;
    stop_ = false;
    flusher_ = std::thread([this] { FlushLoop(); });
}

void QuotaService::Stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (flusher_.joinable()) flusher_.join();
    Flush();
}

void QuotaService::FlushLoop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
        cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
        if (stop_) break;
        lock.unlock();
        Flush();
        lock.lock();
    }
}

void QuotaService::Flush() {
    std::map<std::tuple<std::string, int64_t, std::string>, int64_t> batch;
    {
        std::lock_guard lock(usage_mu_);
        batch.swap(usage_);
    }
    if (batch.empty()) return;
    std::vector<store::UsageDelta> deltas;
    for (const auto& [k, n] : batch)
        deltas.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
    try {
        repo_.AddUsage(deltas);
    } catch (const std::exception& e) {
        // Kept for the next flush: counters are added, so a later write loses nothing.
        std::lock_guard lock(usage_mu_);
        for (const auto& [k, n] : batch) usage_[k] += n;
        core::Log(core::LogLevel::kWarn, "usage counters not written",
                  {{"error", e.what()}, {"pending", batch.size()}});
    }
}

void QuotaService::Count(const core::TenantId& tenant, const std::string& metric, int64_t n) {
    if (n <= 0) return;
    int64_t hour = NowMs() / 1000 / 3600 * 3600;
    std::lock_guard lock(usage_mu_);
    usage_[{tenant.value, hour, metric}] += n;
}

core::Quotas QuotaService::QuotasOf(const core::TenantId& tenant) {
    auto now = Clock::now();
    if (auto q = cache_.Get(tenant.value, now)) return *q;
    try {
        auto q = repo_.Get(tenant);
        cache_.Put(tenant.value, q, now);
        return q;
    } catch (const core::Error& e) {
        if (e.code() != core::ErrorCode::kUnavailable) throw;
        // PostgreSQL away: the last known quotas for a minute, then none.
        if (auto q = cache_.GetStale(tenant.value, now, std::chrono::minutes(1))) return *q;
        return core::Quotas{};
    }
}

void QuotaService::Forget(const core::TenantId& tenant) {
    cache_.Put(tenant.value, repo_.Get(tenant), Clock::now());
    std::lock_guard lock(chunk_mu_);
    chunks_.erase(tenant.value);
}

std::vector<store::RateLimit> QuotaService::LimitsOf(const core::Principal& p,
                                                     const core::Quotas& q) {
    std::vector<store::RateLimit> limits;
    if (p.platform_admin || !p.tenant) return limits;
    if (q.requests_per_second_per_key)
        limits.push_back({"key", store::RateLimitKeyOf(p.tenant->value, p.key_id),
                          *q.requests_per_second_per_key,
                          q.burst_per_key.value_or(*q.requests_per_second_per_key)});
    if (q.requests_per_second_per_tenant)
        limits.push_back({"tenant", store::RateLimitTenantKeyOf(p.tenant->value),
                          *q.requests_per_second_per_tenant,
                          q.burst_per_tenant.value_or(*q.requests_per_second_per_tenant)});
    return limits;
}

std::vector<std::pair<std::string, std::string>> QuotaService::Limit(const core::Principal& p,
                                                                     RouteClass cls,
                                                                     bool write) {
    if (!limiter_ || p.platform_admin || !p.tenant) return {};
    auto limits = LimitsOf(p, QuotasOf(*p.tenant));
    if (limits.empty()) return {};
    store::RateDecision d;
    try {
        d = limiter_->Check(limits);
    } catch (const core::Error& e) {
        bool open = cls == RouteClass::kPredict || !write;
        int64_t now = NowMs();
        if (now - last_outage_log_ms_.exchange(now) > 5000)
            core::Log(core::LogLevel::kWarn, "rate limiter unavailable",
                      {{"error", e.detail()},
                       {"policy", "fail open for predictions and reads, closed for writes"}});
        Count(*p.tenant, open ? "limiter.failed_open" : "limiter.failed_closed");
        if (metrics_) metrics_->RateLimitDecision(open ? "failed_open" : "failed_closed");
        if (open) return {};
        throw core::Error(core::ErrorCode::kUnavailable,
                          "the rate limiter cannot reach Redis: writes are refused until it is "
                          "back; retry shortly")
            .WithRetryAfter(1);
    }
    std::vector<std::pair<std::string, std::string>> h = {
        {"RateLimit-Policy", PolicyHeader(d.states)}, {"RateLimit", StateHeader(d.states)}};
    if (metrics_) metrics_->RateLimitDecision(d.allowed ? "admitted" : "limited");
    if (!d.allowed) {
        Count(*p.tenant, "requests.limited");
        int secs = static_cast<int>(std::max<int64_t>(1, (d.retry_after_ms + 999) / 1000));
        std::string which;
        for (const auto& s : d.states)
            if (s.remaining == 0) which = which.empty() ? s.name : which + " and " + s.name;
        core::Error e(core::ErrorCode::kRateLimited,
                      "too many requests: the " + (which.empty() ? std::string("key") : which) +
                          " rate limit is reached; retry after " +
                          std::to_string(d.retry_after_ms) + " ms");
        e.WithRetryAfter(secs);
        e.WithExtensions(json{{"retry_after_ms", d.retry_after_ms}}.dump());
        for (auto& kv : h) e.WithHeader(kv.first, kv.second);
        throw e;
    }
    return h;
}

json QuotaService::RateLimitView(const core::Principal& p) {
    json out = json::object();
    out["key"] =
        p.platform_admin ? json(nullptr) : json{{"id", p.key_id}, {"prefix", p.key_prefix}};
    out["limits"] = json::array();
    out["policy"] = nullptr;
    if (!p.tenant) return out;
    auto limits = LimitsOf(p, QuotasOf(*p.tenant));
    if (limits.empty() || !limiter_) return out;
    auto d = limiter_->Check(limits, false);
    for (const auto& s : d.states)
        out["limits"].push_back({{"name", s.name},
                                 {"limit", s.rate},
                                 {"burst", s.burst},
                                 {"remaining", s.remaining},
                                 {"reset_ms", s.reset_ms}});
    out["policy"] = PolicyHeader(d.states);
    return out;
}

void QuotaService::Exceeded(const core::TenantId& tenant,
                            const std::string& quota,
                            int64_t limit,
                            bool monthly) {
    (void)tenant;
    auto period = core::MonthOf(std::chrono::system_clock::now());
    json ext = {{"quota", quota}, {"limit", limit}};
    std::string detail;
    if (monthly) {
        ext["resets_at"] = period.resets_at;
        detail = "the monthly quota " + quota + " of " + std::to_string(limit) +
                 " is used up; it resets at " + period.resets_at;
    } else {
        ext["resets_at"] = nullptr;
        detail = "the quota " + quota + " of " + std::to_string(limit) +
                 " is reached; remove some or ask the operator for more";
    }
    core::Error e(monthly ? core::ErrorCode::kRateLimited : core::ErrorCode::kForbidden, detail,
                  quota);
    if (monthly)
        e.WithRetryAfter(static_cast<int>(std::min<int64_t>(period.resets_in_s, 31 * 86400)));
    e.WithExtensions(ext.dump());
    throw e;
}

int64_t QuotaService::AdmitEvents(const core::TenantId& tenant, int64_t n) {
    auto q = QuotasOf(tenant);
    if (!q.events_per_month || n <= 0) return n;
    auto period = core::MonthOf(std::chrono::system_clock::now());
    auto r = repo_.Reserve(tenant, "events_per_month", period, n, *q.events_per_month);
    if (r.granted == 0) Exceeded(tenant, "events_per_month", *q.events_per_month, true);
    return r.granted;
}

void QuotaService::ReturnEvents(const core::TenantId& tenant, int64_t n) {
    if (n <= 0 || !QuotasOf(tenant).events_per_month) return;
    try {
        repo_.Release(tenant, "events_per_month", core::MonthOf(std::chrono::system_clock::now()),
                      n);
    } catch (const std::exception& e) {
        core::Log(core::LogLevel::kWarn, "quota not given back", {{"error", e.what()}});
    }
}

void QuotaService::AdmitPredictions(const core::TenantId& tenant, int64_t n) {
    if (n <= 0) return;
    auto q = QuotasOf(tenant);
    if (!q.predictions_per_month) return;
    int64_t limit = *q.predictions_per_month;
    auto period = core::MonthOf(std::chrono::system_clock::now());
    int64_t have = 0;
    {
        std::lock_guard lock(chunk_mu_);
        auto& c = chunks_[tenant.value];
        if (c.period != period.date) c = Chunk{period.date, 0};
        if (c.left >= n) {
            c.left -= n;
            return;
        }
        have = c.left;
        c.left = 0;
    }
    // A small chunk per process beyond what is asked, so that most predictions need no round
    // trip; what a stopped process held counts as used (under-admission, never over).
    int64_t chunk = std::clamp<int64_t>(limit / 1000, 1, 50);
    int64_t want = n - have + chunk - 1;
    auto r = repo_.Reserve(tenant, "predictions_per_month", period, want, limit);
    int64_t total = have + r.granted;
    if (total < n) {
        // Not enough for all of them: keep what was reserved for the next ones.
        std::lock_guard lock(chunk_mu_);
        chunks_[tenant.value].left += total;
        Exceeded(tenant, "predictions_per_month", limit, true);
    }
    std::lock_guard lock(chunk_mu_);
    chunks_[tenant.value].left += total - n;
}

void QuotaService::CheckNewModel(const core::TenantId& tenant) {
    auto q = QuotasOf(tenant);
    if (!q.models) return;
    auto c = repo_.Counts(tenant);
    if (c.models >= *q.models) {
        repo_.NotifyOnce(tenant, "models", core::MonthOf(std::chrono::system_clock::now()),
                         *q.models);
        Exceeded(tenant, "models", *q.models, false);
    }
}

void QuotaService::CheckNewJob(const core::TenantId& tenant) {
    auto q = QuotasOf(tenant);
    if (!q.queued_jobs && !q.artifact_bytes) return;
    auto c = repo_.Counts(tenant);
    auto period = core::MonthOf(std::chrono::system_clock::now());
    if (q.queued_jobs && c.queued_jobs >= *q.queued_jobs) {
        repo_.NotifyOnce(tenant, "queued_jobs", period, *q.queued_jobs);
        Exceeded(tenant, "queued_jobs", *q.queued_jobs, false);
    }
    if (q.artifact_bytes && c.artifact_bytes >= *q.artifact_bytes) {
        repo_.NotifyOnce(tenant, "artifact_bytes", period, *q.artifact_bytes);
        Exceeded(tenant, "artifact_bytes", *q.artifact_bytes, false);
    }
}

json QuotaService::QuotasJson(const core::Quotas& q) {
    json j = core::QuotasJson(q);
    j["updated_at"] = q.updated_at.empty() ? json(nullptr) : json(q.updated_at);
    return j;
}

json QuotaService::Overview(const core::TenantId& tenant) {
    auto q = repo_.Get(tenant);
    auto c = repo_.Counts(tenant);
    auto period = core::MonthOf(std::chrono::system_clock::now());
    json j = {{"quotas", QuotasJson(q)}};
    j["quotas"]["tenant_id"] = tenant.value;
    j["usage"] = {{"predictions_this_month", repo_.Used(tenant, "predictions_per_month", period)},
                  {"events_this_month", repo_.Used(tenant, "events_per_month", period)},
                  {"models", c.models},
                  {"artifact_bytes", c.artifact_bytes},
                  {"running_jobs", c.running_jobs},
                  {"queued_jobs", c.queued_jobs}};
    j["period"] = {{"start", period.start}, {"resets_at", period.resets_at}};
    return j;
}

json QuotaService::Usage(const core::TenantId& tenant,
                         const std::string& from,
                         const std::string& to,
                         const std::string& granularity) {
    Flush();  // this process's last second is in the answer too
    auto rows = repo_.Usage(tenant, from, to, granularity);
    auto empty_bucket = [] {
        return json{{"requests", {{"predict", 0}, {"events", 0}, {"control", 0}, {"jobs", 0}}},
                    {"predictions", 0},
                    {"events", 0},
                    {"jobs", 0}};
    };
    json buckets = json::array();
    json totals = empty_bucket();
    std::string cur;
    for (const auto& r : rows) {
        if (r.start != cur) {
            buckets.push_back(empty_bucket());
            buckets.back()["start"] = r.start;
            cur = r.start;
        }
        auto& b = buckets.back();
        if (r.metric.rfind("requests.", 0) == 0) {
            std::string cls = r.metric.substr(9);
            if (!b["requests"].contains(cls)) continue;  // requests.limited: not a class
            b["requests"][cls] = b["requests"][cls].get<int64_t>() + r.count;
            totals["requests"][cls] = totals["requests"][cls].get<int64_t>() + r.count;
        } else if (r.metric == "predictions" || r.metric == "events" || r.metric == "jobs") {
            b[r.metric] = b[r.metric].get<int64_t>() + r.count;
            totals[r.metric] = totals[r.metric].get<int64_t>() + r.count;
        }
    }
    return {{"tenant_id", tenant.value},
            {"granularity", granularity},
            {"from", from},
            {"to", to},
            {"buckets", buckets},
            {"totals", totals},
            {"artifact_bytes", repo_.Counts(tenant).artifact_bytes}};
}

}  // namespace recs::api

#include "recs/workers/webhook_dispatcher.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/core/webhook.hpp"

namespace recs::workers {
namespace {

using Clock = std::chrono::steady_clock;

struct Transfer {
    bool allow_private = false;
    std::string refused;  ///< why a connection was refused
    std::string kept;     ///< the first bytes of the response body
    size_t read = 0;
    bool capped = false;
};

curl_socket_t OpenSocket(void* clientp, curlsocktype purpose, struct curl_sockaddr* addr) {
    auto* t = static_cast<Transfer*>(clientp);
    if (purpose != CURLSOCKTYPE_IPCXN || !addr) return CURL_SOCKET_BAD;
    if (!t->allow_private) {
        auto reason = core::ForbiddenAddressReason(&addr->addr);
        if (!reason.empty()) {
            t->refused = reason;
            return CURL_SOCKET_BAD;
        }
    }
    return ::socket(addr->family, addr->socktype, addr->protocol);
}

size_t Collect(char* data, size_t size, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t bytes = size * n;
    if (t->kept.size() < WebhookDispatcher::kKeptResponseBytes)
        t->kept.append(data,
                       std::min(bytes, WebhookDispatcher::kKeptResponseBytes - t->kept.size()));
    t->read += bytes;
    if (t->read > WebhookDispatcher::kMaxResponseBytes) {
        t->capped = true;
        return 0;  // stop reading: the status line already told the outcome
    }
    return bytes;
}

/// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong forms, no
/// surrogates, nothing past U+10FFFF, no NUL, which PostgreSQL refuses), or 0.
size_t Utf8Length(const std::string& s, size_t i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    if (c == 0) return 0;
    if (c < 0x80) return 1;
    size_t len = c >= 0xC2 && c <= 0xDF   ? 2
                 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4
                                          : 0;
    if (len == 0 || i + len > s.size()) return 0;
    for (size_t k = 1; k < len; ++k)
        if ((b(k) >> 6) != 2) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogates
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // past U+10FFFF
    return len;
}

/// Response bodies are kept as text: bytes that are no UTF-8 become U+FFFD.
std::string Printable(const std::string& s) {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        size_t len = Utf8Length(s, i);
        if (len > 0) {
            out.append(s, i, len);
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

std::once_flag g_curl_once;

}  // namespace

WebhookDispatcher::WebhookDispatcher(store::WebhookRepository& repo,
                                     const core::Config& config,
                                     std::string owner)
    : repo_(repo), config_(config), owner_(std::move(owner)) {
    std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

WebhookDispatcher::~WebhookDispatcher() { Stop(); }

void WebhookDispatcher::Start() {
    std::lock_guard lock(mu_);
    if (!threads_.empty()) return;
    stop_ = false;
    for (int i = 0; i < config_.webhook_concurrency; ++i) threads_.emplace_back([this] { Loop(); });
}

void WebhookDispatcher::Stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}

void WebhookDispatcher::Loop() {
    while (true) {
        bool busy = false;
        try {
            busy = RunOnce();
        } catch (const std::exception& e) {
            core::Log(core::LogLevel::kWarn, "webhook delivery loop", {{"error", e.what()}});
        }
        std::unique_lock lock(mu_);
        if (stop_) return;
        if (!busy) cv_.wait_for(lock, std::chrono::milliseconds(300), [this] { return stop_; });
        if (stop_) return;
    }
}

bool WebhookDispatcher::RunOnce() {
    auto claimed = repo_.Claim(owner_, 1, config_.webhook_lease_ms);
    if (claimed.empty()) return false;
    thread_local std::mt19937_64 rng{std::random_device{}()};
    for (const auto& d : claimed) {
        auto result = Send(d);
        if (result.outcome != "succeeded") {
            std::uniform_real_distribution<double> u(0.0, 1.0);
            result.retry_in_ms =
                core::WebhookRetryDelayMs(config_.webhook_schedule_s, d.failed_before + 1, u(rng));
        }
        bool recorded = repo_.Record(d, owner_, result, config_.webhook_disable_after_s);
        nlohmann::json f = {{"delivery_id", d.id},
                            {"webhook_id", d.webhook_id},
                            {"event_id", d.event_id},
                            {"tenant", d.tenant_id},
                            {"attempt", d.attempt},
                            {"outcome", result.outcome},
                            {"duration_ms", result.duration_ms}};
        if (result.response_code) f["response_code"] = *result.response_code;
        if (result.error) f["error"] = *result.error;
        if (!recorded) f["lease_lost"] = true;
        core::Log(result.outcome == "succeeded" ? core::LogLevel::kInfo : core::LogLevel::kWarn,
                  "webhook attempt", f);
    }
    return true;
}

store::AttemptResult WebhookDispatcher::Send(const store::ClaimedDelivery& d) {
    store::AttemptResult r;
    auto start = Clock::now();
    auto finish = [&](std::string outcome, std::optional<std::string> error) {
        r.outcome = std::move(outcome);
        r.error = std::move(error);
        r.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        return r;
    };
    auto problem = core::WebhookUrlProblem(d.url);
    if (!problem.empty()) return finish("refused", "refused: " + problem);
    int64_t ts = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    std::string signature;
    try {
        signature = core::WebhookSignatureHeader(d.secrets, d.event_id, ts, d.payload);
    } catch (const core::Error& e) {
        return finish("error", "the endpoint's secret cannot sign: " + e.detail());
    }
    CURL* c = curl_easy_init();
    if (!c) return finish("error", "the HTTP client could not start");
    Transfer t;
    t.allow_private = config_.webhook_allow_private;
    curl_slist* h = nullptr;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: recsplane-webhooks/1");
    h = curl_slist_append(h, ("webhook-id: " + d.event_id).c_str());
    h = curl_slist_append(h, ("webhook-timestamp: " + std::to_string(ts)).c_str());
    h = curl_slist_append(h, ("webhook-signature: " + signature).c_str());
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, d.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, d.payload.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(d.payload.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OpenSocket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.webhook_timeout_ms));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(config_.webhook_timeout_ms, 5000)));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (code > 0) r.response_code = static_cast<int>(code);
    if (!t.kept.empty() || code > 0) r.response_body = Printable(t.kept);
    // One refused address of several (a private AAAA beside a public A) does not matter when
    // another one answered.
    if (rc == CURLE_OK && code >= 200 && code < 300) return finish("succeeded", std::nullopt);
    if (!t.refused.empty() && code == 0) return finish("refused", "refused: " + t.refused);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return finish("timeout",
                      "no answer within " + std::to_string(config_.webhook_timeout_ms) + " ms");
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.capped && code > 0))
        return finish("error", std::string(curl_easy_strerror(rc)));
    if (code >= 200 && code < 300) return finish("succeeded", std::nullopt);
    std::string why = "the endpoint answered " + std::to_string(code);
    if (code >= 300 && code < 400) why += " (redirects are not followed)";
    return finish("failed", why);
}

}  // namespace recs::workers

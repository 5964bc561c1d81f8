#include "services/webhook_service.hpp"

#include <algorithm>

#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/webhook.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

constexpr size_t kMaxEvents = 20;
constexpr int64_t kSecretOverlapS = 24 * 3600;

std::string CheckUrl(const json& body, bool allow_private) {
    std::string url = core::RequireString(body, "url", core::kMaxWebhookUrlBytes);
    auto problem = core::WebhookUrlProblem(url);
    if (!problem.empty()) core::ThrowUnprocessable(problem, "url");
    // The target's addresses are judged on every connection, after name resolution (an IP
    // literal included), and the reason of a refusal is recorded on the attempt.
    (void)allow_private;
    return url;
}

std::vector<std::string> CheckEvents(const json& body) {
    if (!body.contains("events") || !body["events"].is_array())
        core::ThrowUnprocessable("events must be an array of event types", "events");
    const auto& a = body["events"];
    if (a.empty() || a.size() > kMaxEvents)
        core::ThrowUnprocessable("events must have 1 to 20 event types", "events");
    std::vector<std::string> out;
    for (size_t i = 0; i < a.size(); ++i) {
        std::string field = "events[" + std::to_string(i) + "]";
        if (!a[i].is_string()) core::ThrowUnprocessable("an event type is a string", field);
        auto t = a[i].get<std::string>();
        if (!core::IsWebhookEventType(t))
            core::ThrowUnprocessable(
                "unknown event type; one of job.succeeded, job.failed, job.dead, "
                "job.cancelled, model.version.created, model.deployed, model.rolled_back, "
                "experiment.started, experiment.completed, quota.exceeded, webhook.disabled",
                field);
        if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    }
    return out;
}

}  // namespace

CreateWebhookRequest DecodeCreateWebhook(const json& body, bool allow_private) {
    core::RequireObject(body);
    core::RejectUnknownFields(body, {"url", "events", "description", "secret"});
    CreateWebhookRequest r;
    r.url = CheckUrl(body, allow_private);
    r.events = CheckEvents(body);
    if (body.contains("description") && !body["description"].is_null())
        r.description = core::OptionalString(body, "description", 500).value_or("");
    if (body.contains("secret") && !body["secret"].is_null()) {
        auto s = core::OptionalString(body, "secret", 200);
        if (!s || !core::WebhookSecretKey(*s))
            core::ThrowUnprocessable(
                "a secret is \"whsec_\" followed by the base64 of 24 to 64 random bytes", "secret");
        r.secret = s;
    }
    return r;
}

store::WebhookPatch DecodeWebhookPatch(const json& body, bool allow_private) {
    core::RequireObject(body);
    core::RejectUnknownFields(body, {"url", "events", "description", "status"});
    store::WebhookPatch p;
    if (body.contains("url")) p.url = CheckUrl(body, allow_private);
    if (body.contains("events")) p.events = CheckEvents(body);
    if (body.contains("description"))
        p.description = body["description"].is_null()
                            ? std::string()
                            : core::OptionalString(body, "description", 500).value_or("");
    if (body.contains("status")) {
        auto s = core::OptionalString(body, "status", 16);
        if (!s || (*s != "active" && *s != "disabled"))
            core::ThrowUnprocessable("status is \"active\" or \"disabled\"", "status");
        p.status = s;
    }
    return p;
}

json WebhookJson(const store::Webhook& w) {
    auto opt = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
    return {{"id", w.id},
            {"url", w.url},
            {"events", w.events},
            {"description", w.description},
            {"status", w.status},
            {"disabled_reason", opt(w.disabled_reason)},
            {"failing_since", opt(w.failing_since)},
            {"secret_rotated_at", opt(w.secret_rotated_at)},
            {"created_at", w.created_at},
            {"updated_at", w.updated_at}};
}

json DeliveryJson(const store::WebhookDelivery& d) {
    auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
    json attempts = json::array();
    for (const auto& a : d.attempts)
        attempts.push_back({{"attempt", a.attempt},
                            {"at", a.at},
                            {"outcome", a.outcome},
                            {"duration_ms", a.duration_ms},
                            {"response_code", opt(a.response_code)},
                            {"response_body", opt(a.response_body)},
                            {"error", opt(a.error)}});
    return {{"id", d.id},
            {"event_id", d.event_id},
            {"type", d.type},
            {"status", d.status},
            {"attempt_count", d.attempt_count},
            {"next_attempt_at", opt(d.next_attempt_at)},
            {"created_at", d.created_at},
            {"payload", json::parse(d.payload, nullptr, false)},
            {"attempts", attempts}};
}

WebhookService::WebhookService(store::WebhookRepository& repo, bool allow_private)
    : repo_(repo), allow_private_(allow_private) {}

std::pair<store::Webhook, std::string> WebhookService::Create(const core::Actor& actor,
                                                              const core::TenantId& tenant,
                                                              const CreateWebhookRequest& r) {
    std::string secret = r.secret.value_or(core::GenerateWebhookSecret());
    store::Webhook w;
    w.url = r.url;
    w.events = r.events;
    w.description = r.description;
    return {repo_.Create(actor, tenant, w, secret), secret};
}

json WebhookService::Rotate(const core::Actor& actor,
                            const core::TenantId& tenant,
                            const std::string& id) {
    std::string secret = core::GenerateWebhookSecret();
    auto until = repo_.RotateSecret(actor, tenant, id, secret, kSecretOverlapS);
    return {{"id", id}, {"secret", secret}, {"previous_secret_expires_at", until}};
}

}  // namespace recs::api

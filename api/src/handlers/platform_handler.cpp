// The tenant platform: webhooks, quotas, rate limits, usage and the audit log.
#include <chrono>
#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/domain.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "services/quota_service.hpp"
#include "services/webhook_service.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// An RFC 3339 query parameter, normalised; nullopt when absent.
std::optional<int64_t> TimeParam(const Request& req, const std::string& name) {
    auto v = req.Query(name);
    if (!v) return std::nullopt;
    auto ms = core::ParseIso8601Ms(*v);
    if (!ms || *ms < 0 || *ms > 253402300799000LL)
        core::ThrowUnprocessable(name + " must be an RFC 3339 time such as 2026-01-31T00:00:00Z",
                                 name);
    return ms;
}

// Webhooks.

Response CreateWebhook(Services& s, Request& req) {
    auto r = DecodeCreateWebhook(req.json, s.webhook_service->allow_private());
    auto [w, secret] = s.webhook_service->Create(req.Actor(), req.Tenant(), r);
    auto j = WebhookJson(w);
    j["secret"] = secret;
    return Response::Json(201, j.dump());
}

Response ListWebhooks(Services& s, Request& req) {
    auto page = s.webhooks->List(req.Tenant(), ParsePage(req));
    return Response::Json(200, PageJson(page, WebhookJson));
}

Response GetWebhook(Services& s, Request& req) {
    auto w = s.webhooks->Find(req.Tenant(), req.Param("webhook_id"));
    if (!w) core::ThrowNotFound("webhook not found");
    return Response::Json(200, WebhookJson(*w).dump());
}

Response PatchWebhook(Services& s, Request& req) {
    auto p = DecodeWebhookPatch(req.json, s.webhook_service->allow_private());
    auto w = s.webhooks->Update(req.Actor(), req.Tenant(), req.Param("webhook_id"), p);
    return Response::Json(200, WebhookJson(w).dump());
}

Response DeleteWebhook(Services& s, Request& req) {
    s.webhooks->Delete(req.Actor(), req.Tenant(), req.Param("webhook_id"));
    return Response::NoContent();
}

Response TestWebhook(Services& s, Request& req) {
    auto d = s.webhooks->Ping(req.Tenant(), req.Param("webhook_id"));
    return Response::Json(202, json{{"delivery_id", d.id}, {"event_id", d.event_id}}.dump());
}

Response RotateSecret(Services& s, Request& req) {
    return Response::Json(
        200, s.webhook_service->Rotate(req.Actor(), req.Tenant(), req.Param("webhook_id")).dump());
}

Response ListDeliveries(Services& s, Request& req) {
    auto status = req.Query("status");
    if (status && *status != "pending" && *status != "succeeded" && *status != "dead")
        core::ThrowUnprocessable("status is pending, succeeded or dead", "status");
    auto page =
        s.webhooks->Deliveries(req.Tenant(), req.Param("webhook_id"), status, ParsePage(req));
    return Response::Json(200, PageJson(page, DeliveryJson));
}

Response RetryDelivery(Services& s, Request& req) {
    auto d = s.webhooks->Retry(req.Tenant(), req.Param("webhook_id"), req.Param("delivery_id"));
    return Response::Json(202, DeliveryJson(d).dump());
}

// Quotas.

core::TenantId AdminTenant(Services& s, Request& req) {
    core::TenantId t{req.Param("tenant_id")};
    if (!core::IsUuid(t.value) || !s.tenants->Find(t.value))
        core::ThrowNotFound("tenant not found");
    return t;
}

Response GetAdminQuotas(Services& s, Request& req) {
    auto t = AdminTenant(s, req);
    auto j = QuotaService::QuotasJson(s.quota_repo->Get(t));
    j["tenant_id"] = t.value;
    return Response::Json(200, j.dump());
}

Response PatchAdminQuotas(Services& s, Request& req) {
    auto t = AdminTenant(s, req);
    const auto& body = core::RequireObject(req.json);
    core::Quotas values;
    std::vector<std::string> set;
    for (const auto& [k, v] : body.items()) {
        const core::QuotaField* f = nullptr;
        for (const auto& qf : core::QuotaFields())
            if (qf.name == k) f = &qf;
        if (!f) core::ThrowUnprocessable("unknown quota", k);
        if (!v.is_null()) {
            bool rate = k.rfind("requests_per_second", 0) == 0 || k.rfind("burst", 0) == 0;
            int64_t lo = rate ? 1 : 0;
            if (!v.is_number_integer() || v.get<int64_t>() < lo)
                core::ThrowUnprocessable(std::string("a quota is an integer of at least ") +
                                             std::to_string(lo) + ", or null for unlimited",
                                         k);
            if (rate && v.get<int64_t>() > 100000)
                core::ThrowUnprocessable("a rate or burst is at most 100000 per second", k);
            values.*(f->member) = v.get<int64_t>();
        }
        set.push_back(k);
    }
    auto q = s.quota_repo->Update(req.Actor(), t, values, set);
    s.quota_service->Forget(t);
    auto j = QuotaService::QuotasJson(q);
    j["tenant_id"] = t.value;
    return Response::Json(200, j.dump());
}

Response GetQuotas(Services& s, Request& req) {
    return Response::Json(200, s.quota_service->Overview(req.Tenant()).dump());
}

Response GetRateLimits(Services& s, Request& req) {
    return Response::Json(200, s.quota_service->RateLimitView(req.principal).dump());
}

Response GetUsage(Services& s, Request& req) {
    std::string g = req.Query("granularity").value_or("hour");
    if (g != "hour" && g != "day")
        core::ThrowUnprocessable("granularity is hour or day", "granularity");
    int64_t to = TimeParam(req, "to").value_or(NowMs());
    int64_t from = TimeParam(req, "from").value_or(to - 24 * 3600 * 1000LL);
    if (from >= to) core::ThrowUnprocessable("from must be before to", "from");
    int64_t max_days = g == "hour" ? 31 : 400;
    if (to - from > max_days * 86400 * 1000LL)
        core::ThrowUnprocessable(
            "at most " + std::to_string(max_days) + " days by " + g + "; use a shorter range",
            "from");
    return Response::Json(
        200, s.quota_service
                 ->Usage(req.Tenant(), core::FormatIso8601Ms(from), core::FormatIso8601Ms(to), g)
                 .dump());
}

// Audit.

json AuditJson(const store::AuditEntry& e) {
    auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
    auto doc = [](const std::string& t) {
        return t.empty() ? json(nullptr) : json::parse(t, nullptr, false);
    };
    return {
        {"id", std::to_string(e.seq)},
        {"tenant_id", opt(e.tenant_id)},
        {"actor", {{"kind", e.actor_kind}, {"id", e.actor_id}, {"prefix", opt(e.actor_prefix)}}},
        {"action", e.action},
        {"resource", e.resource},
        {"resource_id", e.resource_id},
        {"before", doc(e.before_json)},
        {"after", doc(e.after_json)},
        {"request_id", opt(e.request_id)},
        {"created_at", e.created_at}};
}

Response ListAudit(Services& s, Request& req) {
    store::AuditFilter f;
    if (req.principal.tenant) {
        f.tenant = *req.principal.tenant;
    } else if (auto t = req.Query("tenant_id")) {
        if (!core::IsUuid(*t)) core::ThrowUnprocessable("tenant_id is a tenant's id", "tenant_id");
        f.tenant = core::TenantId{*t};
    }
    auto text = [&](const char* name) -> std::optional<std::string> {
        auto v = req.Query(name);
        if (v && (v->empty() || v->size() > 200))
            core::ThrowUnprocessable(std::string(name) + " must be 1..200 characters", name);
        return v;
    };
    f.actor = text("actor");
    f.action = text("action");
    f.resource = text("resource");
    f.resource_id = text("resource_id");
    if (auto from = TimeParam(req, "from")) f.from = core::FormatIso8601Ms(*from);
    if (auto to = TimeParam(req, "to")) f.to = core::FormatIso8601Ms(*to);
    auto page = s.audit->List(f, ParsePage(req));
    return Response::Json(200, PageJson(page, AuditJson));
}

}  // namespace

void RegisterPlatformRoutes(Router& router, Services& s) {
    const auto t = AuthMode::kTenant;
    const auto admin = core::Scope::kAdmin;
    auto add = [&](std::string method, std::string path, HandlerFn fn, BodyKind body,
                   bool idempotent = false) {
        router.Add({.method = std::move(method),
                    .path = std::move(path),
                    .auth = t,
                    .scope = admin,
                    .handler = std::move(fn),
                    .idempotent = idempotent,
                    .body = body});
    };
    if (s.webhook_service) {
        const std::string w = "/v1/recs/webhooks";
        add(
            "POST", w, [&s](Request& r) { return CreateWebhook(s, r); }, BodyKind::kJson, true);
        add(
            "GET", w, [&s](Request& r) { return ListWebhooks(s, r); }, BodyKind::kNone);
        add(
            "GET", w + "/{webhook_id}", [&s](Request& r) { return GetWebhook(s, r); },
            BodyKind::kNone);
        add(
            "PATCH", w + "/{webhook_id}", [&s](Request& r) { return PatchWebhook(s, r); },
            BodyKind::kJson);
        add(
            "DELETE", w + "/{webhook_id}", [&s](Request& r) { return DeleteWebhook(s, r); },
            BodyKind::kNone);
        add(
            "POST", w + "/{webhook_id}/test", [&s](Request& r) { return TestWebhook(s, r); },
            BodyKind::kOptionalJson);
        add(
            "POST", w + "/{webhook_id}/rotate-secret",
            [&s](Request& r) { return RotateSecret(s, r); }, BodyKind::kOptionalJson);
        add(
            "GET", w + "/{webhook_id}/deliveries",
            [&s](Request& r) { return ListDeliveries(s, r); }, BodyKind::kNone);
        add(
            "POST", w + "/{webhook_id}/deliveries/{delivery_id}/retry",
            [&s](Request& r) { return RetryDelivery(s, r); }, BodyKind::kOptionalJson);
    }
    if (s.quota_service) {
        router.Add({.method = "GET",
                    .path = "/v1/recs/admin/tenants/{tenant_id}/quotas",
                    .auth = AuthMode::kPlatformAdmin,
                    .handler = [&s](Request& r) { return GetAdminQuotas(s, r); }});
        router.Add({.method = "PATCH",
                    .path = "/v1/recs/admin/tenants/{tenant_id}/quotas",
                    .auth = AuthMode::kPlatformAdmin,
                    .handler = [&s](Request& r) { return PatchAdminQuotas(s, r); },
                    .body = BodyKind::kJson});
        router.Add(
            {.method = "GET", .path = "/v1/recs/quotas", .auth = t, .handler = [&s](Request& r) {
                 return GetQuotas(s, r);
             }});
        router.Add({.method = "GET",
                    .path = "/v1/recs/rate-limits",
                    .auth = t,
                    .handler = [&s](Request& r) { return GetRateLimits(s, r); }});
        add(
            "GET", "/v1/recs/usage", [&s](Request& r) { return GetUsage(s, r); }, BodyKind::kNone);
    }
    if (s.audit)
        router.Add({.method = "GET",
                    .path = "/v1/recs/audit/logs",
                    .auth = AuthMode::kPlatformOrTenant,
                    .scope = admin,
                    .handler = [&s](Request& r) { return ListAudit(s, r); }});
}

}  // namespace recs::api

#include <nlohmann/json.hpp>

#include "pg/pg_audit.hpp"
#include "pg/pg_pool_impl.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/store/webhook_store.hpp"

namespace recs::store {
namespace {

using nlohmann::json;

constexpr const char* kTime = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'";

std::string T(const char* column) {
    return std::string("to_char(") + column + " AT TIME ZONE 'UTC', " + kTime + ")";
}

const std::string& WebhookColumns() {
    static const std::string c =
        "SELECT w.seq, w.id::text, w.tenant_id::text, w.url, array_to_json(w.events)::text, "
        "w.description, w.status, w.disabled_reason, " +
        T("w.failing_since") + ", " + T("w.secret_rotated_at") + ", " + T("w.created_at") + ", " +
        T("w.updated_at") + " FROM webhooks w ";
    return c;
}

Webhook RowToWebhook(const pqxx::row& r) {
    Webhook w;
    w.id = r[1].as<std::string>();
    w.tenant_id = r[2].as<std::string>();
    w.url = r[3].as<std::string>();
    w.events = json::parse(r[4].as<std::string>()).get<std::vector<std::string>>();
    w.description = r[5].as<std::string>();
    w.status = r[6].as<std::string>();
    w.disabled_reason = OptText(r[7]);
    w.failing_since = OptText(r[8]);
    w.secret_rotated_at = OptText(r[9]);
    w.created_at = r[10].as<std::string>();
    w.updated_at = r[11].as<std::string>();
    return w;
}

json Audit(const Webhook& w) {
    // Never the secrets.
    return {{"id", w.id},
            {"url", w.url},
            {"events", w.events},
            {"status", w.status},
            {"description", w.description}};
}

std::string EventsArray(const std::vector<std::string>& events) {
    // A PostgreSQL text[] literal from validated event names (letters, dots, underscores).
    std::string s = "{";
    for (size_t i = 0; i < events.size(); ++i) s += (i ? "," : "") + events[i];
    return s + "}";
}

const std::string& DeliveryColumns() {
    static const std::string c =
        "SELECT d.seq, d.id::text, d.webhook_id::text, d.event_id, d.type, "
        "d.payload::text, d.status, d.attempt_count, " +
        T("d.next_attempt_at") + ", " + T("d.created_at") + " FROM webhook_deliveries d ";
    return c;
}

WebhookDelivery RowToDelivery(const pqxx::row& r) {
    WebhookDelivery d;
    d.id = r[1].as<std::string>();
    d.webhook_id = r[2].as<std::string>();
    d.event_id = r[3].as<std::string>();
    d.type = r[4].as<std::string>();
    d.payload = r[5].as<std::string>();
    d.status = r[6].as<std::string>();
    d.attempt_count = r[7].as<int>();
    if (d.status == "pending") d.next_attempt_at = OptText(r[8]);
    d.created_at = r[9].as<std::string>();
    return d;
}

void LoadAttempts(pqxx::transaction_base& tx, std::vector<WebhookDelivery>& ds) {
    if (ds.empty()) return;
    std::string ids = "{";
    for (size_t i = 0; i < ds.size(); ++i) ids += (i ? "," : "") + ds[i].id;
    ids += "}";
    auto r = tx.exec_params("SELECT delivery_id::text, attempt, " + T("at") +
                                ", outcome, duration_ms, response_code, response_body, error "
                                "FROM webhook_attempts WHERE delivery_id = ANY($1::uuid[]) "
                                "ORDER BY id",
                            ids);
    for (const auto& row : r) {
        WebhookAttempt a;
        a.attempt = row[1].as<int>();
        a.at = row[2].as<std::string>();
        a.outcome = row[3].as<std::string>();
        a.duration_ms = row[4].as<double>();
        if (!row[5].is_null()) a.response_code = row[5].as<int>();
        a.response_body = OptText(row[6]);
        a.error = OptText(row[7]);
        auto id = row[0].as<std::string>();
        for (auto& d : ds)
            if (d.id == id) d.attempts.push_back(std::move(a));
    }
}

class PgWebhookRepository final : public WebhookRepository {
public:
    explicit PgWebhookRepository(PgPool& pool) : pool_(pool) {}

    Webhook Create(const core::Actor& actor,
                   const core::TenantId& tenant,
                   const Webhook& w,
                   const std::string& secret) override {
        std::optional<Webhook> out;
        WithTransaction(pool_, "webhooks.create", [&](pqxx::work& tx) {
            auto id = tx.exec_params1(
                            "INSERT INTO webhooks (tenant_id, url, events, description, secret) "
                            "VALUES ($1::uuid, $2, $3::text[], $4, $5) RETURNING id::text",
                            tenant.value, w.url, EventsArray(w.events), w.description, secret)[0]
                          .as<std::string>();
            out = FindIn(tx, tenant, id);
            WriteAudit(tx, tenant.value, actor, "create", "webhook", id, nullptr, Audit(*out));
        });
        return *out;
    }

    std::optional<Webhook> Find(const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id)) return std::nullopt;
        std::optional<Webhook> out;
        WithConnection(pool_, "webhooks.find", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            out = FindIn(tx, tenant, id);
        });
        return out;
    }

    Page<Webhook> List(const core::TenantId& tenant, const PageRequest& page) override {
        Page<Webhook> out;
        int64_t after = page.cursor ? DecodeCursor(*page.cursor) : 0;
        WithConnection(pool_, "webhooks.list", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(WebhookColumns() +
                                        "WHERE w.tenant_id = $1::uuid AND w.seq > $2 "
                                        "ORDER BY w.seq LIMIT $3",
                                    tenant.value, after, page.limit + 1);
            FillPage(r, page.limit, RowToWebhook, &out);
        });
        return out;
    }

    Webhook Update(const core::Actor& actor,
                   const core::TenantId& tenant,
                   const std::string& id,
                   const WebhookPatch& p) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("webhook not found");
        std::optional<Webhook> out;
        WithTransaction(pool_, "webhooks.update", [&](pqxx::work& tx) {
            auto before = FindIn(tx, tenant, id, true);
            if (!before) core::ThrowNotFound("webhook not found");
            std::optional<std::string> events;
            if (p.events) events = EventsArray(*p.events);
            bool reenable = p.status == "active" && before->status != "active";
            tx.exec_params(
                "UPDATE webhooks SET url = COALESCE($3, url), events = COALESCE($4::text[], "
                "events), description = COALESCE($5, description), status = COALESCE($6, "
                "status), disabled_reason = CASE WHEN $6 = 'disabled' AND status <> 'disabled' "
                "THEN 'disabled by the tenant' WHEN $6 = 'active' THEN NULL ELSE "
                "disabled_reason END, failing_since = CASE WHEN $7 THEN NULL ELSE failing_since "
                "END, updated_at = now() WHERE tenant_id = $1::uuid AND id = $2::uuid",
                tenant.value, id, OrNull(p.url), OrNull(events), OrNull(p.description),
                OrNull(p.status), reenable);
            out = FindIn(tx, tenant, id);
            WriteAudit(tx, tenant.value, actor, "update", "webhook", id, Audit(*before),
                       Audit(*out));
        });
        return *out;
    }

    void Delete(const core::Actor& actor,
                const core::TenantId& tenant,
                const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("webhook not found");
        WithTransaction(pool_, "webhooks.delete", [&](pqxx::work& tx) {
            auto before = FindIn(tx, tenant, id, true);
            if (!before) core::ThrowNotFound("webhook not found");
            tx.exec_params("DELETE FROM webhooks WHERE tenant_id = $1::uuid AND id = $2::uuid",
                           tenant.value, id);
            WriteAudit(tx, tenant.value, actor, "delete", "webhook", id, Audit(*before), nullptr);
        });
    }

    std::string RotateSecret(const core::Actor& actor,
                             const core::TenantId& tenant,
                             const std::string& id,
                             const std::string& new_secret,
                             int64_t overlap_s) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("webhook not found");
        std::string until;
        WithTransaction(pool_, "webhooks.rotate", [&](pqxx::work& tx) {
            auto r = tx.exec_params(
                "UPDATE webhooks SET previous_secret = secret, previous_secret_expires_at = now() "
                "+ $4 * interval '1 second', secret = $3, secret_rotated_at = now(), updated_at "
                "= now() WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING " +
                    T("previous_secret_expires_at"),
                tenant.value, id, new_secret, overlap_s);
            if (r.empty()) core::ThrowNotFound("webhook not found");
            until = r[0][0].as<std::string>();
            WriteAudit(tx, tenant.value, actor, "rotate_secret", "webhook", id, nullptr,
                       json{{"previous_secret_expires_at", until}});
        });
        return until;
    }

    WebhookDelivery Ping(const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("webhook not found");
        std::optional<WebhookDelivery> out;
        WithTransaction(pool_, "webhooks.ping", [&](pqxx::work& tx) {
            if (!FindIn(tx, tenant, id)) core::ThrowNotFound("webhook not found");
            auto msg = tx.exec_params1(
                             "SELECT recs_emit_webhook($1::uuid, 'ping', "
                             "jsonb_build_object('webhook_id', $2::text), $2::uuid)",
                             tenant.value, id)[0]
                           .as<std::string>();
            auto r = tx.exec_params(
                DeliveryColumns() + "WHERE d.tenant_id = $1::uuid AND d.event_id = $2",
                tenant.value, msg);
            // A ping to a disabled endpoint: it is queued all the same (the endpoint's test).
            if (r.empty()) {
                tx.exec_params(
                    "INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id, type, "
                    "payload) VALUES ($1::uuid, $2::uuid, $3, 'ping', jsonb_build_object('type', "
                    "'ping', 'timestamp', to_char(now() AT TIME ZONE 'UTC', "
                    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'data', jsonb_build_object("
                    "'webhook_id', $2::text)))",
                    tenant.value, id, msg);
                r = tx.exec_params(
                    DeliveryColumns() + "WHERE d.tenant_id = $1::uuid AND d.event_id = $2",
                    tenant.value, msg);
            }
            out = RowToDelivery(r[0]);
        });
        return *out;
    }

    Page<WebhookDelivery> Deliveries(const core::TenantId& tenant,
                                     const std::string& webhook_id,
                                     const std::optional<std::string>& status,
                                     const PageRequest& page) override {
        if (!core::IsUuid(webhook_id)) core::ThrowNotFound("webhook not found");
        Page<WebhookDelivery> out;
        int64_t before = page.cursor ? DecodeCursor(*page.cursor) : 0;
        WithConnection(pool_, "webhooks.deliveries", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            if (!FindIn(tx, tenant, webhook_id)) core::ThrowNotFound("webhook not found");
            // Newest first.
            auto r = tx.exec_params(
                DeliveryColumns() +
                    "WHERE d.tenant_id = $1::uuid AND d.webhook_id = $2::uuid AND ($3::text IS "
                    "NULL OR d.status = $3) AND ($4::bigint = 0 OR d.seq < $4) ORDER BY d.seq "
                    "DESC LIMIT $5",
                tenant.value, webhook_id, OrNull(status), before, page.limit + 1);
            for (size_t i = 0; i < r.size() && static_cast<int>(i) < page.limit; ++i)
                out.items.push_back(RowToDelivery(r[i]));
            if (static_cast<int>(r.size()) > page.limit)
                out.next_cursor = EncodeCursor(r[page.limit - 1][0].as<int64_t>());
            LoadAttempts(tx, out.items);
        });
        return out;
    }

    WebhookDelivery Retry(const core::TenantId& tenant,
                          const std::string& webhook_id,
                          const std::string& delivery_id) override {
        if (!core::IsUuid(webhook_id) || !core::IsUuid(delivery_id))
            core::ThrowNotFound("delivery not found");
        std::optional<WebhookDelivery> out;
        WithTransaction(pool_, "webhooks.retry", [&](pqxx::work& tx) {
            auto r = tx.exec_params(
                "SELECT status FROM webhook_deliveries WHERE tenant_id = $1::uuid AND "
                "webhook_id = $2::uuid AND id = $3::uuid FOR UPDATE",
                tenant.value, webhook_id, delivery_id);
            if (r.empty()) core::ThrowNotFound("delivery not found");
            if (r[0][0].as<std::string>() == "pending")
                core::ThrowConflict("the delivery is still pending: it is tried again on its own");
            tx.exec_params(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), "
                "schedule_offset = attempt_count, lease_owner = NULL, lease_expires_at = NULL, "
                "updated_at = now() WHERE id = $1::uuid",
                delivery_id);
            std::vector<WebhookDelivery> ds{RowToDelivery(
                tx.exec_params1(DeliveryColumns() + "WHERE d.id = $1::uuid", delivery_id))};
            LoadAttempts(tx, ds);
            out = std::move(ds[0]);
        });
        return *out;
    }

    std::string Emit(const core::TenantId& tenant,
                     const std::string& type,
                     const std::string& data_json) override {
        std::string id;
        WithTransaction(pool_, "webhooks.emit", [&](pqxx::work& tx) {
            id = tx.exec_params1("SELECT recs_emit_webhook($1::uuid, $2, $3::jsonb)", tenant.value,
                                 type, data_json)[0]
                     .as<std::string>();
        });
        return id;
    }

    std::vector<ClaimedDelivery> Claim(const std::string& owner,
                                       int limit,
                                       int64_t lease_ms) override {
        std::vector<ClaimedDelivery> out;
        WithTransaction(pool_, "webhooks.claim", [&](pqxx::work& tx) {
            auto r = tx.exec_params(
                "UPDATE webhook_deliveries d SET lease_owner = $1, lease_expires_at = now() + $3 "
                "* interval '1 millisecond', attempt_count = d.attempt_count + 1, updated_at = "
                "now() FROM webhooks w WHERE w.id = d.webhook_id AND d.id IN (SELECT x.id FROM "
                "webhook_deliveries x JOIN webhooks y ON y.id = x.webhook_id WHERE x.status = "
                "'pending' AND x.next_attempt_at <= now() AND (x.lease_expires_at IS NULL OR "
                "x.lease_expires_at < now()) AND (y.status = 'active' OR x.type = 'ping') "
                "ORDER BY x.next_attempt_at LIMIT $2 FOR UPDATE OF x SKIP LOCKED) RETURNING "
                "d.id::text, d.tenant_id::text, d.webhook_id::text, d.event_id, d.payload::text, "
                "d.attempt_count, w.url, w.secret, CASE WHEN w.previous_secret_expires_at > now() "
                "THEN w.previous_secret END, d.schedule_offset",
                owner, limit, lease_ms);
            for (const auto& row : r) {
                ClaimedDelivery d;
                d.id = row[0].as<std::string>();
                d.tenant_id = row[1].as<std::string>();
                d.webhook_id = row[2].as<std::string>();
                d.event_id = row[3].as<std::string>();
                d.payload = row[4].as<std::string>();
                d.attempt = row[5].as<int>();
                d.url = row[6].as<std::string>();
                d.secrets.push_back(row[7].as<std::string>());
                if (!row[8].is_null()) d.secrets.push_back(row[8].as<std::string>());
                d.failed_before = d.attempt - 1 - row[9].as<int>();
                out.push_back(std::move(d));
            }
        });
        return out;
    }

    bool Record(const ClaimedDelivery& d,
                const std::string& owner,
                const AttemptResult& res,
                int64_t disable_after_s) override {
        bool ok = false;
        WithTransaction(pool_, "webhooks.record", [&](pqxx::work& tx) {
            bool success = res.outcome == "succeeded";
            std::optional<std::string> retry_ms;
            if (!success && res.retry_in_ms) retry_ms = std::to_string(*res.retry_in_ms);
            auto r = tx.exec_params(
                "UPDATE webhook_deliveries SET status = CASE WHEN $3 THEN 'succeeded' WHEN "
                "$4::bigint IS NULL THEN 'dead' ELSE 'pending' END, next_attempt_at = CASE WHEN "
                "$3 OR $4::bigint IS NULL THEN NULL ELSE now() + $4::bigint * interval '1 "
                "millisecond' END, lease_owner = NULL, lease_expires_at = NULL, updated_at = "
                "now() WHERE id = $1::uuid AND lease_owner = $2 AND status = 'pending' AND "
                "attempt_count = $5 RETURNING id",
                d.id, owner, success, OrNull(retry_ms), d.attempt);
            if (r.empty()) return;  // the lease was lost: the other worker records its own
            ok = true;
            std::optional<std::string> code;
            if (res.response_code) code = std::to_string(*res.response_code);
            tx.exec_params(
                "INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, outcome, "
                "duration_ms, response_code, response_body, error) VALUES ($1::uuid, $2::uuid, "
                "$3, $4, $5, $6::int, $7, $8)",
                d.tenant_id, d.id, d.attempt, res.outcome, res.duration_ms, OrNull(code),
                OrNull(res.response_body), OrNull(res.error));
            if (success) {
                tx.exec_params(
                    "UPDATE webhooks SET failing_since = NULL WHERE id = $1::uuid AND "
                    "failing_since IS NOT NULL",
                    d.webhook_id);
                return;
            }
            auto w = tx.exec_params(
                "UPDATE webhooks SET failing_since = COALESCE(failing_since, now()) WHERE id = "
                "$1::uuid RETURNING status, failing_since <= now() - $2 * interval '1 second'",
                d.webhook_id, disable_after_s);
            if (w.empty() || w[0][0].as<std::string>() != "active" || !w[0][1].as<bool>()) return;
            auto before = FindIn(tx, core::TenantId{d.tenant_id}, d.webhook_id, true);
            tx.exec_params(
                "UPDATE webhooks SET status = 'disabled', disabled_reason = $2, updated_at = "
                "now() WHERE id = $1::uuid",
                d.webhook_id,
                "every delivery failed for " + std::to_string(disable_after_s) + " s");
            auto after = FindIn(tx, core::TenantId{d.tenant_id}, d.webhook_id);
            tx.exec_params(
                "SELECT recs_emit_webhook($1::uuid, 'webhook.disabled', jsonb_build_object("
                "'webhook_id', $2::text, 'url', $3::text, 'failing_since', $4::text, 'reason', "
                "$5::text))",
                d.tenant_id, d.webhook_id, after->url, after->failing_since.value_or(""),
                after->disabled_reason.value_or(""));
            WriteAudit(tx, d.tenant_id, core::Actor{"system", "webhook_delivery", "", ""},
                       "disable", "webhook", d.webhook_id, before ? Audit(*before) : json(nullptr),
                       Audit(*after));
        });
        return ok;
    }

private:
    template <typename Tx>
    std::optional<Webhook> FindIn(Tx& tx,
                                  const core::TenantId& tenant,
                                  const std::string& id,
                                  bool lock = false) {
        auto r =
            tx.exec_params(WebhookColumns() + "WHERE w.tenant_id = $1::uuid AND w.id = $2::uuid" +
                               (lock ? " FOR UPDATE" : ""),
                           tenant.value, id);
        if (r.empty()) return std::nullopt;
        return RowToWebhook(r[0]);
    }

    PgPool& pool_;
};

}  // namespace

std::unique_ptr<WebhookRepository> MakePgWebhookRepository(PgPool& pool) {
    return std::make_unique<PgWebhookRepository>(pool);
}

}  // namespace recs::store

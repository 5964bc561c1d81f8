#include <algorithm>
#include <nlohmann/json.hpp>

#include "pg/pg_audit.hpp"
#include "pg/pg_pool_impl.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/store/quota_store.hpp"

namespace recs::store {
namespace {

using nlohmann::json;

std::string QuotaColumns() {
    std::string s;
    for (const auto& f : core::QuotaFields()) s += std::string(f.name) + ", ";
    return s + "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

template <typename Tx>
core::Quotas Load(Tx& tx, const core::TenantId& tenant) {
    if (tx.exec_params("SELECT 1 FROM tenants WHERE id = $1::uuid", tenant.value).empty())
        core::ThrowNotFound("tenant not found");
    core::Quotas q;
    auto r = tx.exec_params(
        "SELECT " + QuotaColumns() + " FROM tenant_quotas WHERE tenant_id = $1::uuid",
        tenant.value);
    if (r.empty()) return q;
    const auto& f = core::QuotaFields();
    for (size_t i = 0; i < f.size(); ++i)
        if (!r[0][static_cast<int>(i)].is_null())
            q.*(f[i].member) = r[0][static_cast<int>(i)].template as<int64_t>();
    q.updated_at = r[0][static_cast<int>(f.size())].template as<std::string>();
    return q;
}

void EmitExceeded(pqxx::work& tx,
                  const core::TenantId& tenant,
                  const std::string& quota,
                  const core::QuotaPeriod& period,
                  int64_t limit) {
    json data = {{"quota", quota},
                 {"limit", limit},
                 {"period_start", period.start},
                 {"resets_at", period.resets_at}};
    tx.exec_params("SELECT recs_emit_webhook($1::uuid, 'quota.exceeded', $2::jsonb)", tenant.value,
                   data.dump());
}

class PgQuotaRepository final : public QuotaRepository {
public:
    explicit PgQuotaRepository(PgPool& pool) : pool_(pool) {}

    core::Quotas Get(const core::TenantId& tenant) override {
        if (!core::IsUuid(tenant.value)) core::ThrowNotFound("tenant not found");
        core::Quotas out;
        WithConnection(pool_, "quotas.get", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            out = Load(tx, tenant);
        });
        return out;
    }

    core::Quotas Update(const core::Actor& actor,
                        const core::TenantId& tenant,
                        const core::Quotas& values,
                        const std::vector<std::string>& set) override {
        if (!core::IsUuid(tenant.value)) core::ThrowNotFound("tenant not found");
        core::Quotas out;
        WithTransaction(pool_, "quotas.update", [&](pqxx::work& tx) {
            auto before = Load(tx, tenant);
            tx.exec_params(
                "INSERT INTO tenant_quotas (tenant_id) VALUES ($1::uuid) ON CONFLICT DO NOTHING",
                tenant.value);
            for (const auto& f : core::QuotaFields()) {
                if (std::find(set.begin(), set.end(), f.name) == set.end()) continue;
                const auto& v = values.*(f.member);
                std::optional<std::string> text;
                if (v) text = std::to_string(*v);
                // The column name comes from the fixed table of quotas, never from the request.
                tx.exec_params("UPDATE tenant_quotas SET " + std::string(f.name) +
                                   " = $2::bigint, updated_at = now() WHERE tenant_id = $1::uuid",
                               tenant.value, OrNull(text));
            }
            out = Load(tx, tenant);
            // A raised limit lets quota.exceeded fire again in the period.
            tx.exec_params("UPDATE quota_usage SET notified = false WHERE tenant_id = $1::uuid",
                           tenant.value);
            WriteAudit(tx, tenant.value, actor, "update", "quotas", tenant.value,
                       core::QuotasJson(before), core::QuotasJson(out));
        });
        return out;
    }

    Reservation Reserve(const core::TenantId& tenant,
                        const std::string& quota,
                        const core::QuotaPeriod& period,
                        int64_t n,
                        int64_t limit) override {
        Reservation out;
        WithTransaction(pool_, "quotas.reserve", [&](pqxx::work& tx) {
            tx.exec_params(
                "INSERT INTO quota_usage (tenant_id, quota, period) VALUES ($1::uuid, $2, "
                "$3::date) ON CONFLICT DO NOTHING",
                tenant.value, quota, period.date);
            auto r = tx.exec_params1(
                "SELECT used, notified FROM quota_usage WHERE tenant_id = $1::uuid AND quota = $2 "
                "AND period = $3::date FOR UPDATE",
                tenant.value, quota, period.date);
            int64_t used = r[0].as<int64_t>();
            bool notified = r[1].as<bool>();
            out.granted = std::max<int64_t>(0, std::min(n, limit - used));
            out.used = used + out.granted;
            bool short_of = out.granted < n;
            if (short_of && !notified) {
                EmitExceeded(tx, tenant, quota, period, limit);
                out.notified = true;
            }
            tx.exec_params(
                "UPDATE quota_usage SET used = $4, notified = notified OR $5 WHERE tenant_id = "
                "$1::uuid AND quota = $2 AND period = $3::date",
                tenant.value, quota, period.date, out.used, short_of);
        });
        return out;
    }

    void Release(const core::TenantId& tenant,
                 const std::string& quota,
                 const core::QuotaPeriod& period,
                 int64_t n) override {
        if (n <= 0) return;
        WithTransaction(pool_, "quotas.release", [&](pqxx::work& tx) {
            tx.exec_params(
                "UPDATE quota_usage SET used = GREATEST(used - $4, 0) WHERE tenant_id = $1::uuid "
                "AND quota = $2 AND period = $3::date",
                tenant.value, quota, period.date, n);
        });
    }

    int64_t Used(const core::TenantId& tenant,
                 const std::string& quota,
                 const core::QuotaPeriod& period) override {
        int64_t used = 0;
        WithConnection(pool_, "quotas.used", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(
                "SELECT used FROM quota_usage WHERE tenant_id = $1::uuid AND quota = $2 AND "
                "period = $3::date",
                tenant.value, quota, period.date);
            if (!r.empty()) used = r[0][0].as<int64_t>();
        });
        return used;
    }

    bool NotifyOnce(const core::TenantId& tenant,
                    const std::string& quota,
                    const core::QuotaPeriod& period,
                    int64_t limit) override {
        bool did = false;
        WithTransaction(pool_, "quotas.notify", [&](pqxx::work& tx) {
            auto r = tx.exec_params(
                "INSERT INTO quota_usage (tenant_id, quota, period, notified) VALUES ($1::uuid, "
                "$2, $3::date, true) ON CONFLICT (tenant_id, quota, period) DO UPDATE SET "
                "notified = true WHERE NOT quota_usage.notified RETURNING 1",
                tenant.value, quota, period.date);
            if (r.empty()) return;
            EmitExceeded(tx, tenant, quota, period, limit);
            did = true;
        });
        return did;
    }

    QuotaCounts Counts(const core::TenantId& tenant) override {
        QuotaCounts out;
        WithConnection(pool_, "quotas.counts", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params1(
                "SELECT (SELECT count(*) FROM models WHERE tenant_id = $1::uuid), (SELECT "
                "COALESCE(sum(artifact_bytes), 0) FROM model_versions WHERE tenant_id = "
                "$1::uuid), (SELECT count(*) FROM jobs WHERE tenant_id = $1::uuid AND status = "
                "'running'), (SELECT count(*) FROM jobs WHERE tenant_id = $1::uuid AND status = "
                "'queued'), (SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM "
                "model_versions WHERE tenant_id = $1::uuid GROUP BY model_id) v)",
                tenant.value);
            out.models = r[0].as<int64_t>();
            out.artifact_bytes = r[1].as<int64_t>();
            out.running_jobs = r[2].as<int64_t>();
            out.queued_jobs = r[3].as<int64_t>();
            out.max_versions_of_a_model = r[4].as<int64_t>();
        });
        return out;
    }

    void AddUsage(const std::vector<UsageDelta>& deltas) override {
        if (deltas.empty()) return;
        json rows = json::array();
        for (const auto& d : deltas)
            rows.push_back(
                {{"t", d.tenant_id}, {"h", d.hour_epoch_s}, {"m", d.metric}, {"n", d.count}});
        WithTransaction(pool_, "usage.add", [&](pqxx::work& tx) {
            // Rows of a deleted tenant are dropped (the join), never an error for the others.
            tx.exec_params(
                "INSERT INTO usage_counters (tenant_id, hour, metric, count) SELECT t.id, "
                "to_timestamp(x.h), x.m, sum(x.n) FROM jsonb_to_recordset($1::jsonb) AS x(t "
                "uuid, h bigint, m text, n bigint) JOIN tenants t ON t.id = x.t GROUP BY t.id, "
                "x.h, x.m ORDER BY t.id, x.h, x.m ON CONFLICT (tenant_id, hour, metric) DO UPDATE "
                "SET count = "
                "usage_counters.count + EXCLUDED.count",
                rows.dump());
        });
    }

    std::vector<UsageRow> Usage(const core::TenantId& tenant,
                                const std::string& from,
                                const std::string& to,
                                const std::string& granularity) override {
        std::vector<UsageRow> out;
        WithConnection(pool_, "usage.read", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(
                "SELECT to_char(date_trunc($4, hour AT TIME ZONE 'UTC'), "
                "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), metric, sum(count)::bigint FROM "
                "usage_counters WHERE tenant_id = $1::uuid AND hour >= $2::timestamptz AND hour "
                "< $3::timestamptz GROUP BY 1, 2 ORDER BY 1, 2",
                tenant.value, from, to, granularity);
            for (const auto& row : r)
                out.push_back(UsageRow{row[0].as<std::string>(), row[1].as<std::string>(),
                                       row[2].as<int64_t>()});
        });
        return out;
    }

private:
    PgPool& pool_;
};

}  // namespace

std::unique_ptr<QuotaRepository> MakePgQuotaRepository(PgPool& pool) {
    return std::make_unique<PgQuotaRepository>(pool);
}

}  // namespace recs::store

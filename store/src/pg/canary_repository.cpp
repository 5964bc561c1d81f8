#include <nlohmann/json.hpp>

#include "pg/pg_audit.hpp"
#include "pg/pg_pool_impl.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/store/canary_store.hpp"

namespace recs::store {
namespace {

using nlohmann::json;

#define RECS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
constexpr std::string_view kColumns =
    "SELECT c.id::text, c.tenant_id::text, c.model_id::text, c.version_id::text, v.version, "
    "c.pool, c.traffic_pct, c.guard::text, c.status, c.reason, " RECS_TS(
        "c.created_at") ", " RECS_TS("c.ended_at") " FROM model_canaries c "
                                                   "JOIN model_versions v ON v.id = c.version_id ";
#undef RECS_TS

json GuardJson(const std::optional<core::CanaryGuard>& g) {
    if (!g) return nullptr;
    json j = {{"window_s", g->window_s}, {"min_requests", g->min_requests}};
    j["max_error_rate"] = g->max_error_rate ? json(*g->max_error_rate) : json();
    j["max_p99_ms"] = g->max_p99_ms ? json(*g->max_p99_ms) : json();
    return j;
}

std::optional<core::CanaryGuard> GuardOf(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    auto j = json::parse(f.as<std::string>());
    core::CanaryGuard g;
    g.window_s = j.value("window_s", 60);
    g.min_requests = j.value("min_requests", 20);
    if (j.contains("max_error_rate") && j["max_error_rate"].is_number())
        g.max_error_rate = j["max_error_rate"].get<double>();
    if (j.contains("max_p99_ms") && j["max_p99_ms"].is_number())
        g.max_p99_ms = j["max_p99_ms"].get<double>();
    return g;
}

core::Canary RowToCanary(const pqxx::row& r) {
    core::Canary c;
    c.id = r[0].as<std::string>();
    c.tenant_id = r[1].as<std::string>();
    c.model_id = r[2].as<std::string>();
    c.version_id = r[3].as<std::string>();
    c.version = r[4].as<int>();
    c.pool = r[5].as<std::string>();
    c.traffic_pct = r[6].as<double>();
    c.guard = GuardOf(r[7]);
    c.status = r[8].as<std::string>();
    c.reason = OptText(r[9]);
    c.created_at = r[10].as<std::string>();
    c.ended_at = OptText(r[11]);
    return c;
}

json Audit(const core::Canary& c) {
    return {{"id", c.id},
            {"model_id", c.model_id},
            {"version_id", c.version_id},
            {"pool", c.pool},
            {"traffic_pct", c.traffic_pct},
            {"guard", GuardJson(c.guard)},
            {"status", c.status},
            {"reason", c.reason ? json(*c.reason) : json()}};
}

class PgCanaryRepository final : public CanaryRepository {
public:
    explicit PgCanaryRepository(PgPool& pool) : pool_(pool) {}

    core::Canary Start(const core::Actor& actor,
                       const core::TenantId& tenant,
                       const core::Canary& c) override {
        std::optional<core::Canary> out;
        WithTransaction(pool_, "canaries.start", [&](pqxx::work& tx) {
            // The model row locks out a concurrent start of another canary of it.
            auto m = tx.exec_params(
                "SELECT id FROM models WHERE tenant_id = $1::uuid AND id = $2::uuid FOR UPDATE",
                tenant.value, c.model_id);
            if (m.empty()) core::ThrowNotFound("model not found");
            auto prev = tx.exec_params(std::string(kColumns) +
                                           "WHERE c.tenant_id = $1::uuid AND c.model_id = "
                                           "$2::uuid AND c.status = 'active' FOR UPDATE OF c",
                                       tenant.value, c.model_id);
            if (!prev.empty()) EndIn(tx, actor, tenant, RowToCanary(prev[0]), "replaced", {});
            auto g = GuardJson(c.guard);
            std::optional<std::string> guard;
            if (!g.is_null()) guard = g.dump();
            auto id = tx.exec_params1(
                            "INSERT INTO model_canaries (tenant_id, model_id, version_id, pool, "
                            "traffic_pct, guard) VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, "
                            "$6::jsonb) RETURNING id::text",
                            tenant.value, c.model_id, c.version_id, c.pool, c.traffic_pct,
                            OrNull(guard))[0]
                          .as<std::string>();
            out = FindIn(tx, "WHERE c.id = $1::uuid", id);
            WriteAudit(tx, tenant.value, actor, "canary", "model", c.model_id, nullptr,
                       Audit(*out));
        });
        return *out;
    }

    std::optional<core::Canary> Active(const core::TenantId& tenant,
                                       const std::string& model_id) override {
        return Query("canaries.active",
                     "WHERE c.tenant_id = $1::uuid AND c.model_id = $2::uuid AND c.status = "
                     "'active'",
                     tenant, model_id);
    }

    std::optional<core::Canary> Latest(const core::TenantId& tenant,
                                       const std::string& model_id) override {
        return Query("canaries.latest",
                     "WHERE c.tenant_id = $1::uuid AND c.model_id = $2::uuid ORDER BY c.seq DESC "
                     "LIMIT 1",
                     tenant, model_id);
    }

    std::optional<core::Canary> End(const core::Actor& actor,
                                    const core::TenantId& tenant,
                                    const std::string& canary_id,
                                    const std::string& status,
                                    const std::optional<std::string>& reason) override {
        if (!core::IsUuid(canary_id)) return std::nullopt;
        std::optional<core::Canary> out;
        WithTransaction(pool_, "canaries.end", [&](pqxx::work& tx) {
            auto r = tx.exec_params(std::string(kColumns) +
                                        "WHERE c.tenant_id = $1::uuid AND c.id = $2::uuid AND "
                                        "c.status = 'active' FOR UPDATE OF c",
                                    tenant.value, canary_id);
            if (r.empty()) return;
            out = EndIn(tx, actor, tenant, RowToCanary(r[0]), status, reason);
        });
        return out;
    }

private:
    core::Canary EndIn(pqxx::work& tx,
                       const core::Actor& actor,
                       const core::TenantId& tenant,
                       const core::Canary& before,
                       const std::string& status,
                       const std::optional<std::string>& reason) {
        tx.exec_params(
            "UPDATE model_canaries SET status = $2, reason = $3, ended_at = now() WHERE id = "
            "$1::uuid",
            before.id, status, OrNull(reason));
        if (status == "rolled_back")
            tx.exec_params(
                "UPDATE model_versions SET status = 'rolled_back' WHERE id = $1::uuid AND status "
                "<> 'deployed'",
                before.version_id);
        auto after = *FindIn(tx, "WHERE c.id = $1::uuid", before.id);
        WriteAudit(tx, tenant.value, actor, "canary_" + status, "model", before.model_id,
                   Audit(before), Audit(after));
        return after;
    }

    std::optional<core::Canary> FindIn(pqxx::work& tx, const char* where, const std::string& id) {
        auto r = tx.exec_params(std::string(kColumns) + where, id);
        if (r.empty()) return std::nullopt;
        return RowToCanary(r[0]);
    }

    std::optional<core::Canary> Query(const char* what,
                                      const char* where,
                                      const core::TenantId& tenant,
                                      const std::string& model_id) {
        std::optional<core::Canary> out;
        if (!core::IsUuid(model_id)) return out;
        WithConnection(pool_, what, [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(std::string(kColumns) + where, tenant.value, model_id);
            if (!r.empty()) out = RowToCanary(r[0]);
        });
        return out;
    }

    PgPool& pool_;
};

}  // namespace

std::unique_ptr<CanaryRepository> MakePgCanaryRepository(PgPool& pool) {
    return std::make_unique<PgCanaryRepository>(pool);
}

}  // namespace recs::store

#include <nlohmann/json.hpp>

#include "pg/pg_audit.hpp"
#include "pg/pg_pool_impl.hpp"
#include "pg/queries/tenants.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::store {
namespace {

using nlohmann::json;
namespace q = pg;

// A CHECK constraint keeps the column to the names the enum knows.
core::TenantStatus StatusOf(const pqxx::field& f) {
    return core::ParseTenantStatus(f.as<std::string>()).value_or(core::TenantStatus::kSuspended);
}

std::optional<std::string> NameOf(const std::optional<core::TenantStatus>& s) {
    if (!s) return std::nullopt;
    return std::string(core::TenantStatusName(*s));
}

core::Tenant RowToTenant(const pqxx::row& r) {
    return core::Tenant{r[1].as<std::string>(), r[2].as<std::string>(), StatusOf(r[3]),
                        r[4].as<std::string>(), r[5].as<std::string>()};
}

json TenantJson(const core::Tenant& t) {
    return {{"id", t.id}, {"name", t.name}, {"status", core::TenantStatusName(t.status)}};
}

core::ApiKey RowToKey(const pqxx::row& r) {
    core::ApiKey k;
    k.id = r[1].as<std::string>();
    k.tenant_id = r[2].as<std::string>();
    k.name = r[3].as<std::string>();
    k.prefix = r[4].as<std::string>();
    std::string scopes = r[5].as<std::string>();
    size_t start = 0;
    while (start <= scopes.size() && !scopes.empty()) {
        size_t comma = scopes.find(',', start);
        k.scopes.push_back(scopes.substr(start, comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    k.created_at = r[6].as<std::string>();
    k.expires_at = OptText(r[7]);
    k.revoked_at = OptText(r[8]);
    k.last_used_at = OptText(r[9]);
    return k;
}

json KeyJson(const core::ApiKey& k) {
    return {{"id", k.id},
            {"name", k.name},
            {"prefix", k.prefix},
            {"scopes", k.scopes},
            {"expires_at", k.expires_at ? json(*k.expires_at) : json(nullptr)},
            {"revoked_at", k.revoked_at ? json(*k.revoked_at) : json(nullptr)}};
}

int64_t StartSeq(const PageRequest& page) { return page.cursor ? DecodeCursor(*page.cursor) : 0; }

class PgTenantRepository final : public TenantRepository {
public:
    explicit PgTenantRepository(PgPool& pool) : pool_(pool) {}

    // TenantRepository
    core::Tenant Create(const core::Actor& actor, const std::string& name) override {
        core::Tenant t;
        WithTransaction(pool_, "tenant.create", [&](pqxx::work& tx) {
            t = RowToTenant(tx.exec_params1(SqlCat({q::kInsertTenant, q::kTenantColumns}), name));
            WriteAudit(tx, t.id, actor, "create", "tenant", t.id, nullptr, TenantJson(t));
        });
        return t;
    }

    std::optional<core::Tenant> Find(const std::string& id) override {
        if (!core::IsUuid(id)) return std::nullopt;
        std::optional<core::Tenant> out;
        WithConnection(pool_, "tenant.find", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kTenantColumns, q::kSelectTenant}), id);
            if (!r.empty()) out = RowToTenant(r[0]);
        });
        return out;
    }

    Page<core::Tenant> List(const PageRequest& page,
                            const std::optional<core::TenantStatus>& status) override {
        Page<core::Tenant> out;
        int64_t after = StartSeq(page);
        WithConnection(pool_, "tenant.list", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kTenantColumns, q::kListTenants}), after,
                                    OrNull(NameOf(status)), page.limit + 1);
            FillPage(r, page.limit, RowToTenant, &out);
        });
        return out;
    }

    core::Tenant Update(const core::Actor& actor,
                        const std::string& id,
                        const std::optional<std::string>& name,
                        const std::optional<core::TenantStatus>& status) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("tenant not found");
        core::Tenant t;
        WithTransaction(pool_, "tenant.update", [&](pqxx::work& tx) {
            auto before = tx.exec_params(
                SqlCat({"SELECT ", q::kTenantColumns, q::kSelectTenant, " FOR UPDATE"}), id);
            if (before.empty()) core::ThrowNotFound("tenant not found");
            t = RowToTenant(tx.exec_params1(SqlCat({q::kUpdateTenant, q::kTenantColumns}), id,
                                            OrNull(name), OrNull(NameOf(status))));
            WriteAudit(tx, t.id, actor, "update", "tenant", t.id,
                       TenantJson(RowToTenant(before[0])), TenantJson(t));
        });
        return t;
    }

    void Delete(const core::Actor& actor, const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("tenant not found");
        WithTransaction(pool_, "tenant.delete", [&](pqxx::work& tx) {
            auto before = tx.exec_params(
                SqlCat({"SELECT ", q::kTenantColumns, q::kSelectTenant, " FOR UPDATE"}), id);
            if (before.empty()) core::ThrowNotFound("tenant not found");
            tx.exec_params(std::string(q::kDeleteTenant), id);
            WriteAudit(tx, id, actor, "delete", "tenant", id, TenantJson(RowToTenant(before[0])),
                       nullptr);
        });
    }

private:
    PgPool& pool_;
};

class PgKeyRepository final : public KeyRepository {
public:
    explicit PgKeyRepository(PgPool& pool) : pool_(pool) {}

    // KeyRepository
    core::ApiKey Create(const core::Actor& actor,
                        const core::TenantId& tenant,
                        const std::string& name,
                        const std::vector<std::string>& scopes,
                        std::optional<int64_t> expires_in_s,
                        const core::GeneratedKey& key) override {
        std::string joined;
        for (const auto& s : scopes) joined += (joined.empty() ? "" : ",") + s;
        std::optional<std::string> expires;
        if (expires_in_s) expires = std::to_string(*expires_in_s);
        core::ApiKey k;
        WithTransaction(pool_, "key.create", [&](pqxx::work& tx) {
            auto r = tx.exec_params1(SqlCat({q::kInsertKey, q::kKeyColumns}), tenant.value, name,
                                     key.prefix, key.hash, joined, OrNull(expires));
            k = RowToKey(r);
            WriteAudit(tx, tenant.value, actor, "create", "api_key", k.id, nullptr, KeyJson(k));
        });
        return k;
    }

    std::optional<core::ApiKey> Find(const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id) || !core::IsUuid(tenant.value)) return std::nullopt;
        std::optional<core::ApiKey> out;
        WithConnection(pool_, "key.find", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kKeyColumns, q::kSelectKey}),
                                    tenant.value, id);
            if (!r.empty()) out = RowToKey(r[0]);
        });
        return out;
    }

    Page<core::ApiKey> List(const core::TenantId& tenant, const PageRequest& page) override {
        Page<core::ApiKey> out;
        int64_t after = StartSeq(page);
        WithConnection(pool_, "key.list", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kKeyColumns, q::kListKeys}), tenant.value,
                                    after, page.limit + 1);
            FillPage(r, page.limit, RowToKey, &out);
        });
        return out;
    }

    void Revoke(const core::Actor& actor,
                const core::TenantId& tenant,
                const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("API key not found");
        WithTransaction(pool_, "key.revoke", [&](pqxx::work& tx) {
            auto r = tx.exec_params(SqlCat({q::kRevokeKey, q::kKeyColumns}), tenant.value, id);
            if (r.empty()) core::ThrowNotFound("API key not found");
            auto after = RowToKey(r[0]);
            auto before = after;
            before.revoked_at.reset();
            WriteAudit(tx, tenant.value, actor, "revoke", "api_key", id, KeyJson(before),
                       KeyJson(after));
        });
    }

    std::optional<KeyAuthRecord> FindByHash(const std::string& hash) override {
        std::optional<KeyAuthRecord> out;
        WithConnection(pool_, "key.auth", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kKeyColumns, q::kSelectKeyByHash}), hash);
            if (r.empty()) return;
            out = KeyAuthRecord{RowToKey(r[0]), StatusOf(r[0][10]), r[0][11].as<bool>()};
        });
        return out;
    }

    void Touch(const std::string& key_id) override {
        WithConnection(pool_, "key.touch", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(std::string(q::kTouchKey), key_id);
        });
    }

private:
    PgPool& pool_;
};

class PgSettingsRepository final : public SettingsRepository {
public:
    explicit PgSettingsRepository(PgPool& pool) : pool_(pool) {}

    std::optional<std::string> Get(const std::string& key) override {
        std::optional<std::string> out;
        WithConnection(pool_, "settings.get", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(std::string(q::kSelectSetting), key);
            if (!r.empty()) out = r[0][0].as<std::string>();
        });
        return out;
    }

    std::string PutIfAbsent(const std::string& key, const std::string& value) override {
        std::string out;
        WithTransaction(pool_, "settings.put", [&](pqxx::work& tx) {
            tx.exec_params(std::string(q::kInsertSetting), key, value);
            out = tx.exec_params1(std::string(q::kSelectSetting), key)[0].as<std::string>();
        });
        return out;
    }

private:
    PgPool& pool_;
};

AuditEntry RowToAudit(const pqxx::row& r) {
    AuditEntry e;
    e.tenant_id = OptText(r[0]);
    e.actor_kind = r[1].as<std::string>();
    e.actor_id = r[2].as<std::string>();
    e.action = r[3].as<std::string>();
    e.resource = r[4].as<std::string>();
    e.resource_id = r[5].as<std::string>();
    e.before_json = r[6].as<std::string>();
    e.after_json = r[7].as<std::string>();
    e.seq = r[8].as<int64_t>();
    e.actor_prefix = OptText(r[9]);
    e.request_id = OptText(r[10]);
    e.created_at = r[11].as<std::string>();
    return e;
}

class PgAuditRepository final : public AuditRepository {
public:
    explicit PgAuditRepository(PgPool& pool) : pool_(pool) {}

    std::vector<AuditEntry> ListForResource(const std::string& resource_id) override {
        std::vector<AuditEntry> out;
        WithConnection(pool_, "audit.list", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            for (const auto& r :
                 tx.exec_params(SqlCat({q::kAuditColumns, q::kSelectAudit}), resource_id))
                out.push_back(RowToAudit(r));
        });
        return out;
    }

    Page<AuditEntry> List(const AuditFilter& f, const PageRequest& page) override {
        Page<AuditEntry> out;
        int64_t before = page.cursor ? DecodeCursor(*page.cursor) : 0;
        std::optional<std::string> tenant;
        if (f.tenant) tenant = f.tenant->value;
        WithConnection(pool_, "audit.page", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({q::kAuditColumns, q::kAuditPage}), OrNull(tenant),
                                    OrNull(f.actor), OrNull(f.action), OrNull(f.resource),
                                    OrNull(f.resource_id), OrNull(f.from), OrNull(f.to), before,
                                    page.limit + 1);
            for (size_t i = 0; i < r.size() && static_cast<int>(i) < page.limit; ++i)
                out.items.push_back(RowToAudit(r[i]));
            if (static_cast<int>(r.size()) > page.limit)
                out.next_cursor = EncodeCursor(out.items.back().seq);
        });
        return out;
    }

private:
    PgPool& pool_;
};

}  // namespace

void WriteAudit(pqxx::work& tx,
                const std::optional<std::string>& tenant_id,
                const core::Actor& actor,
                const std::string& action,
                const std::string& resource,
                const std::string& resource_id,
                const json& before,
                const json& after) {
    std::optional<std::string> b, a;
    if (!before.is_null()) b = before.dump();
    if (!after.is_null()) a = after.dump();
    tx.exec_params(std::string(q::kInsertAudit), OrNull(tenant_id), actor.kind, actor.id, action,
                   resource, resource_id, OrNull(b), OrNull(a), actor.prefix, actor.request_id);
}

std::unique_ptr<TenantRepository> MakePgTenantRepository(PgPool& pool) {
    return std::make_unique<PgTenantRepository>(pool);
}
std::unique_ptr<KeyRepository> MakePgKeyRepository(PgPool& pool) {
    return std::make_unique<PgKeyRepository>(pool);
}
std::unique_ptr<SettingsRepository> MakePgSettingsRepository(PgPool& pool) {
    return std::make_unique<PgSettingsRepository>(pool);
}
std::unique_ptr<AuditRepository> MakePgAuditRepository(PgPool& pool) {
    return std::make_unique<PgAuditRepository>(pool);
}

}  // namespace recs::store

// Tenants, keys, settings and idempotency records (store/src/pg/queries/tenants.hpp).
#include "fake_state.hpp"
#include "recs/core/crypto.hpp"

namespace recs::store {
namespace {

using fake::Lower;
using fake::Ts;
using fake::UuidParam;

constexpr int64_t kMinuteUs = 60LL * 1000 * 1000;
constexpr int64_t kDayUs = 24LL * 60 * kMinuteUs;

class FakeTenantRepository final : public TenantRepository {
public:
    explicit FakeTenantRepository(std::shared_ptr<FakeDatabase> db)
        : db_(std::move(db)), s_(db_->state()) {}

    core::Tenant Create(const core::Actor&, const std::string& name) override {
        s_.Enter("tenant.create");
        std::lock_guard lock(s_.mu);
        for (const auto& [seq, r] : s_.tenants.rows)
            if (r.t.name == name) fake::ThrowUnique();
        int64_t now = s_.NowUs();
        core::Tenant t{core::RandomUuid(), name, core::TenantStatus::kActive, Ts(now), Ts(now)};
        s_.tenants.Insert(t.id, fake::TenantRow{0, t});
        return t;
    }

    std::optional<core::Tenant> Find(const std::string& id) override {
        s_.Enter("tenant.find");
        if (!core::IsUuid(id)) return std::nullopt;
        std::lock_guard lock(s_.mu);
        auto* r = s_.tenants.Find(Lower(id));
        if (!r) return std::nullopt;
        return r->t;
    }

    Page<core::Tenant> List(const PageRequest& page,
                            const std::optional<core::TenantStatus>& status) override {
        int64_t after = fake::StartSeq(page);
        s_.Enter("tenant.list");
        std::lock_guard lock(s_.mu);
        return fake::PageOf<fake::TenantRow, core::Tenant>(
            s_.tenants, after, page.limit,
            [&](const fake::TenantRow& r) { return !status || r.t.status == *status; },
            [](const fake::TenantRow& r) { return r.t; });
    }

    core::Tenant Update(const core::Actor&,
                        const std::string& id,
                        const std::optional<std::string>& name,
                        const std::optional<core::TenantStatus>& status) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("tenant not found");
        s_.Enter("tenant.update");
        std::lock_guard lock(s_.mu);
        auto* r = s_.tenants.Find(Lower(id));
        if (!r) core::ThrowNotFound("tenant not found");
        if (name) {
            for (const auto& [seq, other] : s_.tenants.rows)
                if (other.t.id != r->t.id && other.t.name == *name) fake::ThrowUnique();
        }
        if (name) r->t.name = *name;
        if (status) r->t.status = *status;
        r->t.updated_at = Ts(s_.NowUs());
        return r->t;
    }

    void Delete(const core::Actor&, const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("tenant not found");
        s_.Enter("tenant.delete");
        std::lock_guard lock(s_.mu);
        std::string t = Lower(id);
        if (!s_.tenants.Find(t)) core::ThrowNotFound("tenant not found");
        // ON DELETE CASCADE of everything the tenant owns.
        s_.tenants.EraseIf([&](const fake::TenantRow& r) { return r.t.id == t; });
        s_.keys.EraseIf([&](const fake::KeyRow& r) { return r.k.tenant_id == t; });
        for (auto it = s_.events.begin(); it != s_.events.end();)
            it = it->first.first == t ? s_.events.erase(it) : std::next(it);
        for (auto it = s_.outbox.begin(); it != s_.outbox.end();)
            it = it->second.tenant_id == t ? s_.outbox.erase(it) : std::next(it);
        for (auto it = s_.features.begin(); it != s_.features.end();)
            it = std::get<0>(it->first) == t ? s_.features.erase(it) : std::next(it);
        s_.models.EraseIf([&](const fake::ModelRow& r) { return r.m.tenant_id == t; });
        s_.versions.EraseIf([&](const fake::VersionRow& r) { return r.v.tenant_id == t; });
        for (auto it = s_.deployments.begin(); it != s_.deployments.end();)
            it = it->second.tenant_id == t ? s_.deployments.erase(it) : std::next(it);
        s_.jobs.EraseIf([&](const fake::JobRow& r) { return r.j.tenant_id == t; });
    }

private:
    std::shared_ptr<FakeDatabase> db_;
    FakeDatabase::State& s_;
};

class FakeKeyRepository final : public KeyRepository {
public:
    explicit FakeKeyRepository(std::shared_ptr<FakeDatabase> db)
        : db_(std::move(db)), s_(db_->state()) {}

    core::ApiKey Create(const core::Actor&,
                        const core::TenantId& tenant,
                        const std::string& name,
                        const std::vector<std::string>& scopes,
                        std::optional<int64_t> expires_in_s,
                        const core::GeneratedKey& key) override {
        s_.Enter("key.create");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        for (const auto& [seq, r] : s_.keys.rows)
            if (r.hash == key.hash) fake::ThrowUnique();
        s_.RequireTenant(t);
        int64_t now = s_.NowUs();
        fake::KeyRow row;
        row.k.id = core::RandomUuid();
        row.k.tenant_id = t;
        row.k.name = name;
        row.k.prefix = key.prefix;
        row.k.scopes = RoundTripScopes(scopes);
        row.k.created_at = Ts(now);
        if (expires_in_s) {
            row.expires_us = now + *expires_in_s * 1000 * 1000;
            row.k.expires_at = Ts(*row.expires_us);
        }
        row.hash = key.hash;
        std::string id = row.k.id;  // not a reference into the row it moves
        return s_.keys.Insert(id, std::move(row)).k;
    }

    std::optional<core::ApiKey> Find(const core::TenantId& tenant, const std::string& id) override {
        s_.Enter("key.find");
        if (!core::IsUuid(id) || !core::IsUuid(tenant.value)) return std::nullopt;
        std::lock_guard lock(s_.mu);
        auto* r = s_.keys.Find(Lower(id));
        if (!r || r->k.tenant_id != Lower(tenant.value)) return std::nullopt;
        return r->k;
    }

    Page<core::ApiKey> List(const core::TenantId& tenant, const PageRequest& page) override {
        int64_t after = fake::StartSeq(page);
        s_.Enter("key.list");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        return fake::PageOf<fake::KeyRow, core::ApiKey>(
            s_.keys, after, page.limit, [&](const fake::KeyRow& r) { return r.k.tenant_id == t; },
            [](const fake::KeyRow& r) { return r.k; });
    }

    void Revoke(const core::Actor&, const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("API key not found");
        s_.Enter("key.revoke");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto* r = s_.keys.Find(Lower(id));
        if (!r || r->k.tenant_id != t || r->k.revoked_at) core::ThrowNotFound("API key not found");
        r->k.revoked_at = Ts(s_.NowUs());
    }

    std::optional<KeyAuthRecord> FindByHash(const std::string& hash) override {
        s_.Enter("key.auth");
        std::lock_guard lock(s_.mu);
        int64_t now = s_.NowUs();
        for (const auto& [seq, r] : s_.keys.rows) {
            if (r.hash != hash || r.k.revoked_at) continue;
            auto* t = s_.TenantById(r.k.tenant_id);
            if (!t) continue;
            return KeyAuthRecord{r.k, t->t.status, r.expires_us && *r.expires_us <= now};
        }
        return std::nullopt;
    }

    void Touch(const std::string& key_id) override {
        s_.Enter("key.touch");
        std::string id = UuidParam(key_id);
        std::lock_guard lock(s_.mu);
        auto* r = s_.keys.Find(id);
        if (!r) return;
        int64_t now = s_.NowUs();
        if (!r->last_used_us || *r->last_used_us < now - kMinuteUs) {
            r->last_used_us = now;
            r->k.last_used_at = Ts(now);
        }
    }

private:
    // Scopes are stored as string_to_array(join(scopes, ','), ',') and read back split on ','.
    static std::vector<std::string> RoundTripScopes(const std::vector<std::string>& scopes) {
        std::string joined;
        for (const auto& s : scopes) joined += (joined.empty() ? "" : ",") + s;
        std::vector<std::string> out;
        size_t start = 0;
        while (!joined.empty()) {
            size_t comma = joined.find(',', start);
            out.push_back(joined.substr(start, comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
        return out;
    }

    std::shared_ptr<FakeDatabase> db_;
    FakeDatabase::State& s_;
};

class FakeSettingsRepository final : public SettingsRepository {
public:
    explicit FakeSettingsRepository(std::shared_ptr<FakeDatabase> db)
        : db_(std::move(db)), s_(db_->state()) {}

    std::optional<std::string> Get(const std::string& key) override {
        s_.Enter("settings.get");
        std::lock_guard lock(s_.mu);
        auto it = s_.settings.find(key);
        if (it == s_.settings.end()) return std::nullopt;
        return it->second;
    }

    std::string PutIfAbsent(const std::string& key, const std::string& value) override {
        s_.Enter("settings.put");
        std::lock_guard lock(s_.mu);
        return s_.settings.emplace(key, value).first->second;
    }

private:
    std::shared_ptr<FakeDatabase> db_;
    FakeDatabase::State& s_;
};

class FakeIdempotencyRepository final : public IdempotencyRepository {
public:
    explicit FakeIdempotencyRepository(std::shared_ptr<FakeDatabase> db)
        : db_(std::move(db)), s_(db_->state()) {}

    IdempotencyClaim Claim(const std::string& scope,
                           const std::string& key,
                           const std::string& request_hash) override {
        s_.Enter("idempotency.claim");
        std::lock_guard lock(s_.mu);
        int64_t now = s_.NowUs();
        IdempotencyClaim out;
        auto it = s_.idempotency.find({scope, key});
        if (it == s_.idempotency.end() || it->second.expires_us < now) {
            s_.idempotency[{scope, key}] = fake::IdempotencyRow{
                IdempotentResponse{request_hash, 0, ""}, true, now, now + kDayUs};
            out.kind = IdempotencyClaim::Kind::kClaimed;
            return out;
        }
        const auto& row = it->second;
        out.response = row.response;
        if (row.response.request_hash != request_hash) {
            out.kind = IdempotencyClaim::Kind::kMismatch;
        } else if (row.pending) {
            out.kind = IdempotencyClaim::Kind::kInFlight;
            out.abandoned = row.created_us < now - kMinuteUs;
        } else {
            out.kind = IdempotencyClaim::Kind::kReplay;
        }
        return out;
    }

    void Complete(const std::string& scope,
                  const std::string& key,
                  int status,
                  const std::string& body) override {
        s_.Enter("idempotency.complete");
        std::lock_guard lock(s_.mu);
        auto it = s_.idempotency.find({scope, key});
        if (it == s_.idempotency.end() || !it->second.pending) return;
        it->second.response.status = status;
        it->second.response.body = body;
        it->second.pending = false;
    }

    void Abandon(const std::string& scope, const std::string& key) override {
        s_.Enter("idempotency.abandon");
        std::lock_guard lock(s_.mu);
        auto it = s_.idempotency.find({scope, key});
        if (it != s_.idempotency.end() && it->second.pending) s_.idempotency.erase(it);
    }

    int Expire(int limit) override {
        s_.Enter("idempotency.expire");
        if (limit < 0) fake::ThrowBadValue();
        std::lock_guard lock(s_.mu);
        int64_t now = s_.NowUs();
        int n = 0;
        for (auto it = s_.idempotency.begin(); it != s_.idempotency.end() && n < limit;) {
            if (it->second.expires_us < now) {
                it = s_.idempotency.erase(it);
                ++n;
            } else {
                ++it;
            }
        }
        return n;
    }

private:
    std::shared_ptr<FakeDatabase> db_;
    FakeDatabase::State& s_;
};

}  // namespace

std::unique_ptr<TenantRepository> MakeFakeTenantRepository(std::shared_ptr<FakeDatabase> db) {
    return std::make_unique<FakeTenantRepository>(std::move(db));
}
std::unique_ptr<KeyRepository> MakeFakeKeyRepository(std::shared_ptr<FakeDatabase> db) {
    return std::make_unique<FakeKeyRepository>(std::move(db));
}
std::unique_ptr<SettingsRepository> MakeFakeSettingsRepository(std::shared_ptr<FakeDatabase> db) {
    return std::make_unique<FakeSettingsRepository>(std::move(db));
}
std::unique_ptr<IdempotencyRepository> MakeFakeIdempotencyRepository(
    std::shared_ptr<FakeDatabase> db) {
    return std::make_unique<FakeIdempotencyRepository>(std::move(db));
}

}  // namespace recs::store

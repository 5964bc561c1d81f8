// The contract of tenants, API keys, settings and idempotency records.
#include "contract/contract.hpp"
#include "recs/core/crypto.hpp"

namespace recs::contract {
namespace {

using nlohmann::json;
using store::IdempotencyClaim;
using store::PageRequest;

class TenantContract : public ContractTest {};
RECS_CONTRACT_SIDES(TenantContract);

TEST_P(TenantContract, CreateFindAndNameConflict) {
    auto t = tenants().Create(actor, "acme");
    EXPECT_TRUE(core::IsUuid(t.id)) << t.id;
    EXPECT_EQ(t.name, "acme");
    EXPECT_EQ(t.status, "active");
    EXPECT_TRUE(IsTimestamp(t.created_at)) << t.created_at;
    EXPECT_EQ(t.created_at, t.updated_at);
    auto found = tenants().Find(t.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, t.id);
    EXPECT_EQ(found->name, "acme");
    EXPECT_EQ(found->status, "active");
    EXPECT_EQ(found->created_at, t.created_at);
    auto upper = tenants().Find(Upper(t.id));  // uuids compare as uuids, not text
    ASSERT_TRUE(upper);
    EXPECT_EQ(upper->id, t.id);
    EXPECT_CODE(tenants().Create(actor, "acme"), kConflict);
    EXPECT_FALSE(tenants().Find("not-a-uuid"));
    EXPECT_FALSE(tenants().Find(core::RandomUuid()));
    auto other = tenants().Create(actor, "acme2");
    EXPECT_NE(other.id, t.id);
}

TEST_P(TenantContract, ListPagesInCreationOrderAndFiltersByStatus) {
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(tenants().Create(actor, "t" + std::to_string(i)).id);
    std::vector<size_t> sizes;
    std::vector<bool> cursors;
    auto all = AllPages<core::Tenant>(
        [&](const PageRequest& p) { return tenants().List(p, std::nullopt); }, 2, &sizes, &cursors);
    EXPECT_EQ(Ids(all), ids);
    EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
    EXPECT_EQ(cursors, (std::vector<bool>{true, true, false}));

    tenants().Update(actor, ids[4], std::nullopt, core::TenantStatus::kSuspended);
    sizes.clear();
    cursors.clear();
    auto active = AllPages<core::Tenant>(
        [&](const PageRequest& p) { return tenants().List(p, core::TenantStatus::kActive); }, 2,
        &sizes, &cursors);
    EXPECT_EQ(Ids(active), (std::vector<std::string>{ids[0], ids[1], ids[2], ids[3]}));
    // A page that ends exactly at the last row has no next cursor.
    EXPECT_EQ(cursors, (std::vector<bool>{true, false}));
    auto suspended = tenants().List(PageRequest{}, core::TenantStatus::kSuspended);
    EXPECT_EQ(Ids(suspended.items), (std::vector<std::string>{ids[4]}));
    EXPECT_FALSE(suspended.next_cursor);
    EXPECT_CODE(tenants().List(PageRequest{2, std::string("garbage")}, std::nullopt),
                kUnprocessable);
}

TEST_P(TenantContract, UpdateRenamesSuspendsAndChecks) {
    auto a = tenants().Create(actor, "a");
    tenants().Create(actor, "b");
    auto u = tenants().Update(actor, a.id, std::string("a2"), std::nullopt);
    EXPECT_EQ(u.id, a.id);
    EXPECT_EQ(u.name, "a2");
    EXPECT_EQ(u.status, "active");
    EXPECT_EQ(u.created_at, a.created_at);
    EXPECT_TRUE(IsTimestamp(u.updated_at));
    EXPECT_EQ(tenants().Find(a.id)->name, "a2");
    auto s = tenants().Update(actor, a.id, std::nullopt, core::TenantStatus::kSuspended);
    EXPECT_EQ(s.name, "a2");
    EXPECT_EQ(s.status, "suspended");
    EXPECT_CODE(tenants().Update(actor, a.id, std::string("b"), std::nullopt), kConflict);
    EXPECT_EQ(tenants().Find(a.id)->name, "a2");
    EXPECT_NO_THROW(tenants().Update(actor, a.id, std::string("a2"), std::nullopt));
    EXPECT_EQ(tenants().Find(a.id)->status, "suspended");
    EXPECT_CODE(tenants().Update(actor, core::RandomUuid(), std::string("x"), std::nullopt),
                kNotFound);
    EXPECT_CODE(tenants().Update(actor, "not-a-uuid", std::string("x"), std::nullopt), kNotFound);
}

TEST_P(TenantContract, DeleteCascadesToEverythingTheTenantOwns) {
    auto a = NewTenant("a");
    auto b = NewTenant("b");
    auto gen_a = core::GenerateApiKey();
    auto gen_b = core::GenerateApiKey();
    keys().Create(actor, a, "k", {"admin"}, std::nullopt, gen_a);
    keys().Create(actor, b, "k", {"admin"}, std::nullopt, gen_b);
    events().Insert(a, {Ev("e1")});
    events().Insert(b, {Ev("e1")});
    features().Upsert(a, "item", "i1", {{"x", 1}});
    auto model = models().Create(actor, a, Def("m"));
    models().CreateVersion(a, Ver(model.id, "/art/a1"), std::nullopt);
    auto model_b = models().Create(actor, b, Def("m"));
    models().CreateVersion(b, Ver(model_b.id, "/art/b1"), std::nullopt);
    auto job_a = NewJob(a);
    auto job_b = NewJob(b);

    tenants().Delete(actor, a.value);
    EXPECT_FALSE(tenants().Find(a.value));
    EXPECT_FALSE(keys().FindByHash(gen_a.hash));
    EXPECT_TRUE(keys().FindByHash(gen_b.hash));
    EXPECT_FALSE(events().Find(a, "e1"));
    EXPECT_TRUE(events().Find(b, "e1"));
    EXPECT_FALSE(features().Find(a, "item", "i1"));
    EXPECT_FALSE(models().Find(a, model.id));
    EXPECT_FALSE(jobs().Find(a, job_a.id));
    EXPECT_EQ(models().ArtifactPaths(), (std::vector<std::string>{"/art/b1"}));
    EXPECT_EQ(jobs().TakeDueForPush(0, 10), (std::vector<std::string>{job_b.id}));
    EXPECT_FALSE(jobs().Lease(job_a.id, "w", 1000));
    size_t appended = 0;
    events().RepairStreams(0, 10, [&](const core::TenantId& t, const std::vector<core::Event>& e) {
        EXPECT_EQ(t, b);  // a's outbox went with it
        appended += e.size();
    });
    EXPECT_EQ(appended, 1u);
    EXPECT_CODE(tenants().Delete(actor, a.value), kNotFound);
    EXPECT_CODE(tenants().Delete(actor, "not-a-uuid"), kNotFound);
}

TEST_P(TenantContract, KeyCreateFindRevoke) {
    auto t = NewTenant("a");
    auto gen = core::GenerateApiKey();
    auto k = keys().Create(actor, t, "ci", {"predict", "events:write"}, 3600, gen);
    EXPECT_TRUE(core::IsUuid(k.id));
    EXPECT_EQ(k.tenant_id, t.value);
    EXPECT_EQ(k.name, "ci");
    EXPECT_EQ(k.prefix, gen.prefix);
    EXPECT_EQ(k.scopes, (std::vector<std::string>{"predict", "events:write"}));
    EXPECT_TRUE(IsTimestamp(k.created_at));
    EXPECT_TRUE(IsTimestamp(k.expires_at));
    EXPECT_GT(*k.expires_at, k.created_at);
    EXPECT_FALSE(k.revoked_at);
    EXPECT_FALSE(k.last_used_at);
    auto found = keys().Find(t, k.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->name, "ci");
    EXPECT_EQ(found->scopes, k.scopes);
    EXPECT_EQ(found->expires_at, k.expires_at);
    auto rec = keys().FindByHash(gen.hash);
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->key.id, k.id);
    EXPECT_EQ(rec->key.tenant_id, t.value);
    EXPECT_EQ(rec->tenant_status, "active");
    EXPECT_FALSE(rec->expired);
    EXPECT_FALSE(keys().FindByHash(core::Sha256Hex("unknown")));

    keys().Revoke(actor, t, k.id);
    EXPECT_FALSE(keys().FindByHash(gen.hash));
    auto revoked = keys().Find(t, k.id);
    ASSERT_TRUE(revoked);
    EXPECT_TRUE(IsTimestamp(revoked->revoked_at));
    EXPECT_CODE(keys().Revoke(actor, t, k.id), kNotFound);  // already revoked

    auto forever = keys().Create(actor, t, "forever", {}, std::nullopt, core::GenerateApiKey());
    EXPECT_FALSE(forever.expires_at);
    EXPECT_TRUE(forever.scopes.empty());
}

TEST_P(TenantContract, KeysAreTenantScoped) {
    auto a = NewTenant("a");
    auto b = NewTenant("b");
    auto gen = core::GenerateApiKey();
    auto k = keys().Create(actor, a, "k", {"admin"}, std::nullopt, gen);
    EXPECT_FALSE(keys().Find(b, k.id));
    EXPECT_TRUE(keys().List(b, PageRequest{}).items.empty());
    EXPECT_CODE(keys().Revoke(actor, b, k.id), kNotFound);
    EXPECT_FALSE(keys().Find(a, k.id)->revoked_at);  // b's revoke changed nothing
    EXPECT_FALSE(keys().Find(a, "not-a-uuid"));
    EXPECT_FALSE(keys().Find(core::TenantId{"not-a-uuid"}, k.id));
    EXPECT_CODE(keys().Revoke(actor, a, "not-a-uuid"), kNotFound);
    EXPECT_CODE(keys().Revoke(actor, a, core::RandomUuid()), kNotFound);
    // A key for a tenant that does not exist, or with a hash in use.
    EXPECT_CODE(keys().Create(actor, core::TenantId{core::RandomUuid()}, "k", {}, std::nullopt,
                              core::GenerateApiKey()),
                kNotFound);
    EXPECT_CODE(keys().Create(actor, b, "k", {}, std::nullopt, gen), kConflict);
}

TEST_P(TenantContract, KeyAuthRecordTellsExpiryAndTenantStatus) {
    auto t = NewTenant("a");
    auto gen = core::GenerateApiKey();
    keys().Create(actor, t, "short", {"predict"}, 0, gen);  // expires at once
    auto rec = keys().FindByHash(gen.hash);
    ASSERT_TRUE(rec);
    EXPECT_TRUE(rec->expired);
    auto gen2 = core::GenerateApiKey();
    keys().Create(actor, t, "long", {"predict"}, 3600, gen2);
    tenants().Update(actor, t.value, std::nullopt, core::TenantStatus::kSuspended);
    auto rec2 = keys().FindByHash(gen2.hash);
    ASSERT_TRUE(rec2);
    EXPECT_FALSE(rec2->expired);
    EXPECT_EQ(rec2->tenant_status, "suspended");
}

TEST_P(TenantContract, KeyListPagesAndTouchRecordsUseOncePerMinute) {
    auto a = NewTenant("a");
    auto b = NewTenant("b");
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i)
        ids.push_back(keys()
                          .Create(actor, a, "k" + std::to_string(i), {"predict"}, std::nullopt,
                                  core::GenerateApiKey())
                          .id);
    keys().Create(actor, b, "other", {"predict"}, std::nullopt, core::GenerateApiKey());
    std::vector<size_t> sizes;
    auto all =
        AllPages<core::ApiKey>([&](const PageRequest& p) { return keys().List(a, p); }, 2, &sizes);
    EXPECT_EQ(Ids(all), ids);
    EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));

    keys().Touch(ids[0]);
    auto used = keys().Find(a, ids[0])->last_used_at;
    ASSERT_TRUE(IsTimestamp(used));
    Advance(20);
    keys().Touch(ids[0]);  // within a minute: not written again
    EXPECT_EQ(keys().Find(a, ids[0])->last_used_at, used);
    EXPECT_FALSE(keys().Find(a, ids[1])->last_used_at);
    EXPECT_NO_THROW(keys().Touch(core::RandomUuid()));
}

TEST_P(TenantContract, SettingsArePutOnce) {
    EXPECT_FALSE(settings().Get("admin_key_hash"));
    EXPECT_EQ(settings().PutIfAbsent("admin_key_hash", "h1"), "h1");
    EXPECT_EQ(settings().PutIfAbsent("admin_key_hash", "h2"), "h1");
    EXPECT_EQ(settings().Get("admin_key_hash"), "h1");
    EXPECT_FALSE(settings().Get("other"));
}

TEST_P(TenantContract, IdempotencyClaimsReplaysAndMismatches) {
    using Kind = IdempotencyClaim::Kind;
    auto first = idempotency().Claim("t1", "k", "h1");
    EXPECT_EQ(first.kind, Kind::kClaimed);
    auto again = idempotency().Claim("t1", "k", "h1");
    EXPECT_EQ(again.kind, Kind::kInFlight);
    EXPECT_FALSE(again.abandoned);
    auto other = idempotency().Claim("t1", "k", "h2");
    EXPECT_EQ(other.kind, Kind::kMismatch);
    EXPECT_EQ(other.response.request_hash, "h1");
    EXPECT_EQ(idempotency().Claim("t2", "k", "h2").kind, Kind::kClaimed);  // scopes apart

    idempotency().Complete("t1", "k", 201, R"({"id":1})");
    auto replay = idempotency().Claim("t1", "k", "h1");
    EXPECT_EQ(replay.kind, Kind::kReplay);
    EXPECT_EQ(replay.response.status, 201);
    EXPECT_EQ(replay.response.body, R"({"id":1})");
    EXPECT_EQ(replay.response.request_hash, "h1");
    auto mismatch = idempotency().Claim("t1", "k", "h2");
    EXPECT_EQ(mismatch.kind, Kind::kMismatch);
    EXPECT_EQ(mismatch.response.status, 201);
    idempotency().Complete("t1", "k", 500, "late");  // only a pending claim completes
    EXPECT_EQ(idempotency().Claim("t1", "k", "h1").response.status, 201);
    idempotency().Abandon("t1", "k");  // only a pending claim is dropped
    EXPECT_EQ(idempotency().Claim("t1", "k", "h1").kind, Kind::kReplay);

    EXPECT_EQ(idempotency().Claim("t1", "k2", "h1").kind, Kind::kClaimed);
    idempotency().Abandon("t1", "k2");
    EXPECT_EQ(idempotency().Claim("t1", "k2", "h9").kind, Kind::kClaimed);
    idempotency().Complete("t1", "never-claimed", 200, "x");
    EXPECT_EQ(idempotency().Claim("t1", "never-claimed", "h1").kind, Kind::kClaimed);
    EXPECT_EQ(idempotency().Expire(100), 0);  // nothing is 24 hours old
}

}  // namespace
}  // namespace recs::contract

// The contract of models, versions, the lease fence and deployments (deploy, rollback).
#include <algorithm>
#include <stdexcept>

#include "contract/contract.hpp"
#include "recs/core/crypto.hpp"

namespace recs::contract {
namespace {

using nlohmann::json;
using store::JobFence;
using store::PageRequest;

class ModelContract : public ContractTest {
protected:
    /// A model of `t` with versions 1..n.
    std::pair<core::ModelDef, std::vector<core::ModelVersion>> ModelWithVersions(
        const core::TenantId& t, const std::string& name, int n) {
        auto m = models().Create(actor, t, Def(name));
        std::vector<core::ModelVersion> vs;
        for (int i = 1; i <= n; ++i)
            vs.push_back(models().CreateVersion(
                t, Ver(m.id, "/art/" + name + "/" + std::to_string(i)), std::nullopt));
        return {m, vs};
    }
    std::string Status(const core::TenantId& t, const core::ModelVersion& v) {
        auto found = models().FindVersion(t, v.model_id, v.id);
        return found ? std::string(core::VersionStatusName(found->status)) : "<none>";
    }
};
RECS_CONTRACT_SIDES(ModelContract);

TEST_P(ModelContract, CreateFindAndNameConflict) {
    auto t = NewTenant("a");
    auto def = Def("m");
    def.is_default = true;  // not set by Create: Update sets the default
    auto m = models().Create(actor, t, def);
    EXPECT_TRUE(core::IsUuid(m.id));
    EXPECT_EQ(m.tenant_id, t.value);
    EXPECT_EQ(m.name, "m");
    EXPECT_EQ(m.type, "candidate");
    EXPECT_EQ(m.algorithm, "popularity");
    EXPECT_EQ(m.hyperparameters, json({{"k", 1}}));
    EXPECT_EQ(m.description, "d");
    EXPECT_FALSE(m.is_default);
    EXPECT_FALSE(m.deployed_version);
    EXPECT_FALSE(m.deployed_version_id);
    EXPECT_EQ(m.deployed_pool, "default");
    EXPECT_TRUE(IsTimestamp(m.created_at));
    EXPECT_EQ(m.created_at, m.updated_at);
    auto found = models().Find(t, m.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->name, "m");
    EXPECT_EQ(found->hyperparameters, m.hyperparameters);
    EXPECT_EQ(found->created_at, m.created_at);
    EXPECT_EQ(models().FindByName(t, "m")->id, m.id);
    EXPECT_FALSE(models().FindByName(t, "nope"));
    EXPECT_FALSE(models().Find(t, "not-a-uuid"));
    EXPECT_FALSE(models().Find(t, core::RandomUuid()));
    EXPECT_FALSE(models().FindDefault(t));
    EXPECT_CODE(models().Create(actor, t, Def("m")), kConflict);
    auto b = NewTenant("b");
    EXPECT_NE(models().Create(actor, b, Def("m")).id, m.id);  // names are per tenant
    EXPECT_CODE(models().Create(actor, core::TenantId{core::RandomUuid()}, Def("m")), kNotFound);
    auto bare = Def("bare");
    bare.description.reset();
    EXPECT_FALSE(models().Create(actor, t, bare).description);
}

TEST_P(ModelContract, UpdateSetsFieldsAndOneDefault) {
    auto t = NewTenant("a");
    auto m1 = models().Create(actor, t, Def("m1"));
    auto m2 = models().Create(actor, t, Def("m2"));
    auto u1 = models().Update(actor, t, m1.id, std::nullopt, std::nullopt, true);
    EXPECT_TRUE(u1.is_default);
    EXPECT_EQ(u1.hyperparameters, json({{"k", 1}}));  // unset fields are kept
    EXPECT_EQ(u1.description, "d");
    EXPECT_EQ(models().FindDefault(t)->id, m1.id);
    auto u2 = models().Update(actor, t, m2.id, json{{"k", 2}}, std::string("new"), true);
    EXPECT_TRUE(u2.is_default);
    EXPECT_EQ(u2.hyperparameters, json({{"k", 2}}));
    EXPECT_EQ(u2.description, "new");
    EXPECT_FALSE(models().Find(t, m1.id)->is_default);  // setting one clears the other
    EXPECT_EQ(models().FindDefault(t)->id, m2.id);
    models().Update(actor, t, m2.id, std::nullopt, std::nullopt, false);
    EXPECT_FALSE(models().FindDefault(t));
    EXPECT_CODE(models().Update(actor, t, core::RandomUuid(), std::nullopt, std::nullopt, true),
                kNotFound);
    EXPECT_CODE(models().Update(actor, t, "not-a-uuid", std::nullopt, std::nullopt, true),
                kNotFound);
}

TEST_P(ModelContract, ListPagesInCreationOrder) {
    auto t = NewTenant("a");
    auto b = NewTenant("b");
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i)
        ids.push_back(models().Create(actor, t, Def("m" + std::to_string(i))).id);
    models().Create(actor, b, Def("other"));
    std::vector<size_t> sizes;
    auto all = AllPages<core::ModelDef>([&](const PageRequest& p) { return models().List(t, p); },
                                        2, &sizes);
    EXPECT_EQ(Ids(all), ids);
    EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
    EXPECT_CODE(models().List(t, PageRequest{2, std::string("cbogus")}), kUnprocessable);
}

TEST_P(ModelContract, VersionsAreNumberedPerModelAndFound) {
    auto t = NewTenant("a");
    auto m = models().Create(actor, t, Def("m"));
    auto job = NewJob(t);
    auto v1 = models().CreateVersion(t, Ver(m.id, "/art/1", job.id), std::nullopt);
    EXPECT_TRUE(core::IsUuid(v1.id));
    EXPECT_EQ(v1.model_id, m.id);
    EXPECT_EQ(v1.tenant_id, t.value);
    EXPECT_EQ(v1.version, 1);
    EXPECT_EQ(v1.status, "ready");
    EXPECT_EQ(v1.metrics, json({{"ndcg", 0.5}}));
    EXPECT_EQ(v1.artifact_path, "/art/1");
    EXPECT_EQ(v1.artifact_bytes, 42);
    EXPECT_EQ(v1.artifact_sha256, std::string(64, 'a'));
    EXPECT_EQ(v1.training_job_id, job.id);
    EXPECT_TRUE(IsTimestamp(v1.created_at));
    EXPECT_FALSE(v1.deployed_at);
    auto no_sum = Ver(m.id, "/art/2");
    no_sum.artifact_sha256.clear();
    auto v2 = models().CreateVersion(t, no_sum, std::nullopt);
    EXPECT_EQ(v2.version, 2);
    EXPECT_EQ(v2.artifact_sha256, "");
    EXPECT_FALSE(v2.training_job_id);
    auto v3 = models().CreateVersion(t, Ver(m.id, "/art/3"), std::nullopt);
    EXPECT_EQ(v3.version, 3);

    std::vector<size_t> sizes;
    auto listed = AllPages<core::ModelVersion>(
        [&](const PageRequest& p) { return models().ListVersions(t, m.id, p); }, 2, &sizes);
    EXPECT_EQ(Ids(listed), (std::vector<std::string>{v1.id, v2.id, v3.id}));
    EXPECT_EQ(sizes, (std::vector<size_t>{2, 1}));
    EXPECT_TRUE(models().ListVersions(t, "not-a-uuid", PageRequest{}).items.empty());
    EXPECT_EQ(models().FindVersion(t, m.id, v2.id)->version, 2);
    EXPECT_FALSE(models().FindVersion(t, m.id, core::RandomUuid()));
    EXPECT_FALSE(models().FindVersion(t, m.id, "not-a-uuid"));
    EXPECT_EQ(models().FindVersionByNumber(t, m.id, 3)->id, v3.id);
    EXPECT_FALSE(models().FindVersionByNumber(t, m.id, 9));
    EXPECT_EQ(models().FindVersionByJob(t, job.id)->id, v1.id);
    EXPECT_FALSE(models().FindVersionByJob(t, core::RandomUuid()));

    EXPECT_CODE(models().CreateVersion(t, Ver(m.id, "/art/4", job.id), std::nullopt),
                kConflict);  // the job made one already
    EXPECT_CODE(models().CreateVersion(t, Ver(core::RandomUuid(), "/art/x"), std::nullopt),
                kNotFound);
    auto m2 = models().Create(actor, t, Def("m2"));
    EXPECT_EQ(models().CreateVersion(t, Ver(m2.id, "/art/m2"), std::nullopt).version, 1);
    auto paths = models().ArtifactPaths();
    std::sort(paths.begin(), paths.end());
    EXPECT_EQ(paths, (std::vector<std::string>{"/art/1", "/art/2", "/art/3", "/art/m2"}));
}

TEST_P(ModelContract, DeleteRemovesTheModelAndItsVersions) {
    auto t = NewTenant("a");
    auto [m, vs] = ModelWithVersions(t, "m", 2);
    auto [keep, kept] = ModelWithVersions(t, "keep", 1);
    models().Deploy(actor, t, m.id, vs[0].id, "default");
    models().Delete(actor, t, m.id);
    EXPECT_FALSE(models().Find(t, m.id));
    EXPECT_FALSE(models().FindByName(t, "m"));
    EXPECT_FALSE(models().FindVersion(t, m.id, vs[0].id));
    EXPECT_TRUE(models().ListVersions(t, m.id, PageRequest{}).items.empty());
    EXPECT_EQ(models().ArtifactPaths(), (std::vector<std::string>{"/art/keep/1"}));
    EXPECT_TRUE(models().Find(t, keep.id));
    EXPECT_CODE(models().Delete(actor, t, m.id), kNotFound);
    EXPECT_CODE(models().Delete(actor, t, "not-a-uuid"), kNotFound);
    // The name is free again.
    EXPECT_NO_THROW(models().Create(actor, t, Def("m")));
}

TEST_P(ModelContract, CreateVersionIsFencedByTheJobsLease) {
    auto t = NewTenant("a");
    auto m = models().Create(actor, t, Def("m"));
    auto job = LeasedJob(t, "w1", 30000);
    EXPECT_CODE(models().CreateVersion(t, Ver(m.id, "/a", job.id), JobFence{job.id, "w2"}),
                kConflict);
    auto v = models().CreateVersion(t, Ver(m.id, "/a", job.id), JobFence{job.id, "w1"});
    EXPECT_EQ(v.version, 1);
    EXPECT_EQ(models().FindVersionByJob(t, job.id)->id, v.id);
    jobs().Succeed(job.id, "w1", json{{"version", 1}});
    EXPECT_CODE(models().CreateVersion(t, Ver(m.id, "/b"), JobFence{job.id, "w1"}),
                kConflict);  // finished: no lease any more
    auto queued = NewJob(t);
    EXPECT_CODE(models().CreateVersion(t, Ver(m.id, "/c"), JobFence{queued.id, "w1"}), kConflict);
    EXPECT_CODE(models().CreateVersion(t, Ver(m.id, "/d"), JobFence{core::RandomUuid(), "w1"}),
                kConflict);

    // A lease lost to the reaper: the worker that held it cannot record a version.
    auto lost = LeasedJob(t, "w1", 200);
    Advance(300);
    EXPECT_EQ(jobs().ReapExpired(core::Backoff{100, 1000}), 1);
    EXPECT_CODE(models().CreateVersion(t, Ver(m.id, "/e", lost.id), JobFence{lost.id, "w1"}),
                kConflict);
    // Given back (Release): lost too.
    auto released = LeasedJob(t, "w1", 30000);
    jobs().Release(released.id, "w1");
    EXPECT_CODE(models().CreateVersion(t, Ver(m.id, "/f"), JobFence{released.id, "w1"}), kConflict);
    EXPECT_EQ(models().ListVersions(t, m.id, PageRequest{}).items.size(), 1u);
}

// What the fence checks today (kLeaseHeld): the job is running and leased by the owner. A lease
// past its expiry that the reaper has not taken back yet still passes (and Heartbeat renews it);
// see the report of this suite. Pinned so that the fake keeps to the real behaviour.
// M5: a worker whose lease expired cannot record a version, even before the reaper took the
// job back. A late heartbeat still renews a lease nobody took back; the fence then holds again.
TEST_P(ModelContract, AnExpiredLeaseFailsTheFence) {
    auto t = NewTenant("a");
    auto m = models().Create(actor, t, Def("m"));
    auto job = LeasedJob(t, "w1", 100);
    Advance(200);
    EXPECT_CODE(models().CreateVersion(t, Ver(m.id, "/late", job.id), JobFence{job.id, "w1"}),
                kConflict);
    EXPECT_FALSE(models().FindVersionByJob(t, job.id));
    EXPECT_TRUE(jobs().Heartbeat(job.id, "w1", 30000, 0.5, nullptr));
    auto v = models().CreateVersion(t, Ver(m.id, "/late", job.id), JobFence{job.id, "w1"});
    EXPECT_EQ(v.training_job_id, job.id);
    EXPECT_EQ(jobs().ReapExpired(core::Backoff{}), 0);  // renewed by the heartbeat
}

TEST_P(ModelContract, DeployRetiresThePreviousVersionAndRecordsThePool) {
    auto t = NewTenant("a");
    auto [m, vs] = ModelWithVersions(t, "m", 3);
    auto d1 = models().Deploy(actor, t, m.id, vs[0].id, "pool-a");
    EXPECT_EQ(d1.id, vs[0].id);
    EXPECT_EQ(d1.status, "deployed");
    EXPECT_TRUE(IsTimestamp(d1.deployed_at));
    auto found = models().Find(t, m.id);
    EXPECT_EQ(found->deployed_version, 1);
    EXPECT_EQ(found->deployed_version_id, vs[0].id);
    EXPECT_EQ(found->deployed_pool, "pool-a");
    auto d2 = models().Deploy(actor, t, m.id, vs[1].id, "pool-b");
    EXPECT_EQ(d2.status, "deployed");
    EXPECT_EQ(Status(t, vs[0]), "retired");
    EXPECT_EQ(Status(t, vs[1]), "deployed");
    EXPECT_EQ(Status(t, vs[2]), "ready");
    found = models().Find(t, m.id);
    EXPECT_EQ(found->deployed_version, 2);
    EXPECT_EQ(found->deployed_version_id, vs[1].id);
    EXPECT_EQ(found->deployed_pool, "pool-b");
    EXPECT_EQ(models().FindByName(t, "m")->deployed_pool, "pool-b");
    EXPECT_EQ(models().List(t, PageRequest{}).items.at(0).deployed_version, 2);
    // A retired version can be deployed again.
    models().Deploy(actor, t, m.id, vs[0].id, "pool-c");
    EXPECT_EQ(Status(t, vs[0]), "deployed");
    EXPECT_EQ(Status(t, vs[1]), "retired");
    EXPECT_EQ(models().Find(t, m.id)->deployed_pool, "pool-c");

    EXPECT_CODE(models().Deploy(actor, t, m.id, core::RandomUuid(), "p"), kNotFound);
    EXPECT_CODE(models().Deploy(actor, t, m.id, "not-a-uuid", "p"), kNotFound);
    EXPECT_CODE(models().Deploy(actor, t, core::RandomUuid(), vs[0].id, "p"), kNotFound);
    auto [other, other_vs] = ModelWithVersions(t, "other", 1);
    EXPECT_CODE(models().Deploy(actor, t, m.id, other_vs[0].id, "p"), kNotFound);  // not m's
}

TEST_P(ModelContract, RollbackReturnsToThePreviousDeploymentsVersionAndPool) {
    auto t = NewTenant("a");
    auto [m, vs] = ModelWithVersions(t, "m", 2);
    models().Deploy(actor, t, m.id, vs[0].id, "pool-a");
    models().Deploy(actor, t, m.id, vs[1].id, "pool-b");
    int calls = 0;
    std::string seen_version, seen_pool, seen_status;
    auto r = models().Rollback(actor, t, m.id, vs[1].id,
                               [&](const core::ModelVersion& v, const std::string& pool) {
                                   ++calls;
                                   seen_version = v.id;
                                   seen_status = core::VersionStatusName(v.status);
                                   seen_pool = pool;
                               });
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(seen_version, vs[0].id);
    EXPECT_EQ(seen_status, "retired");  // before the switch
    EXPECT_EQ(seen_pool, "pool-a");
    EXPECT_EQ(r.id, vs[0].id);
    EXPECT_EQ(r.status, "deployed");
    EXPECT_TRUE(IsTimestamp(r.deployed_at));
    EXPECT_EQ(Status(t, vs[1]), "retired");
    auto found = models().Find(t, m.id);
    EXPECT_EQ(found->deployed_version, 1);
    EXPECT_EQ(found->deployed_version_id, vs[0].id);
    EXPECT_EQ(found->deployed_pool, "pool-a");
    // Nothing earlier than the first deployment.
    EXPECT_CODE(models().Rollback(actor, t, m.id, vs[0].id, nullptr), kConflict);
    EXPECT_EQ(Status(t, vs[0]), "deployed");
}

TEST_P(ModelContract, RollbackWithAStaleExpectedVersionConflictsAndChangesNothing) {
    auto t = NewTenant("a");
    auto [m, vs] = ModelWithVersions(t, "m", 2);
    int calls = 0;
    auto count = [&](const core::ModelVersion&, const std::string&) { ++calls; };
    EXPECT_CODE(models().Rollback(actor, t, m.id, vs[0].id, count), kConflict);  // never deployed
    models().Deploy(actor, t, m.id, vs[0].id, "pool-a");
    models().Deploy(actor, t, m.id, vs[1].id, "pool-b");
    EXPECT_CODE(models().Rollback(actor, t, m.id, vs[0].id, count), kConflict);
    EXPECT_CODE(models().Rollback(actor, t, m.id, "not-a-version", count), kConflict);
    EXPECT_CODE(models().Rollback(actor, t, m.id, Upper(vs[1].id), count),
                kConflict);  // compared as text
    EXPECT_CODE(models().Rollback(actor, t, "not-a-uuid", vs[1].id, count), kNotFound);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(Status(t, vs[0]), "retired");
    EXPECT_EQ(Status(t, vs[1]), "deployed");
    auto found = models().Find(t, m.id);
    EXPECT_EQ(found->deployed_version_id, vs[1].id);
    EXPECT_EQ(found->deployed_pool, "pool-b");
}

TEST_P(ModelContract, RollbackWhoseBeforeSwitchThrowsChangesNothing) {
    auto t = NewTenant("a");
    auto [m, vs] = ModelWithVersions(t, "m", 2);
    models().Deploy(actor, t, m.id, vs[0].id, "pool-a");
    models().Deploy(actor, t, m.id, vs[1].id, "pool-b");
    EXPECT_THROW(models().Rollback(actor, t, m.id, vs[1].id,
                                   [](const core::ModelVersion&, const std::string&) {
                                       throw std::runtime_error("the artifact does not load");
                                   }),
                 std::runtime_error);
    EXPECT_EQ(Status(t, vs[0]), "retired");
    EXPECT_EQ(Status(t, vs[1]), "deployed");
    auto found = models().Find(t, m.id);
    EXPECT_EQ(found->deployed_version_id, vs[1].id);
    EXPECT_EQ(found->deployed_pool, "pool-b");
    // The deployment history is intact: the rollback works once the artifact loads.
    EXPECT_EQ(models().Rollback(actor, t, m.id, vs[1].id, nullptr).id, vs[0].id);
}

TEST_P(ModelContract, RedeployingTheDeployedVersionKeepsItDeployed) {
    auto t = NewTenant("a");
    auto [m, vs] = ModelWithVersions(t, "m", 1);
    models().Deploy(actor, t, m.id, vs[0].id, "pool-a");
    models().Deploy(actor, t, m.id, vs[0].id, "pool-b");  // same version, another pool
    EXPECT_EQ(Status(t, vs[0]), "deployed");
    EXPECT_EQ(models().Find(t, m.id)->deployed_pool, "pool-b");
    std::string pool;
    auto r = models().Rollback(actor, t, m.id, vs[0].id,
                               [&](const core::ModelVersion&, const std::string& p) { pool = p; });
    EXPECT_EQ(r.id, vs[0].id);
    EXPECT_EQ(r.status, "deployed");
    EXPECT_EQ(pool, "pool-a");
    EXPECT_EQ(models().Find(t, m.id)->deployed_pool, "pool-a");
}

TEST_P(ModelContract, ModelsAreTenantScoped) {
    auto a = NewTenant("a");
    auto b = NewTenant("b");
    auto [m, vs] = ModelWithVersions(a, "m", 2);
    auto job = NewJob(a);
    models().CreateVersion(a, Ver(m.id, "/art/job", job.id), std::nullopt);
    models().Update(actor, a, m.id, std::nullopt, std::nullopt, true);
    models().Deploy(actor, a, m.id, vs[0].id, "pool-a");
    models().Deploy(actor, a, m.id, vs[1].id, "pool-b");

    EXPECT_FALSE(models().Find(b, m.id));
    EXPECT_FALSE(models().FindByName(b, "m"));
    EXPECT_FALSE(models().FindDefault(b));
    EXPECT_TRUE(models().List(b, PageRequest{}).items.empty());
    EXPECT_TRUE(models().ListVersions(b, m.id, PageRequest{}).items.empty());
    EXPECT_FALSE(models().FindVersion(b, m.id, vs[0].id));
    EXPECT_FALSE(models().FindVersionByNumber(b, m.id, 1));
    EXPECT_FALSE(models().FindVersionByJob(b, job.id));
    EXPECT_CODE(models().Update(actor, b, m.id, json{{"k", 9}}, std::nullopt, std::nullopt),
                kNotFound);
    EXPECT_CODE(models().Delete(actor, b, m.id), kNotFound);
    EXPECT_CODE(models().Deploy(actor, b, m.id, vs[0].id, "p"), kNotFound);
    EXPECT_CODE(models().CreateVersion(b, Ver(m.id, "/art/b"), std::nullopt), kNotFound);
    // Rollback reads the tenant's deployments first: another tenant's model has none (409, not
    // 404, as for a model of the tenant that was never deployed).
    int calls = 0;
    EXPECT_CODE(models().Rollback(actor, b, m.id, vs[1].id,
                                  [&](const core::ModelVersion&, const std::string&) { ++calls; }),
                kConflict);
    EXPECT_EQ(calls, 0);
    // a's model is untouched.
    auto found = models().Find(a, m.id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->hyperparameters, json({{"k", 1}}));
    EXPECT_EQ(found->deployed_version_id, vs[1].id);
    EXPECT_EQ(models().ListVersions(a, m.id, PageRequest{}).items.size(), 3u);
}

}  // namespace
}  // namespace recs::contract

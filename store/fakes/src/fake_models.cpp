// Models, versions and deployments (store/src/pg/queries/models.hpp).
#include "fake_state.hpp"
#include "recs/core/crypto.hpp"

namespace recs::store {
namespace {

using fake::Lower;
using fake::Ts;
using fake::UuidParam;
using nlohmann::json;

class FakeModelRepository final : public ModelRepository {
public:
    explicit FakeModelRepository(std::shared_ptr<FakeDatabase> db)
        : db_(std::move(db)), s_(db_->state()) {}

    core::ModelDef Create(const core::Actor&,
                          const core::TenantId& tenant,
                          const core::ModelDef& def) override {
        s_.Enter("models.create");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        if (ByName(t, def.name)) fake::ThrowUnique();
        s_.RequireTenant(t);
        int64_t now = s_.NowUs();
        core::ModelDef m;
        m.id = core::RandomUuid();
        m.tenant_id = t;
        m.name = def.name;
        m.type = def.type;
        m.algorithm = def.algorithm;
        m.hyperparameters = def.hyperparameters;
        m.description = def.description;
        m.is_default = false;  // the insert does not set it: Update does
        m.created_at = m.updated_at = Ts(now);
        s_.models.Insert(m.id, fake::ModelRow{0, m});
        return s_.WithDeployment(m);
    }

    std::optional<core::ModelDef> Find(const core::TenantId& tenant,
                                       const std::string& id) override {
        if (!core::IsUuid(id)) return std::nullopt;
        s_.Enter("models.find");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto* r = Model(t, Lower(id));
        if (!r) return std::nullopt;
        return s_.WithDeployment(r->m);
    }

    std::optional<core::ModelDef> FindByName(const core::TenantId& tenant,
                                             const std::string& name) override {
        s_.Enter("models.find_name");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto* r = ByName(t, name);
        if (!r) return std::nullopt;
        return s_.WithDeployment(r->m);
    }

    std::optional<core::ModelDef> FindDefault(const core::TenantId& tenant) override {
        s_.Enter("models.find_default");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        for (const auto& [seq, r] : s_.models.rows)
            if (r.m.tenant_id == t && r.m.is_default) return s_.WithDeployment(r.m);
        return std::nullopt;
    }

    Page<core::ModelDef> List(const core::TenantId& tenant, const PageRequest& page) override {
        int64_t after = fake::StartSeq(page);
        s_.Enter("models.list");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        return fake::PageOf<fake::ModelRow, core::ModelDef>(
            s_.models, after, page.limit,
            [&](const fake::ModelRow& r) { return r.m.tenant_id == t; },
            [&](const fake::ModelRow& r) { return s_.WithDeployment(r.m); });
    }

    core::ModelDef Update(const core::Actor&,
                          const core::TenantId& tenant,
                          const std::string& id,
                          const std::optional<json>& hyperparameters,
                          const std::optional<std::string>& description,
                          const std::optional<bool>& is_default) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("model not found");
        s_.Enter("models.update");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto* r = Model(t, Lower(id));
        if (!r) core::ThrowNotFound("model not found");
        int64_t now = s_.NowUs();
        if (is_default && *is_default) {
            for (auto& [seq, other] : s_.models.rows) {
                if (other.m.tenant_id == t && other.m.is_default && other.m.id != r->m.id) {
                    other.m.is_default = false;
                    other.m.updated_at = Ts(now);
                }
            }
        }
        if (hyperparameters) r->m.hyperparameters = *hyperparameters;
        if (description) r->m.description = *description;
        if (is_default) r->m.is_default = *is_default;
        r->m.updated_at = Ts(now);
        return s_.WithDeployment(r->m);
    }

    void Delete(const core::Actor&, const core::TenantId& tenant, const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("model not found");
        s_.Enter("models.delete");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto* r = Model(t, Lower(id));
        if (!r) core::ThrowNotFound("model not found");
        std::string mid = r->m.id;
        s_.models.EraseIf([&](const fake::ModelRow& m) { return m.m.id == mid; });
        s_.CascadeModel(mid);
    }

    Page<core::ModelVersion> ListVersions(const core::TenantId& tenant,
                                          const std::string& model_id,
                                          const PageRequest& page) override {
        if (!core::IsUuid(model_id)) return {};
        int64_t after = fake::StartSeq(page);
        s_.Enter("versions.list");
        std::string t = UuidParam(tenant.value);
        std::string m = Lower(model_id);
        std::lock_guard lock(s_.mu);
        return fake::PageOf<fake::VersionRow, core::ModelVersion>(
            s_.versions, after, page.limit,
            [&](const fake::VersionRow& r) { return r.v.tenant_id == t && r.v.model_id == m; },
            [](const fake::VersionRow& r) { return r.v; });
    }

    std::optional<core::ModelVersion> FindVersion(const core::TenantId& tenant,
                                                  const std::string& model_id,
                                                  const std::string& version_id) override {
        if (!core::IsUuid(model_id) || !core::IsUuid(version_id)) return std::nullopt;
        s_.Enter("versions.find");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto* v = Version(t, Lower(model_id), Lower(version_id));
        if (!v) return std::nullopt;
        return v->v;
    }

    std::optional<core::ModelVersion> FindVersionByNumber(const core::TenantId& tenant,
                                                          const std::string& model_id,
                                                          int version) override {
        if (!core::IsUuid(model_id)) return std::nullopt;
        s_.Enter("versions.by_number");
        std::string t = UuidParam(tenant.value);
        std::string m = Lower(model_id);
        std::lock_guard lock(s_.mu);
        for (const auto& [seq, r] : s_.versions.rows)
            if (r.v.tenant_id == t && r.v.model_id == m && r.v.version == version) return r.v;
        return std::nullopt;
    }

    std::optional<core::ModelVersion> FindVersionByJob(const core::TenantId& tenant,
                                                       const std::string& job_id) override {
        s_.Enter("versions.by_job");
        std::string t = UuidParam(tenant.value);
        std::string j = UuidParam(job_id);  // no IsUuid guard in the real one: a cast error
        std::lock_guard lock(s_.mu);
        for (const auto& [seq, r] : s_.versions.rows)
            if (r.v.tenant_id == t && r.v.training_job_id == j) return r.v;
        return std::nullopt;
    }

    std::vector<std::string> ArtifactPaths() override {
        s_.Enter("versions.paths");
        std::lock_guard lock(s_.mu);
        std::vector<std::string> out;
        for (const auto& [seq, r] : s_.versions.rows) out.push_back(r.v.artifact_path);
        return out;
    }

    core::ModelVersion CreateVersion(const core::TenantId& tenant,
                                     const core::ModelVersion& v,
                                     const std::optional<JobFence>& fence) override {
        s_.Enter("versions.create");
        std::lock_guard lock(s_.mu);
        if (fence) {
            // kLeaseHeld: running, leased by the owner and not expired (of any tenant).
            auto* job = s_.jobs.Find(UuidParam(fence->job_id));
            if (!job || job->j.status != "running" || job->lease_owner != fence->owner ||
                !job->lease_expires_us || *job->lease_expires_us <= s_.NowUs())
                core::ThrowConflict("the job's lease was lost: another worker runs it now");
        }
        std::string t = UuidParam(tenant.value);
        std::string m = UuidParam(v.model_id);
        if (!Model(t, m)) core::ThrowNotFound("model not found");
        int next = 1;
        for (const auto& [seq, r] : s_.versions.rows)
            if (r.v.tenant_id == t && r.v.model_id == m) next = std::max(next, r.v.version + 1);
        std::optional<std::string> job;
        if (v.training_job_id) job = UuidParam(*v.training_job_id);
        if (job) {
            for (const auto& [seq, r] : s_.versions.rows)
                if (r.v.training_job_id == job) fake::ThrowUnique();
        }
        core::ModelVersion out;
        out.id = core::RandomUuid();
        out.model_id = m;
        out.tenant_id = t;
        out.version = next;
        out.status = core::VersionStatus::kReady;
        out.metrics = v.metrics;
        out.artifact_path = v.artifact_path;
        out.artifact_bytes = v.artifact_bytes;
        out.artifact_sha256 = v.artifact_sha256;
        out.training_job_id = job;
        out.created_at = Ts(s_.NowUs());
        s_.versions.Insert(out.id, fake::VersionRow{0, out});
        return out;
    }

    core::ModelVersion Deploy(const core::Actor&,
                              const core::TenantId& tenant,
                              const std::string& model_id,
                              const std::string& version_id,
                              const std::string& pool) override {
        if (!core::IsUuid(model_id) || !core::IsUuid(version_id))
            core::ThrowNotFound("model version not found");
        s_.Enter("versions.deploy");
        std::string t = UuidParam(tenant.value);
        std::string m = Lower(model_id), vid = Lower(version_id);
        std::lock_guard lock(s_.mu);
        if (!Model(t, m)) core::ThrowNotFound("model not found");
        auto* v = Version(t, m, vid);
        if (!v) core::ThrowNotFound("model version not found");
        if (v->v.status == "failed") core::ThrowConflict("a failed version cannot be deployed");
        auto cur = Current(t, m);
        if (!cur.empty() && cur[0].second.version_id != vid) Retire(t, cur[0].second.version_id);
        s_.deployments[++s_.next_deployment] = fake::DeploymentRow{t, m, vid, pool};
        MarkDeployed(*v);
        return v->v;
    }

    core::ModelVersion Rollback(
        const core::Actor&,
        const core::TenantId& tenant,
        const std::string& model_id,
        const std::string& expected_current,
        const std::function<void(const core::ModelVersion&, const std::string&)>& before_switch)
        override {
        if (!core::IsUuid(model_id)) core::ThrowNotFound("model not found");
        s_.Enter("versions.rollback_plan");
        std::string t = UuidParam(tenant.value);
        std::string m = Lower(model_id);
        std::string current, target, target_pool;
        std::optional<core::ModelVersion> target_version;
        {
            std::lock_guard lock(s_.mu);
            auto cur = Current(t, m);
            if (cur.empty() || cur[0].second.version_id != expected_current)
                core::ThrowConflict("only the deployed version can be rolled back");
            if (cur.size() < 2)
                core::ThrowConflict("there is no earlier deployed version to roll back to");
            current = cur[0].second.version_id;
            target = cur[1].second.version_id;
            target_pool = cur[1].second.pool;
            if (auto* v = Version(t, m, target)) target_version = v->v;
        }
        if (!target_version) core::ThrowConflict("the earlier version no longer exists");
        if (before_switch) before_switch(*target_version, target_pool);  // outside the lock
        s_.Enter("versions.rollback");
        std::lock_guard lock(s_.mu);
        if (!Model(t, m)) core::ThrowNotFound("model not found");
        auto cur = Current(t, m);
        if (cur.size() < 2 || cur[0].second.version_id != current ||
            cur[1].second.version_id != target)
            core::ThrowConflict("the model's deployment changed meanwhile; retry");
        s_.deployments.erase(cur[0].first);
        if (current != target) Retire(t, current);
        auto* v = Version(t, m, target);
        if (!v) core::ThrowConflict("the earlier version no longer exists");
        MarkDeployed(*v);
        return v->v;
    }

private:
    fake::ModelRow* Model(const std::string& t, const std::string& id) {
        auto* r = s_.models.Find(id);
        return r && r->m.tenant_id == t ? r : nullptr;
    }
    fake::ModelRow* ByName(const std::string& t, const std::string& name) {
        for (auto& [seq, r] : s_.models.rows)
            if (r.m.tenant_id == t && r.m.name == name) return &r;
        return nullptr;
    }
    fake::VersionRow* Version(const std::string& t, const std::string& m, const std::string& id) {
        auto* r = s_.versions.Find(id);
        return r && r->v.tenant_id == t && r->v.model_id == m ? r : nullptr;
    }
    /// kCurrentDeployment: the model's newest two deployments, newest first.
    std::vector<std::pair<int64_t, fake::DeploymentRow>> Current(const std::string& t,
                                                                 const std::string& m) {
        std::vector<std::pair<int64_t, fake::DeploymentRow>> out;
        for (auto it = s_.deployments.rbegin(); it != s_.deployments.rend() && out.size() < 2; ++it)
            if (it->second.tenant_id == t && it->second.model_id == m) out.push_back(*it);
        return out;
    }
    void Retire(const std::string& t, const std::string& version_id) {
        auto* r = s_.versions.Find(version_id);
        if (r && r->v.tenant_id == t && r->v.status == "deployed")
            r->v.status = core::VersionStatus::kRetired;
    }
    void MarkDeployed(fake::VersionRow& v) {
        v.v.status = core::VersionStatus::kDeployed;
        v.v.deployed_at = Ts(s_.NowUs());
    }

    std::shared_ptr<FakeDatabase> db_;
    FakeDatabase::State& s_;
};

}  // namespace

std::unique_ptr<ModelRepository> MakeFakeModelRepository(std::shared_ptr<FakeDatabase> db) {
    return std::make_unique<FakeModelRepository>(std::move(db));
}

}  // namespace recs::store

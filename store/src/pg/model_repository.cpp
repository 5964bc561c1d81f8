#include <nlohmann/json.hpp>

#include "pg/pg_audit.hpp"
#include "pg/pg_pool_impl.hpp"
#include "pg/queries/models.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/model_store.hpp"

namespace recs::store {
namespace {

using nlohmann::json;
namespace q = pg;

core::ModelDef RowToModel(const pqxx::row& r) {
    core::ModelDef m;
    m.id = r[1].as<std::string>();
    m.tenant_id = r[2].as<std::string>();
    m.name = r[3].as<std::string>();
    m.type = r[4].as<std::string>();
    m.algorithm = r[5].as<std::string>();
    m.hyperparameters = json::parse(r[6].as<std::string>());
    m.description = OptText(r[7]);
    m.is_default = r[8].as<bool>();
    m.created_at = r[9].as<std::string>();
    m.updated_at = r[10].as<std::string>();
    if (!r[11].is_null()) m.deployed_version = r[11].as<int>();
    m.deployed_version_id = OptText(r[12]);
    if (!r[13].is_null()) m.deployed_pool = r[13].as<std::string>();
    return m;
}

core::ModelVersion RowToVersion(const pqxx::row& r) {
    core::ModelVersion v;
    v.id = r[1].as<std::string>();
    v.model_id = r[2].as<std::string>();
    v.tenant_id = r[3].as<std::string>();
    v.version = r[4].as<int>();
    v.status =
        core::ParseVersionStatus(r[5].as<std::string>()).value_or(core::VersionStatus::kReady);
    v.metrics = json::parse(r[6].as<std::string>());
    v.artifact_path = r[7].as<std::string>();
    v.artifact_bytes = r[8].as<int64_t>();
    v.training_job_id = OptText(r[9]);
    v.created_at = r[10].as<std::string>();
    v.deployed_at = OptText(r[11]);
    v.artifact_sha256 = r[12].as<std::string>();
    return v;
}

json ModelAudit(const core::ModelDef& m) {
    return {{"id", m.id},
            {"name", m.name},
            {"algorithm", m.algorithm},
            {"hyperparameters", m.hyperparameters},
            {"is_default", m.is_default}};
}

class PgModelRepository final : public ModelRepository {
public:
    explicit PgModelRepository(PgPool& pool) : pool_(pool) {}

    core::ModelDef Create(const core::Actor& actor,
                          const core::TenantId& tenant,
                          const core::ModelDef& def) override {
        std::optional<core::ModelDef> out;
        WithTransaction(pool_, "models.create", [&](pqxx::work& tx) {
            auto id = tx.exec_params1(std::string(q::kInsertModel), tenant.value, def.name,
                                      def.type, def.algorithm, def.hyperparameters.dump(),
                                      OrNull(def.description))[0]
                          .as<std::string>();
            out = FindIn(tx, tenant, id);
            if (!out) core::ThrowNotFound("model not found");
            WriteAudit(tx, tenant.value, actor, "create", "model", id, nullptr, ModelAudit(*out));
        });
        return *out;
    }

    std::optional<core::ModelDef> Find(const core::TenantId& tenant,
                                       const std::string& id) override {
        if (!core::IsUuid(id)) return std::nullopt;
        std::optional<core::ModelDef> out;
        WithConnection(pool_, "models.find", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(
                SqlCat({"SELECT ", q::kModelColumns, q::kModelFrom, q::kWhereModelId}),
                tenant.value, id);
            if (!r.empty()) out = RowToModel(r[0]);
        });
        return out;
    }

    std::optional<core::ModelDef> FindByName(const core::TenantId& tenant,
                                             const std::string& name) override {
        std::optional<core::ModelDef> out;
        WithConnection(pool_, "models.find_name", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(
                SqlCat({"SELECT ", q::kModelColumns, q::kModelFrom, q::kWhereModelName}),
                tenant.value, name);
            if (!r.empty()) out = RowToModel(r[0]);
        });
        return out;
    }

    std::optional<core::ModelDef> FindDefault(const core::TenantId& tenant) override {
        std::optional<core::ModelDef> out;
        WithConnection(pool_, "models.find_default", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(
                SqlCat({"SELECT ", q::kModelColumns, q::kModelFrom, q::kWhereModelDefault}),
                tenant.value);
            if (!r.empty()) out = RowToModel(r[0]);
        });
        return out;
    }

    Page<core::ModelDef> List(const core::TenantId& tenant, const PageRequest& page) override {
        Page<core::ModelDef> out;
        int64_t after = page.cursor ? DecodeCursor(*page.cursor) : 0;
        WithConnection(pool_, "models.list", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(
                SqlCat({"SELECT ", q::kModelColumns, q::kModelFrom, q::kWhereModelPage}),
                tenant.value, after, page.limit + 1);
            FillPage(r, page.limit, RowToModel, &out);
        });
        return out;
    }

    core::ModelDef Update(const core::Actor& actor,
                          const core::TenantId& tenant,
                          const std::string& id,
                          const std::optional<json>& hyperparameters,
                          const std::optional<std::string>& description,
                          const std::optional<bool>& is_default) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("model not found");
        std::optional<core::ModelDef> out;
        WithTransaction(pool_, "models.update", [&](pqxx::work& tx) {
            auto before = FindIn(tx, tenant, id, true);
            if (!before) core::ThrowNotFound("model not found");
            if (is_default && *is_default)
                tx.exec_params(std::string(q::kClearDefault), tenant.value, id);
            std::optional<std::string> hp, def;
            if (hyperparameters) hp = hyperparameters->dump();
            if (is_default) def = *is_default ? "true" : "false";
            tx.exec_params(std::string(q::kUpdateModel), tenant.value, id, OrNull(hp),
                           OrNull(description), OrNull(def));
            out = FindIn(tx, tenant, id);
            if (!out) core::ThrowNotFound("model not found");
            WriteAudit(tx, tenant.value, actor, "update", "model", id, ModelAudit(*before),
                       ModelAudit(*out));
        });
        return *out;
    }

    void Delete(const core::Actor& actor,
                const core::TenantId& tenant,
                const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("model not found");
        WithTransaction(pool_, "models.delete", [&](pqxx::work& tx) {
            auto before = FindIn(tx, tenant, id, true);
            if (!before) core::ThrowNotFound("model not found");
            tx.exec_params(std::string(q::kDeleteModel), tenant.value, id);
            WriteAudit(tx, tenant.value, actor, "delete", "model", id, ModelAudit(*before),
                       nullptr);
        });
    }

    Page<core::ModelVersion> ListVersions(const core::TenantId& tenant,
                                          const std::string& model_id,
                                          const PageRequest& page) override {
        Page<core::ModelVersion> out;
        if (!core::IsUuid(model_id)) return out;
        int64_t after = page.cursor ? DecodeCursor(*page.cursor) : 0;
        WithConnection(pool_, "versions.list", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kVersionColumns, q::kVersionPage}),
                                    tenant.value, model_id, after, page.limit + 1);
            FillPage(r, page.limit, RowToVersion, &out);
        });
        return out;
    }

    std::optional<core::ModelVersion> FindVersion(const core::TenantId& tenant,
                                                  const std::string& model_id,
                                                  const std::string& version_id) override {
        if (!core::IsUuid(model_id) || !core::IsUuid(version_id)) return std::nullopt;
        std::optional<core::ModelVersion> out;
        WithConnection(pool_, "versions.find", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kVersionColumns, q::kVersionById}),
                                    tenant.value, model_id, version_id);
            if (!r.empty()) out = RowToVersion(r[0]);
        });
        return out;
    }

    std::optional<core::ModelVersion> FindVersionByNumber(const core::TenantId& tenant,
                                                          const std::string& model_id,
                                                          int version) override {
        if (!core::IsUuid(model_id)) return std::nullopt;
        std::optional<core::ModelVersion> out;
        WithConnection(pool_, "versions.by_number", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kVersionColumns, q::kVersionByNumber}),
                                    tenant.value, model_id, version);
            if (!r.empty()) out = RowToVersion(r[0]);
        });
        return out;
    }

    std::optional<core::ModelVersion> FindVersionByJob(const core::TenantId& tenant,
                                                       const std::string& job_id) override {
        std::optional<core::ModelVersion> out;
        WithConnection(pool_, "versions.by_job", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kVersionColumns, q::kVersionByJob}),
                                    tenant.value, job_id);
            if (!r.empty()) out = RowToVersion(r[0]);
        });
        return out;
    }

    std::vector<std::string> ArtifactPaths() override {
        std::vector<std::string> out;
        WithConnection(pool_, "versions.paths", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            for (const auto& r : tx.exec(std::string(q::kSelectArtifactPaths)))
                out.push_back(r[0].as<std::string>());
        });
        return out;
    }

    core::ModelVersion CreateVersion(const core::TenantId& tenant,
                                     const core::ModelVersion& v,
                                     const std::optional<JobFence>& fence) override {
        std::optional<core::ModelVersion> out;
        WithTransaction(pool_, "versions.create", [&](pqxx::work& tx) {
            if (fence &&
                tx.exec_params(std::string(q::kLeaseHeld), fence->job_id, fence->owner).empty())
                core::ThrowConflict("the job's lease was lost: another worker runs it now");
            // Serialise version numbering per model.
            if (tx.exec_params(std::string(q::kLockModel), tenant.value, v.model_id).empty())
                core::ThrowNotFound("model not found");
            int next = tx.exec_params1(std::string(q::kNextVersion), tenant.value, v.model_id)[0]
                           .as<int>();
            out = RowToVersion(tx.exec_params1(SqlCat({q::kInsertVersion, q::kVersionColumns}),
                                               tenant.value, v.model_id, next, v.metrics.dump(),
                                               v.artifact_path, v.artifact_bytes,
                                               OrNull(v.training_job_id), v.artifact_sha256));
            // The tenant's model_versions_kept quota: the oldest versions beyond it go (their
            // artifacts are collected later), never one that is or was deployed, a canary's,
            // or one an experiment names.
            auto pruned =
                tx.exec_params(SqlCat({q::kPruneVersions, " RETURNING id::text, version"}),
                               tenant.value, v.model_id, out->id);
            const core::Actor training{"system", "training", "", ""};
            WriteAudit(tx, tenant.value, training, "create", "model_version", out->id, nullptr,
                       json{{"model_id", v.model_id},
                            {"version", out->version},
                            {"artifact_bytes", v.artifact_bytes},
                            {"training_job_id",
                             v.training_job_id ? json(*v.training_job_id) : json(nullptr)}});
            for (const auto& p : pruned)
                WriteAudit(tx, tenant.value, training, "prune", "model_version",
                           p[0].as<std::string>(),
                           json{{"model_id", v.model_id}, {"version", p[1].as<int>()}}, nullptr);
        });
        return *out;
    }

    core::ModelVersion Deploy(const core::Actor& actor,
                              const core::TenantId& tenant,
                              const std::string& model_id,
                              const std::string& version_id,
                              const std::string& pool) override {
        if (!core::IsUuid(model_id) || !core::IsUuid(version_id))
            core::ThrowNotFound("model version not found");
        std::optional<core::ModelVersion> out;
        WithTransaction(pool_, "versions.deploy", [&](pqxx::work& tx) {
            if (tx.exec_params(std::string(q::kLockModel), tenant.value, model_id).empty())
                core::ThrowNotFound("model not found");
            auto v = FindVersionIn(tx, tenant, model_id, version_id);
            if (!v) core::ThrowNotFound("model version not found");
            if (v->status == "failed") core::ThrowConflict("a failed version cannot be deployed");
            auto cur = tx.exec_params(std::string(q::kCurrentDeployment), tenant.value, model_id);
            std::optional<std::string> before;
            if (!cur.empty()) {
                before = cur[0][1].as<std::string>();
                if (*before != version_id)
                    tx.exec_params(std::string(q::kRetireVersion), tenant.value, *before);
            }
            tx.exec_params(std::string(q::kInsertDeployment), tenant.value, model_id, version_id,
                           pool);
            tx.exec_params(std::string(q::kMarkDeployed), tenant.value, version_id);
            WriteAudit(tx, tenant.value, actor, "deploy", "model", model_id,
                       before ? json{{"version_id", *before}} : json(nullptr),
                       json{{"version_id", version_id}, {"pool", pool}});
            out = FindVersionIn(tx, tenant, model_id, version_id);
        });
        return *out;
    }

    core::ModelVersion Rollback(
        const core::Actor& actor,
        const core::TenantId& tenant,
        const std::string& model_id,
        const std::string& expected_current,
        const std::function<void(const core::ModelVersion&, const std::string&)>& before_switch)
        override {
        if (!core::IsUuid(model_id)) core::ThrowNotFound("model not found");
        // Which version the rollback returns to, read first: it is loaded before the switch (so
        // that a broken artifact never becomes the serving one) and outside the transaction
        // (a load can outlast the statement timeout). The transaction then checks, under the
        // model's row lock, that neither end changed meanwhile: of two concurrent rollbacks of
        // one version the second gets 409 instead of going back twice.
        std::string current, target, target_pool;
        std::optional<core::ModelVersion> target_version;
        WithConnection(pool_, "versions.rollback_plan", [&](pqxx::connection& c) {
            pqxx::work tx(c);
            auto cur = tx.exec_params(std::string(q::kCurrentDeployment), tenant.value, model_id);
            if (cur.empty() || cur[0][1].as<std::string>() != expected_current)
                core::ThrowConflict("only the deployed version can be rolled back");
            if (cur.size() < 2)
                core::ThrowConflict("there is no earlier deployed version to roll back to");
            current = cur[0][1].as<std::string>();
            target = cur[1][1].as<std::string>();
            target_pool = cur[1][2].as<std::string>();
            target_version = FindVersionIn(tx, tenant, model_id, target);
            tx.commit();
        });
        if (!target_version) core::ThrowConflict("the earlier version no longer exists");
        if (before_switch) before_switch(*target_version, target_pool);
        std::optional<core::ModelVersion> out;
        WithTransaction(pool_, "versions.rollback", [&](pqxx::work& tx) {
            if (tx.exec_params(std::string(q::kLockModel), tenant.value, model_id).empty())
                core::ThrowNotFound("model not found");
            auto cur = tx.exec_params(std::string(q::kCurrentDeployment), tenant.value, model_id);
            if (cur.size() < 2 || cur[0][1].as<std::string>() != current ||
                cur[1][1].as<std::string>() != target)
                core::ThrowConflict("the model's deployment changed meanwhile; retry");
            tx.exec_params(std::string(q::kDeleteDeployment), tenant.value,
                           cur[0][0].as<int64_t>());
            if (current != target)
                tx.exec_params(std::string(q::kRetireVersion), tenant.value, current);
            tx.exec_params(std::string(q::kMarkDeployed), tenant.value, target);
            WriteAudit(tx, tenant.value, actor, "rollback", "model", model_id,
                       json{{"version_id", current}}, json{{"version_id", target}});
            out = FindVersionIn(tx, tenant, model_id, target);
        });
        return *out;
    }

private:
    std::optional<core::ModelVersion> FindVersionIn(pqxx::work& tx,
                                                    const core::TenantId& tenant,
                                                    const std::string& model_id,
                                                    const std::string& version_id) {
        auto r = tx.exec_params(SqlCat({"SELECT ", q::kVersionColumns, q::kVersionById}),
                                tenant.value, model_id, version_id);
        if (r.empty()) return std::nullopt;
        return RowToVersion(r[0]);
    }

    std::optional<core::ModelDef> FindIn(pqxx::work& tx,
                                         const core::TenantId& tenant,
                                         const std::string& id,
                                         bool lock = false) {
        auto r = tx.exec_params(SqlCat({"SELECT ", q::kModelColumns, q::kModelFrom,
                                        q::kWhereModelId, lock ? " FOR UPDATE OF m" : ""}),
                                tenant.value, id);
        if (r.empty()) return std::nullopt;
        return RowToModel(r[0]);
    }

    PgPool& pool_;
};

}  // namespace

std::unique_ptr<ModelRepository> MakePgModelRepository(PgPool& pool) {
    return std::make_unique<PgModelRepository>(pool);
}

}  // namespace recs::store

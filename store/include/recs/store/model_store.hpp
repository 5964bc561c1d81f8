#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/domain.hpp"
#include "recs/core/job.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/page.hpp"

namespace recs::store {

class PgPool;

/// Models, versions and deployments.
class ModelRepository {
public:
    virtual ~ModelRepository() = default;
    /// Throws kConflict when the name is taken.
    virtual core::ModelDef Create(const core::Actor& actor,
                                  const core::TenantId& tenant,
                                  const core::ModelDef& def) = 0;
    virtual std::optional<core::ModelDef> Find(const core::TenantId& tenant,
                                               const std::string& id) = 0;
    virtual std::optional<core::ModelDef> FindByName(const core::TenantId& tenant,
                                                     const std::string& name) = 0;
    virtual std::optional<core::ModelDef> FindDefault(const core::TenantId& tenant) = 0;
    virtual Page<core::ModelDef> List(const core::TenantId& tenant, const PageRequest& page) = 0;
    /// Applies the set fields; is_default=true clears the flag on the tenant's other models.
    virtual core::ModelDef Update(const core::Actor& actor,
                                  const core::TenantId& tenant,
                                  const std::string& id,
                                  const std::optional<nlohmann::json>& hyperparameters,
                                  const std::optional<std::string>& description,
                                  const std::optional<bool>& is_default) = 0;
    virtual void Delete(const core::Actor& actor,
                        const core::TenantId& tenant,
                        const std::string& id) = 0;

    virtual Page<core::ModelVersion> ListVersions(const core::TenantId& tenant,
                                                  const std::string& model_id,
                                                  const PageRequest& page) = 0;
    virtual std::optional<core::ModelVersion> FindVersion(const core::TenantId& tenant,
                                                          const std::string& model_id,
                                                          const std::string& version_id) = 0;
    /// A version by its number.
    virtual std::optional<core::ModelVersion> FindVersionByNumber(const core::TenantId& tenant,
                                                                  const std::string& model_id,
                                                                  int version) = 0;
    /// The version a training job made, if any (idempotent job handlers).
    virtual std::optional<core::ModelVersion> FindVersionByJob(const core::TenantId& tenant,
                                                               const std::string& job_id) = 0;
    /// The artifact paths of every version of every tenant (artifact garbage collection).
    virtual std::vector<std::string> ArtifactPaths() = 0;
    /// Records a new version (status ready). With a fence, only while the job's lease is still
    /// held by fence->owner (a worker whose lease expired cannot record a version). Throws
    /// kConflict if the job already made one, or the lease is lost.
    virtual core::ModelVersion CreateVersion(const core::TenantId& tenant,
                                             const core::ModelVersion& v,
                                             const std::optional<JobFence>& fence) = 0;
    /// Makes the version the model's deployed one, served by worker pool `pool`. Returns it.
    virtual core::ModelVersion Deploy(const core::Actor& actor,
                                      const core::TenantId& tenant,
                                      const std::string& model_id,
                                      const std::string& version_id,
                                      const std::string& pool) = 0;
    /// Returns to the version deployed before `expected_current`, which must still be the
    /// deployed one (checked under the model's lock). `before_switch` runs on the target
    /// version and the pool of its deployment, before anything changes (it preloads the
    /// artifact; if it throws, nothing changes). kConflict when another version is deployed or
    /// none is earlier.
    virtual core::ModelVersion Rollback(
        const core::Actor& actor,
        const core::TenantId& tenant,
        const std::string& model_id,
        const std::string& expected_current,
        const std::function<void(const core::ModelVersion&, const std::string& pool)>&
            before_switch) = 0;
};

std::unique_ptr<ModelRepository> MakePgModelRepository(PgPool& pool);

}  // namespace recs::store

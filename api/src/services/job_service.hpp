#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recs/core/job.hpp"
#include "recs/core/tenancy.hpp"

namespace recs::store {
class JobRepository;
class ModelRepository;
class ExperimentRepository;
}  // namespace recs::store

namespace recs::api {

/// POST /jobs/train, decoded once at the edge. Throws core::Error(kUnprocessable) naming the
/// field (or the header).
struct TrainJobRequest {
    std::string model_id;
    std::optional<nlohmann::json> hyperparameters;  ///< overrides of the model's, an object
    std::optional<double> holdout;                  ///< 0 .. 0.5
    std::optional<std::string> idempotency_key;     ///< 1..128 characters
};

/// `idempotency_key` is the Idempotency-Key header when sent.
TrainJobRequest DecodeTrainJob(const nlohmann::json& body, const std::string* idempotency_key);

/// POST /simulate: an experiment's variants (or a list of them) replayed offline on the
/// tenant's held-out interactions (a time range, or per user the latest `holdout` share).
struct SimulateRequest {
    std::optional<std::string> experiment_id;
    std::vector<std::pair<std::string, std::string>> variants;  ///< {id, model reference}
    std::optional<int64_t> from_ms, to_ms;
    int k = 10;
    int bootstrap = 500;
    double holdout = 0.2;
    std::optional<std::string> idempotency_key;
};
SimulateRequest DecodeSimulate(const nlohmann::json& body, const std::string* idempotency_key);

/// The filters of GET /jobs (query parameters `status` and `kind`).
struct JobFilter {
    std::optional<core::JobStatus> status;
    std::optional<core::JobKind> kind;
};

JobFilter DecodeJobFilter(const std::optional<std::string>& status,
                          const std::optional<std::string>& kind);

/// Jobs submitted by tenants: a training job is checked against its model before it is
/// queued (the model exists; overridden hyperparameters, merged over the model's, pass the
/// engine's validation), so that a job fails at submission rather than on a worker.
class JobService {
public:
    using Validator =
        std::function<void(const std::string& algorithm, const nlohmann::json& hyperparameters)>;

    /// `experiments` may be null (simulations name their variants).
    JobService(store::JobRepository& jobs,
               store::ModelRepository& models,
               Validator validate,
               int max_attempts,
               store::ExperimentRepository* experiments = nullptr);

    /// kNotFound for another tenant's model; kForbidden when the request overrides
    /// hyperparameters and `may_override` is false (the caller lacks models:write).
    core::Job SubmitTrain(const core::TenantId& tenant,
                          const TrainJobRequest& request,
                          bool may_override);
    /// kNotFound for another tenant's experiment; 422 (field variants[i].model) for a model
    /// the tenant does not have.
    core::Job SubmitSimulate(const core::TenantId& tenant, const SimulateRequest& request);

private:
    store::JobRepository& jobs_;
    store::ModelRepository& models_;
    Validator validate_;
    int max_attempts_;
    store::ExperimentRepository* experiments_;
};

}  // namespace recs::api

#include "services/job_service.hpp"

#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/model_store.hpp"

namespace recs::api {

using nlohmann::json;

TrainJobRequest DecodeTrainJob(const json& j, const std::string* idempotency_key) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"model_id", "hyperparameters", "holdout"});
    TrainJobRequest r;
    r.model_id = core::RequireString(body, "model_id", 64);
    if (auto it = body.find("hyperparameters"); it != body.end() && !it->is_null()) {
        if (!it->is_object())
            core::ThrowUnprocessable("'hyperparameters' must be an object", "hyperparameters");
        r.hyperparameters = *it;
    }
    r.holdout = core::OptionalNumber(body, "holdout");
    if (r.holdout && (*r.holdout < 0 || *r.holdout > 0.5))
        core::ThrowUnprocessable("'holdout' must be between 0 and 0.5", "holdout");
    if (idempotency_key) {
        if (idempotency_key->empty() || idempotency_key->size() > 128)
            core::ThrowUnprocessable("Idempotency-Key must be 1..128 characters",
                                     "Idempotency-Key");
        r.idempotency_key = *idempotency_key;
    }
    return r;
}

JobFilter DecodeJobFilter(const std::optional<std::string>& status,
                          const std::optional<std::string>& kind) {
    JobFilter f;
    if (status) {
        f.status = core::ParseJobStatus(*status);
        if (!f.status) core::ThrowUnprocessable("unknown status '" + *status + "'", "status");
    }
    if (kind) {
        f.kind = core::ParseJobKind(*kind);
        if (!f.kind) core::ThrowUnprocessable("unknown kind '" + *kind + "'", "kind");
    }
    return f;
}

JobService::JobService(store::JobRepository& jobs,
                       store::ModelRepository& models,
                       Validator validate,
                       int max_attempts)
    : jobs_(jobs), models_(models), validate_(std::move(validate)), max_attempts_(max_attempts) {}

core::Job JobService::SubmitTrain(const core::TenantId& tenant,
                                  const TrainJobRequest& r,
                                  bool may_override) {
    auto model = models_.Find(tenant, r.model_id);
    if (!model) core::ThrowNotFound("model not found");
    json payload = {{"model_id", model->id}};
    if (r.hyperparameters) {
        // Overrides change what gets trained: the model's owners' scope, not only jobs:write.
        if (!may_override)
            throw core::Error(core::ErrorCode::kForbidden,
                              "overriding hyperparameters needs the scope 'models:write'",
                              "hyperparameters");
        json merged = model->hyperparameters;
        for (auto it = r.hyperparameters->begin(); it != r.hyperparameters->end(); ++it)
            merged[it.key()] = it.value();
        if (validate_) validate_(model->algorithm, merged);
        payload["hyperparameters"] = *r.hyperparameters;
    }
    if (r.holdout) payload["holdout"] = *r.holdout;
    return jobs_.Create(tenant, core::JobKind::kTrain, payload, max_attempts_, r.idempotency_key);
}

}  // namespace recs::api

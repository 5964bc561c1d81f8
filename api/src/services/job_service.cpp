#include "services/job_service.hpp"

#include "recs/core/domain.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/text.hpp"
#include "recs/store/experiment_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/model_store.hpp"

namespace recs::api {

using nlohmann::json;

namespace {

std::optional<std::string> IdempotencyKey(const std::string* key) {
    if (!key) return std::nullopt;
    if (key->empty() || key->size() > 128)
        core::ThrowUnprocessable("Idempotency-Key must be 1..128 characters", "Idempotency-Key");
    return *key;
}

std::optional<int64_t> DecodeTime(const json& obj, const std::string& field) {
    auto s = core::OptionalString(obj, field, 64);
    if (!s) return std::nullopt;
    auto ms = core::ParseIso8601Ms(*s);
    if (!ms || *ms < 0 || *ms > 253402300799999)  // 1970..9999
        core::ThrowUnprocessable("'data." + field + "' must be an ISO 8601 date-time in 1970..9999",
                                 "data." + field);
    return ms;
}

}  // namespace

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
    r.idempotency_key = IdempotencyKey(idempotency_key);
    return r;
}

SimulateRequest DecodeSimulate(const json& j, const std::string* idempotency_key) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body,
                              {"experiment", "variants", "data", "k", "bootstrap", "holdout"});
    SimulateRequest r;
    r.experiment_id = core::OptionalString(body, "experiment", 64);
    auto vs = body.find("variants");
    const bool has_variants = vs != body.end() && !vs->is_null();
    if (r.experiment_id.has_value() == has_variants)
        core::ThrowUnprocessable("send 'experiment' (an experiment's id) or 'variants', not both",
                                 has_variants ? "variants" : "experiment");
    if (has_variants) {
        if (!vs->is_array() || vs->size() < 2 || vs->size() > 10)
            core::ThrowUnprocessable("'variants' must be an array of 2..10 {id, model}",
                                     "variants");
        for (size_t i = 0; i < vs->size(); ++i) {
            std::string f = "variants[" + std::to_string(i) + "]";
            const auto& v = (*vs)[i];
            if (!v.is_object()) core::ThrowUnprocessable(f + " must be an object", f);
            core::RejectUnknownFields(v, {"id", "model"}, f + ".");
            auto id = core::OptionalString(v, "id", 64);
            auto model = core::OptionalString(v, "model", 200);
            if (!id) core::ThrowUnprocessable(f + ".id is required", f + ".id");
            if (!model) core::ThrowUnprocessable(f + ".model is required", f + ".model");
            core::CheckIdText(*id, f + ".id", 64);
            core::CheckIdText(*model, f + ".model", 200);
            for (const auto& [seen, ignored] : r.variants)
                if (seen == *id)
                    core::ThrowUnprocessable("variant id '" + *id + "' is used twice", f + ".id");
            r.variants.emplace_back(*id, *model);
        }
    }
    if (auto d = body.find("data"); d != body.end() && !d->is_null()) {
        if (!d->is_object()) core::ThrowUnprocessable("'data' must be {from?, to?}", "data");
        core::RejectUnknownFields(*d, {"from", "to"}, "data.");
        r.from_ms = DecodeTime(*d, "from");
        r.to_ms = DecodeTime(*d, "to");
        if (r.to_ms && !r.from_ms)
            core::ThrowUnprocessable("'data.to' needs 'data.from'", "data.from");
        if (r.from_ms && r.to_ms && *r.to_ms <= *r.from_ms)
            core::ThrowUnprocessable("'data.to' must be after 'data.from'", "data.to");
    }
    r.k = static_cast<int>(core::OptionalInt(body, "k", 1, 100).value_or(10));
    r.bootstrap = static_cast<int>(core::OptionalInt(body, "bootstrap", 100, 5000).value_or(500));
    r.holdout = core::OptionalNumber(body, "holdout").value_or(0.2);
    if (!(r.holdout > 0 && r.holdout <= 0.5))
        core::ThrowUnprocessable("'holdout' must be in (0, 0.5]", "holdout");
    r.idempotency_key = IdempotencyKey(idempotency_key);
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
                       int max_attempts,
                       store::ExperimentRepository* experiments)
    : jobs_(jobs),
      models_(models),
      validate_(std::move(validate)),
      max_attempts_(max_attempts),
      experiments_(experiments) {}

core::Job JobService::SubmitSimulate(const core::TenantId& tenant, const SimulateRequest& r) {
    auto variants = r.variants;
    json payload = {{"k", r.k}, {"bootstrap", r.bootstrap}, {"holdout", r.holdout}, {"seed", 42}};
    if (r.experiment_id) {
        auto e = experiments_ ? experiments_->Find(tenant, *r.experiment_id) : std::nullopt;
        if (!e) core::ThrowNotFound("experiment not found");
        for (const auto& v : e->spec.variants) variants.emplace_back(v.id, v.model);
        payload["experiment_id"] = e->id;
    }
    json list = json::array();
    for (size_t i = 0; i < variants.size(); ++i) {
        const auto& [id, ref] = variants[i];
        // The model's algorithm and hyperparameters ("" = the default model).
        auto name = ref.substr(0, ref.find('@'));
        auto m = name.empty() ? models_.FindDefault(tenant) : models_.FindByName(tenant, name);
        if (!m)
            core::ThrowUnprocessable(
                "model '" + (name.empty() ? "(default)" : name) + "' not found",
                "variants[" + std::to_string(i) + "].model");
        list.push_back({{"id", id},
                        {"model", m->name},
                        {"model_id", m->id},
                        {"algorithm", m->algorithm},
                        {"hyperparameters", m->hyperparameters}});
    }
    payload["variants"] = std::move(list);
    if (r.from_ms) payload["from"] = *r.from_ms;
    if (r.to_ms) payload["to"] = *r.to_ms;
    return jobs_.Create(tenant, core::JobKind::kSimulate, payload, max_attempts_,
                        r.idempotency_key);
}

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

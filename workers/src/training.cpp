#include "recs/workers/training.hpp"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/engine/eval.hpp"
#include "recs/store/artifact_store.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/model_store.hpp"

namespace recs::workers {
namespace fs = std::filesystem;
using nlohmann::json;

bool EventToInteraction(const store::EventRow& row, engine::Interaction* out) {
    if (row.item_id.empty() || row.type == "impression" || row.type == "dislike") return false;
    out->user = row.user_id;
    out->item = row.item_id;
    out->weight = row.type == "rating" ? static_cast<float>(row.value) : 1.f;
    out->timestamp = row.timestamp_s;
    out->event_type = row.type;
    return true;
}

namespace {

json MergeHyperparameters(const json& base, const json& over) {
    json out = base.is_object() ? base : json::object();
    if (over.is_object())
        for (auto it = over.begin(); it != over.end(); ++it) out[it.key()] = it.value();
    return out;
}

/// A name of its own for every attempt: a worker whose lease expired, still writing, can never
/// write into the artifact of the attempt that replaced it (finding M5).
std::string ArtifactName(const core::Job& job, const std::string& model_id) {
    return (fs::path("tenants") / job.tenant_id / "models" / model_id /
            ("job-" + job.id + "-a" + std::to_string(job.attempts) + "-" + core::RandomToken(8) +
             ".bin"))
        .string();
}

}  // namespace

json RunTrainJob(const core::Job& job,
                 const TrainDeps& deps,
                 const std::function<void(double)>& progress,
                 const std::atomic<bool>* cancel) {
    core::TenantId tenant{job.tenant_id};
    std::string model_id = job.payload.value("model_id", "");
    auto model = deps.models->Find(tenant, model_id);
    if (!model) throw core::Error(core::ErrorCode::kNotFound, "the model no longer exists");
    auto result_of = [&](const core::ModelVersion& v) {
        return json{{"model_id", model_id},
                    {"version_id", v.id},
                    {"version", v.version},
                    {"metrics", v.metrics},
                    {"artifact_bytes", v.artifact_bytes}};
    };
    if (auto done = deps.models->FindVersionByJob(tenant, job.id)) return result_of(*done);

    auto start = std::chrono::steady_clock::now();
    std::vector<engine::Interaction> data;
    deps.events->ForEachInteraction(tenant, [&](const store::EventRow& row) {
        engine::Interaction x;
        if (EventToInteraction(row, &x)) data.push_back(std::move(x));
    });
    progress(0.05);
    json hp =
        MergeHyperparameters(model->hyperparameters, job.payload.value("hyperparameters", json()));
    double holdout = job.payload.value("holdout", 0.2);

    json metrics = json::object();
    double eval_share = 0;
    if (holdout > 0 && data.size() >= 20) {
        eval_share = 0.45;
        engine::SplitOptions so;
        so.kind = engine::SplitKind::kUserStratified;
        so.ratio = 1.0 - holdout;
        so.seed = 42;
        auto split = engine::Split(data, so);
        engine::TrainContext ctx{[&](double p) { progress(0.05 + 0.35 * p); }, cancel,
                                 deps.memory_budget_bytes};
        auto eval_model = engine::Train(model->algorithm, hp, split.train, ctx);
        auto m = engine::Evaluate(*eval_model, split.train, split.test, 10, 0,
                                  [&](double p) { progress(0.40 + 0.10 * p); });
        metrics = m.ToJson();
        metrics["split"] = "user-stratified";
        metrics["holdout"] = holdout;
    }
    double base = 0.05 + eval_share;
    engine::TrainContext ctx{[&](double p) { progress(base + (0.93 - base) * p); }, cancel,
                             deps.memory_budget_bytes};
    auto trained = engine::Train(model->algorithm, hp, data, ctx);

    std::string bytes = trained->Serialize();
    std::string sha = core::Sha256Hex(bytes);
    std::string path = deps.artifacts->Put(ArtifactName(job, model_id), bytes);
    progress(0.97);

    core::ModelVersion v;
    v.model_id = model_id;
    v.metrics = metrics;
    v.metrics["interactions"] = data.size();
    v.metrics["users"] = trained->NumUsers();
    v.metrics["items"] = trained->NumItems();
    v.metrics["train_seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    v.artifact_path = path;
    v.artifact_bytes = static_cast<int64_t>(bytes.size());
    v.artifact_sha256 = sha;
    v.training_job_id = job.id;
    std::optional<store::JobFence> fence;
    if (!deps.lease_owner.empty()) fence = store::JobFence{job.id, deps.lease_owner};
    core::ModelVersion created;
    try {
        created = deps.models->CreateVersion(tenant, v, fence);
    } catch (const core::Error& e) {
        deps.artifacts->Remove(path);  // nothing refers to it
        // A concurrent delivery of the same job recorded it first.
        auto done = deps.models->FindVersionByJob(tenant, job.id);
        if (e.code() != core::ErrorCode::kConflict || !done) throw;
        created = *done;
    }
    return result_of(created);
}

}  // namespace recs::workers

#include "recs/workers/in_process_pool.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/engine/model.hpp"
#include "recs/store/artifact_store.hpp"

namespace recs::workers {

using Clock = std::chrono::steady_clock;

InProcessPool::InProcessPool(std::string name, PoolLimits limits, store::ArtifactStore* artifacts)
    : name_(std::move(name)), limits_(limits), artifacts_(artifacts) {}

InProcessPool::~InProcessPool() = default;

InProcessPool::ModelPtr InProcessPool::Load(const core::ServingTarget& t, size_t* bytes) {
    auto start = Clock::now();
    auto fail = [&](const core::Error& e) -> core::Error {
        // The detail may name the server's paths: it goes to the log, not to the client.
        core::Log(core::LogLevel::kError, "model load failed",
                  {{"pool", name_},
                   {"tenant", t.tenant_id},
                   {"model", t.model_name},
                   {"version", t.version},
                   {"error", e.detail()}});
        if (e.code() == core::ErrorCode::kUnavailable)
            return core::Error(core::ErrorCode::kUnavailable,
                               "the artifact store is unavailable; retry")
                .WithRetryAfter(1);
        return core::Error(core::ErrorCode::kConflict,
                           "version " + std::to_string(t.version) + " of model '" + t.model_name +
                               "' cannot be loaded: its artifact is missing or corrupt");
    };
    std::string path = t.artifact_path;
    if (artifacts_) {
        try {
            path = artifacts_->Open(t.artifact_path, t.artifact_sha256);
        } catch (const core::Error& e) {
            throw fail(e);
        }
    }
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    *bytes = ec ? 0 : static_cast<size_t>(size);
    if (*bytes > limits_.max_bytes)
        throw core::Error(core::ErrorCode::kConflict, "version " + std::to_string(t.version) +
                                                          " of model '" + t.model_name +
                                                          "' is larger than this pool may hold (" +
                                                          std::to_string(*bytes >> 20) + " MiB)");
    try {
        ModelPtr m = engine::LoadModel(path, t.artifact_sha256);
        core::Log(core::LogLevel::kInfo, "model loaded",
                  {{"pool", name_},
                   {"tenant", t.tenant_id},
                   {"model", t.model_name},
                   {"version", t.version},
                   {"bytes", *bytes},
                   {"ms", std::chrono::duration<double, std::milli>(Clock::now() - start).count()},
                   {"algorithm", std::string(m->Algorithm())}});
        return m;
    } catch (const core::Error& e) {
        throw fail(e);
    }
}

InProcessPool::ModelPtr InProcessPool::Get(const core::ServingTarget& t) {
    std::shared_future<ModelPtr> wait_for;
    std::promise<ModelPtr> promise;
    {
        std::lock_guard lock(mu_);
        auto f = failures_.find(t.version_id);
        if (f != failures_.end()) {
            if (Clock::now() < f->second.until) throw core::Error(f->second.code, f->second.detail);
            failures_.erase(f);
        }
        auto it = slots_.find(t.version_id);
        if (it != slots_.end()) {
            if (it->second.ready) {
                lru_.splice(lru_.begin(), lru_, it->second.lru);
                return it->second.model.get();
            }
            wait_for = it->second.model;  // another request is loading it: wait for that load
        } else {
            Slot slot;
            slot.model = promise.get_future().share();
            slot.tenant = t.tenant_id;
            slots_.emplace(t.version_id, std::move(slot));
        }
    }
    if (wait_for.valid()) return wait_for.get();
    size_t bytes = 0;
    try {
        ModelPtr m = Load(t, &bytes);
        {
            std::lock_guard lock(mu_);
            auto& slot = slots_.at(t.version_id);
            slot.ready = true;
            slot.bytes = bytes;
            lru_.push_front(t.version_id);
            slot.lru = lru_.begin();
            bytes_ += bytes;
            EvictLocked(t.version_id);
        }
        promise.set_value(m);
        return m;
    } catch (const core::Error& e) {
        {
            std::lock_guard lock(mu_);
            slots_.erase(t.version_id);
            failures_[t.version_id] =
                Failure{e.detail(), e.code(), Clock::now() + limits_.failure_ttl};
            if (failures_.size() > 10000) failures_.clear();
        }
        promise.set_exception(std::current_exception());
        throw;
    } catch (...) {
        {
            std::lock_guard lock(mu_);
            slots_.erase(t.version_id);
        }
        promise.set_exception(std::current_exception());
        throw;
    }
}

void InProcessPool::EvictLocked(const std::string& keep) {
    auto evict = [&](std::list<std::string>::iterator pos) {
        auto it = slots_.find(*pos);
        bytes_ -= it->second.bytes;
        slots_.erase(it);
        lru_.erase(pos);
    };
    const std::string& tenant = slots_.at(keep).tenant;
    size_t of_tenant = 0;
    for (const auto& id : lru_) of_tenant += slots_.at(id).tenant == tenant;
    for (auto pos = lru_.end(); pos != lru_.begin() && of_tenant > limits_.max_models_per_tenant;) {
        --pos;
        if (*pos != keep && slots_.at(*pos).tenant == tenant) {
            auto victim = pos++;
            evict(victim);
            --of_tenant;
        }
    }
    while ((bytes_ > limits_.max_bytes || lru_.size() > limits_.max_models) && lru_.size() > 1 &&
           lru_.back() != keep)
        evict(std::prev(lru_.end()));
}

void InProcessPool::Evict(const std::string& tenant_id) {
    std::lock_guard lock(mu_);
    for (auto pos = lru_.begin(); pos != lru_.end();) {
        auto it = slots_.find(*pos);
        if (it->second.tenant == tenant_id) {
            bytes_ -= it->second.bytes;
            slots_.erase(it);
            pos = lru_.erase(pos);
        } else {
            ++pos;
        }
    }
}

core::Rollout InProcessPool::Preload(const core::ServingTarget& target) {
    Get(target);
    return {.pool = target.pool, .members = 1, .loaded = 1, .unreachable = {}};
}

core::RankResult InProcessPool::Rank(const core::ServingTarget& target,
                                     const core::RankRequest& req) {
    auto model = Get(target);
    bool cold = false;
    const std::vector<std::string>* cands = req.candidate_ids ? &*req.candidate_ids : nullptr;
    auto items = model->Recommend(req.user_id, {}, req.limit, req.exclude_ids, cands, &cold,
                                  req.exclude_seen);
    core::RankResult out;
    out.cold_start = cold;
    std::string reason = cold ? "cold_start:popularity" : std::string(model->Algorithm());
    out.items.reserve(items.size());
    for (auto& it : items) out.items.push_back({std::move(it.item_id), it.score, reason});
    return out;
}

std::vector<std::optional<float>> InProcessPool::Score(const core::ServingTarget& target,
                                                       const std::string& user_id,
                                                       const std::vector<std::string>& items) {
    auto model = Get(target);
    bool cold = false;
    auto ranked = model->Recommend(user_id, {}, items.size(), {}, &items, &cold);
    std::unordered_map<std::string, float> score;
    for (auto& r : ranked) score[r.item_id] = r.score;
    std::vector<std::optional<float>> out;
    out.reserve(items.size());
    for (const auto& i : items) {
        auto it = score.find(i);
        out.push_back(it == score.end() ? std::nullopt : std::optional<float>(it->second));
    }
    return out;
}

std::vector<core::RankedItem> InProcessPool::Related(const core::ServingTarget& target,
                                                     const std::string& item_id,
                                                     size_t limit) {
    auto model = Get(target);
    std::vector<core::RankedItem> out;
    for (auto& r : model->Related(item_id, limit))
        out.push_back({std::move(r.item_id), r.score, "related"});
    return out;
}

nlohmann::json InProcessPool::Status() {
    nlohmann::json member = {{"id", "in-process"},
                             {"pool", name_},
                             {"address", "in-process"},
                             {"loaded", LoadedVersions()},
                             {"inflight", 0},
                             {"p50_ms", 0},
                             {"p99_ms", 0},
                             {"heartbeat_ms", 0}};
    return {{"status", "up"},
            {"loaded_models", loaded()},
            {"loaded_bytes", loaded_bytes()},
            {"pools", {{name_, {{"status", "up"}, {"members", nlohmann::json::array({member})}}}}}};
}

size_t InProcessPool::loaded() const {
    std::lock_guard lock(mu_);
    return lru_.size();
}

std::vector<std::string> InProcessPool::LoadedVersions() const {
    std::lock_guard lock(mu_);
    return {lru_.begin(), lru_.end()};
}

size_t InProcessPool::loaded_bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
}

}  // namespace recs::workers

#include "recs/workers/in_process_pool.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/engine/model.hpp"

namespace recs::workers {

InProcessPool::InProcessPool(std::string name, size_t max_models)
    : name_(std::move(name)), max_models_(max_models) {}

InProcessPool::~InProcessPool() = default;

std::shared_ptr<const engine::Model> InProcessPool::Get(const core::ServingTarget& t) {
    {
        std::lock_guard lock(mu_);
        auto it = models_.find(t.version_id);
        if (it != models_.end()) {
            lru_.remove(t.version_id);
            lru_.push_front(t.version_id);
            return it->second;
        }
    }
    std::lock_guard load(load_mu_);
    {
        std::lock_guard lock(mu_);  // another thread may have loaded it meanwhile
        auto it = models_.find(t.version_id);
        if (it != models_.end()) return it->second;
    }
    std::shared_ptr<const engine::Model> m = engine::LoadModel(t.artifact_path);
    core::Log(core::LogLevel::kInfo, "model loaded",
              {{"pool", name_},
               {"tenant", t.tenant_id},
               {"model", t.model_name},
               {"version", t.version},
               {"algorithm", std::string(m->Algorithm())}});
    std::lock_guard lock(mu_);
    models_[t.version_id] = m;
    lru_.push_front(t.version_id);
    while (lru_.size() > max_models_) {
        models_.erase(lru_.back());
        lru_.pop_back();
    }
    return m;
}

void InProcessPool::Preload(const core::ServingTarget& target) { Get(target); }

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

nlohmann::json InProcessPool::Status() { return {{"status", "up"}, {"loaded_models", loaded()}}; }

size_t InProcessPool::loaded() const {
    std::lock_guard lock(mu_);
    return models_.size();
}

}  // namespace recs::workers

#include "base_model.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>

#include "recs/core/error.hpp"

namespace recs::engine::detail {

std::shared_ptr<const Catalog> Catalog::FromMatrix(const InteractionMatrix& m) {
    auto c = std::make_shared<Catalog>();
    c->users = m.users;
    c->items = m.items;
    c->seen = m.by_user;
    c->popularity.assign(m.items.size(), 0.f);
    for (uint32_t i = 0; i < m.by_item.rows; ++i) {
        double s = 0;
        for (uint64_t p = m.by_item.offsets[i]; p < m.by_item.offsets[i + 1]; ++p) {
            s += m.by_item.values[p];
        }
        c->popularity[i] = static_cast<float>(s);
    }
    c->ComputeRanks();
    return c;
}

void Catalog::ComputeRanks() {
    std::vector<uint32_t> order(items.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [this](uint32_t a, uint32_t b) { return popularity[a] > popularity[b]; });
    pop_rank.assign(items.size(), 0);
    for (uint32_t r = 0; r < order.size(); ++r) {
        pop_rank[order[r]] = r;
    }
}

void Catalog::Save(ArtifactWriter& w) const {
    w.Strings(users.Ids());
    w.Strings(items.Ids());
    w.Matrix(seen);
    w.Vector(popularity);
}

std::shared_ptr<const Catalog> Catalog::Load(ArtifactReader& r) {
    auto c = std::make_shared<Catalog>();
    if (!c->users.Assign(r.Strings()) || !c->items.Assign(r.Strings())) {
        ArtifactReader::Fail("duplicate ids");
    }
    c->seen = r.Matrix();
    c->popularity = r.Vector<float>();
    if (c->seen.rows != c->users.size() || c->seen.cols != c->items.size() ||
        c->popularity.size() != c->items.size()) {
        ArtifactReader::Fail("catalogue sizes disagree");
    }
    for (float& p : c->popularity) {
        if (!std::isfinite(p)) {
            p = 0;
        }
    }
    c->ComputeRanks();
    return c;
}

BaseModel::BaseModel(std::shared_ptr<const Catalog> catalog, nlohmann::json info)
    : catalog_(std::move(catalog)), info_(std::move(info)) {}

std::span<float> ScratchScores(size_t n, int slot) {
    thread_local std::vector<float> buffers[4];
    auto& b = buffers[slot & 3];
    if (b.size() < n) {
        b.resize(n);
    }
    return {b.data(), n};
}

void SelectTopK(std::span<const float> scores,
                const std::vector<uint32_t>& pop_rank,
                size_t k,
                std::vector<IndexScore>& out) {
    out.clear();
    if (k == 0) {
        return;
    }
    // "a before b" = a is better.
    auto better = [&pop_rank](const IndexScore& a, const IndexScore& b) {
        return a.score != b.score ? a.score > b.score : pop_rank[a.item] < pop_rank[b.item];
    };
    out.reserve(std::min<size_t>(k, scores.size()) + 1);  // k comes from callers
    for (uint32_t i = 0; i < scores.size(); ++i) {
        float s = scores[i];
        if (!std::isfinite(s)) {
            continue;
        }
        IndexScore c{i, s};
        if (out.size() < k) {
            out.push_back(c);
            std::push_heap(out.begin(), out.end(), better);
        } else if (better(c, out.front())) {
            std::pop_heap(out.begin(), out.end(), better);
            out.back() = c;
            std::push_heap(out.begin(), out.end(), better);
        }
    }
    std::sort_heap(out.begin(), out.end(), better);
}

std::vector<IndexScore> BaseModel::TopForUser(int64_t user,
                                              std::span<const uint32_t> history,
                                              size_t k,
                                              std::span<const uint32_t> exclude) const {
    auto scores = ScratchScores(NumItems(), 1);
    std::fill(scores.begin(), scores.end(), 0.f);
    Score(user, history, scores);
    constexpr float kOut = -std::numeric_limits<float>::infinity();
    for (uint32_t i : exclude) {
        scores[i] = kOut;
    }
    std::vector<IndexScore> out;
    SelectTopK(scores, catalog_->pop_rank, k, out);
    return out;
}

std::vector<ScoredItem> BaseModel::Recommend(const std::string& user_id,
                                             const std::vector<std::string>& history,
                                             size_t k,
                                             const std::unordered_set<std::string>& exclude,
                                             const std::vector<std::string>* candidates,
                                             bool* cold_start,
                                             bool exclude_seen) const {
    const Catalog& c = *catalog_;
    const size_t n = c.items.size();
    int64_t user = c.users.Find(user_id);
    std::vector<uint32_t> hist;
    if (user >= 0) {
        const Csr& s = c.seen;
        hist.assign(s.indices.begin() + static_cast<ptrdiff_t>(s.offsets[user]),
                    s.indices.begin() + static_cast<ptrdiff_t>(s.offsets[user + 1]));
    }
    for (const auto& h : history) {
        int64_t i = c.items.Find(h);
        if (i >= 0) {
            hist.push_back(static_cast<uint32_t>(i));
        }
    }
    std::sort(hist.begin(), hist.end());
    hist.erase(std::unique(hist.begin(), hist.end()), hist.end());
    const bool cold = hist.empty();
    if (cold_start != nullptr) {
        *cold_start = cold;
    }
    auto scores = ScratchScores(n, 0);
    if (cold) {
        for (size_t i = 0; i < n; ++i) {
            scores[i] = c.popularity[i];
        }
    } else {
        std::fill(scores.begin(), scores.end(), 0.f);
        // The stored user state is only valid if the request adds no new item.
        const bool same = user >= 0 && hist.size() == c.seen.RowSize(static_cast<uint32_t>(user));
        Score(same ? user : -1, hist, scores);
    }
    constexpr float kOut = -std::numeric_limits<float>::infinity();
    if (candidates != nullptr) {
        // Keep only candidates: move their scores aside, blank everything, put them back.
        std::vector<std::pair<uint32_t, float>> keep;
        keep.reserve(candidates->size());
        for (const auto& id : *candidates) {
            int64_t i = c.items.Find(id);
            if (i >= 0) {
                keep.emplace_back(static_cast<uint32_t>(i), scores[i]);
            }
        }
        std::fill(scores.begin(), scores.end(), kOut);
        for (auto [i, s] : keep) {
            scores[i] = std::isfinite(s) ? s : std::numeric_limits<float>::lowest();
        }
    }
    for (const auto& id : exclude) {
        int64_t i = c.items.Find(id);
        if (i >= 0) {
            scores[i] = kOut;
        }
    }
    if (exclude_seen) {
        for (uint32_t i : hist) {
            scores[i] = kOut;
        }
    }
    std::vector<IndexScore> top;
    SelectTopK(scores, c.pop_rank, k, top);
    std::vector<ScoredItem> out;
    out.reserve(top.size());
    for (const auto& t : top) {
        out.push_back({c.items.Id(t.item), t.score});
    }
    return out;
}

bool BaseModel::RelatedScores(uint32_t, std::span<float>) const { return false; }

std::vector<ScoredItem> BaseModel::Related(const std::string& item_id, size_t k) const {
    const Catalog& c = *catalog_;
    int64_t item = c.items.Find(item_id);
    auto scores = ScratchScores(c.items.size(), 0);
    bool have = false;
    if (item >= 0) {
        std::fill(scores.begin(), scores.end(), -std::numeric_limits<float>::infinity());
        have = RelatedScores(static_cast<uint32_t>(item), scores);
    }
    if (!have) {
        std::copy(c.popularity.begin(), c.popularity.end(), scores.begin());
    }
    if (item >= 0) {
        scores[item] = -std::numeric_limits<float>::infinity();
    }
    std::vector<IndexScore> top;
    SelectTopK(scores, c.pop_rank, k, top);
    std::vector<ScoredItem> out;
    for (const auto& t : top) {
        out.push_back({c.items.Id(t.item), t.score});
    }
    return out;
}

std::vector<std::string> BaseModel::SeenItems(const std::string& user_id) const {
    const Catalog& c = *catalog_;
    std::vector<std::string> out;
    int64_t u = c.users.Find(user_id);
    if (u >= 0) {
        for (uint64_t p = c.seen.offsets[u]; p < c.seen.offsets[u + 1]; ++p) {
            out.push_back(c.items.Id(c.seen.indices[p]));
        }
    }
    return out;
}

void WriteModelPayload(const BaseModel& m, ArtifactWriter& w) {
    w.String(m.Algorithm());
    w.String(m.Info().dump());
    m.catalog().Save(w);
    m.SavePayload(w);
}

std::string BaseModel::Serialize() const {
    ArtifactWriter w;
    WriteModelPayload(*this, w);
    return WrapPayload(w.buffer());
}

void BaseModel::Save(const std::string& path) const { WriteArtifactFile(path, Serialize()); }

}  // namespace recs::engine::detail

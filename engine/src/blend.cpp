// Weighted blend of generators. Each generator's scores are divided by the user's largest
// absolute score, then summed with weights - given, or chosen on a validation split carved from
// the training data (coordinate ascent on nDCG@10 of the union of the generators' top lists).
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "algorithms.hpp"
#include "ltr_features.hpp"

namespace recs::engine::detail {
namespace {

struct BlendConfig {
    std::vector<std::string> names;
    std::vector<nlohmann::json> params;
    std::vector<Trainer> trainers;
    std::vector<float> weights;  // empty: choose on validation
    double fit_ratio = 0.75;
    uint64_t seed = 42;
    int64_t candidates = 100;
};

void Normalise(std::span<float> s) {
    float m = 0;
    for (float v : s) {
        if (std::isfinite(v)) {
            m = std::max(m, std::fabs(v));
        }
    }
    const float inv = m > 0 ? 1.f / m : 0.f;
    for (float& v : s) {
        v = std::isfinite(v) ? v * inv : 0.f;
    }
}

class BlendModel final : public BaseModel {
public:
    BlendModel(std::shared_ptr<const Catalog> c,
               nlohmann::json info,
               std::vector<std::unique_ptr<BaseModel>> parts,
               std::vector<float> weights)
        : BaseModel(std::move(c), std::move(info)),
          parts_(std::move(parts)),
          weights_(std::move(weights)) {}
    std::string_view Algorithm() const override { return "blend"; }
    void Score(int64_t user,
               std::span<const uint32_t> history,
               std::span<float> scores) const override {
        thread_local std::vector<float> part;
        std::fill(scores.begin(), scores.end(), 0.f);
        for (size_t g = 0; g < parts_.size(); ++g) {
            part.assign(scores.size(), 0.f);
            parts_[g]->Score(user, history, part);
            Normalise(part);
            for (size_t j = 0; j < scores.size(); ++j) {
                scores[j] += weights_[g] * part[j];
            }
        }
    }
    bool RelatedScores(uint32_t item, std::span<float> scores) const override {
        for (const auto& p : parts_) {
            if (p->RelatedScores(item, scores)) {
                return true;
            }
        }
        return false;
    }
    void SavePayload(ArtifactWriter& w) const override {
        w.Vector(weights_);
        for (const auto& p : parts_) {
            WriteSubModel(w, *p);
        }
    }

private:
    std::vector<std::unique_ptr<BaseModel>> parts_;
    std::vector<float> weights_;
};

std::vector<std::unique_ptr<BaseModel>> TrainParts(const BlendConfig& c,
                                                   const InteractionMatrix& m,
                                                   const std::shared_ptr<const Catalog>& cat,
                                                   const TrainContext& ctx,
                                                   double p0,
                                                   double p1) {
    std::vector<std::unique_ptr<BaseModel>> parts;
    for (size_t g = 0; g < c.trainers.size(); ++g) {
        const double a = p0 + (p1 - p0) * static_cast<double>(g) / c.trainers.size();
        const double b = p0 + (p1 - p0) * static_cast<double>(g + 1) / c.trainers.size();
        TrainContext sub{{}, ctx.cancel};
        if (ctx.progress) {
            sub.progress = [&ctx, a, b](double p) { ctx.progress(a + (b - a) * p); };
        }
        parts.push_back(c.trainers[g](m, cat, sub));
        parts.back()->mutable_info()["hyperparameters"] = c.params[g];
    }
    return parts;
}

// Chooses weights on (fit, held_out): per validation user, the union of the generators' top
// lists with their normalised scores; coordinate ascent over a weight grid.
std::vector<float> ChooseWeights(const BlendConfig& c,
                                 const InteractionMatrix& m,
                                 const TrainContext& ctx,
                                 nlohmann::json& info) {
    std::vector<std::pair<uint32_t, uint32_t>> held_out;
    auto fit = StratifiedSubMatrix(m, c.fit_ratio, c.seed, held_out);
    auto fit_cat = Catalog::FromMatrix(fit);
    auto parts = TrainParts(c, fit, fit_cat, ctx, 0.0, 0.5);
    std::unordered_map<uint32_t, std::unordered_set<uint32_t>> positives;
    for (const auto& [u, i] : held_out) {
        if (fit.by_user.RowSize(u) > 0) {
            positives[u].insert(i);
        }
    }
    const size_t ng = parts.size();
    const size_t n = fit.items.size();
    FeatureRows rows;  // x holds ng normalised scores per row
    std::vector<unsigned> groups;
    std::vector<std::vector<float>> s(ng, std::vector<float>(n));
    for (const auto& [u, pos] : positives) {
        std::span<const uint32_t> hist(fit.by_user.indices.data() + fit.by_user.offsets[u],
                                       fit.by_user.RowSize(u));
        std::unordered_set<uint32_t> cand;
        for (size_t g = 0; g < ng; ++g) {
            std::fill(s[g].begin(), s[g].end(), 0.f);
            parts[g]->Score(u, hist, s[g]);
            Normalise(s[g]);
            for (uint32_t h : hist) {
                s[g][h] = -INFINITY;
            }
            std::vector<IndexScore> top;
            SelectTopK(s[g], fit_cat->pop_rank, static_cast<size_t>(c.candidates), top);
            for (const auto& t : top) {
                cand.insert(t.item);
            }
        }
        for (uint32_t item : cand) {
            for (size_t g = 0; g < ng; ++g) {
                rows.x.push_back(s[g][item]);
            }
            rows.labels.push_back(pos.count(item) != 0 ? 1.f : 0.f);
        }
        groups.push_back(static_cast<unsigned>(cand.size()));
        rows.relevant.push_back(static_cast<unsigned>(pos.size()));
    }
    std::vector<float> w(ng, 0.f);
    w[0] = 1.f;
    std::vector<float> scores(rows.labels.size());
    auto evaluate = [&]() {
        for (size_t r = 0; r < scores.size(); ++r) {
            float v = 0;
            for (size_t g = 0; g < ng; ++g) {
                v += w[g] * rows.x[r * ng + g];
            }
            scores[r] = v;
        }
        return GroupNdcg(scores, rows.labels, groups, rows.relevant, 10);
    };
    double best = evaluate();
    const float grid[] = {0.f, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 1.f, 1.5f, 2.f};
    for (int pass = 0; pass < 3; ++pass) {
        for (size_t g = 1; g < ng; ++g) {
            float best_v = w[g];
            for (float v : grid) {
                w[g] = v;
                double score = evaluate();
                if (score > best + 1e-5) {
                    best = score;
                    best_v = v;
                }
            }
            w[g] = best_v;
        }
    }
    info["validation_ndcg"] = best;
    return w;
}

Trainer Parse(Params& p) {
    BlendConfig c;
    const nlohmann::json* gens = p.Object("generators");
    nlohmann::json def = {{"ease", {{"lambda", 250}}}, {"item_knn", {{"neighbors", 100}}}};
    for (const auto& [name, hp] : (gens != nullptr ? *gens : def).items()) {
        if (!hp.is_object()) {
            Params::Fail("generators." + name, "must be an object of hyperparameters");
        }
        c.names.push_back(name);
        c.params.push_back(hp);
        c.trainers.push_back(ParseSubModel(name, hp, "generators." + name));
    }
    if (c.names.empty() || c.names.size() > 8) {
        Params::Fail("generators", "must name 1 to 8 algorithms");
    }
    if (const nlohmann::json* w = p.Object("weights")) {
        for (const auto& name : c.names) {
            if (!w->contains(name) || !(*w)[name].is_number() ||
                !std::isfinite((*w)[name].get<double>())) {
                Params::Fail("weights." + name, "a number is required for every generator");
            }
            c.weights.push_back((*w)[name].get<float>());
        }
    }
    c.fit_ratio = p.Number("fit_ratio", 0.75, 0.05, 0.95);
    c.seed = static_cast<uint64_t>(p.Int("seed", 42, 0, INT64_MAX));
    c.candidates = p.Int("candidates", 100, 1, 10000);
    return [c](const InteractionMatrix& m, std::shared_ptr<const Catalog> cat,
               const TrainContext& ctx) -> std::unique_ptr<BaseModel> {
        nlohmann::json info{{"algorithm", "blend"}};
        std::vector<float> weights = c.weights;
        if (weights.empty()) {
            weights = m.by_user.nnz() > 0 && c.names.size() > 1
                          ? ChooseWeights(c, m, ctx, info)
                          : std::vector<float>(c.names.size(), 1.f);
        }
        for (size_t g = 0; g < c.names.size(); ++g) {
            info["weights"][c.names[g]] = weights[g];
        }
        auto parts = TrainParts(c, m, cat, ctx, c.weights.empty() ? 0.5 : 0.0, 1.0);
        return std::make_unique<BlendModel>(std::move(cat), std::move(info), std::move(parts),
                                            std::move(weights));
    };
}

std::unique_ptr<BaseModel> Load(std::shared_ptr<const Catalog> c,
                                nlohmann::json info,
                                ArtifactReader& r) {
    auto weights = r.Vector<float>();
    if (weights.empty() || weights.size() > 8) {
        ArtifactReader::Fail("bad blend weights");
    }
    std::vector<std::unique_ptr<BaseModel>> parts;
    for (float& w : weights) {
        if (!std::isfinite(w)) {
            w = 0;
        }
        parts.push_back(ReadSubModel(r, c));
    }
    return std::make_unique<BlendModel>(std::move(c), std::move(info), std::move(parts),
                                        std::move(weights));
}

}  // namespace

const AlgorithmSpec& BlendSpec() {
    static const AlgorithmSpec kSpec{"blend", true, &Parse, &Load};
    return kSpec;
}

}  // namespace recs::engine::detail

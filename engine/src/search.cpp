#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "params.hpp"
#include "recs/core/error.hpp"
#include "recs/engine/eval.hpp"

namespace recs::engine {

nlohmann::json DefaultSearchGrid(std::string_view algorithm) {
    if (algorithm == "ease") {
        return {{"lambda", {50, 100, 200, 300, 500, 1000}}};
    }
    if (algorithm == "item_knn") {
        return {{"neighbors", {20, 50, 100, 200}}, {"similarity", {"cosine", "jaccard"}}};
    }
    if (algorithm == "ials") {
        return {{"factors", {64, 128}},
                {"regularization", {5.0, 20.0, 50.0, 100.0}},
                {"alpha", {2.0, 5.0, 10.0}}};
    }
    if (algorithm == "assoc_rules") {
        return {{"min_confidence", {0.01, 0.05, 0.1}}};
    }
    return nlohmann::json::object();
}

SearchResult SearchHyperparameters(std::string_view algorithm,
                                   const nlohmann::json& base,
                                   const nlohmann::json& grid,
                                   const std::vector<Interaction>& train,
                                   const SplitOptions& options,
                                   size_t k,
                                   size_t max_trials,
                                   const TrainContext& ctx) {
    if (!grid.is_object()) {
        throw core::Error(core::ErrorCode::kUnprocessable, "search grid must be an object", "grid");
    }
    // Cartesian product of the grid.
    std::vector<nlohmann::json> points{base.is_object() ? base : nlohmann::json::object()};
    for (const auto& [name, values] : grid.items()) {
        if (!values.is_array() || values.empty()) {
            throw core::Error(core::ErrorCode::kUnprocessable,
                              "grid values must be a non-empty array", "grid." + name);
        }
        std::vector<nlohmann::json> next;
        for (const auto& p : points) {
            for (const auto& v : values) {
                auto q = p;
                q[name] = v;
                next.push_back(std::move(q));
            }
        }
        points = std::move(next);
    }
    if (max_trials > 0 && max_trials < points.size()) {
        std::mt19937_64 rng(options.seed);
        std::shuffle(points.begin(), points.end(), rng);
        points.resize(max_trials);
    }
    SplitResult split = Split(train, options);
    SearchResult result;
    result.best_score = -1;
    for (size_t i = 0; i < points.size(); ++i) {
        TrainContext sub;
        sub.cancel = ctx.cancel;
        if (ctx.progress) {
            sub.progress = [&ctx, i, n = points.size()](double p) {
                ctx.progress((static_cast<double>(i) + 0.9 * p) / static_cast<double>(n));
            };
        }
        auto model = Train(algorithm, points[i], split.train, sub);
        Metrics m = Evaluate(*model, split.train, split.test, k);
        result.trials.emplace_back(points[i], m.ndcg);
        if (m.ndcg > result.best_score) {
            result.best_score = m.ndcg;
            result.best = points[i];
        }
        detail::Checkpoint(ctx, static_cast<double>(i + 1) / static_cast<double>(points.size()));
    }
    return result;
}

}  // namespace recs::engine

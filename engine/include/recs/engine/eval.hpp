#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recs/engine/model.hpp"

namespace recs::engine {

/// Counters of a data file read: lines seen, interactions parsed, lines rejected.
struct ReadStats {
    size_t lines = 0;
    size_t parsed = 0;
    size_t bad = 0;
    std::vector<std::string> bad_examples;  ///< up to 5 "line N: reason" strings
};

/// Parses MovieLens-style interactions: CSV with a header (user,item,rating,timestamp as in
/// ml-latest-small/ratings.csv) or whitespace/tab separated without header (user item rating
/// timestamp as in ml-100k u.data). Rating and timestamp are optional. Bad lines are counted in
/// `stats`, never fatal.
std::vector<Interaction> ParseInteractions(std::istream& in, ReadStats* stats);

/// Reads a file with ParseInteractions. Throws core::Error(kNotFound) if it cannot be opened.
std::vector<Interaction> ReadInteractionsFile(const std::string& path, ReadStats* stats);

/// How to hold out test interactions.
enum class SplitKind {
    kItemStratified,  ///< per item, a seeded random `ratio` of its interactions go to train
    kUserStratified,  ///< per user, a seeded random `ratio` of its interactions go to train
    kTemporal,        ///< per user, the earliest `ratio` go to train, the latest are held out
};

/// Parses "item-stratified", "user-stratified" or "temporal".
std::optional<SplitKind> ParseSplitKind(std::string_view name);

struct SplitOptions {
    SplitKind kind = SplitKind::kItemStratified;
    double ratio = 0.75;  ///< fraction kept for training, in (0, 1)
    uint64_t seed = 42;
};

struct SplitResult {
    std::vector<Interaction> train;
    std::vector<Interaction> test;
};

/// Splits like the Microsoft recommenders python_stratified_split / python_chrono_split: per
/// group (item or user) the first round(ratio * n) interactions, in seeded random or time
/// order, go to train (round half to even, as numpy). Deterministic for a seed.
SplitResult Split(const std::vector<Interaction>& data, const SplitOptions& options);

/// Ranking metrics at k, averaged over evaluated users (users with test items who are known
/// to the model). Relevance is binary: every held-out interaction is relevant.
struct Metrics {
    size_t k = 10;
    size_t users = 0;      ///< users evaluated
    double precision = 0;  ///< hits / k
    double recall = 0;     ///< hits / relevant
    double ndcg = 0;       ///< binary gain, log2 discount
    double map = 0;        ///< sum of precision at hits / relevant (recommenders map_at_k)
    double hit_rate = 0;   ///< users with at least one hit
    double mrr = 0;        ///< 1 / rank of the first hit
    double coverage = 0;   ///< distinct recommended items / catalogue size
    double seconds = 0;    ///< wall time of the evaluation

    nlohmann::json ToJson() const;
};

/// Evaluates `model` (trained on `train`) on `test`: for every user of test who is in train,
/// recommends k items excluding the user's train items and compares them with the user's test
/// items. Runs on `threads` threads (0 = all cores); `progress` gets 0..1.
Metrics Evaluate(const Model& model,
                 const std::vector<Interaction>& train,
                 const std::vector<Interaction>& test,
                 size_t k = 10,
                 int threads = 0,
                 const ProgressFn& progress = {});

/// One evaluated user's metrics at k (for intervals over users) and what was recommended.
struct UserMetrics {
    std::string user;
    double precision = 0, recall = 0, ndcg = 0, map = 0, hit = 0, mrr = 0;
    std::vector<std::string> recommended;
};

/// The per-user terms that Evaluate averages, for the same users, sorted by user id.
std::vector<UserMetrics> EvaluateUsers(const Model& model,
                                       const std::vector<Interaction>& train,
                                       const std::vector<Interaction>& test,
                                       size_t k = 10,
                                       int threads = 0);

/// Result of a hyperparameter search.
struct SearchResult {
    nlohmann::json best;    ///< the best hyperparameters (grid point merged on base)
    double best_score = 0;  ///< its validation nDCG@k
    std::vector<std::pair<nlohmann::json, double>> trials;  ///< every point and its score
};

/// Grid search (or seeded random search when `max_trials` is smaller than the grid) of
/// `algorithm` on a validation split carved from `train` (item-stratified, `options`); each
/// point of `grid` (an object name -> array of values) is merged on `base` and scored by
/// validation nDCG@k. Never looks at any test set. Throws like Train for invalid values.
SearchResult SearchHyperparameters(std::string_view algorithm,
                                   const nlohmann::json& base,
                                   const nlohmann::json& grid,
                                   const std::vector<Interaction>& train,
                                   const SplitOptions& options,
                                   size_t k = 10,
                                   size_t max_trials = 0,
                                   const TrainContext& ctx = {});

/// The default search grid of an algorithm for SearchHyperparameters (an empty object when
/// there is nothing to tune).
nlohmann::json DefaultSearchGrid(std::string_view algorithm);

}  // namespace recs::engine

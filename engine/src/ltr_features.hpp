#pragma once

#include <memory>
#include <vector>

#include "base_model.hpp"

namespace recs::engine::detail {

/// The candidate generators whose scores feed the ranker (all share one catalogue).
struct Generators {
    std::unique_ptr<BaseModel> ease;
    std::unique_ptr<BaseModel> knn;
    std::unique_ptr<BaseModel> ials;
};

inline constexpr size_t kNumFeatures = 23;

/// Activity periods in days: when each user was active and when each item was consumed.
/// Items released after a user left are unlikely; time features let the ranker learn that.
struct TimeStats {
    std::vector<float> user_first, user_last, user_mean;
    std::vector<float> item_first, item_mean;
    std::vector<uint64_t> item_offsets;  ///< item i's times: item_times[offsets[i]..[i+1])
    std::vector<float> item_times;       ///< sorted ascending per item

    /// Share of item i's events within [from, to] (days).
    float ShareWithin(uint32_t item, float from, float to) const;

    static TimeStats FromMatrix(const InteractionMatrix& m);
    void Save(ArtifactWriter& w) const;
    /// Throws via ArtifactReader::Fail when the sizes disagree with the catalogue.
    static TimeStats Load(ArtifactReader& r, size_t users, size_t items);
};

/// Candidates of one or many users with their feature rows (row-major, kNumFeatures wide).
struct FeatureRows {
    std::vector<uint32_t> items;
    std::vector<float> x;
    std::vector<float> labels;
    std::vector<float> ease_scores;  ///< last user's EASE scores over the catalogue
    double recall = 0;               ///< share of validation items that were candidates
    std::vector<unsigned> relevant;  ///< per group: the user's number of validation items
};

/// Terms of the linear ranker, computed from one feature row: EASE, item-kNN and iALS scores
/// (each divided by the user's maximum), item popularity percentile, and two time penalties
/// (the item was first consumed after the user's last activity; its mean time is after it).
/// The in-period shares (features 21, 22) are left to the XGBoost ranker: as linear terms they
/// lowered nested-validation nDCG (0.2271 -> 0.2262).
inline constexpr size_t kLinearTerms = 6;
void LinearTerms(const float* features, float* terms);

/// Fits linear weights (EASE weight fixed at 1) by coordinate ascent on the groups' nDCG@10.
std::vector<float> FitLinear(const FeatureRows& all,
                             const std::vector<unsigned>& groups,
                             double* best_ndcg);

/// Mean nDCG@k over groups of `scores` (rows in group order), with each group's ideal DCG
/// from its full number of relevant items (as the offline metric does).
double GroupNdcg(const std::vector<float>& scores,
                 const std::vector<float>& labels,
                 const std::vector<unsigned>& groups,
                 const std::vector<unsigned>& relevant,
                 size_t k);

/// Replaces `rows` with the top `n` EASE candidates (history excluded) of a user and features.
/// `time_user` indexes `times` (-1: unknown, time features missing).
void BuildFeatures(const Generators& g,
                   const Catalog& cat,
                   const TimeStats& times,
                   int64_t time_user,
                   int64_t user,
                   std::span<const uint32_t> history,
                   size_t n,
                   FeatureRows& rows);

/// Item-stratified split of a matrix that keeps its id maps: per item, a seeded random
/// round(ratio * n) of its users stay in the returned matrix; the others go to `held_out` as
/// (user, item) index pairs. The same protocol as engine::Split, at the index level.
InteractionMatrix StratifiedSubMatrix(const InteractionMatrix& m,
                                      double ratio,
                                      uint64_t seed,
                                      std::vector<std::pair<uint32_t, uint32_t>>& held_out);

/// Appends the labelled rows of every user of `validation` known to `fit`; groups gets each
/// user's row count (the LambdaMART query groups).
void CollectTrainingRows(const Generators& g,
                         const Catalog& cat,
                         const TimeStats& times,
                         const InteractionMatrix& fit,
                         const std::vector<std::pair<uint32_t, uint32_t>>& validation,
                         size_t n,
                         FeatureRows& all,
                         std::vector<unsigned>& groups);

}  // namespace recs::engine::detail

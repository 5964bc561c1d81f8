#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "artifact.hpp"
#include "params.hpp"
#include "recs/engine/interaction_matrix.hpp"
#include "recs/engine/model.hpp"

namespace recs::engine::detail {

/// What every model knows about its training data: ids, each user's seen items and the item
/// popularity that answers cold-start requests.
struct Catalog {
    IdIndex users;
    IdIndex items;
    Csr seen;                        ///< users x items, the training matrix
    std::vector<float> popularity;   ///< per item, sum of (decayed) weights
    std::vector<uint32_t> pop_rank;  ///< per item, 0 = most popular (ties by index)

    static std::shared_ptr<const Catalog> FromMatrix(const InteractionMatrix& m);
    void Save(ArtifactWriter& w) const;
    static std::shared_ptr<const Catalog> Load(ArtifactReader& r);
    void ComputeRanks();
};

/// An item index with its score, used by the index-level API.
struct IndexScore {
    uint32_t item;
    float score;
};

/// Base of all models: id mapping, cold start, exclusion, candidates, top-k, artifact framing.
/// Subclasses implement Score (dense scores over the catalogue) and their payload.
class BaseModel : public Model {
public:
    BaseModel(std::shared_ptr<const Catalog> catalog, nlohmann::json info);

    // Model
    using Model::Recommend;
    std::vector<ScoredItem> Recommend(const std::string& user_id,
                                      const std::vector<std::string>& history,
                                      size_t k,
                                      const std::unordered_set<std::string>& exclude,
                                      const std::vector<std::string>* candidates,
                                      bool* cold_start,
                                      bool exclude_seen) const override;
    std::vector<ScoredItem> Related(const std::string& item_id, size_t k) const override;
    void Save(const std::string& path) const override;
    std::string Serialize() const override;
    size_t NumUsers() const override { return catalog_->users.size(); }
    size_t NumItems() const override { return catalog_->items.size(); }
    std::vector<std::string> SeenItems(const std::string& user_id) const override;
    nlohmann::json Info() const override { return info_; }

    /// Fills `scores` (size NumItems()) for a user: `user` is the training index or -1,
    /// `history` the sorted distinct item indices (training items plus request history).
    /// Must not throw; items without evidence may get 0 or -inf.
    virtual void Score(int64_t user,
                       std::span<const uint32_t> history,
                       std::span<float> scores) const = 0;
    /// Fills item-to-item scores for `item`; returns false if the model has none.
    virtual bool RelatedScores(uint32_t item, std::span<float> scores) const;
    /// Writes the algorithm-specific part of the artifact.
    virtual void SavePayload(ArtifactWriter& w) const = 0;

    /// Index-level top-k for a training user (its seen items excluded), used by evaluation,
    /// blends and the ranker: scores via Score, ties broken by popularity.
    std::vector<IndexScore> TopForUser(int64_t user,
                                       std::span<const uint32_t> history,
                                       size_t k,
                                       std::span<const uint32_t> exclude) const;
    const Catalog& catalog() const { return *catalog_; }
    const std::shared_ptr<const Catalog>& shared_catalog() const { return catalog_; }
    nlohmann::json& mutable_info() { return info_; }

protected:
    std::shared_ptr<const Catalog> catalog_;
    nlohmann::json info_;
};

/// Selects the k best finite scores (ties: more popular first) into `out`, best first.
void SelectTopK(std::span<const float> scores,
                const std::vector<uint32_t>& pop_rank,
                size_t k,
                std::vector<IndexScore>& out);

/// Parses hyperparameters into a trainer; the trainer builds a model from a matrix.
using Trainer = std::function<std::unique_ptr<BaseModel>(
    const InteractionMatrix&, std::shared_ptr<const Catalog>, const TrainContext&)>;

/// An algorithm of the registry.
struct AlgorithmSpec {
    std::string_view name;
    bool default_binary;
    Trainer (*parse)(Params& p);
    std::unique_ptr<BaseModel> (*load)(std::shared_ptr<const Catalog>,
                                       nlohmann::json info,
                                       ArtifactReader& r);
};

/// The registered algorithms, or null if unknown.
const AlgorithmSpec* FindAlgorithm(std::string_view name);

/// Parses hyperparameters for `algorithm` (data options included) and trains it on `data`.
std::unique_ptr<BaseModel> TrainBase(std::string_view algorithm,
                                     const nlohmann::json& hyperparameters,
                                     const std::vector<Interaction>& data,
                                     const TrainContext& ctx);

/// Loads a model from an artifact payload (after UnwrapPayload).
std::unique_ptr<BaseModel> LoadPayload(ArtifactReader& r);

/// Writes a model's payload (algorithm, info, catalog, algorithm part).
void WriteModelPayload(const BaseModel& m, ArtifactWriter& w);

/// Per-thread scratch buffer of `n` floats; nested users take different slots (0..3).
std::span<float> ScratchScores(size_t n, int slot = 0);

}  // namespace recs::engine::detail

namespace recs::engine::detail {

/// Writes a component model (algorithm, info, payload) sharing its parent's catalogue.
void WriteSubModel(ArtifactWriter& w, const BaseModel& m);

/// Reads a component model written by WriteSubModel, attached to `catalog`.
std::unique_ptr<BaseModel> ReadSubModel(ArtifactReader& r, std::shared_ptr<const Catalog> catalog);

/// Trains a component of a composite model on the parent's matrix (indices shared).
std::unique_ptr<BaseModel> TrainSubModel(std::string_view algorithm,
                                         const nlohmann::json& hyperparameters,
                                         const InteractionMatrix& m,
                                         std::shared_ptr<const Catalog> catalog,
                                         const TrainContext& ctx);

/// Parses a component's hyperparameters now (so errors surface before training); returns
/// the trainer. Errors name the field "hyperparameters.<prefix>.<name>".
Trainer ParseSubModel(std::string_view algorithm,
                      const nlohmann::json& hyperparameters,
                      const std::string& prefix);

/// The interactions of a matrix (binary weights as stored), to re-split training data.
std::vector<Interaction> MatrixInteractions(const InteractionMatrix& m);

}  // namespace recs::engine::detail

#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace recs::engine {

/// One observed interaction of a user with an item. `weight` is the strength of the event
/// (a rating, a purchase count, 1 for a click); `event_type` selects a per-type multiplier from
/// the `event_weights` hyperparameter (empty = the default type). `timestamp` is in seconds.
struct Interaction {
    std::string user;
    std::string item;
    float weight = 1.f;
    int64_t timestamp = 0;
    std::string event_type;
};

/// An item with its score; higher is better. Scores are always finite.
struct ScoredItem {
    std::string item_id;
    float score = 0.f;
};

/// Progress of a training run, in [0, 1], called from the training thread.
using ProgressFn = std::function<void(double)>;

/// What a trainer needs from its caller: a progress sink and a cancellation flag. Both optional.
struct TrainContext {
    ProgressFn progress;
    const std::atomic<bool>* cancel = nullptr;
    /// The most memory the training may allocate for its large buffers (0: no limit). A
    /// trainer that would need more refuses before allocating: core::Error(kUnprocessable)
    /// naming the bytes it needs and the hyperparameter that bounds them.
    size_t memory_budget_bytes = 0;
};

/// A trained recommendation model. Immutable after training or loading; all const methods are
/// safe to call concurrently from many threads.
class Model {
public:
    virtual ~Model();

    /// The algorithm name, one of Algorithms().
    virtual std::string_view Algorithm() const = 0;

    /// Top `k` items for a user. `history` lists the user's recent items (unknown ids ignored);
    /// for a user seen in training it is added to the stored history, for a new user it is the
    /// whole history (models fold it in). Items in `exclude` are never returned; when
    /// `candidates` is not null only those items are ranked. A user unknown to the model with
    /// no known item in `history` gets the popularity ranking and `*cold_start` (if non-null)
    /// is set to true. Never throws for unknown ids; returns fewer than k items if the catalogue
    /// (or candidate list) is smaller. With `exclude_seen`, the user's training items and
    /// `history` are never returned either (without building a set of their ids).
    virtual std::vector<ScoredItem> Recommend(const std::string& user_id,
                                              const std::vector<std::string>& history,
                                              size_t k,
                                              const std::unordered_set<std::string>& exclude,
                                              const std::vector<std::string>* candidates,
                                              bool* cold_start,
                                              bool exclude_seen) const = 0;
    std::vector<ScoredItem> Recommend(const std::string& user_id,
                                      const std::vector<std::string>& history,
                                      size_t k,
                                      const std::unordered_set<std::string>& exclude,
                                      const std::vector<std::string>* candidates,
                                      bool* cold_start) const {
        return Recommend(user_id, history, k, exclude, candidates, cold_start, false);
    }

    /// Items related to `item_id` (item-to-item), best first, without the item itself. An
    /// unknown item gets the most popular items.
    virtual std::vector<ScoredItem> Related(const std::string& item_id, size_t k) const = 0;

    /// Writes the artifact to `path` (overwritten). Throws core::Error(kInternal) on I/O failure.
    virtual void Save(const std::string& path) const = 0;

    /// Serialises the artifact into a byte string (the content Save writes).
    virtual std::string Serialize() const = 0;

    /// Number of users and items known to the model.
    virtual size_t NumUsers() const = 0;
    virtual size_t NumItems() const = 0;

    /// The items the user interacted with in training data (empty for an unknown user).
    virtual std::vector<std::string> SeenItems(const std::string& user_id) const = 0;

    /// Information about the model for people and metrics (algorithm specific keys, e.g. the
    /// EASE pruning loss, the effective hyperparameters).
    virtual nlohmann::json Info() const = 0;
};

/// Trains `algorithm` on `data` with the given hyperparameters (a JSON object or null; unknown
/// names are rejected). Throws core::Error(kUnprocessable, field "hyperparameters.<name>") on an
/// invalid hyperparameter, core::Error(kUnprocessable, field "algorithm") on an unknown
/// algorithm or a catalogue too large for it, and core::Error(kUnavailable) when cancelled.
/// Empty data gives a valid model that answers with nothing.
std::unique_ptr<Model> Train(std::string_view algorithm,
                             const nlohmann::json& hyperparameters,
                             const std::vector<Interaction>& data,
                             const TrainContext& ctx = {});

/// Loads an artifact written by Model::Save. With `expected_sha256` (hex), the file's SHA-256
/// must match it. Throws core::Error(kUnprocessable, field "artifact") for a truncated,
/// corrupted, foreign or mismatching file and kNotFound if it cannot be opened (no detail
/// names the path: it may reach a client).
std::unique_ptr<Model> LoadModel(const std::string& path, std::string_view expected_sha256 = {});

/// Writes `bytes` to `path` atomically and durably: a temporary file of a unique name in the same
/// folder, fsync, rename over `path`, fsync of the folder. Concurrent writers of the same path
/// never write into each other's file. Throws core::Error(kUnavailable) on I/O failure.
void WriteArtifactFile(const std::string& path, std::string_view bytes);

/// Same as LoadModel, from the artifact bytes in memory.
std::unique_ptr<Model> LoadModelFromBuffer(std::string_view bytes);

/// The algorithm names Train accepts.
std::vector<std::string> Algorithms();

}  // namespace recs::engine

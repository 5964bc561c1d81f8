#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "recs/engine/model.hpp"

namespace recs::engine {

/// A bidirectional map between string ids and dense indices 0..size()-1, in insertion order.
class IdIndex {
public:
    /// Index of `id`, adding it if new.
    uint32_t Add(const std::string& id);
    /// Index of `id` or -1 when unknown.
    int64_t Find(std::string_view id) const;
    const std::string& Id(uint32_t index) const { return ids_[index]; }
    const std::vector<std::string>& Ids() const { return ids_; }
    size_t size() const { return ids_.size(); }
    /// Rebuilds from a list of distinct ids. Returns false if the list has duplicates.
    bool Assign(std::vector<std::string> ids);

private:
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::vector<std::string> ids_;
    std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> index_;
};

/// Compressed sparse rows: row r holds indices[offsets[r] .. offsets[r+1]) with their values,
/// indices sorted ascending within a row.
struct Csr {
    uint32_t rows = 0;
    uint32_t cols = 0;
    std::vector<uint64_t> offsets{0};
    std::vector<uint32_t> indices;
    std::vector<float> values;

    size_t nnz() const { return indices.size(); }
    size_t RowSize(uint32_t r) const { return offsets[r + 1] - offsets[r]; }
    /// The transpose (CSC view of the same matrix as a Csr of cols x rows).
    Csr Transposed() const;
    /// True if offsets, indices and sizes are consistent (used when loading artifacts).
    bool Valid() const;
};

/// How interactions become matrix weights.
struct MatrixOptions {
    /// Multiplier per Interaction::event_type; types not listed get `default_event_weight`.
    std::unordered_map<std::string, float> event_weights;
    float default_event_weight = 1.f;
    /// Exponential time decay: weight *= 0.5^((reference_time - timestamp) / half_life).
    /// 0 disables decay. reference_time 0 means the latest timestamp in the data.
    double half_life_seconds = 0;
    int64_t reference_time = 0;
    /// After merging duplicates (weights summed), set every stored weight to 1.
    bool binary = true;
};

/// The user x item interaction matrix of a training set, with both orientations.
struct InteractionMatrix {
    IdIndex users;
    IdIndex items;
    Csr by_user;                 ///< users x items
    Csr by_item;                 ///< items x users
    std::vector<int64_t> times;  ///< aligned with by_user entries: latest timestamp of the pair
    int64_t max_timestamp = 0;

    /// Builds the matrix: ids mapped to dense indices (first appearance order), event-type
    /// weights and decay applied, duplicates (same user and item) merged by summing. Entries
    /// with a non-positive or non-finite resulting weight are dropped.
    static InteractionMatrix Build(const std::vector<Interaction>& data,
                                   const MatrixOptions& options = {});
};

}  // namespace recs::engine

#pragma once

#include "base_model.hpp"

namespace recs::engine::detail {

/// Each user's entries of m.by_user in time order (ties by item index): `order` lists entry
/// positions user by user, `rank[q]` is entry q's place in its user's sequence.
struct TimeOrder {
    std::vector<uint64_t> order;
    std::vector<uint32_t> rank;
};
TimeOrder OrderByTime(const InteractionMatrix& m);

// One spec per algorithm, defined next to its implementation.
const AlgorithmSpec& PopularitySpec();
const AlgorithmSpec& ItemKnnSpec();
const AlgorithmSpec& EaseSpec();
const AlgorithmSpec& IalsSpec();
const AlgorithmSpec& AssocRulesSpec();
const AlgorithmSpec& BlendSpec();
const AlgorithmSpec& LtrSpec();

}  // namespace recs::engine::detail

#pragma once

#include "base_model.hpp"

namespace recs::engine::detail {

// One spec per algorithm, defined next to its implementation.
const AlgorithmSpec& PopularitySpec();
const AlgorithmSpec& ItemKnnSpec();
const AlgorithmSpec& EaseSpec();
const AlgorithmSpec& IalsSpec();
const AlgorithmSpec& AssocRulesSpec();
const AlgorithmSpec& BlendSpec();
const AlgorithmSpec& LtrSpec();

}  // namespace recs::engine::detail

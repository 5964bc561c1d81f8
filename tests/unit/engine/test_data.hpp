#pragma once

#include <random>
#include <string>
#include <vector>

#include "recs/engine/model.hpp"

namespace recs::engine::testing {

/// A small deterministic data set: `users` users, `items` items, two taste clusters (even and
/// odd items) and a popularity skew, so that every algorithm has something to learn.
inline std::vector<Interaction> ClusteredData(int users = 60, int items = 40, uint64_t seed = 7) {
    std::mt19937_64 rng(seed);
    std::vector<Interaction> out;
    for (int u = 0; u < users; ++u) {
        const int cluster = u % 2;
        for (int i = cluster; i < items; i += 2) {
            // Popular items (small ids) are seen more often.
            std::bernoulli_distribution seen(0.85 - 0.7 * i / items);
            if (seen(rng)) {
                out.push_back({"u" + std::to_string(u), "i" + std::to_string(i), 1.f,
                               1000 + static_cast<int64_t>(out.size()), ""});
            }
        }
    }
    return out;
}

}  // namespace recs::engine::testing

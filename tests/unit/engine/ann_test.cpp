#include "recs/engine/ann.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace recs::engine {
namespace {

std::vector<float> Gaussian(size_t n, uint32_t seed, float scale = 1.f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) {
        x = g(rng);
    }
    return v;
}

/// Top-k by a plain double-precision loop: the reference every index is compared with.
std::vector<uint32_t> NaiveTop(const std::vector<float>& items,
                               size_t dim,
                               const float* q,
                               size_t k) {
    const size_t n = items.size() / dim;
    std::vector<std::pair<double, uint32_t>> s(n);
    for (size_t i = 0; i < n; ++i) {
        double d = 0;
        for (size_t j = 0; j < dim; ++j) {
            d += static_cast<double>(items[i * dim + j]) * q[j];
        }
        s[i] = {-d, static_cast<uint32_t>(i)};
    }
    std::partial_sort(s.begin(), s.begin() + static_cast<ptrdiff_t>(k), s.end());
    std::vector<uint32_t> out;
    for (size_t i = 0; i < k; ++i) {
        out.push_back(s[i].second);
    }
    return out;
}

std::vector<uint32_t> Ids(const std::vector<Neighbor>& v) {
    std::vector<uint32_t> out;
    for (const auto& [id, score] : v) {
        out.push_back(id);
    }
    return out;
}

TEST(AnnTest, ExactTopKMatchesNaiveSearch) {
    const size_t n = 5000, dim = 32;
    auto items = Gaussian(n * dim, 1);
    auto queries = Gaussian(20 * dim, 2);
    for (size_t q = 0; q < 20; ++q) {
        auto got = ExactTopK(items.data(), n, dim, queries.data() + q * dim, 10);
        ASSERT_EQ(got.size(), 10u);
        EXPECT_EQ(Ids(got), NaiveTop(items, dim, queries.data() + q * dim, 10));
        EXPECT_TRUE(std::is_sorted(got.begin(), got.end(), [](const auto& a, const auto& b) {
            return a.second > b.second;
        }));
    }
    EXPECT_EQ(ExactTopK(items.data(), 3, dim, queries.data(), 10).size(), 3u);
    EXPECT_TRUE(ExactTopK(items.data(), n, dim, queries.data(), 0).empty());
}

TEST(AnnTest, ExactIndexEqualsFloatSearch) {
    const size_t n = 20000, dim = 64;
    auto items = Gaussian(n * dim, 3, 0.3f);
    auto queries = Gaussian(50 * dim, 4);
    ExactIndex index(items.data(), n, dim);
    for (size_t q = 0; q < 50; ++q) {
        const float* query = queries.data() + q * dim;
        EXPECT_EQ(Ids(index.Search(query, 10)), Ids(ExactTopK(items.data(), n, dim, query, 10)));
    }
}

// Items that differ only below half precision: the half-precision scan cannot order them, so
// the index must notice and still return the float top-k (a rescore-64 shortcut would not).
TEST(AnnTest, ExactIndexStaysExactOnNearTies) {
    const size_t n = 4000, dim = 16;
    auto base = Gaussian(dim, 5);
    auto noise = Gaussian(n * dim, 6, 1e-5f);
    std::vector<float> items(n * dim);
    for (size_t i = 0; i < n; ++i) {
        for (size_t d = 0; d < dim; ++d) {
            items[i * dim + d] = base[d] + noise[i * dim + d];
        }
    }
    ExactIndex index(items.data(), n, dim, 8);
    auto queries = Gaussian(10 * dim, 7);
    for (size_t q = 0; q < 10; ++q) {
        const float* query = queries.data() + q * dim;
        auto got = index.Search(query, 10);
        auto want = ExactTopK(items.data(), n, dim, query, 10);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].second, want[i].second) << "query " << q << " rank " << i;
        }
    }
}

TEST(AnnTest, ExactIndexHandlesValuesBeyondHalfPrecision) {
    const size_t n = 1000, dim = 8;
    auto items = Gaussian(n * dim, 8, 1e5f);
    ExactIndex index(items.data(), n, dim);
    auto query = Gaussian(dim, 9);
    EXPECT_EQ(Ids(index.Search(query.data(), 5)),
              Ids(ExactTopK(items.data(), n, dim, query.data(), 5)));
}

TEST(AnnTest, HnswReachesHighRecall) {
    const size_t n = 5000, dim = 32;
    auto items = Gaussian(n * dim, 10);
    auto queries = Gaussian(50 * dim, 11);
    HnswIndex index(items.data(), n, dim, 16, 100, 2);
    size_t hits = 0;
    for (size_t q = 0; q < 50; ++q) {
        const float* query = queries.data() + q * dim;
        auto got = Ids(index.Search(query, 10, 64));
        auto want = NaiveTop(items, dim, query, 10);
        for (uint32_t id : got) {
            hits += std::count(want.begin(), want.end(), id);
        }
    }
    EXPECT_GE(static_cast<double>(hits) / 500.0, 0.9);
}

}  // namespace
}  // namespace recs::engine

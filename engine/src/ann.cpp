#include "recs/engine/ann.hpp"

// hnswlib 0.6.2's SSE path prefetches one entry past the end of a neighbour list (a heap read
// out of bounds that AddressSanitizer reports when inserting in parallel). Its hand-written
// vectorisation is off; distances use our dispatched kernels instead (DotSpace below).
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "base_model.hpp"
#include "kernels.hpp"
#include "parallel.hpp"

namespace recs::engine {

namespace {

// The `keep` best of n rows into `heap` (a min-heap, unordered), scoring blocks of rows with
// `row_dots(first_row, count, scores)`.
template <typename RowDotsFn>
void ScanTopK(size_t n, size_t keep, RowDotsFn row_dots, std::vector<Neighbor>& heap) {
    constexpr size_t kBlock = 4096;
    float scores[kBlock];
    auto worse = [](const Neighbor& a, const Neighbor& b) { return a.second > b.second; };
    heap.clear();
    heap.reserve(std::min(keep, n) + 1);
    for (size_t b = 0; b < n; b += kBlock) {
        const size_t len = std::min(kBlock, n - b);
        row_dots(b, len, scores);
        for (size_t t = 0; t < len; ++t) {
            const auto i = static_cast<uint32_t>(b + t);
            if (heap.size() < keep) {
                heap.emplace_back(i, scores[t]);
                std::push_heap(heap.begin(), heap.end(), worse);
            } else if (scores[t] > heap.front().second) {
                std::pop_heap(heap.begin(), heap.end(), worse);
                heap.back() = {i, scores[t]};
                std::push_heap(heap.begin(), heap.end(), worse);
            }
        }
    }
}

}  // namespace

std::vector<Neighbor> ExactTopK(
    const float* vectors, size_t n, size_t dim, const float* query, size_t k) {
    k = std::min(k, n);
    std::vector<Neighbor> out;
    if (k == 0) {
        return out;
    }
    ScanTopK(
        n, k,
        [&](size_t first, size_t count, float* scores) {
            detail::RowDots(vectors + first * dim, count, dim, query, scores);
        },
        out);
    std::sort(out.begin(), out.end(), [](const Neighbor& a, const Neighbor& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    out.resize(k);
    return out;
}

ExactIndex::ExactIndex(const float* vectors, size_t n, size_t dim, size_t rescore)
    : full_(vectors, vectors + n * dim), n_(n), dim_(dim), rescore_(rescore) {
    float max_abs = 0.f;
    double max_sq = 0.0;
    for (size_t i = 0; i < n; ++i) {
        double sq = 0.0;
        for (size_t d = 0; d < dim; ++d) {
            const float x = vectors[i * dim + d];
            max_abs = std::max(max_abs, std::fabs(x));
            sq += static_cast<double>(x) * x;
        }
        max_sq = std::max(max_sq, sq);
    }
    // Half precision holds |x| <= 65504; beyond (or with NaN) only the float scan is exact.
    half_.resize(n * dim);
    if (!(max_abs < 6e4f) || !detail::ToHalf(vectors, n * dim, half_.data())) {
        half_.clear();
    }
    // |half score - float score| <= |q| * (rounding of each vector to binary16: relative 2^-11,
    // absolute 2^-25 per subnormal component; plus float accumulation, dim * 2^-24 relative),
    // doubled for margin.
    const double d = static_cast<double>(dim);
    error_per_query_norm_ =
        2.0 * (std::sqrt(max_sq) * (std::ldexp(1.0, -11) + d * std::ldexp(1.0, -24)) +
               std::sqrt(d) * std::ldexp(1.0, -25));
}

std::vector<Neighbor> ExactIndex::Search(const float* query, size_t k, bool* float_scan) const {
    if (float_scan != nullptr) {
        *float_scan = half_.empty();
    }
    if (half_.empty()) {
        return ExactTopK(full_.data(), n_, dim_, query, k);
    }
    const size_t keep = std::min(n_, std::max(k, rescore_));
    std::vector<Neighbor> heap;
    ScanTopK(
        n_, keep,
        [&](size_t first, size_t count, float* scores) {
            detail::RowDotsHalf(half_.data() + first * dim_, count, dim_, query, scores);
        },
        heap);
    // Exactness: every item outside the heap scored at most the heap's minimum in half
    // precision. If that minimum is more than twice the error bound below the k-th best half
    // score, no item outside can beat the k-th best in float; otherwise scan in float.
    if (heap.size() < n_ && !heap.empty()) {
        std::sort(heap.begin(), heap.end(),
                  [](const Neighbor& a, const Neighbor& b) { return a.second > b.second; });
        const double bound = error_per_query_norm_ * std::sqrt(detail::Dot(query, query, dim_));
        const double kth = heap[std::min(k, heap.size()) - 1].second;
        if (!std::isfinite(bound) || !(heap.back().second < kth - 2 * bound)) {
            if (float_scan != nullptr) {
                *float_scan = true;
            }
            return ExactTopK(full_.data(), n_, dim_, query, k);
        }
    }
    for (auto& h : heap) {
        h.second = detail::Dot(full_.data() + static_cast<size_t>(h.first) * dim_, query, dim_);
    }
    std::sort(heap.begin(), heap.end(), [](const Neighbor& a, const Neighbor& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    heap.resize(std::min(k, heap.size()));
    return heap;
}

namespace {

/// Inner-product distance (1 - dot) over float vectors, with the AVX2/AVX-512 dot kernel.
class DotSpace final : public hnswlib::SpaceInterface<float> {
public:
    explicit DotSpace(size_t dim) : dim_(dim) {}
    size_t get_data_size() override { return dim_ * sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return &Distance; }
    void* get_dist_func_param() override { return &dim_; }

private:
    static float Distance(const void* a, const void* b, const void* dim) {
        return 1.f - detail::Dot(static_cast<const float*>(a), static_cast<const float*>(b),
                                 *static_cast<const size_t*>(dim));
    }
    size_t dim_;
};

}  // namespace

struct HnswIndex::Impl {
    explicit Impl(size_t dim) : space(dim) {}
    DotSpace space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
};

HnswIndex::HnswIndex(
    const float* vectors, size_t n, size_t dim, size_t m, size_t ef_construction, int threads)
    : impl_(std::make_unique<Impl>(dim)), n_(n), dim_(dim) {
    impl_->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        &impl_->space, std::max<size_t>(1, n), m, ef_construction, 42);
    if (n > 0) {
        impl_->graph->addPoint(vectors, 0);  // the first point alone, then in parallel
    }
    detail::ParallelFor(n > 0 ? n - 1 : 0, detail::ThreadCount(threads), 256, [&](size_t i, int) {
        impl_->graph->addPoint(vectors + (i + 1) * dim, i + 1);
    });
}

HnswIndex::~HnswIndex() = default;

std::vector<Neighbor> HnswIndex::Search(const float* query, size_t k, size_t ef) const {
    std::vector<Neighbor> out;
    if (n_ == 0 || k == 0) {
        return out;
    }
    // setEf is a plain store shared by all searches; searchKnn takes max(ef_, k), so pass the
    // beam by asking for `ef` results and keeping the best k.
    auto pq = impl_->graph->searchKnn(query, std::max(k, ef));
    out.reserve(pq.size());
    while (!pq.empty()) {
        out.emplace_back(static_cast<uint32_t>(pq.top().second), 1.f - pq.top().first);
        pq.pop();
    }
    std::reverse(out.begin(), out.end());
    if (out.size() > k) {
        out.resize(k);
    }
    return out;
}

size_t HnswIndex::MemoryBytes() const {
    const auto& g = *impl_->graph;
    return g.max_elements_ * g.size_data_per_element_ +
           g.max_elements_ * sizeof(void*);  // level-0 block + upper-level pointers
}

double MeasureRecall(const HnswIndex& index,
                     const float* vectors,
                     size_t n,
                     size_t dim,
                     const float* queries,
                     size_t count,
                     size_t k,
                     size_t ef) {
    double total = 0;
    for (size_t q = 0; q < count; ++q) {
        auto exact = ExactTopK(vectors, n, dim, queries + q * dim, k);
        auto approx = index.Search(queries + q * dim, k, ef);
        std::unordered_set<uint32_t> truth;
        for (const auto& e : exact) {
            truth.insert(e.first);
        }
        size_t hits = 0;
        for (const auto& a : approx) {
            hits += truth.count(a.first);
        }
        total +=
            exact.empty() ? 1.0 : static_cast<double>(hits) / static_cast<double>(exact.size());
    }
    return count > 0 ? total / static_cast<double>(count) : 0.0;
}

}  // namespace recs::engine

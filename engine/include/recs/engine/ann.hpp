#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace recs::engine {

/// An item id (dense index) with its inner-product score.
using Neighbor = std::pair<uint32_t, float>;

/// Exact maximum-inner-product top-k over `n` row-major vectors of `dim` floats (SIMD dot
/// products, runtime-dispatched to AVX2/AVX-512). Best first.
std::vector<Neighbor> ExactTopK(
    const float* vectors, size_t n, size_t dim, const float* query, size_t k);

/// Exact maximum-inner-product search for serving: scans every item over a half-precision copy
/// of the vectors (half the memory traffic of float; the scan is memory bound), re-scores the
/// best `rescore` items in single precision, and proves the result exact with a bound on the
/// half-precision error: when an item outside those `rescore` could still reach the float
/// top-k (near-ties below half precision), it answers with a full float scan. Thread-safe.
class ExactIndex {
public:
    ExactIndex(const float* vectors, size_t n, size_t dim, size_t rescore = 64);
    /// The exact top-k, best first; `*float_scan` (optional) tells whether the bound forced
    /// a full single-precision scan.
    std::vector<Neighbor> Search(const float* query, size_t k, bool* float_scan = nullptr) const;
    size_t size() const { return n_; }

private:
    std::vector<float> full_;
    std::vector<uint16_t> half_;  ///< IEEE binary16 bits, empty when the compiler lacks them
    size_t n_;
    size_t dim_;
    size_t rescore_;
    double error_per_query_norm_ = 0;  ///< bound on |half score - float score| per unit |q|
};

/// Approximate maximum-inner-product search over item vectors with an HNSW graph (hnswlib).
/// Build once, then Search is safe to call from many threads.
class HnswIndex {
public:
    /// Builds the graph over `n` vectors of `dim` floats (copied). `m` is the graph degree,
    /// `ef_construction` the build beam; uses `threads` threads (0 = all cores).
    HnswIndex(const float* vectors,
              size_t n,
              size_t dim,
              size_t m = 16,
              size_t ef_construction = 200,
              int threads = 0);
    ~HnswIndex();
    HnswIndex(const HnswIndex&) = delete;
    HnswIndex& operator=(const HnswIndex&) = delete;

    /// The k best items for `query` with search beam `ef` (>= k), best first.
    std::vector<Neighbor> Search(const float* query, size_t k, size_t ef) const;
    size_t size() const { return n_; }
    /// Approximate memory of the graph and vectors, in bytes.
    size_t MemoryBytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    size_t n_ = 0;
    size_t dim_ = 0;
};

/// Mean recall@k of `index` against exact search over `queries` (row-major, `count` x dim).
double MeasureRecall(const HnswIndex& index,
                     const float* vectors,
                     size_t n,
                     size_t dim,
                     const float* queries,
                     size_t count,
                     size_t k,
                     size_t ef);

}  // namespace recs::engine

#pragma once

#include <cstddef>
#include <vector>

namespace recs::engine::detail {

/// Inverts the symmetric positive definite n x n matrix `a` (column-major, lower triangle
/// read) in place, leaving the full symmetric inverse. Uses LAPACK dpotrf/dpotri from OpenBLAS
/// when available, Eigen's LLT otherwise. Returns false if `a` is not positive definite.
bool InvertSpd(std::vector<double>& a, size_t n);
/// Single-precision variant (half the memory, about twice as fast).
bool InvertSpd(std::vector<float>& a, size_t n);

/// c (n x n, column-major, lower triangle) = a^T a for a row-major m x n float matrix `a`.
void GramLower(const float* a, size_t m, size_t n, float* c);

/// y = A x for a row-major rows x cols float matrix.
void MatVec(const float* a, size_t rows, size_t cols, const float* x, float* y);

/// True when the dense kernels run on OpenBLAS.
bool HaveBlas();

}  // namespace recs::engine::detail

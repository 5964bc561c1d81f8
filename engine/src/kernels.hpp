#pragma once

#include <cstddef>
#include <cstdint>

/// Clones a function for AVX-512, AVX2+FMA and the baseline, picked at load time (ifunc), so
/// the binary stays -march=x86-64-v2 yet the hot loops use the machine's vector width.
/// Not under ThreadSanitizer: an ifunc resolver runs during relocation, before the TSan runtime
/// is up, and crashes when instrumented.
#if defined(__x86_64__) && !defined(__clang__) && defined(__GNUC__) && !defined(__SANITIZE_THREAD__)
#define RECS_SIMD_CLONES \
    __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define RECS_SIMD_CLONES
#endif

namespace recs::engine::detail {

/// Sum of a[i] * b[i].
float Dot(const float* a, const float* b, size_t n);

/// out[r] = dot(m[r * cols ...], x) for r in [0, rows): scores of all items at once.
void RowDots(const float* m, size_t rows, size_t cols, const float* x, float* out);

/// As RowDots over IEEE half-precision rows (bits in uint16_t); false if unsupported.
bool RowDotsHalf(const uint16_t* m, size_t rows, size_t cols, const float* x, float* out);
/// Converts floats to IEEE half-precision bits; false if unsupported.
bool ToHalf(const float* in, size_t n, uint16_t* out);

/// One iALS row update (Hu, Koren, Volinsky 2008) by conjugate gradient, as in `implicit`:
/// solves (gram + sum_i c_i' y_i y_i^T) x = sum_i (1 + c_i') y_i with c_i' = alpha * w_i,
/// warm-started from x. `gram` is f x f (regularisation on its diagonal), `y` the other
/// side's factors, `scratch` 3 f floats.
void ConjugateGradientRow(const float* gram,
                          const float* y,
                          const uint32_t* idx,
                          const float* conf,
                          size_t count,
                          size_t f,
                          int steps,
                          float* x,
                          float* scratch);

}  // namespace recs::engine::detail

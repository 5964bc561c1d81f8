#include "kernels.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace recs::engine::detail {

RECS_SIMD_CLONES
float Dot(const float* a, const float* b, size_t n) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; ++i) {
        s += a[i] * b[i];
    }
    return s;
}

RECS_SIMD_CLONES
void RowDots(const float* m, size_t rows, size_t cols, const float* x, float* out) {
    for (size_t r = 0; r < rows; ++r) {
        const float* row = m + r * cols;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (size_t i = 0; i < cols; ++i) {
            s += row[i] * x[i];
        }
        out[r] = s;
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// Half-precision rows need explicit conversions (vcvtph2ps); the compiler does not vectorise
// _Float16 loops, so these two kernels use intrinsics behind a runtime CPU check.
__attribute__((target("avx512f,f16c"))) static void RowDotsHalf512(
    const uint16_t* m, size_t rows, size_t cols, const float* x, float* out) {
    for (size_t r = 0; r < rows; ++r) {
        const uint16_t* row = m + r * cols;
        __m512 acc = _mm512_setzero_ps();
        size_t i = 0;
        for (; i + 16 <= cols; i += 16) {
            __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i));
            acc = _mm512_fmadd_ps(_mm512_cvtph_ps(h), _mm512_loadu_ps(x + i), acc);
        }
        float s = _mm512_reduce_add_ps(acc);
        for (; i < cols; ++i) {
            s += _cvtsh_ss(row[i]) * x[i];
        }
        out[r] = s;
    }
}

__attribute__((target("avx2,fma,f16c"))) static void RowDotsHalf256(
    const uint16_t* m, size_t rows, size_t cols, const float* x, float* out) {
    for (size_t r = 0; r < rows; ++r) {
        const uint16_t* row = m + r * cols;
        __m256 acc = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 8 <= cols; i += 8) {
            __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i));
            acc = _mm256_fmadd_ps(_mm256_cvtph_ps(h), _mm256_loadu_ps(x + i), acc);
        }
        __m128 lo = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        lo = _mm_hadd_ps(lo, lo);
        lo = _mm_hadd_ps(lo, lo);
        float s = _mm_cvtss_f32(lo);
        for (; i < cols; ++i) {
            s += _cvtsh_ss(row[i]) * x[i];
        }
        out[r] = s;
    }
}

__attribute__((target("f16c"))) static void ToHalfF16c(const float* in, size_t n, uint16_t* out) {
    for (size_t i = 0; i < n; ++i) {
        out[i] = _cvtss_sh(in[i], 0);
    }
}

bool RowDotsHalf(const uint16_t* m, size_t rows, size_t cols, const float* x, float* out) {
    static const bool has512 = __builtin_cpu_supports("avx512f");
    static const bool has256 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                               __builtin_cpu_supports("f16c");
    if (has512) {
        RowDotsHalf512(m, rows, cols, x, out);
    } else if (has256) {
        RowDotsHalf256(m, rows, cols, x, out);
    } else {
        return false;
    }
    return true;
}

bool ToHalf(const float* in, size_t n, uint16_t* out) {
    if (!__builtin_cpu_supports("f16c") || !__builtin_cpu_supports("avx2")) {
        return false;
    }
    ToHalfF16c(in, n, out);
    return true;
}
#else
bool RowDotsHalf(const uint16_t*, size_t, size_t, const float*, float*) { return false; }
bool ToHalf(const float*, size_t, uint16_t*) { return false; }
#endif

RECS_SIMD_CLONES
void ConjugateGradientRow(const float* gram,
                          const float* y,
                          const uint32_t* idx,
                          const float* conf,
                          size_t count,
                          size_t f,
                          int steps,
                          float* x,
                          float* scratch) {
    float* r = scratch;
    float* p = scratch + f;
    float* ap = scratch + 2 * f;
    // r = b - A x
    for (size_t a = 0; a < f; ++a) {
        const float* g = gram + a * f;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (size_t b = 0; b < f; ++b) {
            s += g[b] * x[b];
        }
        r[a] = -s;
    }
    for (size_t t = 0; t < count; ++t) {
        const float* yi = y + static_cast<size_t>(idx[t]) * f;
        float yx = 0;
#pragma omp simd reduction(+ : yx)
        for (size_t b = 0; b < f; ++b) {
            yx += yi[b] * x[b];
        }
        const float coef = (1.f + conf[t]) - conf[t] * yx;
#pragma omp simd
        for (size_t b = 0; b < f; ++b) {
            r[b] += coef * yi[b];
        }
    }
    float rs_old = 0;
#pragma omp simd reduction(+ : rs_old)
    for (size_t b = 0; b < f; ++b) {
        p[b] = r[b];
        rs_old += r[b] * r[b];
    }
    for (int it = 0; it < steps && rs_old > 1e-20f; ++it) {
        for (size_t a = 0; a < f; ++a) {
            const float* g = gram + a * f;
            float s = 0;
#pragma omp simd reduction(+ : s)
            for (size_t b = 0; b < f; ++b) {
                s += g[b] * p[b];
            }
            ap[a] = s;
        }
        for (size_t t = 0; t < count; ++t) {
            const float* yi = y + static_cast<size_t>(idx[t]) * f;
            float yp = 0;
#pragma omp simd reduction(+ : yp)
            for (size_t b = 0; b < f; ++b) {
                yp += yi[b] * p[b];
            }
            const float coef = conf[t] * yp;
#pragma omp simd
            for (size_t b = 0; b < f; ++b) {
                ap[b] += coef * yi[b];
            }
        }
        float pap = 0;
#pragma omp simd reduction(+ : pap)
        for (size_t b = 0; b < f; ++b) {
            pap += p[b] * ap[b];
        }
        if (!(pap > 0)) {
            break;
        }
        const float alpha = rs_old / pap;
        float rs_new = 0;
#pragma omp simd reduction(+ : rs_new)
        for (size_t b = 0; b < f; ++b) {
            x[b] += alpha * p[b];
            r[b] -= alpha * ap[b];
            rs_new += r[b] * r[b];
        }
        const float beta = rs_new / rs_old;
#pragma omp simd
        for (size_t b = 0; b < f; ++b) {
            p[b] = r[b] + beta * p[b];
        }
        rs_old = rs_new;
    }
}

}  // namespace recs::engine::detail

#include "kernels.hpp"

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

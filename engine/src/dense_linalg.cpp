#include "dense_linalg.hpp"

#include <Eigen/Dense>

#ifdef RECS_HAVE_OPENBLAS
#include <cblas.h>

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info);
}
#endif

namespace recs::engine::detail {

bool HaveBlas() {
#ifdef RECS_HAVE_OPENBLAS
    return true;
#else
    return false;
#endif
}

namespace {

#ifdef RECS_HAVE_OPENBLAS
void Potrf(const char* u, const int* n, double* a, int* info) { dpotrf_(u, n, a, n, info); }
void Potri(const char* u, const int* n, double* a, int* info) { dpotri_(u, n, a, n, info); }
void Potrf(const char* u, const int* n, float* a, int* info) { spotrf_(u, n, a, n, info); }
void Potri(const char* u, const int* n, float* a, int* info) { spotri_(u, n, a, n, info); }
#endif

template <typename T>
bool InvertSpdImpl(std::vector<T>& a, size_t n) {
    if (n == 0) {
        return true;
    }
#ifdef RECS_HAVE_OPENBLAS
    const int ni = static_cast<int>(n);
    int info = 0;
    const char uplo = 'L';
    Potrf(&uplo, &ni, a.data(), &info);
    if (info != 0) {
        return false;
    }
    Potri(&uplo, &ni, a.data(), &info);
    if (info != 0) {
        return false;
    }
#else
    using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
    Eigen::Map<M> m(a.data(), static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
    Eigen::LLT<M> llt(m.template selfadjointView<Eigen::Lower>());
    if (llt.info() != Eigen::Success) {
        return false;
    }
    m = llt.solve(M::Identity(m.rows(), m.cols()));
#endif
    // Mirror the lower triangle into the upper one.
    for (size_t j = 0; j < n; ++j) {
        for (size_t i = j + 1; i < n; ++i) {
            a[i * n + j] = a[j * n + i];
        }
    }
    return true;
}

}  // namespace

bool InvertSpd(std::vector<double>& a, size_t n) { return InvertSpdImpl(a, n); }
bool InvertSpd(std::vector<float>& a, size_t n) { return InvertSpdImpl(a, n); }

void GramLower(const float* a, size_t m, size_t n, float* c) {
#ifdef RECS_HAVE_OPENBLAS
    cblas_ssyrk(CblasColMajor, CblasLower, CblasNoTrans, static_cast<int>(n), static_cast<int>(m),
                1.f, a, static_cast<int>(n), 0.f, c, static_cast<int>(n));
#else
    Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> > am(
        a, static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(n));
    Eigen::Map<Eigen::MatrixXf> cm(c, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
    cm.noalias() = am.transpose() * am;
#endif
}

void MatVec(const float* a, size_t rows, size_t cols, const float* x, float* y) {
#ifdef RECS_HAVE_OPENBLAS
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(rows), static_cast<int>(cols), 1.f, a,
                static_cast<int>(cols), x, 1, 0.f, y, 1);
#else
    Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> > am(
        a, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    Eigen::Map<const Eigen::VectorXf> xv(x, static_cast<Eigen::Index>(cols));
    Eigen::Map<Eigen::VectorXf> yv(y, static_cast<Eigen::Index>(rows));
    yv.noalias() = am * xv;
#endif
}

}  // namespace recs::engine::detail

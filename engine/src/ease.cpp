#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "algorithms.hpp"
#include "dense_linalg.hpp"
#include "parallel.hpp"
#include "recs/core/error.hpp"

namespace recs::engine::detail {
namespace {

struct EaseConfig {
    double lambda = 500;
    int64_t max_items = 20000;
    int64_t neighbors = 1024;
    bool double_precision = false;
};

/// EASE (Steck 2019): B = I - P diagMat(1/diag(P)), P = (X^T X + lambda I)^-1, diag(B) = 0.
/// score(j) = sum over history items i of B[i, j]. Served either dense (neighbors = 0) or
/// with each row of B pruned to its `neighbors` largest weights by magnitude.
class EaseModel final : public BaseModel {
public:
    EaseModel(std::shared_ptr<const Catalog> c,
              nlohmann::json info,
              Csr sparse,
              std::vector<float> dense)
        : BaseModel(std::move(c), std::move(info)),
          sparse_(std::move(sparse)),
          dense_(std::move(dense)) {}
    std::string_view Algorithm() const override { return "ease"; }
    void Score(int64_t, std::span<const uint32_t> history, std::span<float> scores) const override {
        const size_t n = NumItems();
        if (!dense_.empty()) {
            float* out = scores.data();
            for (uint32_t i : history) {
                const float* row = dense_.data() + static_cast<size_t>(i) * n;
                for (size_t j = 0; j < n; ++j) {
                    out[j] += row[j];
                }
            }
            return;
        }
        for (uint32_t i : history) {
            for (uint64_t p = sparse_.offsets[i]; p < sparse_.offsets[i + 1]; ++p) {
                scores[sparse_.indices[p]] += sparse_.values[p];
            }
        }
    }
    bool RelatedScores(uint32_t item, std::span<float> scores) const override {
        const size_t n = NumItems();
        if (!dense_.empty()) {
            std::copy_n(dense_.data() + static_cast<size_t>(item) * n, n, scores.begin());
            return true;
        }
        for (uint64_t p = sparse_.offsets[item]; p < sparse_.offsets[item + 1]; ++p) {
            scores[sparse_.indices[p]] = sparse_.values[p];
        }
        return true;
    }
    void SavePayload(ArtifactWriter& w) const override {
        w.Pod<uint8_t>(dense_.empty() ? 0 : 1);
        if (dense_.empty()) {
            w.Matrix(sparse_);
        } else {
            w.Vector(dense_);
        }
    }

private:
    Csr sparse_;
    std::vector<float> dense_;
};

}  // namespace

namespace {

template <typename T>
std::vector<float> EaseWeightsT(const InteractionMatrix& m,
                                double lambda,
                                int64_t max_items,
                                const TrainContext& ctx,
                                nlohmann::json* timings) {
    auto t0 = std::chrono::steady_clock::now();
    auto lap = [&t0, timings](const char* name) {
        auto t1 = std::chrono::steady_clock::now();
        if (timings != nullptr) {
            (*timings)[name] = std::chrono::duration<double>(t1 - t0).count();
        }
        t0 = t1;
    };
    const size_t n = m.items.size();
    if (static_cast<int64_t>(n) > max_items) {
        throw core::Error(core::ErrorCode::kUnprocessable,
                          "EASE needs a dense " + std::to_string(n) + " x " + std::to_string(n) +
                              " matrix; the catalogue has " + std::to_string(n) +
                              " items, more than max_items=" + std::to_string(max_items) +
                              " (raise it or use ials/item_knn)",
                          "hyperparameters.max_items");
    }
    // The Gram matrix (T) and the weights (float) are both dense n x n.
    const double need = static_cast<double>(n) * static_cast<double>(n) *
                        static_cast<double>(sizeof(T) + sizeof(float));
    if (ctx.memory_budget_bytes > 0 && need > static_cast<double>(ctx.memory_budget_bytes)) {
        auto mib = [](double b) { return std::to_string(static_cast<int64_t>(b / (1 << 20))); };
        throw core::Error(core::ErrorCode::kUnprocessable,
                          "EASE on " + std::to_string(n) + " items needs " + mib(need) +
                              " MiB of memory, more than the training budget of " +
                              mib(static_cast<double>(ctx.memory_budget_bytes)) +
                              " MiB (RECS_TRAIN_MEMORY_MB): lower max_items, or use ials or "
                              "item_knn for this catalogue",
                          "hyperparameters.max_items");
    }
    std::vector<T> g(n * n, T{0});
    // Gram matrix X^T X, one column per item: walk the item's users and their rows, so that
    // the accumulated column (n doubles) stays in cache. Columns are independent -> threads.
    const Csr& x = m.by_user;
    const Csr& xt = m.by_item;
    std::atomic<size_t> done{0};
    ParallelFor(n, ThreadCount(0), 16, [&](size_t j, int tid) {
        T* col = g.data() + j * n;
        for (uint64_t p = xt.offsets[j]; p < xt.offsets[j + 1]; ++p) {
            const uint32_t u = xt.indices[p];
            const T wj = xt.values[p];
            for (uint64_t q = x.offsets[u]; q < x.offsets[u + 1]; ++q) {
                col[x.indices[q]] += wj * x.values[q];
            }
        }
        size_t d = done.fetch_add(1) + 1;
        if (tid == 0 && (d & 255) == 0) {
            Checkpoint(ctx, 0.2 * static_cast<double>(d) / static_cast<double>(n));
        }
    });
    for (size_t i = 0; i < n; ++i) {
        g[i * n + i] += static_cast<T>(lambda);
    }
    Checkpoint(ctx, 0.2);
    lap("gram_seconds");
    if (!InvertSpd(g, n)) {
        throw core::Error(core::ErrorCode::kUnprocessable,
                          "EASE Gram matrix is not positive definite; increase lambda",
                          "hyperparameters.lambda");
    }
    Checkpoint(ctx, 0.85);
    lap("inverse_seconds");
    // B[i][j] = -P[i][j] / P[j][j]; P symmetric so row i of B reads column i of P.
    std::vector<double> inv_diag(n);
    for (size_t j = 0; j < n; ++j) {
        inv_diag[j] = -1.0 / g[j * n + j];
    }
    std::vector<float> w(n * n);
    ParallelFor(n, ThreadCount(0), 64, [&](size_t i, int) {
        const T* col = g.data() + i * n;
        float* row = w.data() + i * n;
        for (size_t j = 0; j < n; ++j) {
            row[j] = static_cast<float>(col[j] * inv_diag[j]);
        }
        row[i] = 0.f;
    });
    lap("weights_seconds");
    return w;
}

}  // namespace

/// Computes the dense EASE weight matrix (row-major n x n floats, zero diagonal), with the
/// Gram matrix and its inverse in single or double precision.
std::vector<float> EaseWeights(const InteractionMatrix& m,
                               double lambda,
                               int64_t max_items,
                               bool double_precision,
                               const TrainContext& ctx,
                               nlohmann::json* timings) {
    return double_precision ? EaseWeightsT<double>(m, lambda, max_items, ctx, timings)
                            : EaseWeightsT<float>(m, lambda, max_items, ctx, timings);
}

namespace {

Csr Prune(const std::vector<float>& w, size_t n, size_t keep, double* kept_fraction) {
    std::vector<std::vector<std::pair<uint32_t, float>>> rows(n);
    std::vector<double> total(n, 0.0);
    std::vector<double> kept(n, 0.0);
    const size_t k = std::min(keep, n);
    const int threads = ThreadCount(0);
    std::vector<std::vector<float>> scratch(threads, std::vector<float>(n));
    ParallelFor(n, threads, 16, [&](size_t i, int tid) {
        const float* row = w.data() + i * n;
        auto& a = scratch[tid];
        for (size_t j = 0; j < n; ++j) {
            a[j] = std::fabs(row[j]);
            total[i] += a[j];
        }
        // Threshold = k-th largest magnitude; keep entries above it, then ties up to k.
        std::nth_element(a.begin(), a.begin() + static_cast<ptrdiff_t>(k - 1), a.end(),
                         std::greater<>());
        const float threshold = a[k - 1];
        auto& out = rows[i];
        out.reserve(k);
        for (size_t j = 0; j < n && out.size() < k; ++j) {
            if (row[j] != 0.f && std::fabs(row[j]) > threshold) {
                out.emplace_back(static_cast<uint32_t>(j), row[j]);
            }
        }
        for (size_t j = 0; j < n && out.size() < k; ++j) {
            if (row[j] != 0.f && std::fabs(row[j]) == threshold) {
                out.emplace_back(static_cast<uint32_t>(j), row[j]);
            }
        }
        std::sort(out.begin(), out.end());
        for (const auto& e : out) {
            kept[i] += std::fabs(e.second);
        }
    });
    Csr s;
    s.rows = s.cols = static_cast<uint32_t>(n);
    s.offsets.assign(n + 1, 0);
    double t = 0;
    double kp = 0;
    for (size_t i = 0; i < n; ++i) {
        for (const auto& [j, v] : rows[i]) {
            s.indices.push_back(j);
            s.values.push_back(v);
        }
        s.offsets[i + 1] = s.indices.size();
        t += total[i];
        kp += kept[i];
    }
    *kept_fraction = t > 0 ? kp / t : 1.0;
    return s;
}

Trainer Parse(Params& p) {
    EaseConfig c;
    c.lambda = p.Number("lambda", 500, 1e-6, 1e9);
    c.max_items = p.Int("max_items", 20000, 1, 100000);
    c.neighbors = p.Int("neighbors", 1024, 0, 100000);
    c.double_precision = p.Enum("precision", "float", {"float", "double"}) == "double";
    return [c](const InteractionMatrix& m, std::shared_ptr<const Catalog> cat,
               const TrainContext& ctx) {
        const size_t n = m.items.size();
        nlohmann::json info{{"algorithm", "ease"}};
        std::vector<float> w =
            EaseWeights(m, c.lambda, c.max_items, c.double_precision, ctx, &info["timings"]);
        if (c.neighbors == 0 || static_cast<size_t>(c.neighbors) >= n) {
            info["pruning"] = {{"neighbors", 0}, {"kept_weight_fraction", 1.0}};
            return std::make_unique<EaseModel>(std::move(cat), std::move(info), Csr{},
                                               std::move(w));
        }
        double kept = 1;
        auto t0 = std::chrono::steady_clock::now();
        Csr s = Prune(w, n, static_cast<size_t>(c.neighbors), &kept);
        info["timings"]["prune_seconds"] =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        info["pruning"] = {{"neighbors", c.neighbors}, {"kept_weight_fraction", kept}};
        return std::make_unique<EaseModel>(std::move(cat), std::move(info), std::move(s),
                                           std::vector<float>{});
    };
}

std::unique_ptr<BaseModel> Load(std::shared_ptr<const Catalog> c,
                                nlohmann::json info,
                                ArtifactReader& r) {
    const size_t n = c->items.size();
    if (r.Pod<uint8_t>() == 0) {
        Csr s = r.Matrix();
        if (s.rows != n || s.cols != n) {
            ArtifactReader::Fail("EASE matrix size disagrees with the catalogue");
        }
        return std::make_unique<EaseModel>(std::move(c), std::move(info), std::move(s),
                                           std::vector<float>{});
    }
    auto w = r.Vector<float>();
    if (w.size() != n * n || n == 0) {
        ArtifactReader::Fail("EASE matrix size disagrees with the catalogue");
    }
    for (float& v : w) {
        if (!std::isfinite(v)) {
            v = 0;
        }
    }
    return std::make_unique<EaseModel>(std::move(c), std::move(info), Csr{}, std::move(w));
}

}  // namespace

const AlgorithmSpec& EaseSpec() {
    static const AlgorithmSpec kSpec{"ease", true, &Parse, &Load};
    return kSpec;
}

}  // namespace recs::engine::detail

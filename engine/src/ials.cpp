#include "ials.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "algorithms.hpp"
#include "dense_linalg.hpp"
#include "kernels.hpp"
#include "parallel.hpp"

namespace recs::engine::detail {
namespace {

struct IalsConfig {
    int64_t factors = 64;
    int64_t epochs = 15;
    double alpha = 5;
    double regularization = 20;
    int64_t cg_steps = 3;
    int threads = 0;
    uint64_t seed = 42;
};

// gram = Y^T Y + reg I, f x f row-major (symmetric).
std::vector<float> Gram(const std::vector<float>& y, size_t rows, size_t f, double reg) {
    std::vector<float> g(f * f, 0.f);
    if (rows > 0) {
        GramLower(y.data(), rows, f, g.data());
    }
    for (size_t a = 0; a < f; ++a) {
        for (size_t b = a + 1; b < f; ++b) {
            g[b * f + a] = g[a * f + b];  // column-major lower -> full
        }
        g[a * f + a] += static_cast<float>(reg);
    }
    return g;
}

}  // namespace

IalsModel::IalsModel(std::shared_ptr<const Catalog> c,
                     nlohmann::json info,
                     size_t factors,
                     float alpha,
                     float reg,
                     std::vector<float> users,
                     std::vector<float> items)
    : BaseModel(std::move(c), std::move(info)),
      f_(factors),
      alpha_(alpha),
      reg_(reg),
      users_(std::move(users)),
      items_(std::move(items)) {
    gram_ = Gram(items_, NumItems(), f_, reg_);
    norms_.resize(NumItems());
    for (size_t i = 0; i < NumItems(); ++i) {
        norms_[i] = std::sqrt(Dot(&items_[i * f_], &items_[i * f_], f_));
    }
}

std::vector<float> IalsModel::FoldIn(std::span<const uint32_t> history) const {
    // Exact solve of the user's normal equations with unit weights (confidence 1 + alpha).
    const auto f = static_cast<Eigen::Index>(f_);
    Eigen::MatrixXd a(f, f);
    for (Eigen::Index r = 0; r < f; ++r) {
        for (Eigen::Index c = 0; c < f; ++c) {
            a(r, c) = gram_[r * f + c];
        }
    }
    Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
    for (uint32_t i : history) {
        Eigen::Map<const Eigen::VectorXf> y(&items_[static_cast<size_t>(i) * f_], f);
        Eigen::VectorXd yd = y.cast<double>();
        a.selfadjointView<Eigen::Lower>().rankUpdate(yd, alpha_);
        b += (1.0 + alpha_) * yd;
    }
    Eigen::VectorXd x = a.selfadjointView<Eigen::Lower>().llt().solve(b);
    std::vector<float> out(f_);
    for (size_t k = 0; k < f_; ++k) {
        out[k] = std::isfinite(x[static_cast<Eigen::Index>(k)])
                     ? static_cast<float>(x[static_cast<Eigen::Index>(k)])
                     : 0.f;
    }
    return out;
}

void IalsModel::Score(int64_t user,
                      std::span<const uint32_t> history,
                      std::span<float> scores) const {
    std::vector<float> folded;
    const float* x = nullptr;
    if (user >= 0) {
        x = &users_[static_cast<size_t>(user) * f_];
    } else {
        folded = FoldIn(history);
        x = folded.data();
    }
    RowDots(items_.data(), NumItems(), f_, x, scores.data());
}

bool IalsModel::RelatedScores(uint32_t item, std::span<float> scores) const {
    const float* v = &items_[static_cast<size_t>(item) * f_];
    RowDots(items_.data(), NumItems(), f_, v, scores.data());
    for (size_t j = 0; j < NumItems(); ++j) {
        float d = norms_[item] * norms_[j];
        scores[j] = d > 0 ? scores[j] / d : 0.f;
    }
    return norms_[item] > 0;
}

void IalsModel::SavePayload(ArtifactWriter& w) const {
    w.Pod<uint64_t>(f_);
    w.Pod(alpha_);
    w.Pod(reg_);
    w.Vector(users_);
    w.Vector(items_);
}

namespace {

// Alternating updates: every row of `x` is solved against the fixed `y` side.
void HalfEpoch(const Csr& rows,
               float alpha,
               const std::vector<float>& gram,
               const std::vector<float>& y,
               std::vector<float>& x,
               size_t f,
               int steps,
               int threads,
               const TrainContext& ctx,
               double p0,
               double p1) {
    std::vector<std::vector<float>> scratch(threads, std::vector<float>(3 * f));
    std::vector<std::vector<float>> conf(threads);
    std::atomic<size_t> done{0};
    ParallelFor(rows.rows, threads, 256, [&](size_t u, int tid) {
        const uint64_t b = rows.offsets[u];
        const uint64_t e = rows.offsets[u + 1];
        float* xu = &x[u * f];
        if (b == e) {
            std::fill(xu, xu + f, 0.f);
            return;
        }
        auto& c = conf[tid];
        c.resize(e - b);
        for (uint64_t p = b; p < e; ++p) {
            c[p - b] = alpha * rows.values[p];
        }
        ConjugateGradientRow(gram.data(), y.data(), &rows.indices[b], c.data(), e - b, f, steps, xu,
                             scratch[tid].data());
        size_t d = done.fetch_add(1) + 1;
        if (tid == 0 && (d & 4095) == 0) {
            Checkpoint(ctx, p0 + (p1 - p0) * static_cast<double>(d) / rows.rows);
        }
    });
}

Trainer Parse(Params& p) {
    IalsConfig c;
    c.factors = p.Int("factors", 64, 1, 1024);
    c.epochs = p.Int("epochs", 15, 1, 1000);
    c.alpha = p.Number("alpha", 5, 0, 1e6);
    c.regularization = p.Number("regularization", 20, 1e-9, 1e9);
    c.cg_steps = p.Int("cg_steps", 3, 1, 100);
    c.threads = static_cast<int>(p.Int("threads", 0, 0, 256));
    c.seed = static_cast<uint64_t>(p.Int("seed", 42, 0, INT64_MAX));
    return [c](const InteractionMatrix& m, std::shared_ptr<const Catalog> cat,
               const TrainContext& ctx) {
        const auto f = static_cast<size_t>(c.factors);
        const size_t nu = m.users.size();
        const size_t ni = m.items.size();
        std::vector<float> users(nu * f, 0.f);
        std::vector<float> items(ni * f);
        std::mt19937_64 rng(c.seed);
        std::normal_distribution<float> normal(0.f, 0.01f);
        for (float& v : items) {
            v = normal(rng);
        }
        const int threads = ThreadCount(c.threads);
        const auto steps = static_cast<int>(c.cg_steps);
        const auto alpha = static_cast<float>(c.alpha);
        for (int64_t ep = 0; ep < c.epochs; ++ep) {
            const double base = static_cast<double>(ep) / static_cast<double>(c.epochs);
            const double span = 1.0 / static_cast<double>(c.epochs);
            Checkpoint(ctx, base);
            auto gi = Gram(items, ni, f, c.regularization);
            HalfEpoch(m.by_user, alpha, gi, items, users, f, steps, threads, ctx, base,
                      base + span / 2);
            auto gu = Gram(users, nu, f, c.regularization);
            HalfEpoch(m.by_item, alpha, gu, users, items, f, steps, threads, ctx, base + span / 2,
                      base + span);
        }
        nlohmann::json info{{"algorithm", "ials"}};
        return std::make_unique<IalsModel>(std::move(cat), std::move(info), f, alpha,
                                           static_cast<float>(c.regularization), std::move(users),
                                           std::move(items));
    };
}

std::unique_ptr<BaseModel> Load(std::shared_ptr<const Catalog> c,
                                nlohmann::json info,
                                ArtifactReader& r) {
    auto f = r.Pod<uint64_t>();
    auto alpha = r.Pod<float>();
    auto reg = r.Pod<float>();
    auto users = r.Vector<float>();
    auto items = r.Vector<float>();
    if (f == 0 || f > 4096 || users.size() != c->users.size() * f ||
        items.size() != c->items.size() * f || !std::isfinite(alpha) || !(alpha >= 0) ||
        !std::isfinite(reg) || !(reg > 0)) {
        ArtifactReader::Fail("iALS factor sizes disagree with the catalogue");
    }
    for (auto* v : {&users, &items}) {
        for (float& x : *v) {
            if (!std::isfinite(x)) {
                x = 0;
            }
        }
    }
    return std::make_unique<IalsModel>(std::move(c), std::move(info), f, alpha, reg,
                                       std::move(users), std::move(items));
}

}  // namespace

const AlgorithmSpec& IalsSpec() {
    static const AlgorithmSpec kSpec{"ials", true, &Parse, &Load};
    return kSpec;
}

}  // namespace recs::engine::detail

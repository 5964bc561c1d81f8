#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms.hpp"
#include "parallel.hpp"

namespace recs::engine::detail {

/// How item-to-item similarity is measured.
struct SimilarityOptions {
    std::string measure = "cosine";  ///< cosine, jaccard or lift
    double shrink = 0;               ///< added to the denominator
    int64_t window = 0;              ///< > 0: only pairs this close in a user's time order
    double window_decay = 1;         ///< a pair d events apart counts 1 / d^decay
};

namespace {

struct KnnConfig {
    SimilarityOptions similarity;
    int64_t neighbors = 50;
    int threads = 0;
};

/// Item-to-item model: score(j) = sum over history items i in N(j) of sim(i, j), where N(j)
/// are the K most similar items of j (rows of `neighbors_`). Scoring walks the transpose.
class ItemKnnModel final : public BaseModel {
public:
    ItemKnnModel(std::shared_ptr<const Catalog> c, nlohmann::json info, Csr neighbors)
        : BaseModel(std::move(c), std::move(info)),
          neighbors_(std::move(neighbors)),
          by_source_(neighbors_.Transposed()) {}
    std::string_view Algorithm() const override { return "item_knn"; }
    void Score(int64_t, std::span<const uint32_t> history, std::span<float> scores) const override {
        for (uint32_t i : history) {
            for (uint64_t p = by_source_.offsets[i]; p < by_source_.offsets[i + 1]; ++p) {
                scores[by_source_.indices[p]] += by_source_.values[p];
            }
        }
    }
    bool RelatedScores(uint32_t item, std::span<float> scores) const override {
        for (uint64_t p = neighbors_.offsets[item]; p < neighbors_.offsets[item + 1]; ++p) {
            scores[neighbors_.indices[p]] = neighbors_.values[p];
        }
        return neighbors_.RowSize(item) > 0;
    }
    void SavePayload(ArtifactWriter& w) const override { w.Matrix(neighbors_); }

private:
    Csr neighbors_;  ///< item j -> its K most similar items
    Csr by_source_;  ///< transpose: item i -> the items j having i as a neighbour
};

}  // namespace

TimeOrder OrderByTime(const InteractionMatrix& m) {
    TimeOrder t;
    const Csr& x = m.by_user;
    t.order.resize(x.nnz());
    t.rank.resize(x.nnz());
    for (uint32_t u = 0; u < x.rows; ++u) {
        auto first = t.order.begin() + static_cast<ptrdiff_t>(x.offsets[u]);
        auto last = t.order.begin() + static_cast<ptrdiff_t>(x.offsets[u + 1]);
        std::iota(first, last, x.offsets[u]);
        std::sort(first, last, [&](uint64_t a, uint64_t b) {
            return m.times[a] != m.times[b] ? m.times[a] < m.times[b] : x.indices[a] < x.indices[b];
        });
        for (uint64_t q = x.offsets[u]; q < x.offsets[u + 1]; ++q) {
            t.rank[t.order[q]] = static_cast<uint32_t>(q - x.offsets[u]);
        }
    }
    return t;
}

/// Row j holds the K items most similar to j (similarity of the item x item co-occurrence,
/// or with a window, of co-occurrence within `window` events of each other in users' time
/// order, each pair weighted 1 / distance^decay).
Csr ItemSimilarity(const InteractionMatrix& m,
                   const SimilarityOptions& options,
                   size_t k,
                   int threads,
                   const TrainContext& ctx) {
    const std::string& similarity = options.measure;
    const double shrink = options.shrink;
    const auto window = static_cast<uint32_t>(options.window);
    std::vector<float> distance_weight(window + 1, 1.f);
    for (uint32_t d = 1; d <= window; ++d) {
        distance_weight[d] = static_cast<float>(std::pow(d, -options.window_decay));
    }
    TimeOrder time_order;
    if (window > 0 && m.times.size() == m.by_user.nnz()) {
        time_order = OrderByTime(m);
    }
    const bool windowed = !time_order.order.empty();
    const uint32_t n = static_cast<uint32_t>(m.items.size());
    std::vector<double> sq(n, 0.0);
    for (uint32_t i = 0; i < n; ++i) {
        for (uint64_t p = m.by_item.offsets[i]; p < m.by_item.offsets[i + 1]; ++p) {
            sq[i] += static_cast<double>(m.by_item.values[p]) * m.by_item.values[p];
        }
    }
    const double n_users = std::max<double>(1, static_cast<double>(m.users.size()));
    std::vector<std::vector<std::pair<uint32_t, float>>> rows(n);
    threads = ThreadCount(threads);
    std::vector<std::vector<double>> acc(threads, std::vector<double>(n, 0.0));
    std::vector<std::vector<uint32_t>> touched(threads);
    std::atomic<size_t> done{0};
    ParallelFor(n, threads, 64, [&](size_t ii, int tid) {
        const auto i = static_cast<uint32_t>(ii);
        auto& a = acc[tid];
        auto& t = touched[tid];
        t.clear();
        for (uint64_t p = m.by_item.offsets[i]; p < m.by_item.offsets[i + 1]; ++p) {
            const uint32_t u = m.by_item.indices[p];
            const double wu = m.by_item.values[p];
            if (windowed) {
                const uint64_t begin = m.by_user.offsets[u];
                const uint64_t end = m.by_user.offsets[u + 1];
                const auto* at = std::lower_bound(m.by_user.indices.data() + begin,
                                                  m.by_user.indices.data() + end, i);
                const uint32_t r = time_order.rank[at - m.by_user.indices.data()];
                const uint32_t len = static_cast<uint32_t>(end - begin);
                for (uint32_t d = 1; d <= window; ++d) {
                    for (int64_t other :
                         {static_cast<int64_t>(r) - d, static_cast<int64_t>(r) + d}) {
                        if (other < 0 || other >= len) {
                            continue;
                        }
                        const uint64_t q = time_order.order[begin + static_cast<uint64_t>(other)];
                        const uint32_t j = m.by_user.indices[q];
                        if (a[j] == 0.0) {
                            t.push_back(j);
                        }
                        a[j] += wu * m.by_user.values[q] * distance_weight[d];
                    }
                }
                continue;
            }
            for (uint64_t q = m.by_user.offsets[u]; q < m.by_user.offsets[u + 1]; ++q) {
                const uint32_t j = m.by_user.indices[q];
                if (a[j] == 0.0) {
                    t.push_back(j);
                }
                a[j] += wu * m.by_user.values[q];
            }
        }
        auto& row = rows[i];
        row.reserve(t.size());
        for (uint32_t j : t) {
            const double c = a[j];
            a[j] = 0.0;
            if (j == i || c <= 0) {
                continue;
            }
            double s;
            if (similarity == "jaccard") {
                s = c / (sq[i] + sq[j] - c + shrink);
            } else if (similarity == "lift") {
                s = c * n_users / (sq[i] * sq[j] + shrink);
            } else {
                s = c / (std::sqrt(sq[i] * sq[j]) + shrink);
            }
            if (std::isfinite(s) && s > 0) {
                row.emplace_back(j, static_cast<float>(s));
            }
        }
        if (row.size() > k) {
            std::nth_element(row.begin(), row.begin() + static_cast<ptrdiff_t>(k), row.end(),
                             [](const auto& x, const auto& y) { return x.second > y.second; });
            row.resize(k);
        }
        std::sort(row.begin(), row.end());
        size_t d = done.fetch_add(1) + 1;
        if (tid == 0 && (d & 255) == 0) {
            Checkpoint(ctx, 0.95 * static_cast<double>(d) / n);
        }
    });
    Csr s;
    s.rows = s.cols = n;
    s.offsets.assign(static_cast<size_t>(n) + 1, 0);
    for (uint32_t i = 0; i < n; ++i) {
        s.offsets[i + 1] = s.offsets[i] + rows[i].size();
        for (auto [j, v] : rows[i]) {
            s.indices.push_back(j);
            s.values.push_back(v);
        }
        std::vector<std::pair<uint32_t, float>>().swap(rows[i]);
    }
    return s;
}

namespace {

Trainer Parse(Params& p) {
    KnnConfig c;
    c.similarity.measure = p.Enum("similarity", "cosine", {"cosine", "jaccard", "lift"});
    c.neighbors = p.Int("neighbors", 50, 1, 10000);
    c.similarity.shrink = p.Number("shrink", 0, 0, 1e9);
    c.similarity.window = p.Int("window", 0, 0, 1000);
    c.similarity.window_decay = p.Number("window_decay", 1, 0, 10);
    c.threads = static_cast<int>(p.Int("threads", 0, 0, 256));
    return [c](const InteractionMatrix& m, std::shared_ptr<const Catalog> cat,
               const TrainContext& ctx) {
        Csr sim = ItemSimilarity(m, c.similarity, static_cast<size_t>(c.neighbors), c.threads, ctx);
        nlohmann::json info{{"algorithm", "item_knn"}, {"similarity_nnz", sim.nnz()}};
        return std::make_unique<ItemKnnModel>(std::move(cat), std::move(info), std::move(sim));
    };
}

std::unique_ptr<BaseModel> Load(std::shared_ptr<const Catalog> c,
                                nlohmann::json info,
                                ArtifactReader& r) {
    Csr sim = r.Matrix();
    if (sim.rows != c->items.size() || sim.cols != c->items.size()) {
        ArtifactReader::Fail("similarity matrix size disagrees with the catalogue");
    }
    return std::make_unique<ItemKnnModel>(std::move(c), std::move(info), std::move(sim));
}

}  // namespace

const AlgorithmSpec& ItemKnnSpec() {
    static const AlgorithmSpec kSpec{"item_knn", true, &Parse, &Load};
    return kSpec;
}

}  // namespace recs::engine::detail

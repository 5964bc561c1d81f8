#include <algorithm>
#include <cmath>

#include "algorithms.hpp"
#include "parallel.hpp"

namespace recs::engine::detail {
namespace {

struct RulesConfig {
    double min_support = 2;  // < 1: fraction of baskets, >= 1: basket count
    double min_confidence = 0.01;
    double min_lift = 1.0;
    int64_t max_rules = 100;
    int64_t max_basket = 500;
    double session_gap_minutes = 0;  // > 0: a user's events split into sessions at such gaps
};

/// Baskets x items (values 1): each user's time-ordered events cut wherever two consecutive
/// events are more than `gap_seconds` apart.
Csr SessionBaskets(const InteractionMatrix& m, double gap_seconds) {
    const TimeOrder order = OrderByTime(m);
    const Csr& x = m.by_user;
    Csr b;
    b.cols = x.cols;
    std::vector<uint32_t> basket;
    auto close = [&] {
        if (basket.empty()) {
            return;
        }
        std::sort(basket.begin(), basket.end());
        b.indices.insert(b.indices.end(), basket.begin(), basket.end());
        b.offsets.push_back(b.indices.size());
        basket.clear();
    };
    for (uint32_t u = 0; u < x.rows; ++u) {
        for (uint64_t p = x.offsets[u]; p < x.offsets[u + 1]; ++p) {
            const uint64_t q = order.order[p];
            if (p > x.offsets[u] &&
                static_cast<double>(m.times[q] - m.times[order.order[p - 1]]) > gap_seconds) {
                close();
            }
            basket.push_back(x.indices[q]);
        }
        close();
    }
    b.rows = static_cast<uint32_t>(b.offsets.size() - 1);
    b.values.assign(b.indices.size(), 1.f);
    return b;
}

/// Pairwise association rules a -> b over baskets (each training "user" is a basket or a
/// session: pass session ids as users). score(b) = sum over history items a of conf(a -> b).
class AssocRulesModel final : public BaseModel {
public:
    AssocRulesModel(std::shared_ptr<const Catalog> c,
                    nlohmann::json info,
                    Csr confidence,
                    std::vector<float> lift,
                    std::vector<float> support)
        : BaseModel(std::move(c), std::move(info)),
          confidence_(std::move(confidence)),
          lift_(std::move(lift)),
          support_(std::move(support)) {}
    std::string_view Algorithm() const override { return "assoc_rules"; }
    void Score(int64_t, std::span<const uint32_t> history, std::span<float> scores) const override {
        for (uint32_t a : history) {
            for (uint64_t p = confidence_.offsets[a]; p < confidence_.offsets[a + 1]; ++p) {
                scores[confidence_.indices[p]] += confidence_.values[p];
            }
        }
    }
    bool RelatedScores(uint32_t item, std::span<float> scores) const override {
        for (uint64_t p = confidence_.offsets[item]; p < confidence_.offsets[item + 1]; ++p) {
            scores[confidence_.indices[p]] = confidence_.values[p];
        }
        return confidence_.RowSize(item) > 0;
    }
    void SavePayload(ArtifactWriter& w) const override {
        w.Matrix(confidence_);
        w.Vector(lift_);
        w.Vector(support_);
    }

private:
    Csr confidence_;              ///< a -> b with conf(a -> b) = P(b | a)
    std::vector<float> lift_;     ///< aligned with confidence_ entries
    std::vector<float> support_;  ///< aligned: fraction of baskets holding a and b
};

Trainer Parse(Params& p) {
    RulesConfig c;
    c.min_support = p.Number("min_support", 2, 0, 1e12);
    c.min_confidence = p.Number("min_confidence", 0.01, 0, 1);
    c.min_lift = p.Number("min_lift", 1.0, 0, 1e12);
    c.max_rules = p.Int("max_rules", 100, 1, 100000);
    c.max_basket = p.Int("max_basket", 500, 2, 1000000);
    c.session_gap_minutes = p.Number("session_gap_minutes", 0, 0, 1e7);
    return [c](const InteractionMatrix& m, std::shared_ptr<const Catalog> cat,
               const TrainContext& ctx) {
        const uint32_t n = static_cast<uint32_t>(m.items.size());
        // Baskets: each user's history, or with a session gap, each of its sessions.
        Csr sessions, sessions_by_item;
        const bool by_session = c.session_gap_minutes > 0 && m.times.size() == m.by_user.nnz();
        if (by_session) {
            sessions = SessionBaskets(m, c.session_gap_minutes * 60);
            sessions_by_item = sessions.Transposed();
        }
        const Csr& bu = by_session ? sessions : m.by_user;
        const Csr& bi = by_session ? sessions_by_item : m.by_item;
        const double baskets = std::max<double>(1, static_cast<double>(bu.rows));
        const double min_count = c.min_support < 1 ? c.min_support * baskets : c.min_support;
        std::vector<double> count(n, 0);
        for (uint32_t i = 0; i < n; ++i) {
            count[i] = static_cast<double>(bi.RowSize(i));
        }
        auto usable = [&](uint32_t u) {
            return bu.RowSize(u) <= static_cast<size_t>(c.max_basket);
        };
        struct Rule {
            uint32_t b;
            float conf, lift, support;
        };
        std::vector<std::vector<Rule>> rules(n);
        const int threads = ThreadCount(0);
        std::vector<std::vector<uint32_t>> acc(threads, std::vector<uint32_t>(n, 0));
        std::vector<std::vector<uint32_t>> touched(threads);
        std::atomic<size_t> done{0};
        ParallelFor(n, threads, 64, [&](size_t ai, int tid) {
            const auto a = static_cast<uint32_t>(ai);
            auto& co = acc[tid];
            auto& t = touched[tid];
            t.clear();
            for (uint64_t p = bi.offsets[a]; p < bi.offsets[a + 1]; ++p) {
                const uint32_t u = bi.indices[p];
                if (!usable(u)) {
                    continue;
                }
                for (uint64_t q = bu.offsets[u]; q < bu.offsets[u + 1]; ++q) {
                    if (co[bu.indices[q]]++ == 0) {
                        t.push_back(bu.indices[q]);
                    }
                }
            }
            auto& out = rules[a];
            for (uint32_t b : t) {
                const double ab = co[b];
                co[b] = 0;
                if (b == a || ab < min_count) {
                    continue;
                }
                const double conf = ab / count[a];
                const double lift = conf / (count[b] / baskets);
                if (conf >= c.min_confidence && lift >= c.min_lift) {
                    out.push_back({b, static_cast<float>(conf), static_cast<float>(lift),
                                   static_cast<float>(ab / baskets)});
                }
            }
            if (out.size() > static_cast<size_t>(c.max_rules)) {
                std::nth_element(out.begin(), out.begin() + c.max_rules, out.end(),
                                 [](const Rule& x, const Rule& y) { return x.conf > y.conf; });
                out.resize(static_cast<size_t>(c.max_rules));
            }
            std::sort(out.begin(), out.end(),
                      [](const Rule& x, const Rule& y) { return x.b < y.b; });
            size_t d = done.fetch_add(1) + 1;
            if (tid == 0 && (d & 255) == 0) {
                Checkpoint(ctx, 0.95 * static_cast<double>(d) / n);
            }
        });
        Csr conf;
        conf.rows = conf.cols = n;
        conf.offsets.assign(static_cast<size_t>(n) + 1, 0);
        std::vector<float> lift;
        std::vector<float> support;
        for (uint32_t a = 0; a < n; ++a) {
            for (const Rule& r : rules[a]) {
                conf.indices.push_back(r.b);
                conf.values.push_back(r.conf);
                lift.push_back(r.lift);
                support.push_back(r.support);
            }
            conf.offsets[a + 1] = conf.indices.size();
        }
        nlohmann::json info{
            {"algorithm", "assoc_rules"}, {"rules", conf.nnz()}, {"baskets", bu.rows}};
        return std::make_unique<AssocRulesModel>(std::move(cat), std::move(info), std::move(conf),
                                                 std::move(lift), std::move(support));
    };
}

std::unique_ptr<BaseModel> Load(std::shared_ptr<const Catalog> c,
                                nlohmann::json info,
                                ArtifactReader& r) {
    Csr conf = r.Matrix();
    auto lift = r.Vector<float>();
    auto support = r.Vector<float>();
    if (conf.rows != c->items.size() || conf.cols != c->items.size() || lift.size() != conf.nnz() ||
        support.size() != conf.nnz()) {
        ArtifactReader::Fail("rule table sizes disagree with the catalogue");
    }
    return std::make_unique<AssocRulesModel>(std::move(c), std::move(info), std::move(conf),
                                             std::move(lift), std::move(support));
}

}  // namespace

const AlgorithmSpec& AssocRulesSpec() {
    static const AlgorithmSpec kSpec{"assoc_rules", true, &Parse, &Load};
    return kSpec;
}

}  // namespace recs::engine::detail

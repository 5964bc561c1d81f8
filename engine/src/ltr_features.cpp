#include "ltr_features.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <unordered_map>
#include <unordered_set>

namespace recs::engine::detail {
namespace {

// Rank of each candidate (0 = best) by a score.
void Ranks(const std::vector<float>& s, std::vector<float>& out) {
    std::vector<uint32_t> order(s.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&s](uint32_t a, uint32_t b) { return s[a] > s[b]; });
    out.assign(s.size(), 0.f);
    for (uint32_t r = 0; r < order.size(); ++r) {
        out[order[r]] = static_cast<float>(r);
    }
}

float Finite(float v) { return std::isfinite(v) ? v : 0.f; }

}  // namespace

TimeStats TimeStats::FromMatrix(const InteractionMatrix& m) {
    constexpr float kDay = 86400.f;
    TimeStats t;
    const size_t nu = m.users.size();
    const size_t ni = m.items.size();
    t.user_first.assign(nu, 0.f);
    t.user_last.assign(nu, 0.f);
    t.user_mean.assign(nu, 0.f);
    t.item_first.assign(ni, std::numeric_limits<float>::max());
    t.item_mean.assign(ni, 0.f);
    std::vector<double> item_sum(ni, 0.0);
    std::vector<double> item_n(ni, 0.0);
    for (uint32_t u = 0; u < nu; ++u) {
        double lo = std::numeric_limits<double>::max(), hi = -lo, sum = 0;
        for (uint64_t p = m.by_user.offsets[u]; p < m.by_user.offsets[u + 1]; ++p) {
            const double d = static_cast<double>(m.times[p]) / kDay;
            lo = std::min(lo, d);
            hi = std::max(hi, d);
            sum += d;
            const uint32_t i = m.by_user.indices[p];
            t.item_first[i] = std::min(t.item_first[i], static_cast<float>(d));
            item_sum[i] += d;
            item_n[i] += 1;
        }
        const size_t n = m.by_user.RowSize(u);
        if (n > 0) {
            t.user_first[u] = static_cast<float>(lo);
            t.user_last[u] = static_cast<float>(hi);
            t.user_mean[u] = static_cast<float>(sum / static_cast<double>(n));
        }
    }
    t.item_offsets.assign(m.by_item.offsets.begin(), m.by_item.offsets.end());
    t.item_times.resize(m.by_item.nnz());
    {
        std::vector<uint64_t> pos(m.by_item.offsets.begin(), m.by_item.offsets.end() - 1);
        for (uint32_t u = 0; u < nu; ++u) {
            for (uint64_t p = m.by_user.offsets[u]; p < m.by_user.offsets[u + 1]; ++p) {
                t.item_times[pos[m.by_user.indices[p]]++] = static_cast<float>(m.times[p]) / kDay;
            }
        }
        for (size_t i = 0; i < ni; ++i) {
            std::sort(t.item_times.begin() + static_cast<ptrdiff_t>(t.item_offsets[i]),
                      t.item_times.begin() + static_cast<ptrdiff_t>(t.item_offsets[i + 1]));
        }
    }
    for (size_t i = 0; i < ni; ++i) {
        t.item_mean[i] = item_n[i] > 0 ? static_cast<float>(item_sum[i] / item_n[i]) : 0.f;
        if (item_n[i] == 0) {
            t.item_first[i] = 0.f;
        }
    }
    return t;
}

float TimeStats::ShareWithin(uint32_t item, float from, float to) const {
    const float* b = item_times.data() + item_offsets[item];
    const float* e = item_times.data() + item_offsets[item + 1];
    if (b == e) {
        return 0.f;
    }
    const auto n = std::upper_bound(b, e, to) - std::lower_bound(b, e, from);
    return static_cast<float>(n) / static_cast<float>(e - b);
}

void TimeStats::Save(ArtifactWriter& w) const {
    w.Vector(item_offsets);
    w.Vector(item_times);
    w.Vector(user_first);
    w.Vector(user_last);
    w.Vector(user_mean);
    w.Vector(item_first);
    w.Vector(item_mean);
}

TimeStats TimeStats::Load(ArtifactReader& r, size_t users, size_t items) {
    TimeStats t;
    t.item_offsets = r.Vector<uint64_t>();
    t.item_times = r.Vector<float>();
    if (t.item_offsets.size() != items + 1 || t.item_offsets.front() != 0 ||
        t.item_offsets.back() != t.item_times.size() ||
        !std::is_sorted(t.item_offsets.begin(), t.item_offsets.end())) {
        ArtifactReader::Fail("ranker item times disagree with the catalogue");
    }
    t.user_first = r.Vector<float>();
    t.user_last = r.Vector<float>();
    t.user_mean = r.Vector<float>();
    t.item_first = r.Vector<float>();
    t.item_mean = r.Vector<float>();
    if (t.user_first.size() != users || t.user_last.size() != users ||
        t.user_mean.size() != users || t.item_first.size() != items ||
        t.item_mean.size() != items) {
        ArtifactReader::Fail("ranker time statistics disagree with the catalogue");
    }
    return t;
}

void BuildFeatures(const Generators& g,
                   const Catalog& cat,
                   const TimeStats& times,
                   int64_t time_user,
                   int64_t user,
                   std::span<const uint32_t> history,
                   size_t n,
                   FeatureRows& rows) {
    const size_t items = cat.items.size();
    thread_local std::vector<float> knn;
    thread_local std::vector<float> ials;
    thread_local std::vector<float> masked;
    rows.ease_scores.assign(items, 0.f);
    knn.assign(items, 0.f);
    ials.assign(items, 0.f);
    g.ease->Score(user, history, rows.ease_scores);
    g.knn->Score(user, history, knn);
    g.ials->Score(user, history, ials);
    masked = rows.ease_scores;
    for (uint32_t h : history) {
        masked[h] = -std::numeric_limits<float>::infinity();
    }
    std::vector<IndexScore> top;
    SelectTopK(masked, cat.pop_rank, n, top);
    const size_t c = top.size();
    rows.items.clear();
    rows.x.assign(c * kNumFeatures, 0.f);
    std::vector<float> e(c), k(c), a(c), er, kr, ar;
    for (size_t r = 0; r < c; ++r) {
        rows.items.push_back(top[r].item);
        e[r] = Finite(rows.ease_scores[top[r].item]);
        k[r] = Finite(knn[top[r].item]);
        a[r] = Finite(ials[top[r].item]);
    }
    Ranks(e, er);
    Ranks(k, kr);
    Ranks(a, ar);
    // Every feature is scale-free (ratios, ranks, z-scores, percentiles): the ranker is fit
    // on generators trained with less data than the ones that serve, whose raw scores are larger.
    auto max_of = [](const std::vector<float>& v) {
        float m = 0;
        for (float x : v) m = std::max(m, std::fabs(x));
        return m > 0 ? m : 1.f;
    };
    auto zscore = [](const std::vector<float>& v, std::vector<float>& out) {
        double mean = 0, sq = 0;
        for (float x : v) {
            mean += x;
            sq += static_cast<double>(x) * x;
        }
        const double n = static_cast<double>(std::max<size_t>(1, v.size()));
        mean /= n;
        const double sd = std::sqrt(std::max(1e-12, sq / n - mean * mean));
        out.resize(v.size());
        for (size_t r = 0; r < v.size(); ++r) {
            out[r] = static_cast<float>((v[r] - mean) / sd);
        }
    };
    std::vector<float> ez, kz, az;
    zscore(e, ez);
    zscore(k, kz);
    zscore(a, az);
    const float em = max_of(e), km = max_of(k), am = max_of(a);
    const float n_items = static_cast<float>(std::max<size_t>(1, items));
    const float max_pop =
        std::max(1e-9f, cat.popularity.empty()
                            ? 1.f
                            : *std::max_element(cat.popularity.begin(), cat.popularity.end()));
    double user_pop = 0;
    for (uint32_t h : history) {
        user_pop += static_cast<double>(cat.pop_rank[h]) / n_items;
    }
    user_pop /= std::max<size_t>(1, history.size());
    const float hist_share =
        static_cast<float>(history.size()) /
        std::max(1.f, static_cast<float>(cat.seen.nnz()) / std::max<float>(1, cat.users.size()));
    for (size_t r = 0; r < c; ++r) {
        float* f = &rows.x[r * kNumFeatures];
        const uint32_t item = top[r].item;
        const float pop_pct = static_cast<float>(cat.pop_rank[item]) / n_items;
        f[0] = e[r] / em;
        f[1] = er[r];
        f[2] = ez[r];
        f[3] = c > 0 ? e[r] / std::max(1e-9f, std::fabs(e[c - 1])) : 0.f;
        f[4] = k[r] / km;
        f[5] = kr[r];
        f[6] = kz[r];
        f[7] = a[r] / am;
        f[8] = ar[r];
        f[9] = az[r];
        f[10] = pop_pct;
        f[11] = cat.popularity[item] / max_pop;
        f[12] = hist_share;
        f[13] = static_cast<float>(user_pop);
        f[14] = pop_pct - static_cast<float>(user_pop);
        f[15] = (er[r] + kr[r] + ar[r]) / 3.f;
        if (time_user >= 0) {
            const auto tu = static_cast<size_t>(time_user);
            f[16] = times.item_mean[item] - times.user_mean[tu];
            f[17] = times.item_first[item] - times.user_last[tu];
            f[18] = times.user_last[tu] - times.user_first[tu];
            f[19] = times.item_mean[item] - times.user_last[tu];
            f[20] = times.user_mean[tu] - times.item_first[item];
            f[21] = times.ShareWithin(item, times.user_first[tu] - 1.f, times.user_last[tu] + 1.f);
            f[22] =
                times.ShareWithin(item, times.user_first[tu] - 90.f, times.user_last[tu] + 90.f);
        } else {
            for (size_t q = 16; q < kNumFeatures; ++q) {
                f[q] = NAN;
            }
        }
    }
}

void CollectTrainingRows(const Generators& g,
                         const Catalog& cat,
                         const TimeStats& times,
                         const InteractionMatrix& fit,
                         const std::vector<std::pair<uint32_t, uint32_t>>& validation,
                         size_t n,
                         FeatureRows& all,
                         std::vector<unsigned>& groups) {
    std::unordered_map<uint32_t, std::unordered_set<uint32_t>> positives;
    for (const auto& [u, i] : validation) {
        if (fit.by_user.RowSize(u) > 0) {
            positives[u].insert(i);
        }
    }
    std::vector<uint32_t> users;
    for (const auto& [u, s] : positives) {
        users.push_back(u);
    }
    std::sort(users.begin(), users.end());
    FeatureRows rows;
    size_t found = 0;
    size_t total = 0;
    for (uint32_t u : users) {
        std::span<const uint32_t> hist(fit.by_user.indices.data() + fit.by_user.offsets[u],
                                       fit.by_user.RowSize(u));
        BuildFeatures(g, cat, times, u, u, hist, n, rows);
        const auto& pos = positives[u];
        size_t hits = 0;
        for (uint32_t item : rows.items) {
            float label = pos.count(item) != 0 ? 1.f : 0.f;
            hits += label > 0 ? 1 : 0;
            all.labels.push_back(label);
        }
        found += hits;
        total += pos.size();
        all.x.insert(all.x.end(), rows.x.begin(), rows.x.end());
        all.items.insert(all.items.end(), rows.items.begin(), rows.items.end());
        groups.push_back(static_cast<unsigned>(rows.items.size()));
        all.relevant.push_back(static_cast<unsigned>(pos.size()));
    }
    all.recall = total > 0 ? static_cast<double>(found) / static_cast<double>(total) : 0.0;
}

InteractionMatrix StratifiedSubMatrix(const InteractionMatrix& m,
                                      double ratio,
                                      uint64_t seed,
                                      std::vector<std::pair<uint32_t, uint32_t>>& held_out) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> keep(m.by_item.nnz(), 0);
    std::vector<uint64_t> order;
    for (uint32_t i = 0; i < m.by_item.rows; ++i) {
        order.resize(m.by_item.RowSize(i));
        std::iota(order.begin(), order.end(), m.by_item.offsets[i]);
        std::shuffle(order.begin(), order.end(), rng);
        const auto n_keep =
            static_cast<size_t>(std::nearbyint(ratio * static_cast<double>(order.size())));
        for (size_t t = 0; t < n_keep; ++t) {
            keep[order[t]] = 1;
        }
    }
    InteractionMatrix fit;
    fit.users = m.users;
    fit.items = m.items;
    fit.max_timestamp = m.max_timestamp;
    // by_item entries in item order -> the kept (user, item) pairs.
    std::vector<std::vector<uint8_t>> kept_by_user(m.users.size());
    std::unordered_set<uint64_t> kept;
    for (uint32_t i = 0; i < m.by_item.rows; ++i) {
        for (uint64_t p = m.by_item.offsets[i]; p < m.by_item.offsets[i + 1]; ++p) {
            const uint64_t key = (static_cast<uint64_t>(m.by_item.indices[p]) << 32) | i;
            if (keep[p] != 0) {
                kept.insert(key);
            } else {
                held_out.emplace_back(m.by_item.indices[p], i);
            }
        }
    }
    Csr& c = fit.by_user;
    c.rows = m.by_user.rows;
    c.cols = m.by_user.cols;
    c.offsets.assign(static_cast<size_t>(c.rows) + 1, 0);
    for (uint32_t u = 0; u < c.rows; ++u) {
        for (uint64_t p = m.by_user.offsets[u]; p < m.by_user.offsets[u + 1]; ++p) {
            const uint64_t key = (static_cast<uint64_t>(u) << 32) | m.by_user.indices[p];
            if (kept.count(key) != 0) {
                c.indices.push_back(m.by_user.indices[p]);
                c.values.push_back(m.by_user.values[p]);
                fit.times.push_back(m.times[p]);
            }
        }
        c.offsets[u + 1] = c.indices.size();
    }
    fit.by_item = c.Transposed();
    return fit;
}

void LinearTerms(const float* f, float* t) {
    t[0] = f[0];
    t[1] = f[4];
    t[2] = f[7];
    t[3] = f[10];
    t[4] = std::isfinite(f[17]) && f[17] > 0 ? 1.f : 0.f;
    t[5] = std::isfinite(f[19]) && f[19] > 0 ? 1.f : 0.f;
}

std::vector<float> FitLinear(const FeatureRows& all,
                             const std::vector<unsigned>& groups,
                             double* best_ndcg) {
    const size_t rows = all.labels.size();
    std::vector<float> terms(rows * kLinearTerms);
    for (size_t r = 0; r < rows; ++r) {
        LinearTerms(&all.x[r * kNumFeatures], &terms[r * kLinearTerms]);
    }
    std::vector<float> w(kLinearTerms, 0.f);
    w[0] = 1.f;
    std::vector<float> scores(rows);
    auto evaluate = [&](const std::vector<float>& v) {
        for (size_t r = 0; r < rows; ++r) {
            float s = 0;
            for (size_t j = 0; j < kLinearTerms; ++j) {
                s += v[j] * terms[r * kLinearTerms + j];
            }
            scores[r] = s - 1e-6f * static_cast<float>(r);
        }
        return GroupNdcg(scores, all.labels, groups, all.relevant, 10);
    };
    double best = evaluate(w);
    const float grid[] = {-2.f, -1.f, -0.5f, -0.3f, -0.2f, -0.1f, -0.05f, 0.f, 0.05f,
                          0.1f, 0.2f, 0.3f,  0.5f,  1.f,   1.5f,  2.f,    3.f};
    for (int pass = 0; pass < 3; ++pass) {
        bool changed = false;
        for (size_t j = 1; j < kLinearTerms; ++j) {
            const float keep = w[j];
            float best_v = keep;
            for (float v : grid) {
                w[j] = v;
                const double score = evaluate(w);
                // Require a real gain over the current value, to avoid fitting noise.
                if (score > best + 1e-4) {
                    best = score;
                    best_v = v;
                }
            }
            w[j] = best_v;
            changed |= best_v != keep;
        }
        if (!changed) {
            break;
        }
    }
    *best_ndcg = best;
    return w;
}

double GroupNdcg(const std::vector<float>& scores,
                 const std::vector<float>& labels,
                 const std::vector<unsigned>& groups,
                 const std::vector<unsigned>& relevant,
                 size_t k) {
    double total = 0;
    size_t row = 0;
    std::vector<uint32_t> order;
    for (size_t q = 0; q < groups.size(); ++q) {
        order.resize(groups[q]);
        std::iota(order.begin(), order.end(), 0u);
        const size_t top = std::min<size_t>(k, order.size());
        std::partial_sort(
            order.begin(), order.begin() + static_cast<ptrdiff_t>(top), order.end(),
            [&](uint32_t a, uint32_t b) { return scores[row + a] > scores[row + b]; });
        double dcg = 0;
        double idcg = 0;
        for (size_t r = 0; r < top; ++r) {
            dcg += labels[row + order[r]] / std::log2(static_cast<double>(r) + 2.0);
        }
        for (size_t r = 0; r < std::min<size_t>(k, relevant[q]); ++r) {
            idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
        }
        total += idcg > 0 ? dcg / idcg : 0;
        row += groups[q];
    }
    return groups.empty() ? 0 : total / static_cast<double>(groups.size());
}

}  // namespace recs::engine::detail

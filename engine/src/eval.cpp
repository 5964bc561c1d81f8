#include "recs/engine/eval.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <istream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "parallel.hpp"
#include "recs/core/error.hpp"

namespace recs::engine {
namespace {

std::vector<std::string_view> SplitFields(std::string_view line, bool csv) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i <= line.size()) {
        size_t j = csv ? line.find(',', i) : line.find_first_of(" \t", i);
        if (j == std::string_view::npos) {
            j = line.size();
        }
        if (csv || j > i) {
            out.push_back(line.substr(i, j - i));
        }
        i = j + 1;
    }
    return out;
}

bool ParseDouble(std::string_view s, double* out) {
    std::string tmp(s);
    char* end = nullptr;
    *out = std::strtod(tmp.c_str(), &end);
    return !tmp.empty() && end == tmp.c_str() + tmp.size() && std::isfinite(*out);
}

// numpy/Python round(): half to even.
int64_t RoundHalfEven(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

}  // namespace

std::vector<Interaction> ParseInteractions(std::istream& in, ReadStats* stats) {
    ReadStats local;
    ReadStats& st = stats != nullptr ? *stats : local;
    std::vector<Interaction> out;
    std::string line;
    bool first = true;
    bool csv = false;
    auto bad = [&st](const std::string& why) {
        ++st.bad;
        if (st.bad_examples.size() < 5) {
            st.bad_examples.push_back("line " + std::to_string(st.lines) + ": " + why);
        }
    };
    while (std::getline(in, line)) {
        ++st.lines;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty()) {
            continue;
        }
        if (first) {
            first = false;
            csv = line.find(',') != std::string::npos;
            std::string lower(line);
            std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
            if (lower.find("user") != std::string::npos) {
                continue;  // header
            }
        }
        auto f = SplitFields(line, csv);
        if (f.size() < 2 || f.size() > 4 || f[0].empty() || f[1].empty()) {
            bad("expected user, item[, rating[, timestamp]]");
            continue;
        }
        Interaction x;
        x.user = std::string(f[0]);
        x.item = std::string(f[1]);
        double v = 1;
        if (f.size() > 2 && !ParseDouble(f[2], &v)) {
            bad("rating is not a number");
            continue;
        }
        x.weight = static_cast<float>(v);
        double ts = 0;
        if (f.size() > 3 && !ParseDouble(f[3], &ts)) {
            bad("timestamp is not a number");
            continue;
        }
        x.timestamp = static_cast<int64_t>(ts);
        out.push_back(std::move(x));
        ++st.parsed;
    }
    return out;
}

std::vector<Interaction> ReadInteractionsFile(const std::string& path, ReadStats* stats) {
    std::ifstream f(path);
    if (!f) {
        throw core::Error(core::ErrorCode::kNotFound, "cannot open data file " + path);
    }
    return ParseInteractions(f, stats);
}

std::optional<SplitKind> ParseSplitKind(std::string_view name) {
    if (name == "item-stratified") {
        return SplitKind::kItemStratified;
    }
    if (name == "user-stratified") {
        return SplitKind::kUserStratified;
    }
    if (name == "temporal") {
        return SplitKind::kTemporal;
    }
    return std::nullopt;
}

SplitResult Split(const std::vector<Interaction>& data, const SplitOptions& options) {
    if (!(options.ratio > 0 && options.ratio < 1)) {
        throw core::Error(core::ErrorCode::kUnprocessable, "split ratio must be in (0, 1)",
                          "ratio");
    }
    const bool by_item = options.kind == SplitKind::kItemStratified;
    std::unordered_map<std::string_view, uint32_t> group_of;
    std::vector<uint32_t> group(data.size());
    for (size_t i = 0; i < data.size(); ++i) {
        std::string_view key = by_item ? data[i].item : data[i].user;
        group[i] = group_of.emplace(key, static_cast<uint32_t>(group_of.size())).first->second;
    }
    // One random key per row, as numpy's rand over the whole frame, then order within groups.
    std::mt19937_64 rng(options.seed);
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    std::vector<double> key(data.size());
    for (size_t i = 0; i < data.size(); ++i) {
        key[i] = options.kind == SplitKind::kTemporal ? static_cast<double>(data[i].timestamp)
                                                      : uni(rng);
    }
    std::vector<size_t> order(data.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return group[a] != group[b] ? group[a] < group[b] : key[a] < key[b];
    });
    SplitResult r;
    for (size_t b = 0; b < order.size();) {
        size_t e = b;
        while (e < order.size() && group[order[e]] == group[order[b]]) {
            ++e;
        }
        const auto n = static_cast<int64_t>(e - b);
        const int64_t n_train = RoundHalfEven(options.ratio * static_cast<double>(n));
        for (int64_t t = 0; t < n; ++t) {
            (t < n_train ? r.train : r.test).push_back(data[order[b + t]]);
        }
        b = e;
    }
    return r;
}

nlohmann::json Metrics::ToJson() const {
    return {{"k", k},
            {"users", users},
            {"precision", precision},
            {"recall", recall},
            {"ndcg", ndcg},
            {"map", map},
            {"hit_rate", hit_rate},
            {"mrr", mrr},
            {"coverage", coverage},
            {"seconds", seconds}};
}

namespace {

/// One user's metrics at k from the ranking and the user's relevant items.
UserMetrics ScoreUser(const std::vector<ScoredItem>& recs,
                      const std::unordered_set<std::string>& rel,
                      size_t k) {
    double hits = 0, dcg = 0, ap = 0, rr = 0;
    for (size_t r = 0; r < recs.size(); ++r) {
        if (rel.count(recs[r].item_id) != 0) {
            hits += 1;
            dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
            ap += hits / static_cast<double>(r + 1);
            if (rr == 0) {
                rr = 1.0 / static_cast<double>(r + 1);
            }
        }
    }
    double idcg = 0;
    for (size_t r = 0; r < std::min(k, rel.size()); ++r) {
        idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
    }
    UserMetrics m;
    m.precision = hits / static_cast<double>(k);
    m.recall = hits / static_cast<double>(rel.size());
    m.ndcg = idcg > 0 ? dcg / idcg : 0;
    m.map = ap / static_cast<double>(rel.size());
    m.hit = hits > 0 ? 1 : 0;
    m.mrr = rr;
    return m;
}

}  // namespace

std::vector<UserMetrics> EvaluateUsers(const Model& model,
                                       const std::vector<Interaction>& train,
                                       const std::vector<Interaction>& test,
                                       size_t k,
                                       int threads) {
    std::unordered_map<std::string, std::unordered_set<std::string>> seen;
    for (const auto& x : train) seen[x.user].insert(x.item);
    std::unordered_map<std::string, std::unordered_set<std::string>> relevant;
    for (const auto& x : test)
        if (seen.count(x.user) != 0) relevant[x.user].insert(x.item);
    std::vector<UserMetrics> out;
    out.reserve(relevant.size());
    for (const auto& [u, items] : relevant) {
        out.emplace_back();
        out.back().user = u;
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.user < b.user; });
    const std::vector<std::string> no_history;
    detail::ParallelFor(out.size(), detail::ThreadCount(threads), 8, [&](size_t i, int) {
        auto& m = out[i];
        const auto& rel = relevant.find(m.user)->second;
        bool cold = false;
        auto recs =
            model.Recommend(m.user, no_history, k, seen.find(m.user)->second, nullptr, &cold);
        std::string user = std::move(m.user);
        m = ScoreUser(recs, rel, k);
        m.user = std::move(user);
        for (auto& r : recs) m.recommended.push_back(std::move(r.item_id));
    });
    return out;
}

Metrics Evaluate(const Model& model,
                 const std::vector<Interaction>& train,
                 const std::vector<Interaction>& test,
                 size_t k,
                 int threads,
                 const ProgressFn& progress) {
    auto t0 = std::chrono::steady_clock::now();
    std::unordered_map<std::string, std::unordered_set<std::string>> seen;
    for (const auto& x : train) {
        seen[x.user].insert(x.item);
    }
    std::unordered_map<std::string, std::unordered_set<std::string>> relevant;
    for (const auto& x : test) {
        if (seen.count(x.user) != 0) {
            relevant[x.user].insert(x.item);
        }
    }
    std::vector<const std::string*> users;
    for (const auto& [u, items] : relevant) {
        users.push_back(&u);
    }
    std::sort(users.begin(), users.end(), [](auto* a, auto* b) { return *a < *b; });
    Metrics m;
    m.k = k;
    const int nt = detail::ThreadCount(threads);
    struct Acc {
        double precision = 0, recall = 0, ndcg = 0, map = 0, hit = 0, mrr = 0;
        size_t users = 0;
        std::unordered_set<std::string> recommended;
    };
    std::vector<Acc> acc(nt);
    std::atomic<size_t> done{0};
    std::mutex progress_mu;
    const std::vector<std::string> no_history;
    detail::ParallelFor(users.size(), nt, 8, [&](size_t i, int tid) {
        const std::string& u = *users[i];
        const auto& rel = relevant.find(u)->second;
        bool cold = false;
        auto recs = model.Recommend(u, no_history, k, seen.find(u)->second, nullptr, &cold);
        Acc& a = acc[tid];
        for (const auto& r : recs) a.recommended.insert(r.item_id);
        auto s = ScoreUser(recs, rel, k);
        a.precision += s.precision;
        a.recall += s.recall;
        a.ndcg += s.ndcg;
        a.map += s.map;
        a.hit += s.hit;
        a.mrr += s.mrr;
        a.users += 1;
        size_t d = done.fetch_add(1) + 1;
        if (progress && (d % 64 == 0 || d == users.size())) {
            std::lock_guard lock(progress_mu);
            progress(static_cast<double>(d) / static_cast<double>(users.size()));
        }
    });
    std::unordered_set<std::string> recommended;
    for (auto& a : acc) {
        m.precision += a.precision;
        m.recall += a.recall;
        m.ndcg += a.ndcg;
        m.map += a.map;
        m.hit_rate += a.hit;
        m.mrr += a.mrr;
        m.users += a.users;
        recommended.insert(a.recommended.begin(), a.recommended.end());
    }
    if (m.users > 0) {
        const auto n = static_cast<double>(m.users);
        m.precision /= n;
        m.recall /= n;
        m.ndcg /= n;
        m.map /= n;
        m.hit_rate /= n;
        m.mrr /= n;
    }
    m.coverage = model.NumItems() > 0 ? static_cast<double>(recommended.size()) /
                                            static_cast<double>(model.NumItems())
                                      : 0.0;
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return m;
}

}  // namespace recs::engine

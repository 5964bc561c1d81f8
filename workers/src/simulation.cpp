#include "recs/workers/simulation.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <random>
#include <unordered_set>

#include "recs/core/error.hpp"
#include "recs/engine/eval.hpp"
#include "recs/engine/model.hpp"
#include "recs/store/event_store.hpp"
#include "recs/workers/training.hpp"

namespace recs::workers {

using nlohmann::json;

namespace {

struct Arm {
    json spec;
    std::vector<engine::UserMetrics> users;
    size_t catalogue = 0;
    double train_seconds = 0;
    std::vector<double> ndcg, recall, coverage;  ///< one per bootstrap sample
};

json Interval(std::vector<double> samples, double point) {
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) {
        size_t i = static_cast<size_t>(q * static_cast<double>(samples.size() - 1));
        return samples[i];
    };
    return {{"mean", point}, {"ci", {at(0.025), at(0.975)}}};
}

double Mean(const std::vector<engine::UserMetrics>& users, double engine::UserMetrics::*field) {
    double s = 0;
    for (const auto& u : users) s += u.*field;
    return users.empty() ? 0 : s / static_cast<double>(users.size());
}

double Coverage(const Arm& a, const std::vector<size_t>& sample) {
    std::unordered_set<std::string_view> items;
    for (size_t i : sample)
        for (const auto& it : a.users[i].recommended) items.insert(it);
    return a.catalogue ? static_cast<double>(items.size()) / static_cast<double>(a.catalogue) : 0;
}

}  // namespace

json RunSimulateJob(const core::Job& job,
                    store::EventRepository& events,
                    size_t memory_budget_bytes,
                    const std::function<void(double)>& progress,
                    const std::atomic<bool>* cancel) {
    const auto& p = job.payload;
    const core::TenantId tenant{job.tenant_id};
    const size_t k = p.value("k", 10);
    const int bootstrap = p.value("bootstrap", 500);
    const uint64_t seed = p.value("seed", uint64_t{42});

    std::vector<engine::Interaction> data;
    events.ForEachInteraction(tenant, [&](const store::EventRow& row) {
        engine::Interaction x;
        if (EventToInteraction(row, &x)) data.push_back(std::move(x));
    });
    progress(0.05);

    engine::SplitResult split;
    json split_info;
    if (p.contains("from") && p["from"].is_number()) {
        // Interaction timestamps are seconds.
        const int64_t from_s = p["from"].get<int64_t>() / 1000;
        const int64_t to_s = p.contains("to") && p["to"].is_number()
                                 ? p["to"].get<int64_t>() / 1000
                                 : std::numeric_limits<int64_t>::max();
        for (auto& x : data) {
            if (x.timestamp < from_s)
                split.train.push_back(std::move(x));
            else if (x.timestamp < to_s)
                split.test.push_back(std::move(x));
        }
        split_info = {{"kind", "time range"}, {"from", p["from"]}, {"to", p.value("to", json())}};
    } else {
        engine::SplitOptions so;
        so.kind = engine::SplitKind::kTemporal;
        so.ratio = 1.0 - p.value("holdout", 0.2);
        so.seed = seed;
        split = engine::Split(data, so);
        split_info = {{"kind", "temporal"}, {"holdout", p.value("holdout", 0.2)}};
    }
    data.clear();
    if (split.train.empty() || split.test.empty())
        throw core::Error(
            core::ErrorCode::kUnprocessable,
            "nothing to replay: the split leaves " + std::to_string(split.train.size()) +
                " interactions to train on and " + std::to_string(split.test.size()) + " held out");

    const auto& variants = p.at("variants");
    std::vector<Arm> arms;
    const double per_arm = 0.85 / static_cast<double>(variants.size());
    for (size_t i = 0; i < variants.size(); ++i) {
        Arm a;
        a.spec = variants[i];
        const double base = 0.05 + per_arm * static_cast<double>(i);
        engine::TrainContext ctx{[&](double q) { progress(base + per_arm * 0.8 * q); }, cancel,
                                 memory_budget_bytes};
        auto t0 = std::chrono::steady_clock::now();
        auto model =
            engine::Train(a.spec.at("algorithm").get<std::string>(),
                          a.spec.value("hyperparameters", json::object()), split.train, ctx);
        a.train_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        a.users = engine::EvaluateUsers(*model, split.train, split.test, k);
        a.catalogue = model->NumItems();
        arms.push_back(std::move(a));
        progress(base + per_arm);
        if (cancel && *cancel) throw core::Error(core::ErrorCode::kUnavailable, "cancelled");
    }
    // The same training data: every arm evaluates the same users in the same order.
    const size_t n = arms.front().users.size();
    if (n == 0)
        throw core::Error(core::ErrorCode::kUnprocessable,
                          "no held-out user was seen in the training part");

    // A paired bootstrap over users: each sample draws the same users for every arm.
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    std::vector<double> wins(arms.size(), 0);
    std::vector<size_t> sample(n);
    for (int b = 0; b < bootstrap; ++b) {
        if (cancel && *cancel && b % 16 == 0)
            throw core::Error(core::ErrorCode::kUnavailable, "cancelled");
        for (auto& s : sample) s = pick(rng);
        std::vector<double> sample_ndcg;
        for (size_t a = 0; a < arms.size(); ++a) {
            double nd = 0, rc = 0;
            for (size_t i : sample) {
                nd += arms[a].users[i].ndcg;
                rc += arms[a].users[i].recall;
            }
            nd /= static_cast<double>(n);
            rc /= static_cast<double>(n);
            arms[a].ndcg.push_back(nd);
            arms[a].recall.push_back(rc);
            arms[a].coverage.push_back(Coverage(arms[a], sample));
            sample_ndcg.push_back(nd);
        }
        // The best nDCG wins the sample; arms tied for it share the win.
        const double top = *std::max_element(sample_ndcg.begin(), sample_ndcg.end());
        const auto tied = std::count(sample_ndcg.begin(), sample_ndcg.end(), top);
        for (size_t a = 0; a < arms.size(); ++a)
            if (sample_ndcg[a] == top) wins[a] += 1.0 / static_cast<double>(tied);
    }
    progress(0.97);

    json out_variants = json::array();
    size_t winner = 0;
    for (size_t a = 0; a < arms.size(); ++a) {
        std::vector<size_t> all(n);
        for (size_t i = 0; i < n; ++i) all[i] = i;
        json v = arms[a].spec;
        v.erase("hyperparameters");
        v["ndcg"] = Interval(arms[a].ndcg, Mean(arms[a].users, &engine::UserMetrics::ndcg));
        v["recall"] = Interval(arms[a].recall, Mean(arms[a].users, &engine::UserMetrics::recall));
        v["coverage"] = Interval(arms[a].coverage, Coverage(arms[a], all));
        v["prob_best"] = wins[a] / bootstrap;
        v["train_seconds"] = arms[a].train_seconds;
        if (wins[a] > wins[winner]) winner = a;
        out_variants.push_back(std::move(v));
    }
    return {{"k", k},
            {"users", n},
            {"train_interactions", split.train.size()},
            {"test_interactions", split.test.size()},
            {"split", split_info},
            {"bootstrap", bootstrap},
            {"variants", std::move(out_variants)},
            {"likely_winner", arms[winner].spec.value("id", "")}};
}

}  // namespace recs::workers

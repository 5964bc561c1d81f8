// Engine benchmarks: training time of iALS and EASE, exact and HNSW top-k latency, artifact
// sizes. Figures are printed as benchmark counters; bench/README.md keeps the measured table.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "recs/engine/ann.hpp"
#include "recs/engine/eval.hpp"
#include "recs/engine/model.hpp"

namespace {

using recs::engine::Interaction;

double PeakRssMb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

/// `n` interactions of `users` users over `items` items; item popularity follows a power law
/// (p(i) ~ 1 / (i + 10)^exponent), users are drawn uniformly.
std::vector<Interaction> Synthetic(
    size_t n, size_t users, size_t items, double exponent, uint64_t seed) {
    std::vector<double> cdf(items);
    double acc = 0;
    for (size_t i = 0; i < items; ++i) {
        acc += 1.0 / std::pow(static_cast<double>(i) + 10.0, exponent);
        cdf[i] = acc;
    }
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uni(0, acc);
    std::uniform_int_distribution<size_t> user(0, users - 1);
    std::vector<Interaction> out;
    out.reserve(n);
    for (size_t t = 0; t < n; ++t) {
        size_t i =
            static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), uni(rng)) - cdf.begin());
        out.push_back({"u" + std::to_string(user(rng)),
                       "i" + std::to_string(std::min(i, items - 1)), 1.f, static_cast<int64_t>(t),
                       ""});
    }
    return out;
}

const std::vector<Interaction>& SyntheticMillion() {
    static const auto data = Synthetic(1000000, 100000, 20000, 0.9, 1);
    return data;
}

void BM_IalsTrain(benchmark::State& state) {
    const auto& data = SyntheticMillion();
    nlohmann::json hp{{"factors", 64}, {"epochs", 15}, {"threads", 2}};
    size_t bytes = 0;
    for (auto _ : state) {
        auto model = recs::engine::Train("ials", hp, data);
        bytes = model->Serialize().size();
    }
    state.counters["interactions"] = static_cast<double>(data.size());
    state.counters["artifact_MB"] = static_cast<double>(bytes) / 1e6;
    state.counters["peak_rss_MB"] = PeakRssMb();
}
BENCHMARK(BM_IalsTrain)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

void BM_EaseTrain10k(benchmark::State& state) {
    // 10,000 items, 200,000 users, 2,000,000 interactions.
    static const auto data = Synthetic(2000000, 200000, 10000, 0.7, 2);
    nlohmann::json hp{{"lambda", 500}};
    size_t bytes = 0;
    nlohmann::json timings;
    for (auto _ : state) {
        auto model = recs::engine::Train("ease", hp, data);
        bytes = model->Serialize().size();
        timings = model->Info()["timings"];
    }
    state.counters["items"] = 10000;
    state.counters["artifact_MB"] = static_cast<double>(bytes) / 1e6;
    state.counters["peak_rss_MB"] = PeakRssMb();
    state.counters["inverse_s"] = timings.value("inverse_seconds", 0.0);
    state.counters["gram_s"] = timings.value("gram_seconds", 0.0);
}
BENCHMARK(BM_EaseTrain10k)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

struct Embeddings {
    size_t n = 100000;
    size_t dim = 64;
    std::vector<float> items;
    std::vector<float> queries;
    Embeddings() {
        std::mt19937_64 rng(3);
        std::normal_distribution<float> normal(0.f, 1.f);
        // Clustered vectors (as trained embeddings are), not isotropic noise.
        const size_t clusters = 256;
        std::vector<float> centers(clusters * dim);
        for (float& v : centers) v = normal(rng);
        items.resize(n * dim);
        for (size_t i = 0; i < n; ++i) {
            const float* c = &centers[(i % clusters) * dim];
            for (size_t d = 0; d < dim; ++d) items[i * dim + d] = c[d] + 0.7f * normal(rng);
        }
        queries.resize(1000 * dim);
        for (size_t q = 0; q < 1000; ++q) {
            const float* c = &centers[(q * 7 % clusters) * dim];
            for (size_t d = 0; d < dim; ++d) queries[q * dim + d] = c[d] + 0.7f * normal(rng);
        }
    }
};

const Embeddings& Emb() {
    static const Embeddings e;
    return e;
}

void ReportLatency(benchmark::State& state, std::vector<double>& us) {
    std::sort(us.begin(), us.end());
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[us.size() * 99 / 100];
}

void BM_TopKExact(benchmark::State& state) {
    const auto& e = Emb();
    std::vector<double> us;
    size_t q = 0;
    for (auto _ : state) {
        auto t0 = std::chrono::steady_clock::now();
        auto top = recs::engine::ExactTopK(e.items.data(), e.n, e.dim,
                                           &e.queries[(q++ % 1000) * e.dim], 10);
        benchmark::DoNotOptimize(top);
        us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
    }
    ReportLatency(state, us);
}
BENCHMARK(BM_TopKExact)->Unit(benchmark::kMicrosecond)->Iterations(2000);

void BM_TopKExactHalf(benchmark::State& state) {
    const auto& e = Emb();
    static const recs::engine::ExactIndex index(e.items.data(), e.n, e.dim);
    std::vector<double> us;
    size_t q = 0;
    for (auto _ : state) {
        auto t0 = std::chrono::steady_clock::now();
        auto top = index.Search(&e.queries[(q++ % 1000) * e.dim], 10);
        benchmark::DoNotOptimize(top);
        us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
    }
    ReportLatency(state, us);
    // Agreement with the float brute force (1.0 = identical top-10 sets), and how often the
    // error bound could not rule out near-ties and the index scanned in float.
    double same = 0;
    double fallbacks = 0;
    for (size_t i = 0; i < 200; ++i) {
        bool float_scan = false;
        auto a = index.Search(&e.queries[i * e.dim], 10, &float_scan);
        fallbacks += float_scan ? 1 : 0;
        auto b = recs::engine::ExactTopK(e.items.data(), e.n, e.dim, &e.queries[i * e.dim], 10);
        for (const auto& x : a) {
            for (const auto& y : b) same += x.first == y.first ? 1 : 0;
        }
    }
    state.counters["agreement@10"] = same / 2000.0;
    state.counters["float_scans"] = fallbacks / 200.0;
}
BENCHMARK(BM_TopKExactHalf)->Unit(benchmark::kMicrosecond)->Iterations(2000);

void BM_TopKHnsw(benchmark::State& state) {
    const auto& e = Emb();
    static std::unique_ptr<recs::engine::HnswIndex> index;
    static double build_s = 0;
    if (!index) {
        auto t0 = std::chrono::steady_clock::now();
        index = std::make_unique<recs::engine::HnswIndex>(e.items.data(), e.n, e.dim, 16, 200, 2);
        build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    const auto ef = static_cast<size_t>(state.range(0));
    std::vector<double> us;
    size_t q = 0;
    for (auto _ : state) {
        auto t0 = std::chrono::steady_clock::now();
        auto top = index->Search(&e.queries[(q++ % 1000) * e.dim], 10, ef);
        benchmark::DoNotOptimize(top);
        us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
    }
    ReportLatency(state, us);
    state.counters["recall@10"] = recs::engine::MeasureRecall(*index, e.items.data(), e.n, e.dim,
                                                              e.queries.data(), 200, 10, ef);
    state.counters["build_s"] = build_s;
    state.counters["index_MB"] = static_cast<double>(index->MemoryBytes()) / 1e6;
}
BENCHMARK(BM_TopKHnsw)->Arg(32)->Arg(64)->Arg(128)->Unit(benchmark::kMicrosecond)->Iterations(5000);

void ArtifactSizes(benchmark::State& state, const std::vector<Interaction>& data, bool big) {
    for (auto _ : state) {
        for (const auto& alg : recs::engine::Algorithms()) {
            if (alg == "blend" || alg == "ltr" || (big && alg == "ease")) {
                continue;  // composites are the sum of their parts; EASE refuses 20k items
            }
            nlohmann::json hp =
                alg == "ials" ? nlohmann::json{{"epochs", 3}} : nlohmann::json::object();
            auto model = recs::engine::Train(alg, hp, data);
            state.counters[alg + "_MB"] = static_cast<double>(model->Serialize().size()) / 1e6;
        }
    }
}

/// ml-latest-small's ratings (RECS_ML_RATINGS, else ../shared beside the working directory);
/// false, with the benchmark skipped, when the file is missing.
bool MovieLens(benchmark::State& state, std::vector<recs::engine::Interaction>* data) {
    const char* path = std::getenv("RECS_ML_RATINGS");
    std::string file = path != nullptr ? path : "../shared/data/ml-latest-small/ratings.csv";
    if (!std::filesystem::exists(file)) {
        state.SkipWithError("set RECS_ML_RATINGS to ml-latest-small/ratings.csv");
        return false;
    }
    *data = recs::engine::ReadInteractionsFile(file, nullptr);
    return true;
}

void BM_ArtifactSizesMovieLens(benchmark::State& state) {
    std::vector<recs::engine::Interaction> data;
    if (MovieLens(state, &data)) {
        ArtifactSizes(state, data, false);
    }
}
BENCHMARK(BM_ArtifactSizesMovieLens)->Unit(benchmark::kSecond)->Iterations(1);

// Serving cost of one request: Recommend top-10 with the user's training items excluded, for
// every ml-latest-small user in turn (heavy users, with 2,000+ ratings, make the tail).
void BM_RecommendMovieLens(benchmark::State& state,
                           const std::string& algorithm,
                           const nlohmann::json& hp) {
    std::vector<recs::engine::Interaction> data;
    if (!MovieLens(state, &data)) {
        return;
    }
    auto model = recs::engine::Train(algorithm, hp, data);
    std::vector<std::string> users;
    for (const auto& x : data) {
        if (users.empty() || users.back() != x.user) {
            users.push_back(x.user);
        }
    }
    std::vector<double> us;
    size_t q = 0;
    for (auto _ : state) {
        auto t0 = std::chrono::steady_clock::now();
        auto top = model->Recommend(users[q++ % users.size()], {}, 10, {}, nullptr, nullptr, true);
        benchmark::DoNotOptimize(top);
        us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
    }
    ReportLatency(state, us);
    state.counters["max_us"] = *std::max_element(us.begin(), us.end());
}
BENCHMARK_CAPTURE(BM_RecommendMovieLens, ease, "ease", nlohmann::json{{"lambda", 500}})
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(6100);
BENCHMARK_CAPTURE(BM_RecommendMovieLens, ltr, "ltr", nlohmann::json::object())
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(6100);

void BM_ArtifactSizesSynthetic(benchmark::State& state) {
    ArtifactSizes(state, SyntheticMillion(), true);
}
BENCHMARK(BM_ArtifactSizesSynthetic)->Unit(benchmark::kSecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();

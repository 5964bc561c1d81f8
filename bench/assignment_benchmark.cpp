// The cost of experiment assignment alone: core::AssignVariant (GrowthBook's hash v2, bucket
// ranges, namespace check) for one unit, as the api runs it for every prediction routed by a
// surface's running experiment. Cases: 2 and 5 variants, with and without a namespace (one that
// holds 60 % of the units), ASCII and non-ASCII unit ids (the hash runs over UTF-16 code units,
// so non-ASCII ids go through the UTF-8 decoder's slower paths). bench/experiments.sh runs it.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/experiment.hpp"

namespace {

/// A running experiment with `variants` equal-weight variants, in namespace "bench-ns" [0, 0.6)
/// when `with_namespace`.
recs::core::Experiment MakeExperiment(int variants, bool with_namespace) {
    recs::core::Experiment e;
    e.id = "0b7e2a52-5c1d-4f43-9a3e-6a1f0c2d9e11";
    e.tenant_id = "bench";
    e.status = recs::core::ExperimentStatus::kRunning;
    e.spec.name = "bench";
    e.spec.surface = "home";
    for (int i = 0; i < variants; ++i) {
        recs::core::Variant v;
        v.id = "v" + std::to_string(i);
        v.model = "model-" + std::to_string(i);
        v.weight = 1.0 / static_cast<double>(variants);
        e.spec.variants.push_back(v);
    }
    e.spec.control = "v0";
    if (with_namespace) {
        recs::core::Namespace ns;
        ns.id = "bench-ns";
        ns.start = 0.0;
        ns.end = 0.6;
        e.spec.ns = ns;
    }
    return e;
}

constexpr size_t kUnits = 1024;  // a power of two: the loop wraps with a mask

/// kUnits distinct unit ids. ASCII: "user-<n>"; non-ASCII: "us<U+00E9>r-<U+4E2D>-<U+1F600>-<n>"
/// (2-, 3- and 4-byte UTF-8 sequences; the last one is a UTF-16 surrogate pair).
std::vector<std::string> UnitIds(bool non_ascii) {
    const std::string prefix =
        non_ascii ? std::string("us\xc3\xa9r-") + "\xe4\xb8\xad-" + "\xf0\x9f\x98\x80-"
                  : std::string("user-");
    std::vector<std::string> out;
    out.reserve(kUnits);
    for (size_t i = 0; i < kUnits; ++i) out.push_back(prefix + std::to_string(100000 + i * 7));
    return out;
}

void BM_AssignVariant(benchmark::State& state) {
    const int variants = static_cast<int>(state.range(0));
    const bool with_namespace = state.range(1) != 0;
    const bool non_ascii = state.range(2) != 0;
    const recs::core::Experiment e = MakeExperiment(variants, with_namespace);
    const std::vector<std::string> ids = UnitIds(non_ascii);
    const std::optional<std::string> not_forced;
    size_t i = 0;
    int64_t in = 0;
    for (auto _ : state) {
        recs::core::VariantAssignment a = recs::core::AssignVariant(e, ids[i], not_forced);
        benchmark::DoNotOptimize(a);
        in += a.in_experiment ? 1 : 0;
        i = (i + 1) & (kUnits - 1);
    }
    // The share of assignments that put the unit in (1 without a namespace, about 0.6 with it).
    state.counters["in_experiment"] =
        static_cast<double>(in) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_AssignVariant)
    ->ArgsProduct({{2, 5}, {0, 1}, {0, 1}})
    ->ArgNames({"variants", "namespace", "non_ascii"})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

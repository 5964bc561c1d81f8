#pragma once

// Experiment assignment that gives the same answers as GrowthBook's SDKs (checked against the
// cross-SDK vectors of growthbook/growthbook packages/sdk-js/test/cases.json and against the npm
// package @growthbook/growthbook, see tests/compat/growthbook). Follows
// packages/sdk-js/src/util.ts.
//
// JS hashes strings by UTF-16 code unit (String.prototype.charCodeAt), so the UTF-8 text taken
// here is first converted to UTF-16: a character past U+FFFF is two code units (a surrogate pair).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recs::core {

/// UTF-16 code units of UTF-8 `s`, as a JS string decoded from those bytes would hold: each
/// ill-formed sequence becomes U+FFFD the way TextDecoder does (WHATWG "maximal subpart").
std::u16string Utf16FromUtf8(std::string_view s);

/// 32-bit FNV-1a over UTF-16 code units, GrowthBook's hashFnv32a (offset 0x811c9dc5, prime
/// 16777619, one round per code unit).
uint32_t Fnv1a32(std::u16string_view s);

/// GrowthBook's hash(seed, value, version) in [0, 1): version 2 is fnv(str(fnv(seed + value)))
/// % 10000 / 10000; version 1 is fnv(value + seed) % 1000 / 1000; nullopt for any other version.
std::optional<double> GbHash(std::string_view seed, std::string_view value, int version);

/// A variation's bucket range [first, second).
using BucketRange = std::pair<double, double>;

/// GrowthBook's getBucketRanges: one [start, start + coverage * weight) per variation. Coverage
/// is clamped to [0, 1] (NaN is kept, so nobody is in); `weights` empty, of another length than
/// `num_variations` or summing outside [0.99, 1.01] means equal weights (1 / num_variations).
std::vector<BucketRange> GetBucketRanges(int num_variations,
                                         double coverage = 1.0,
                                         std::vector<double> weights = {});

/// Index of the first range with first <= n < second, or -1 when none holds `n`.
int ChooseVariation(double n, const std::vector<BucketRange>& ranges);

/// A GrowthBook namespace [id, start, end]: experiments sharing an id split its users.
struct Namespace {
    std::string id;
    double start = 0.0;
    double end = 1.0;
};

/// True when hash v1 of (seed "__" + ns.id, value `user_id`) is in [ns.start, ns.end).
bool InNamespace(std::string_view user_id, const Namespace& ns);

/// The outcome of Assign, the fields of GrowthBook's Result of the same meaning.
struct Assignment {
    bool in_experiment = false;  // Result.inExperiment
    int variation = 0;           // Result.variationId: 0 (the baseline) when not in the experiment
    double hash = 0.0;           // GbHash(seed, unit_id, 2); JS reports it (Result.bucket) only
                                 // when in the experiment
};

/// GrowthBook's run of an experiment with hashVersion 2, as runExperiment (`_run` in older SDKs)
/// does it without the features this API has no input for (URL/query-string forcing, overrides,
/// filters, conditions, sticky buckets, QA mode, status):
///   1. fewer than 2 variations (weights.size() is the number of variations) -> not in;
///   2. an empty unit id (JS: a falsy hash attribute) -> not in;
///   3. a namespace the unit is not in (InNamespace) -> not in;
///   4. n = GbHash(seed, unit_id, 2); ranges = GetBucketRanges(weights.size(), coverage,
///      weights); variation = ChooseVariation(n, ranges); -1 (coverage) -> not in.
/// `seed` is the experiment's seed, or its key when it has none (JS: `seed || key`).
Assignment Assign(std::string_view seed,
                  std::string_view unit_id,
                  const std::vector<double>& weights,
                  double coverage,
                  const std::optional<Namespace>& ns);

}  // namespace recs::core

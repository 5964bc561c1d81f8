#include "recs/core/assignment.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace recs::core {
namespace {

using nlohmann::json;

// GrowthBook's cross-SDK vectors (tests/data/growthbook/README.md says where they come from).
const json& Cases() {
    static const json cases = [] {
        const std::string path = std::string(RECS_TEST_FIXTURES_DIR) + "/growthbook/cases.json";
        std::ifstream in(path);
        if (!in) {
            throw std::runtime_error("cannot read " + path);
        }
        return json::parse(in);
    }();
    return cases;
}

std::vector<BucketRange> RangesOf(const json& j) {
    std::vector<BucketRange> out;
    for (const auto& r : j) {
        out.emplace_back(r.at(0).get<double>(), r.at(1).get<double>());
    }
    return out;
}

TEST(GrowthBookAssignment, VendoredHashCases) {
    const auto& cases = Cases().at("hash");
    ASSERT_EQ(cases.size(), 15u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.dump());
        const auto got =
            GbHash(c.at(0).get<std::string>(), c.at(1).get<std::string>(), c.at(2).get<int>());
        if (c.at(3).is_null()) {
            EXPECT_FALSE(got.has_value());
        } else {
            ASSERT_TRUE(got.has_value());
            EXPECT_EQ(*got, c.at(3).get<double>());  // upstream: toEqual, exact
        }
    }
}

TEST(GrowthBookAssignment, VendoredGetBucketRangeCases) {
    const auto& cases = Cases().at("getBucketRange");
    ASSERT_EQ(cases.size(), 13u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.dump());
        const auto& args = c.at(1);
        std::vector<double> weights;
        if (!args.at(2).is_null()) {
            weights = args.at(2).get<std::vector<double>>();
        }
        const auto got = GetBucketRanges(args.at(0).get<int>(), args.at(1).get<double>(), weights);
        const auto want = RangesOf(c.at(2));
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            EXPECT_NEAR(got[i].first, want[i].first, 1e-9) << "range " << i;
            EXPECT_NEAR(got[i].second, want[i].second, 1e-9) << "range " << i;
        }
    }
}

TEST(GrowthBookAssignment, VendoredChooseVariationCases) {
    const auto& cases = Cases().at("chooseVariation");
    ASSERT_EQ(cases.size(), 13u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.dump());
        EXPECT_EQ(ChooseVariation(c.at(1).get<double>(), RangesOf(c.at(2))), c.at(3).get<int>());
    }
}

TEST(GrowthBookAssignment, VendoredInNamespaceCases) {
    const auto& cases = Cases().at("inNamespace");
    ASSERT_EQ(cases.size(), 16u);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.dump());
        const auto& ns = c.at(2);
        const Namespace n{ns.at(0).get<std::string>(), ns.at(1).get<double>(),
                          ns.at(2).get<double>()};
        EXPECT_EQ(InNamespace(c.at(1).get<std::string>(), n), c.at(3).get<bool>());
    }
}

// The expected values below are what @growthbook/growthbook 1.8.0 computes under Node 20
// (its hash, inNamespace and GrowthBook#run); tests/compat/growthbook/run.sh checks thousands more.

TEST(GrowthBookAssignment, Utf16LikeJsStrings) {
    EXPECT_EQ(Utf16FromUtf8("aé"), u"a\u00E9");
    EXPECT_EQ(Utf16FromUtf8("日本"), u"\u65E5\u672C");
    EXPECT_EQ(Utf16FromUtf8("😀"), std::u16string({0xD83D, 0xDE00}));  // a surrogate pair
    EXPECT_EQ(Utf16FromUtf8("\xF4\x8F\xBF\xBF"), std::u16string({0xDBFF, 0xDFFF}));  // U+10FFFF
    EXPECT_EQ(Utf16FromUtf8(std::string_view("a\0b", 3)), std::u16string(u"a\0b", 3));
    // Ill-formed UTF-8: U+FFFD per maximal subpart, as TextDecoder and Buffer#toString decode.
    EXPECT_EQ(Utf16FromUtf8("\xFF\x61"), u"\uFFFDa");
    EXPECT_EQ(Utf16FromUtf8("\xE6\x97\x61"), u"\uFFFDa");
    EXPECT_EQ(Utf16FromUtf8("\xF0\x9F\x98"), u"\uFFFD");
    EXPECT_EQ(Utf16FromUtf8("\xED\xA0\x80"), u"\uFFFD\uFFFD\uFFFD");  // an encoded surrogate
    EXPECT_EQ(Utf16FromUtf8("\xC0\xAF"), u"\uFFFD\uFFFD");            // overlong
    EXPECT_EQ(Utf16FromUtf8("\xF4\x90\x80\x80"), u"\uFFFD\uFFFD\uFFFD\uFFFD");  // > U+10FFFF
    EXPECT_EQ(Utf16FromUtf8("a\x80\x62"), u"a\uFFFDb");
}

TEST(GrowthBookAssignment, Fnv1a32OverCodeUnits) {
    EXPECT_EQ(Fnv1a32(u""), 0x811c9dc5u);
    EXPECT_EQ(Fnv1a32(u"a"), 0xe40c292cu);  // the FNV-1a 32 reference value
    EXPECT_EQ(Fnv1a32(u"foobar"), 0xbf9cf968u);
}

TEST(GrowthBookAssignment, NonAsciiHashesLikeJs) {
    struct Case {
        const char* seed;
        const char* value;
        double v1, v2;
    };
    const std::vector<Case> cases = {
        {"", "é", 0.94, 0.8917},  // é precomposed (U+00E9): 1 unit
        {"seed", "é", 0.137, 0.8663},
        {"seed", "e\u0301", 0.438, 0.331},  // e + combining acute: 2 units
        {"seed", "日本", 0.545, 0.9652},
        {"seed", "😀", 0.429, 0.4346},  // a surrogate pair: 2 units
        {"seed", "a😀b", 0.36, 0.7396},
        {"séed-🚀", "日本", 0.197, 0.4103},
        {"", "\xF4\x8F\xBF\xBF", 0.651, 0.7517},  // U+10FFFF
        {"seed", "", 0.564, 0.4286},
        {"", "", 0.261, 0.2305},
        {"seed", "\xFF\x61", 0.062, 0.4505},      // JS sees "\uFFFDa"
        {"seed", "\xED\xA0\x80", 0.647, 0.7358},  // JS sees three U+FFFD
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(c.seed) + " / " + c.value);
        EXPECT_EQ(GbHash(c.seed, c.value, 1), c.v1);
        EXPECT_EQ(GbHash(c.seed, c.value, 2), c.v2);
    }
    EXPECT_EQ(GbHash("seed", std::string_view("\0", 1), 1), 0.074);
    EXPECT_EQ(GbHash("seed", std::string_view("\0", 1), 2), 0.1414);
    EXPECT_FALSE(GbHash("seed", "a", 0).has_value());
    EXPECT_FALSE(GbHash("seed", "a", 3).has_value());
}

TEST(GrowthBookAssignment, NonAsciiNamespacesLikeJs) {
    // hash v1 of id + "__" + namespace id: é 0.805, 日本 0.885, 😀 0.937 (0.979 in 名前空間).
    EXPECT_FALSE(InNamespace("é", {"ns", 0, 0.5}));
    EXPECT_TRUE(InNamespace("é", {"ns", 0.805, 0.806}));  // start is inclusive
    EXPECT_FALSE(InNamespace("é", {"ns", 0.8, 0.805}));   // end is exclusive
    EXPECT_TRUE(InNamespace("日本", {"ns", 0.5, 1}));
    EXPECT_TRUE(InNamespace("😀", {"ns", 0.937, 0.938}));
    EXPECT_TRUE(InNamespace("😀", {"名前空間", 0.979, 0.98}));
}

TEST(GrowthBookAssignment, BucketRangesEdgeCasesLikeJs) {
    // Equal weights are 1 / n each, as JS computes them.
    const auto thirds = GetBucketRanges(3);
    ASSERT_EQ(thirds.size(), 3u);
    EXPECT_EQ(thirds[0], BucketRange(0, 0.3333333333333333));
    EXPECT_EQ(thirds[1], BucketRange(0.3333333333333333, 0.6666666666666666));
    EXPECT_EQ(thirds[2], BucketRange(0.6666666666666666, 1));
    EXPECT_TRUE(GetBucketRanges(0).empty());
    EXPECT_TRUE(GetBucketRanges(-1, 1, {}).empty());
    // Weights are taken when they sum to within [0.99, 1.01], else equal weights.
    using Ranges = std::vector<BucketRange>;
    EXPECT_EQ(GetBucketRanges(2, 1, {0.5, 0.495}), (Ranges{{0, 0.5}, {0.5, 0.995}}));
    EXPECT_EQ(GetBucketRanges(2, 1, {0.5, 0.509}), (Ranges{{0, 0.5}, {0.5, 1.009}}));
    EXPECT_EQ(GetBucketRanges(2, 1, {0.5, 0.489}), (Ranges{{0, 0.5}, {0.5, 1}}));
    EXPECT_EQ(GetBucketRanges(2, 1, {0.5, 0.511}), (Ranges{{0, 0.5}, {0.5, 1}}));
    // Negative weights summing to 1 are taken as they are.
    EXPECT_EQ(GetBucketRanges(2, 1, {-0.5, 1.5}), (std::vector<BucketRange>{{0, -0.5}, {-0.5, 1}}));
    // A NaN coverage is not clamped; no n is in [start, NaN).
    const auto nan = GetBucketRanges(2, std::nan(""));
    ASSERT_EQ(nan.size(), 2u);
    EXPECT_TRUE(std::isnan(nan[1].second));
    EXPECT_EQ(ChooseVariation(0.25, nan), -1);
    // Rounded like JS: 0.1 + 0.01 * 0.9 is 0.10900000000000001 (a fused multiply-add would give
    // 0.109), so n = 0.109 is in variation 1 (JS: inExperiment, variationId 1 for user-23084).
    const auto ranges = GetBucketRanges(2, 0.01, {0.1, 0.9});
    EXPECT_EQ(ranges[1].second, 0.10900000000000001);
    EXPECT_EQ(ChooseVariation(0.109, ranges), 1);
    const auto a = Assign("fma-edge", "user-23084", {0.1, 0.9}, 0.01, std::nullopt);
    EXPECT_TRUE(a.in_experiment);
    EXPECT_EQ(a.variation, 1);
    EXPECT_EQ(a.hash, 0.109);
}

TEST(GrowthBookAssignment, AssignLikeJsRun) {
    // run({key: "k", seed: "s", variations: [0, 1, 2], weights: [0.2, 0.3, 0.5], hashVersion: 2})
    auto a = Assign("s", "é", {0.2, 0.3, 0.5}, 1, std::nullopt);
    EXPECT_TRUE(a.in_experiment);
    EXPECT_EQ(a.variation, 2);
    EXPECT_EQ(a.hash, 0.8605);
    // Out by coverage 0.4: inExperiment false, variationId 0.
    a = Assign("s", "😀", {0.5, 0.5}, 0.4, std::nullopt);
    EXPECT_FALSE(a.in_experiment);
    EXPECT_EQ(a.variation, 0);
    // By namespace: 日本 is in ["ns", 0.5, 1), not in ["ns", 0, 0.5).
    a = Assign("s", "日本", {0.5, 0.5}, 1, Namespace{"ns", 0, 0.5});
    EXPECT_FALSE(a.in_experiment);
    a = Assign("s", "日本", {0.5, 0.5}, 1, Namespace{"ns", 0.5, 1});
    EXPECT_TRUE(a.in_experiment);
    EXPECT_EQ(a.variation, 0);
    EXPECT_EQ(a.hash, 0.0984);
    // The vendored hash case ("seed", "a", 2) is 0.0505: variation 0 of two.
    a = Assign("seed", "a", {0.5, 0.5}, 1, std::nullopt);
    EXPECT_TRUE(a.in_experiment);
    EXPECT_EQ(a.variation, 0);
    EXPECT_EQ(a.hash, 0.0505);
    // "0" is a real id (a non-empty JS string is truthy); "" is no id; fewer than 2 variations.
    EXPECT_TRUE(Assign("seed", "0", {0.5, 0.5}, 1, std::nullopt).in_experiment);
    EXPECT_FALSE(Assign("seed", "", {0.5, 0.5}, 1, std::nullopt).in_experiment);
    EXPECT_FALSE(Assign("seed", "a", {1.0}, 1, std::nullopt).in_experiment);
    EXPECT_FALSE(Assign("seed", "a", {}, 1, std::nullopt).in_experiment);
    // Weights summing to 1.3 mean equal weights; coverage above 1 is 1.
    a = Assign("seed", "b", {0.7, 0.6}, 1.5, std::nullopt);  // hash 0.2696
    EXPECT_TRUE(a.in_experiment);
    EXPECT_EQ(a.variation, 0);
    EXPECT_FALSE(Assign("seed", "a", {0.5, 0.5}, -0.2, std::nullopt).in_experiment);
}

}  // namespace
}  // namespace recs::core

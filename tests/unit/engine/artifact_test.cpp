#include "recs/engine/artifact.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "recs/core/error.hpp"
#include "recs/engine/model.hpp"
#include "test_data.hpp"

namespace recs::engine {
namespace {

void ExpectUnprocessable(std::string_view bytes) {
    try {
        LoadModelFromBuffer(bytes);
        FAIL() << "expected core::Error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnprocessable);
        EXPECT_EQ(e.field().value_or(""), "artifact");
    }
}

std::string ValidArtifact(const std::string& alg = "item_knn") {
    return Train(alg, {}, testing::ClusteredData(20, 12))->Serialize();
}

TEST(ArtifactTest, SaveAndLoadFile) {
    auto path = (std::filesystem::temp_directory_path() /
                 ("recs_artifact_test_" + std::to_string(::getpid()) + ".model"))
                    .string();
    auto model = Train("ease", {{"lambda", 5}}, testing::ClusteredData());
    model->Save(path);
    auto loaded = LoadModel(path);
    EXPECT_EQ(loaded->Algorithm(), "ease");
    EXPECT_EQ(loaded->NumItems(), model->NumItems());
    EXPECT_EQ(loaded->SeenItems("u3"), model->SeenItems("u3"));
    std::filesystem::remove(path);
    try {
        LoadModel(path);
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kNotFound);
    }
}

TEST(ArtifactTest, RejectsEveryTruncation) {
    std::string bytes = ValidArtifact();
    for (size_t len = 0; len < bytes.size(); len += std::max<size_t>(1, bytes.size() / 300)) {
        ExpectUnprocessable(std::string_view(bytes).substr(0, len));
    }
    ExpectUnprocessable(std::string_view(bytes).substr(0, bytes.size() - 1));
}

TEST(ArtifactTest, RejectsCorruption) {
    std::string bytes = ValidArtifact("ials");
    std::mt19937 rng(1);
    for (int trial = 0; trial < 200; ++trial) {
        std::string bad = bytes;
        size_t pos = rng() % bad.size();
        bad[pos] = static_cast<char>(bad[pos] ^ (1 + rng() % 255));
        ExpectUnprocessable(bad);
    }
    ExpectUnprocessable(bytes + "trailing");
}

TEST(ArtifactTest, RejectsForeignFiles) {
    ExpectUnprocessable("");
    ExpectUnprocessable("hello, I am a CSV file\n1,2,3\n");
    ExpectUnprocessable(std::string(4096, '\0'));
    std::string png = "\x89PNG\r\n\x1a\n" + std::string(100, 'x');
    ExpectUnprocessable(png);
    // Right magic, future version.
    std::string bytes = ValidArtifact();
    bytes[8] = 99;
    ExpectUnprocessable(bytes);
}

TEST(ArtifactTest, EveryAlgorithmRoundTrips) {
    for (const auto& alg : {"popularity", "item_knn", "ease", "ials", "assoc_rules"}) {
        auto bytes = ValidArtifact(alg);
        auto model = LoadModelFromBuffer(bytes);
        EXPECT_EQ(model->Algorithm(), alg);
        EXPECT_EQ(model->Serialize(), bytes) << alg;
    }
}

// A payload behind a valid checksum whose sparse matrix offsets point past its entries
// (found by the fuzzer: Csr::Valid read out of bounds before checking every offset).
TEST(ArtifactTest, RejectsInconsistentMatrixBehindValidChecksum) {
    std::string p;
    auto put64 = [&p](uint64_t v) { p.append(reinterpret_cast<const char*>(&v), 8); };
    auto put32 = [&p](uint32_t v) { p.append(reinterpret_cast<const char*>(&v), 4); };
    auto str = [&](const std::string& s) {
        put64(s.size());
        p += s;
    };
    str("popularity");
    str("{}");
    put64(2);  // users
    str("u1");
    str("u2");
    put64(1);  // items
    str("i1");
    put32(2);  // rows
    put32(1);  // cols
    put64(3);  // offsets 0, 100, 0
    put64(0);
    put64(100);
    put64(0);
    put64(0);  // no indices
    put64(0);  // no values
    put64(1);  // popularity
    p.append("\0\0\x80\x3f", 4);
    ExpectUnprocessable(WrapArtifactPayload(p));
}

// Replaces the info JSON (the second length-prefixed string of the payload) of an artifact.
std::string WithInfo(std::string_view artifact, const nlohmann::json& info) {
    std::string p(ArtifactPayload(artifact));
    auto len_at = [&p](size_t at) {
        uint64_t n = 0;
        std::memcpy(&n, p.data() + at, 8);
        return static_cast<size_t>(n);
    };
    size_t info_at = 8 + len_at(0);
    size_t info_len = len_at(info_at);
    std::string dumped = info.dump();
    uint64_t n = dumped.size();
    std::string out = p.substr(0, info_at);
    out.append(reinterpret_cast<const char*>(&n), 8);
    out += dumped;
    out += p.substr(info_at + 8 + info_len);
    return WrapArtifactPayload(out);
}

// Every field of every algorithm's stored info given a value of the wrong type loads or is
// rejected as unprocessable, never an uncaught exception (found by the fuzzer: ltr's "refit"
// read as a bool from a number).
TEST(ArtifactTest, InfoFieldsOfTheWrongTypeNeverEscapeAsOtherExceptions) {
    auto data = testing::ClusteredData(20, 12);
    const nlohmann::json ltr_params = {
        {"candidates", 20}, {"rounds", 5}, {"ials", {{"factors", 4}, {"epochs", 2}}}};
    for (const std::string alg : {"popularity", "item_knn", "ease", "ials", "assoc_rules", "ltr"}) {
        auto bytes =
            Train(alg, alg == "ltr" ? ltr_params : nlohmann::json::object(), data)->Serialize();
        auto info = nlohmann::json::parse(LoadModelFromBuffer(bytes)->Info().dump());
        ASSERT_TRUE(info.is_object());
        ASSERT_FALSE(info.empty()) << alg;
        for (const auto& [key, value] : info.items()) {
            for (const nlohmann::json& wrong :
                 {nlohmann::json(1), nlohmann::json("x"), nlohmann::json::array({1}),
                  nlohmann::json(nullptr)}) {
                auto changed = info;
                changed[key] = wrong;
                try {
                    LoadModelFromBuffer(WithInfo(bytes, changed));
                } catch (const core::Error& e) {
                    EXPECT_EQ(e.code(), core::ErrorCode::kUnprocessable) << alg << " " << key;
                } catch (const std::exception& e) {
                    ADD_FAILURE() << alg << " info field " << key << " = " << wrong.dump()
                                  << " escaped as " << e.what();
                }
            }
        }
    }
}

// The XGBoost ranker's model travels inside the artifact as UBJSON; it must load back (the
// loader checks the UBJSON before XGBoost sees it), and other bytes are refused. The input that
// made XGBoost's legacy-format parser allocate 8 EB is in fuzz/regressions, which every fuzz
// run (under ASan) replays.
TEST(ArtifactTest, XgboostRankerRoundTripsAndForeignRankerBytesAreRefused) {
    const nlohmann::json params = {{"candidates", 20},
                                   {"rounds", 5},
                                   {"ranker", "xgboost"},
                                   {"ials", {{"factors", 4}, {"epochs", 2}}}};
    auto model = Train("ltr", params, testing::ClusteredData(20, 12));
    auto bytes = model->Serialize();
    auto loaded = LoadModelFromBuffer(bytes);
    EXPECT_EQ(loaded->Serialize(), bytes);
    const auto a = model->Recommend("u1", {}, 5, {}, nullptr, nullptr);
    const auto b = loaded->Recommend("u1", {}, 5, {}, nullptr, nullptr);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].item_id, b[i].item_id);
    }
    // Replace the ranker's UBJSON object start with a legacy-format byte: refused, not parsed.
    std::string payload(ArtifactPayload(bytes));
    const size_t ubj = payload.find("{L");
    ASSERT_NE(ubj, std::string::npos);
    payload[ubj] = 'X';
    try {
        LoadModelFromBuffer(WrapArtifactPayload(payload));
        FAIL() << "expected core::Error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnprocessable);
        EXPECT_NE(std::string(e.what()).find("ranker"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace recs::engine

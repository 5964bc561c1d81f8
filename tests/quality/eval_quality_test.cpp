// The offline evaluation through the real `recsplane eval` command: its input handling, and
// the quality targets on ml-latest-small (item-stratified 75/25, seed 42, k = 10).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/shared_data.hpp"

namespace recs {
namespace {

using nlohmann::json;

struct Run {
    int status = -1;
    std::string out;
};

/// Runs `recsplane eval ARGS` and captures stdout (progress on stderr is dropped).
Run Eval(const std::string& args) {
    std::string cmd = std::string(RECS_BINARY_PATH) + " eval " + args + " 2>/dev/null";
    Run r;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) {
        return r;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        r.out.append(buf, n);
    }
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

double Ndcg(const json& report, const std::string& algorithm) {
    for (const auto& r : report["results"]) {
        if (r["algorithm"] == algorithm) {
            EXPECT_FALSE(r.contains("error")) << r.dump();
            return r["metrics"].value("ndcg", -1.0);
        }
    }
    ADD_FAILURE() << "no result for " << algorithm;
    return -1;
}

// Tab-separated u.data layout without a header, with two bad lines.
TEST(EvalCommand, ReadsTabSeparatedFilesAndCountsBadLines) {
    auto path = std::filesystem::temp_directory_path() / "recs_eval_udata.tsv";
    {
        std::ofstream f(path);
        for (int u = 0; u < 40; ++u) {
            for (int i = 0; i < 12; ++i) {
                f << u << "\t" << (u % 2) * 12 + i << "\t4\t" << 1000 + i << "\n";
            }
        }
        f << "garbage\n"
          << "1\t2\tnot-a-rating\t5\n";
    }
    auto r = Eval(path.string() + " --algorithms popularity,item_knn --json --quiet");
    ASSERT_EQ(r.status, 0) << r.out;
    auto j = json::parse(r.out);
    EXPECT_EQ(j["data"]["interactions"], 480);
    EXPECT_EQ(j["data"]["bad_lines"], 2);
    EXPECT_EQ(j["split"]["on"], "test");
    // Two disjoint clusters: item-kNN finds each user's cluster, popularity cannot.
    EXPECT_GT(Ndcg(j, "item_knn"), Ndcg(j, "popularity") + 0.2);

    auto v = Eval(path.string() + " --algorithms popularity --json --quiet --validation");
    ASSERT_EQ(v.status, 0);
    auto jv = json::parse(v.out);
    EXPECT_EQ(jv["split"]["on"], "validation");
    EXPECT_LT(jv["split"]["train"].get<int>(), j["split"]["train"].get<int>());

    EXPECT_EQ(Eval(path.string() + " --bogus").status, 2);
    EXPECT_EQ(Eval(path.string() + " --ratio 1.5").status, 2);
    EXPECT_EQ(Eval(path.string() + " --algorithms nope --json --quiet").status, 1);
    std::filesystem::remove(path);
}

// The protocol check against the numpy reference (EASE lambda=500 0.4081, popularity 0.2185,
// within 0.01) and the target: the default ltr reaches nDCG@10 >= 0.42 with everything chosen
// on validation splits of train.
TEST(EvalCommand, MovieLensReferenceAndTarget) {
    ASSERT_TRUE(std::filesystem::exists(testing::MovieLensRatingsPath()))
        << testing::MovieLensRatingsPath()
        << " is missing: set RECS_SHARED_DIR to the shared folder";
    auto r = Eval(testing::MovieLensRatingsPath() +
                  " --split item-stratified --ratio 0.75 --seed 42 --k 10 --json --quiet"
                  " --algorithms popularity,ease,ltr --param ease.lambda=500"
                  " --param ease.neighbors=0");
    ASSERT_EQ(r.status, 0) << r.out;
    auto j = json::parse(r.out);
    EXPECT_EQ(j["data"]["interactions"], 100836);
    EXPECT_NEAR(Ndcg(j, "popularity"), 0.2185, 0.01);
    EXPECT_NEAR(Ndcg(j, "ease"), 0.4081, 0.01);
    double ltr = Ndcg(j, "ltr");
    EXPECT_GE(ltr, 0.42);
    std::printf("nDCG@10: popularity %.4f, ease(500) %.4f, ltr %.4f\n", Ndcg(j, "popularity"),
                Ndcg(j, "ease"), ltr);
}

}  // namespace
}  // namespace recs

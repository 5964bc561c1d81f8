// The in-process pool's bounds (finding M14): bytes, count per tenant, remembered failures,
// checksums, single-flight loads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/engine/model.hpp"
#include "recs/workers/in_process_pool.hpp"

namespace recs::workers {
namespace {

namespace fs = std::filesystem;

class PoolTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("recs-pool-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    /// A small trained model written to disk, as a serving target of `tenant`.
    core::ServingTarget Target(const std::string& tenant, int version, bool checksum = true) {
        std::vector<engine::Interaction> data;
        for (int u = 0; u < 20; ++u)
            for (int i = 0; i < 5 + version; ++i)
                data.push_back({"u" + std::to_string(u), "i" + std::to_string((u + i) % 30), 1.f});
        auto m = engine::Train("popularity", nlohmann::json::object(), data);
        auto bytes = m->Serialize();
        std::string path = (dir_ / (tenant + "-" + std::to_string(version) + ".bin")).string();
        engine::WriteArtifactFile(path, bytes);
        core::ServingTarget t;
        t.tenant_id = tenant;
        t.model_name = "m";
        t.version_id = tenant + "-v" + std::to_string(version);
        t.version = version;
        t.algorithm = "popularity";
        t.artifact_path = path;
        if (checksum) t.artifact_sha256 = core::Sha256Hex(bytes);
        return t;
    }
    fs::path dir_;
};

TEST_F(PoolTest, OneTenantCannotEvictTheOthers) {
    InProcessPool pool("p", PoolLimits{.max_models_per_tenant = 2});
    auto other = Target("b", 1);
    pool.Preload(other);
    for (int v = 1; v <= 5; ++v) pool.Preload(Target("a", v));
    EXPECT_EQ(pool.loaded(), 3u);  // two of a's, and b's
    core::RankRequest req;
    req.user_id = "u1";
    EXPECT_FALSE(pool.Rank(other, req).items.empty());
    pool.Evict("a");
    EXPECT_EQ(pool.loaded(), 1u);
}

TEST_F(PoolTest, BoundedInBytes) {
    auto t1 = Target("a", 1);
    size_t one = fs::file_size(t1.artifact_path);
    InProcessPool pool("p", PoolLimits{.max_bytes = one * 2 + one / 2});
    pool.Preload(t1);
    pool.Preload(Target("b", 2));
    pool.Preload(Target("c", 3));
    pool.Preload(Target("d", 4));
    EXPECT_LE(pool.loaded_bytes(), one * 2 + one / 2 + 200);
    EXPECT_LE(pool.loaded(), 2u);
}

TEST_F(PoolTest, ChecksumsAreVerifiedAndFailuresRemembered) {
    auto t = Target("a", 1);
    {
        std::FILE* f = std::fopen(t.artifact_path.c_str(), "r+b");
        std::fseek(f, 30, SEEK_SET);
        std::fputc('Z', f);
        std::fclose(f);
    }
    InProcessPool pool("p", PoolLimits{.failure_ttl = std::chrono::milliseconds(60000)});
    try {
        pool.Preload(t);
        FAIL() << "a corrupt artifact loaded";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kConflict);
        EXPECT_EQ(e.detail().find(dir_.string()), std::string::npos) << "the path leaked";
    }
    // Repaired on disk, but the failure is remembered: no reload on every request.
    auto good = Target("a", 1);
    EXPECT_THROW(pool.Preload(t), core::Error);
    InProcessPool fresh("p", PoolLimits{.failure_ttl = std::chrono::milliseconds(0)});
    auto wrong = good;
    wrong.artifact_sha256 = std::string(64, '0');
    EXPECT_THROW(fresh.Preload(wrong), core::Error);  // a checksum that does not match
    EXPECT_NO_THROW(fresh.Preload(good));
}

TEST_F(PoolTest, ConcurrentColdLoadsOfOneVersionLoadItOnce) {
    InProcessPool pool("p");
    auto t = Target("a", 1);
    std::vector<std::future<void>> f;
    for (int i = 0; i < 8; ++i)
        f.push_back(std::async(std::launch::async, [&] { pool.Preload(t); }));
    for (auto& x : f) x.get();
    EXPECT_EQ(pool.loaded(), 1u);
}

}  // namespace
}  // namespace recs::workers

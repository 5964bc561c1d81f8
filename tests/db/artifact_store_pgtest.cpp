// The artifact store's two implementations, one contract: the filesystem and PostgreSQL large
// objects (the real database). A reference round-trips to a local file with the same bytes,
// a checksum mismatch never reaches the cache, and collection keeps what versions refer to.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/store/artifact_store.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/testing.hpp"
#include "support/test_env.hpp"

namespace recs::store {
namespace {

namespace fs = std::filesystem;
using testing::TestDatabase;

std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// Bytes that are not all alike, over several 4 MiB chunks when `n` is large.
std::string Bytes(size_t n, unsigned seed) {
    std::string s(n, '\0');
    unsigned x = seed;
    for (auto& c : s) {
        x = x * 1103515245u + 12345u;
        c = static_cast<char>(x >> 16);
    }
    return s;
}

class ArtifactStoreTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        if (testing::PgDsn().empty()) GTEST_SKIP() << "RECS_TEST_PG_DSN not set";
        TestDatabase::Get().Truncate();
        dir_ = fs::temp_directory_path() / ("recs-artifacts-" + core::RandomToken(8));
        fs::create_directories(dir_);
        store_ = MakeArtifactStore(GetParam(), TestDatabase::Get().pool(), dir_.string());
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    fs::path dir_;
    std::unique_ptr<ArtifactStore> store_;
};

TEST_P(ArtifactStoreTest, PutThenOpenGivesTheSameBytes) {
    EXPECT_EQ(std::string(store_->kind()), GetParam());
    for (size_t n : {size_t{1}, size_t{9} << 20}) {  // one byte, and three chunks
        auto bytes = Bytes(n, static_cast<unsigned>(n));
        auto ref = store_->Put("tenants/t/models/m/job-" + std::to_string(n) + ".bin", bytes);
        if (GetParam() == "postgres") EXPECT_EQ(ref.rfind("pg:", 0), 0u) << ref;
        auto path = store_->Open(ref, core::Sha256Hex(bytes));
        EXPECT_EQ(ReadFile(path), bytes);
        // A second open is served locally (the same file).
        EXPECT_EQ(store_->Open(ref, core::Sha256Hex(bytes)), path);
    }
}

TEST_P(ArtifactStoreTest, MissingAndMismatchingArtifactsAreErrors) {
    auto bytes = Bytes(1000, 7);
    auto ref = store_->Put("tenants/t/models/m/a.bin", bytes);
    if (GetParam() == "postgres") {
        // The bytes do not match the version's checksum: refused, and nothing is cached.
        try {
            store_->Open(ref, core::Sha256Hex("something else"));
            FAIL() << "a mismatching artifact was opened";
        } catch (const core::Error& e) {
            EXPECT_EQ(e.code(), core::ErrorCode::kUnprocessable);
        }
        EXPECT_FALSE(fs::exists(dir_ / "artifact-cache") && !fs::is_empty(dir_ / "artifact-cache"));
    }
    store_->Remove(ref);
    store_->Remove(ref);  // absent: not an error
    try {
        store_->Open(ref, core::Sha256Hex(bytes));
        FAIL() << "a removed artifact was opened";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kNotFound);
    }
}

TEST_P(ArtifactStoreTest, CollectKeepsReferencedAndYoungArtifacts) {
    auto kept = store_->Put("tenants/t/models/m/kept.bin", Bytes(100, 1));
    auto dropped = store_->Put("tenants/t/models/m/dropped.bin", Bytes(100, 2));
    // Young artifacts are never collected: one may be a version being recorded right now.
    EXPECT_EQ(store_->Collect({kept}, std::chrono::hours(1)), 0u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(store_->Collect({kept}, std::chrono::seconds(1)), 1u);
    EXPECT_NO_THROW(store_->Open(kept, core::Sha256Hex(Bytes(100, 1))));
    EXPECT_THROW(store_->Open(dropped, core::Sha256Hex(Bytes(100, 2))), core::Error);
}

// Versions trained with the filesystem store stay readable after switching to PostgreSQL.
TEST(ArtifactStoreSwitch, PostgresReadsFileReferences) {
    if (testing::PgDsn().empty()) GTEST_SKIP() << "RECS_TEST_PG_DSN not set";
    auto dir = fs::temp_directory_path() / ("recs-artifacts-" + core::RandomToken(8));
    auto files = MakeArtifactStore("fs", TestDatabase::Get().pool(), dir.string());
    auto pg = MakeArtifactStore("postgres", TestDatabase::Get().pool(), dir.string());
    auto bytes = Bytes(5000, 3);
    auto ref = files->Put("tenants/t/models/m/old.bin", bytes);
    EXPECT_EQ(ReadFile(pg->Open(ref, core::Sha256Hex(bytes))), bytes);
    EXPECT_THROW(MakeArtifactStore("s3", TestDatabase::Get().pool(), dir.string()), core::Error);
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Stores,
                         ArtifactStoreTest,
                         ::testing::Values("fs", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace recs::store

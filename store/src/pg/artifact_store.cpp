#include "recs/store/artifact_store.hpp"

#include <filesystem>
#include <unordered_set>

#include "pg/pg_pool_impl.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/files.hpp"

namespace recs::store {
namespace fs = std::filesystem;

namespace {

constexpr size_t kChunk = 4u << 20;  // bytes per lo_put / lo_get statement
constexpr int kArtifactTimeoutMs = 10 * 60 * 1000;
constexpr std::string_view kPrefix = "pg:";

/// A file name for a reference and its checksum: the cache holds one file per version.
std::string CacheName(const std::string& ref, const std::string& sha256) {
    std::string name;
    for (char c : ref.substr(kPrefix.size()))
        name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
    return name + "-" + (sha256.empty() ? "unchecked" : sha256.substr(0, 16)) + ".bin";
}

class PgArtifactStore final : public ArtifactStore {
public:
    PgArtifactStore(PgPool& pg, std::string cache_dir)
        : pg_(pg),
          cache_(fs::path(cache_dir) / "artifact-cache"),
          files_(MakeFsArtifactStore(cache_dir)) {}

    std::string Put(const std::string& name, std::string_view bytes) override {
        std::string ref;
        std::string sha = core::Sha256Hex(bytes);
        // One transaction: a failure part-way leaves neither a row nor an orphaned object.
        WithTransaction(
            pg_, "artifacts.put",
            [&](pqxx::work& tx) {
                auto lo = tx.exec1("SELECT lo_create(0)")[0].as<long long>();
                for (size_t off = 0; off < bytes.size(); off += kChunk) {
                    auto part = bytes.substr(off, kChunk);
                    pqxx::binarystring chunk(part.data(), part.size());
                    tx.exec_params("SELECT lo_put($1::oid, $2::bigint, $3::bytea)", lo,
                                   static_cast<long long>(off), chunk);
                }
                ref =
                    tx.exec_params1(
                          "INSERT INTO artifacts (ref, name, lo, bytes, sha256) "
                          "VALUES ('pg:' || gen_random_uuid(), $1, $2::oid, $3, $4) RETURNING ref",
                          name, lo, static_cast<long long>(bytes.size()), sha)[0]
                        .as<std::string>();
            },
            kArtifactTimeoutMs);
        return ref;
    }

    std::string Open(const std::string& ref, const std::string& sha256) override {
        if (ref.rfind(kPrefix, 0) != 0) return files_->Open(ref, sha256);
        fs::path local = cache_ / CacheName(ref, sha256);
        std::error_code ec;
        if (fs::is_regular_file(local, ec)) return local.string();  // the loader checks it again
        std::string bytes;
        bool found = false;
        WithTransaction(
            pg_, "artifacts.get",
            [&](pqxx::work& tx) {
                auto r =
                    tx.exec_params("SELECT lo::bigint, bytes FROM artifacts WHERE ref = $1", ref);
                if (r.empty()) return;
                found = true;
                auto lo = r[0][0].as<long long>();
                auto size = r[0][1].as<long long>();
                bytes.reserve(static_cast<size_t>(size));
                for (long long off = 0; off < size; off += static_cast<long long>(kChunk)) {
                    auto part = tx.exec_params1("SELECT lo_get($1::oid, $2::bigint, $3::int)", lo,
                                                off, static_cast<int>(kChunk));
                    pqxx::binarystring b(part[0]);
                    bytes.append(b.str());
                }
            },
            kArtifactTimeoutMs);
        if (!found) throw core::Error(core::ErrorCode::kNotFound, "the model artifact is missing");
        if (!sha256.empty() && core::Sha256Hex(bytes) != sha256)
            throw core::Error(core::ErrorCode::kUnprocessable,
                              "the model artifact does not match its checksum", "artifact");
        fs::create_directories(cache_, ec);
        if (ec)
            throw core::Error(core::ErrorCode::kUnavailable,
                              "cannot create the artifact cache: " + ec.message());
        core::WriteFileDurably(local.string(), bytes, "the artifact cache");
        return local.string();
    }

    void Remove(const std::string& ref) override {
        if (ref.rfind(kPrefix, 0) != 0) return files_->Remove(ref);
        WithTransaction(pg_, "artifacts.remove", [&](pqxx::work& tx) {
            auto r =
                tx.exec_params("DELETE FROM artifacts WHERE ref = $1 RETURNING lo::bigint", ref);
            if (!r.empty()) tx.exec_params("SELECT lo_unlink($1::oid)", r[0][0].as<long long>());
        });
        DropCached(ref);
    }

    size_t Collect(const std::vector<std::string>& referenced,
                   std::chrono::seconds min_age) override {
        std::unordered_set<std::string> keep(referenced.begin(), referenced.end());
        std::vector<std::string> old;
        WithTransaction(pg_, "artifacts.list", [&](pqxx::work& tx) {
            for (const auto& r : tx.exec_params("SELECT ref FROM artifacts WHERE created_at < "
                                                "now() - make_interval(secs => $1)",
                                                static_cast<double>(min_age.count())))
                old.push_back(r[0].as<std::string>());
        });
        size_t removed = 0;
        for (const auto& ref : old)
            if (!keep.count(ref)) {
                Remove(ref);
                ++removed;
            }
        return removed;
    }

    const char* kind() const override { return "postgres"; }

private:
    void DropCached(const std::string& ref) {
        std::error_code ec;
        std::string stem = CacheName(ref, "");
        stem = stem.substr(0, stem.size() - std::string("-unchecked.bin").size()) + "-";
        for (auto it = fs::directory_iterator(cache_, ec); !ec && it != fs::directory_iterator();
             it.increment(ec))
            if (it->path().filename().string().rfind(stem, 0) == 0) fs::remove(it->path(), ec);
    }

    PgPool& pg_;
    fs::path cache_;
    std::unique_ptr<ArtifactStore> files_;  ///< references that are paths
};

}  // namespace

std::unique_ptr<ArtifactStore> MakePgArtifactStore(PgPool& pg, std::string cache_dir) {
    return std::make_unique<PgArtifactStore>(pg, std::move(cache_dir));
}

std::unique_ptr<ArtifactStore> MakeArtifactStore(const std::string& kind,
                                                 PgPool& pg,
                                                 const std::string& data_dir) {
    if (kind == "postgres") return MakePgArtifactStore(pg, data_dir);
    if (kind == "fs" || kind.empty()) return MakeFsArtifactStore(data_dir);
    throw core::Error(core::ErrorCode::kInvalidArgument,
                      "RECS_ARTIFACT_STORE must be fs or postgres", "RECS_ARTIFACT_STORE");
}

}  // namespace recs::store

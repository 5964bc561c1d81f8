#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace recs::store {

class PgPool;

/// Where model artifacts live, readable from every machine of a deployment: a filesystem
/// (a shared volume in a cluster) or PostgreSQL large objects (no shared volume needed).
/// A version row records the reference Put returned; members read it through Open, which
/// gives a local file (the artifact itself, or a checked copy in a local cache).
class ArtifactStore {
public:
    virtual ~ArtifactStore() = default;
    /// Stores an artifact under `name` (a relative path unique per training attempt, e.g.
    /// tenants/T/models/M/job-J-a1-XXXX.bin) and returns the reference to record. Throws
    /// Error(kUnavailable) when the store cannot be written.
    virtual std::string Put(const std::string& name, std::string_view bytes) = 0;
    /// A local file holding the artifact `ref`, whose SHA-256 (hex) is `sha256` (empty for
    /// versions made before checksums: then unchecked). Bytes fetched from elsewhere are
    /// checked before they reach the cache. Throws kNotFound when the artifact is gone,
    /// kUnprocessable when its bytes do not match, kUnavailable when the store cannot be read.
    virtual std::string Open(const std::string& ref, const std::string& sha256) = 0;
    /// Removes an artifact; an absent one is not an error.
    virtual void Remove(const std::string& ref) = 0;
    /// Removes the artifacts not in `referenced` that are older than `min_age` (a younger one
    /// may belong to a version being recorded right now); returns how many.
    virtual size_t Collect(const std::vector<std::string>& referenced,
                           std::chrono::seconds min_age) = 0;
    /// "fs" or "postgres".
    virtual const char* kind() const = 0;
};

/// Artifacts as files under `root` (RECS_DATA_DIR); a reference is the file's path.
std::unique_ptr<ArtifactStore> MakeFsArtifactStore(std::string root);

/// Artifacts as PostgreSQL large objects, listed in the `artifacts` table; a reference is
/// "pg:<uuid>". Open copies an artifact into `cache_dir` once (checked against its SHA-256).
/// References that are paths (versions trained with the filesystem store) are read as files.
std::unique_ptr<ArtifactStore> MakePgArtifactStore(PgPool& pg, std::string cache_dir);

/// The store RECS_ARTIFACT_STORE names: "fs" (default) or "postgres".
std::unique_ptr<ArtifactStore> MakeArtifactStore(const std::string& kind,
                                                 PgPool& pg,
                                                 const std::string& data_dir);

}  // namespace recs::store

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include "recs/core/error.hpp"
#include "recs/core/files.hpp"
#include "recs/store/artifact_store.hpp"

namespace recs::store {
namespace fs = std::filesystem;

namespace {

/// Deletes regular files under `root` not in `keep` and older than `min_age`, then the
/// folders left empty (deepest first); returns how many files.
size_t CollectFiles(const fs::path& root,
                    const std::unordered_set<std::string>& keep,
                    std::chrono::seconds min_age) {
    std::error_code ec;
    if (!fs::exists(root, ec)) return 0;
    auto cutoff = fs::file_time_type::clock::now() - min_age;
    size_t removed = 0;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        if (keep.count(it->path().string())) continue;
        if (it->last_write_time(ec) > cutoff || ec) continue;
        if (fs::remove(it->path(), ec)) ++removed;
    }
    std::vector<fs::path> dirs;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_directory(ec)) dirs.push_back(it->path());
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
        return a.string().size() > b.string().size();
    });
    for (const auto& d : dirs)
        if (fs::is_empty(d, ec)) fs::remove(d, ec);
    return removed;
}

class FsArtifactStore final : public ArtifactStore {
public:
    explicit FsArtifactStore(std::string root) : root_(std::move(root)) {}

    std::string Put(const std::string& name, std::string_view bytes) override {
        fs::path path = fs::path(root_) / name;
        std::error_code ec;
        fs::create_directories(path.parent_path(), ec);
        if (ec)
            throw core::Error(core::ErrorCode::kUnavailable,
                              "cannot create the artifact directory: " + ec.message());
        core::WriteFileDurably(path.string(), bytes, "the model artifact");
        return path.string();
    }

    std::string Open(const std::string& ref, const std::string&) override {
        // The loader checks the SHA-256 as it maps the file: nothing to copy.
        std::error_code ec;
        if (!fs::is_regular_file(ref, ec))
            throw core::Error(core::ErrorCode::kNotFound, "the model artifact is missing");
        return ref;
    }

    void Remove(const std::string& ref) override {
        std::error_code ec;
        fs::remove(ref, ec);
    }

    size_t Collect(const std::vector<std::string>& referenced,
                   std::chrono::seconds min_age) override {
        std::unordered_set<std::string> keep(referenced.begin(), referenced.end());
        return CollectFiles(fs::path(root_) / "tenants", keep, min_age);
    }

    const char* kind() const override { return "fs"; }

private:
    std::string root_;
};

}  // namespace

std::unique_ptr<ArtifactStore> MakeFsArtifactStore(std::string root) {
    return std::make_unique<FsArtifactStore>(std::move(root));
}

}  // namespace recs::store

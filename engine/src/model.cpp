#include "recs/engine/model.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "algorithms.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/files.hpp"

namespace recs::engine {

Model::~Model() = default;

namespace detail {
namespace {

const std::array<const AlgorithmSpec*, 7>& Registry() {
    static const std::array<const AlgorithmSpec*, 7> kSpecs = {
        &PopularitySpec(), &ItemKnnSpec(), &EaseSpec(), &IalsSpec(),
        &AssocRulesSpec(), &BlendSpec(),   &LtrSpec(),
    };
    return kSpecs;
}

}  // namespace

const AlgorithmSpec* FindAlgorithm(std::string_view name) {
    for (const auto* s : Registry()) {
        if (s->name == name) {
            return s;
        }
    }
    return nullptr;
}

std::unique_ptr<BaseModel> TrainBase(std::string_view algorithm,
                                     const nlohmann::json& hyperparameters,
                                     const std::vector<Interaction>& data,
                                     const TrainContext& ctx) {
    const AlgorithmSpec* spec = FindAlgorithm(algorithm);
    if (spec == nullptr) {
        throw core::Error(core::ErrorCode::kUnprocessable,
                          "unknown algorithm '" + std::string(algorithm) + "'", "algorithm");
    }
    Params p(hyperparameters);
    MatrixOptions options = p.Matrix(spec->default_binary);
    Trainer trainer = spec->parse(p);
    p.Finish();
    Checkpoint(ctx, 0.0);
    InteractionMatrix m = InteractionMatrix::Build(data, options);
    auto catalog = Catalog::FromMatrix(m);
    auto model = trainer(m, catalog, ctx);
    auto& info = model->mutable_info();
    for (const auto& [k, v] : p.effective().items()) {
        if (!info["hyperparameters"].contains(k)) {
            info["hyperparameters"][k] = v;
        }
    }
    info["users"] = m.users.size();
    info["items"] = m.items.size();
    info["interactions"] = m.by_user.nnz();
    Checkpoint(ctx, 1.0);
    return model;
}

std::unique_ptr<BaseModel> LoadPayload(ArtifactReader& r) {
    std::string algorithm = r.String();
    const AlgorithmSpec* spec = FindAlgorithm(algorithm);
    if (spec == nullptr) {
        ArtifactReader::Fail("unknown algorithm");
    }
    auto info = nlohmann::json::parse(r.String(), nullptr, false);
    if (info.is_discarded() || !info.is_object()) {
        ArtifactReader::Fail("bad model info");
    }
    auto catalog = Catalog::Load(r);
    return spec->load(std::move(catalog), std::move(info), r);
}

}  // namespace detail

std::unique_ptr<Model> Train(std::string_view algorithm,
                             const nlohmann::json& hyperparameters,
                             const std::vector<Interaction>& data,
                             const TrainContext& ctx) {
    return detail::TrainBase(algorithm, hyperparameters, data, ctx);
}

std::unique_ptr<Model> LoadModelFromBuffer(std::string_view bytes) {
    detail::ArtifactReader r(detail::UnwrapPayload(bytes));
    try {
        auto model = detail::LoadPayload(r);
        r.ExpectEnd();
        return model;
    } catch (const nlohmann::json::exception&) {
        // A loader read a field of the stored info with an unexpected type (the info travels
        // inside the checksummed payload, so only a hand-made or fuzzed file gets here).
        detail::ArtifactReader::Fail("model info has a field of the wrong type");
    }
}

void WriteArtifactFile(const std::string& path, std::string_view bytes) {
    core::WriteFileDurably(path, bytes, "the model artifact");
}

std::unique_ptr<Model> LoadModel(const std::string& path, std::string_view expected_sha256) {
    // Mapped, not read: the file's pages are the page cache's, so a load peaks at the model's
    // own memory instead of twice the artifact.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw core::Error(core::ErrorCode::kNotFound, "cannot open model artifact");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
        ::close(fd);
        throw core::Error(core::ErrorCode::kUnprocessable, "the model artifact is empty",
                          "artifact");
    }
    auto size = static_cast<size_t>(st.st_size);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED)
        throw core::Error(core::ErrorCode::kUnprocessable, "cannot map the model artifact",
                          "artifact");
    struct Unmap {
        void* p;
        size_t n;
        ~Unmap() { ::munmap(p, n); }
    } unmap{map, size};
    std::string_view bytes(static_cast<const char*>(map), size);
    if (!expected_sha256.empty() && core::Sha256Hex(bytes) != expected_sha256)
        throw core::Error(core::ErrorCode::kUnprocessable,
                          "the model artifact does not match the checksum recorded for it",
                          "artifact");
    return LoadModelFromBuffer(bytes);
}

std::vector<std::string> Algorithms() {
    std::vector<std::string> out;
    for (const auto* s : detail::Registry()) {
        out.emplace_back(s->name);
    }
    return out;
}

}  // namespace recs::engine

namespace recs::engine::detail {

void WriteSubModel(ArtifactWriter& w, const BaseModel& m) {
    w.String(m.Algorithm());
    w.String(m.Info().dump());
    m.SavePayload(w);
}

std::unique_ptr<BaseModel> ReadSubModel(ArtifactReader& r, std::shared_ptr<const Catalog> catalog) {
    std::string algorithm = r.String();
    const AlgorithmSpec* spec = FindAlgorithm(algorithm);
    if (spec == nullptr || algorithm == "ltr" || algorithm == "blend") {
        ArtifactReader::Fail("bad component model");
    }
    auto info = nlohmann::json::parse(r.String(), nullptr, false);
    if (info.is_discarded() || !info.is_object()) {
        ArtifactReader::Fail("bad component info");
    }
    return spec->load(std::move(catalog), std::move(info), r);
}

Trainer ParseSubModel(std::string_view algorithm,
                      const nlohmann::json& hyperparameters,
                      const std::string& prefix) {
    const AlgorithmSpec* spec = FindAlgorithm(algorithm);
    if (spec == nullptr || algorithm == "ltr" || algorithm == "blend") {
        Params::Fail(prefix, "unknown component algorithm");
    }
    try {
        Params p(hyperparameters);
        Trainer t = spec->parse(p);
        p.Finish();
        return t;
    } catch (const core::Error& e) {
        std::string field = e.field().value_or("hyperparameters");
        std::string tail = field.size() > 15 ? field.substr(15) : std::string();
        throw core::Error(core::ErrorCode::kUnprocessable, prefix + "." + e.detail(),
                          "hyperparameters." + prefix + tail);
    }
}

std::unique_ptr<BaseModel> TrainSubModel(std::string_view algorithm,
                                         const nlohmann::json& hyperparameters,
                                         const InteractionMatrix& m,
                                         std::shared_ptr<const Catalog> catalog,
                                         const TrainContext& ctx) {
    Trainer t = ParseSubModel(algorithm, hyperparameters, std::string(algorithm));
    auto model = t(m, std::move(catalog), ctx);
    model->mutable_info()["hyperparameters"] = hyperparameters;
    return model;
}

std::vector<Interaction> MatrixInteractions(const InteractionMatrix& m) {
    std::vector<Interaction> out;
    out.reserve(m.by_user.nnz());
    for (uint32_t u = 0; u < m.by_user.rows; ++u) {
        for (uint64_t p = m.by_user.offsets[u]; p < m.by_user.offsets[u + 1]; ++p) {
            out.push_back({m.users.Id(u), m.items.Id(m.by_user.indices[p]), m.by_user.values[p],
                           m.times[p], ""});
        }
    }
    return out;
}

}  // namespace recs::engine::detail

#include <array>
#include <fstream>
#include <sstream>

#include "algorithms.hpp"
#include "recs/core/error.hpp"
#include "recs/engine/model.hpp"

namespace recs::engine {

Model::~Model() = default;

namespace detail {
namespace {

const std::array<const AlgorithmSpec*, 7>& Registry() {
    static const std::array<const AlgorithmSpec*, 7> kSpecs = {
        &PopularitySpec(), &ItemKnnSpec(), &EaseSpec(),  &IalsSpec(),
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
    auto model = detail::LoadPayload(r);
    r.ExpectEnd();
    return model;
}

std::unique_ptr<Model> LoadModel(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        throw core::Error(core::ErrorCode::kNotFound, "cannot open model artifact " + path);
    }
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (f.bad()) {
        throw core::Error(core::ErrorCode::kUnprocessable, "cannot read model artifact " + path,
                          "artifact");
    }
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

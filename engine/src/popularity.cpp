#include "algorithms.hpp"

namespace recs::engine::detail {
namespace {

/// Most popular items (sum of possibly time-decayed weights; counts when binary).
class PopularityModel final : public BaseModel {
public:
    using BaseModel::BaseModel;
    std::string_view Algorithm() const override { return "popularity"; }
    void Score(int64_t, std::span<const uint32_t>, std::span<float> scores) const override {
        std::copy(catalog_->popularity.begin(), catalog_->popularity.end(), scores.begin());
    }
    void SavePayload(ArtifactWriter&) const override {}
};

Trainer Parse(Params&) {
    return [](const InteractionMatrix&, std::shared_ptr<const Catalog> c, const TrainContext&) {
        return std::make_unique<PopularityModel>(std::move(c),
                                                 nlohmann::json{{"algorithm", "popularity"}});
    };
}

std::unique_ptr<BaseModel> Load(std::shared_ptr<const Catalog> c,
                                nlohmann::json info,
                                ArtifactReader&) {
    return std::make_unique<PopularityModel>(std::move(c), std::move(info));
}

}  // namespace

const AlgorithmSpec& PopularitySpec() {
    static const AlgorithmSpec kSpec{"popularity", true, &Parse, &Load};
    return kSpec;
}

}  // namespace recs::engine::detail

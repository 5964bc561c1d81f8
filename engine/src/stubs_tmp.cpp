#include "algorithms.hpp"
namespace recs::engine::detail {
namespace {
Trainer P(Params&) { return {}; }
std::unique_ptr<BaseModel> L(std::shared_ptr<const Catalog>, nlohmann::json, ArtifactReader&) {
    ArtifactReader::Fail("x");
}
}  // namespace
const AlgorithmSpec& BlendSpec() {
    static const AlgorithmSpec k{"blend", true, &P, &L};
    return k;
}
}  // namespace recs::engine::detail

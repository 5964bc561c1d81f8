#pragma once

#include <vector>

#include "base_model.hpp"

namespace recs::engine::detail {

/// Implicit ALS model: user and item embeddings; new users are folded in at request time.
class IalsModel final : public BaseModel {
public:
    IalsModel(std::shared_ptr<const Catalog> c,
              nlohmann::json info,
              size_t factors,
              float alpha,
              float reg,
              std::vector<float> users,
              std::vector<float> items);
    std::string_view Algorithm() const override { return "ials"; }
    void Score(int64_t user,
               std::span<const uint32_t> history,
               std::span<float> scores) const override;
    bool RelatedScores(uint32_t item, std::span<float> scores) const override;
    void SavePayload(ArtifactWriter& w) const override;

    /// The user vector that best explains `history` given the item factors (exact solve).
    std::vector<float> FoldIn(std::span<const uint32_t> history) const;
    size_t factors() const { return f_; }
    const std::vector<float>& item_factors() const { return items_; }
    const std::vector<float>& user_factors() const { return users_; }

private:
    size_t f_;
    float alpha_;
    float reg_;
    std::vector<float> users_;
    std::vector<float> items_;
    std::vector<float> gram_;  ///< items^T items + reg I
    std::vector<float> norms_;
};

}  // namespace recs::engine::detail

#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "recs/engine/interaction_matrix.hpp"
#include "recs/engine/model.hpp"

namespace recs::engine::detail {

/// Reads and validates hyperparameters. Each getter marks the name as known; Finish() rejects
/// the rest. Errors are core::Error(kUnprocessable) with field "hyperparameters.<name>".
class Params {
public:
    explicit Params(const nlohmann::json& j);
    double Number(const std::string& name, double def, double lo, double hi);
    int64_t Int(const std::string& name, int64_t def, int64_t lo, int64_t hi);
    bool Bool(const std::string& name, bool def);
    std::string Enum(const std::string& name,
                     const std::string& def,
                     std::initializer_list<std::string_view> allowed);
    /// A nested object (or null if absent); the caller validates its content.
    const nlohmann::json* Object(const std::string& name);
    /// The data options every algorithm accepts: binary, half_life_days, event_weights.
    MatrixOptions Matrix(bool default_binary = true);
    void Finish() const;
    /// The effective values read so far (for Info()).
    const nlohmann::json& effective() const { return effective_; }

    [[noreturn]] static void Fail(const std::string& name, const std::string& why);

private:
    const nlohmann::json* Get(const std::string& name);
    nlohmann::json obj_;
    std::set<std::string> known_;
    nlohmann::json effective_ = nlohmann::json::object();
};

/// Calls ctx.progress if set and throws core::Error(kUnavailable) if ctx.cancel is set.
void Checkpoint(const TrainContext& ctx, double progress);

}  // namespace recs::engine::detail

#include "params.hpp"

#include <cmath>

#include "recs/core/error.hpp"

namespace recs::engine::detail {

Params::Params(const nlohmann::json& j) {
    if (j.is_null()) {
        obj_ = nlohmann::json::object();
    } else if (!j.is_object()) {
        throw core::Error(core::ErrorCode::kUnprocessable, "hyperparameters must be an object",
                          "hyperparameters");
    } else {
        obj_ = j;
    }
}

void Params::Fail(const std::string& name, const std::string& why) {
    throw core::Error(core::ErrorCode::kUnprocessable, name + ": " + why,
                      "hyperparameters." + name);
}

const nlohmann::json* Params::Get(const std::string& name) {
    known_.insert(name);
    auto it = obj_.find(name);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
}

double Params::Number(const std::string& name, double def, double lo, double hi) {
    const auto* v = Get(name);
    double x = def;
    if (v != nullptr) {
        if (!v->is_number()) {
            Fail(name, "must be a number");
        }
        x = v->get<double>();
        if (!std::isfinite(x) || x < lo || x > hi) {
            Fail(name, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
        }
    }
    effective_[name] = x;
    return x;
}

int64_t Params::Int(const std::string& name, int64_t def, int64_t lo, int64_t hi) {
    const auto* v = Get(name);
    int64_t x = def;
    if (v != nullptr) {
        if (v->is_number_integer()) {
            x = v->get<int64_t>();
        } else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
                   std::fabs(v->get<double>()) < 9e15) {
            x = static_cast<int64_t>(v->get<double>());
        } else {
            Fail(name, "must be an integer");
        }
        if (x < lo || x > hi) {
            Fail(name, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
        }
    }
    effective_[name] = x;
    return x;
}

bool Params::Bool(const std::string& name, bool def) {
    const auto* v = Get(name);
    bool x = def;
    if (v != nullptr) {
        if (!v->is_boolean()) {
            Fail(name, "must be true or false");
        }
        x = v->get<bool>();
    }
    effective_[name] = x;
    return x;
}

std::string Params::Enum(const std::string& name,
                         const std::string& def,
                         std::initializer_list<std::string_view> allowed) {
    const auto* v = Get(name);
    std::string x = def;
    if (v != nullptr) {
        if (!v->is_string()) {
            Fail(name, "must be a string");
        }
        x = v->get<std::string>();
        bool ok = false;
        std::string list;
        for (auto a : allowed) {
            ok = ok || a == x;
            list += (list.empty() ? "" : ", ") + std::string(a);
        }
        if (!ok) {
            Fail(name, "must be one of " + list);
        }
    }
    effective_[name] = x;
    return x;
}

const nlohmann::json* Params::Object(const std::string& name) {
    const auto* v = Get(name);
    if (v != nullptr && !v->is_object()) {
        Fail(name, "must be an object");
    }
    if (v != nullptr) {
        effective_[name] = *v;
    }
    return v;
}

MatrixOptions Params::Matrix(bool default_binary) {
    MatrixOptions o;
    o.binary = Bool("binary", default_binary);
    o.half_life_seconds = Number("half_life_days", 0, 0, 1e6) * 86400.0;
    if (const auto* ew = Object("event_weights")) {
        for (const auto& [k, v] : ew->items()) {
            if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0) {
                Fail("event_weights." + k, "must be a non-negative number");
            }
            if (k == "*") {
                o.default_event_weight = v.get<float>();
            } else {
                o.event_weights[k] = v.get<float>();
            }
        }
    }
    return o;
}

void Params::Finish() const {
    for (const auto& [k, v] : obj_.items()) {
        if (known_.count(k) == 0) {
            Fail(k, "unknown hyperparameter");
        }
    }
}

void Checkpoint(const TrainContext& ctx, double progress) {
    if (ctx.cancel != nullptr && ctx.cancel->load(std::memory_order_relaxed)) {
        throw core::Error(core::ErrorCode::kUnavailable, "training was cancelled");
    }
    if (ctx.progress) {
        ctx.progress(std::min(1.0, std::max(0.0, progress)));
    }
}

}  // namespace recs::engine::detail

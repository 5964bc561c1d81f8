#include "recs/core/json_fields.hpp"

#include <algorithm>
#include <charconv>

#include "recs/core/error.hpp"

namespace recs::core {
namespace {

const char* TypeName(const nlohmann::json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "boolean";
    if (v.is_number_integer()) return "integer";
    if (v.is_number()) return "number";
    if (v.is_string()) return "string";
    if (v.is_array()) return "array";
    return "object";
}

}  // namespace

nlohmann::json ParseJsonBody(std::string_view body) {
    if (body.empty()) ThrowInvalid("request body is empty; a JSON document is required");
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) ThrowInvalid("request body is not valid JSON");
    return j;
}

const nlohmann::json& RequireObject(const nlohmann::json& j, std::string_view what) {
    if (!j.is_object())
        ThrowUnprocessable(std::string(what) + " must be a JSON object, got " + TypeName(j));
    return j;
}

void RejectUnknownFields(const nlohmann::json& obj,
                         std::initializer_list<std::string_view> allowed,
                         std::string_view prefix) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
            std::string f = std::string(prefix) + it.key();
            ThrowUnprocessable("unknown field '" + f + "'", f);
        }
    }
}

std::string RequireString(const nlohmann::json& obj, const std::string& field, size_t max_len) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) ThrowUnprocessable("'" + field + "' is required", field);
    auto v = OptionalString(obj, field, max_len);
    if (!v || v->empty()) ThrowUnprocessable("'" + field + "' must not be empty", field);
    return *v;
}

std::optional<std::string> OptionalString(const nlohmann::json& obj,
                                          const std::string& field,
                                          size_t max_len) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_string())
        ThrowUnprocessable("'" + field + "' must be a string, got " + TypeName(*it), field);
    const auto& s = it->get_ref<const std::string&>();
    if (s.size() > max_len)
        ThrowUnprocessable("'" + field + "' is longer than " + std::to_string(max_len) + " bytes",
                           field);
    return s;
}

std::optional<int64_t> OptionalInt(const nlohmann::json& obj,
                                   const std::string& field,
                                   int64_t lo,
                                   int64_t hi) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer())
        ThrowUnprocessable("'" + field + "' must be an integer, got " + TypeName(*it), field);
    int64_t v = it->is_number_unsigned() && it->get<uint64_t>() > INT64_MAX ? INT64_MAX
                                                                            : it->get<int64_t>();
    if (v < lo || v > hi)
        ThrowUnprocessable(
            "'" + field + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi),
            field);
    return v;
}

std::optional<double> OptionalNumber(const nlohmann::json& obj, const std::string& field) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_number())
        ThrowUnprocessable("'" + field + "' must be a number, got " + TypeName(*it), field);
    return it->get<double>();
}

std::optional<bool> OptionalBool(const nlohmann::json& obj, const std::string& field) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean())
        ThrowUnprocessable("'" + field + "' must be a boolean, got " + TypeName(*it), field);
    return it->get<bool>();
}

std::optional<std::string> OptionalId(const nlohmann::json& obj, const std::string& field) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    std::string s;
    if (it->is_string()) {
        s = it->get<std::string>();
    } else if (it->is_number_integer()) {
        s = it->dump();
    } else {
        ThrowUnprocessable("'" + field + "' must be a string or an integer, got " + TypeName(*it),
                           field);
    }
    if (s.empty()) ThrowUnprocessable("'" + field + "' must not be empty", field);
    if (s.size() > 256) ThrowUnprocessable("'" + field + "' is longer than 256 bytes", field);
    return s;
}

std::string RequireId(const nlohmann::json& obj, const std::string& field) {
    auto v = OptionalId(obj, field);
    if (!v) ThrowUnprocessable("'" + field + "' is required", field);
    return *v;
}

int64_t ParseIntParam(std::string_view name, std::string_view value, int64_t lo, int64_t hi) {
    int64_t out = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc() || ptr != value.data() + value.size() || out < lo || out > hi)
        ThrowUnprocessable("query parameter '" + std::string(name) + "' must be an integer in [" +
                               std::to_string(lo) + ", " + std::to_string(hi) + "]",
                           std::string(name));
    return out;
}

}  // namespace recs::core

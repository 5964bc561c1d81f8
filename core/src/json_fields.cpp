#include "recs/core/json_fields.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "recs/core/error.hpp"
#include "recs/core/text.hpp"

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

namespace {

/// Checks what nlohmann's parser does not bound: nesting depth (its parser is iterative, but
/// copies, dumps and comparisons of the result recurse) and UTF-8 outside strings. Returns the
/// detail of the first problem, or an empty string.
std::string ScanJson(std::string_view text) {
    if (size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos)
        return "is not valid UTF-8 (byte " + std::to_string(bad) + ")";
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;  // the escaped character cannot end the string
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxJsonDepth)
                return "nests arrays and objects deeper than the limit of " +
                       std::to_string(kMaxJsonDepth) + " levels (byte " + std::to_string(i) + ")";
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return "";
}

void AppendKey(std::string& path, const std::string& key) {
    if (!path.empty()) path += '.';
    path += key;
}

void CheckValues(const nlohmann::json& j, std::string& path) {
    auto fail = [&](const std::string& what) {
        std::string f = path.empty() ? "body" : path;
        ThrowUnprocessable("'" + f + "' " + what, f);
    };
    switch (j.type()) {
        case nlohmann::json::value_t::string:
            if (j.get_ref<const std::string&>().find('\0') != std::string::npos)
                fail("must not contain a NUL character");
            return;
        case nlohmann::json::value_t::number_float:
            if (!std::isfinite(j.get<double>())) fail("is a number out of range");
            return;
        case nlohmann::json::value_t::array: {
            size_t keep = path.size();
            for (size_t i = 0; i < j.size(); ++i) {
                path += "[" + std::to_string(i) + "]";
                CheckValues(j[i], path);
                path.resize(keep);
            }
            return;
        }
        case nlohmann::json::value_t::object: {
            size_t keep = path.size();
            for (auto it = j.begin(); it != j.end(); ++it) {
                if (it.key().find('\0') != std::string::npos) {
                    std::string f = path.empty() ? "body" : path;
                    ThrowUnprocessable("a key of '" + f + "' contains a NUL character", f);
                }
                AppendKey(path, it.key());
                CheckValues(it.value(), path);
                path.resize(keep);
            }
            return;
        }
        default:
            return;
    }
}

}  // namespace

nlohmann::json ParseJsonDocument(std::string_view text, std::string_view where) {
    std::string w(where);
    if (text.empty()) ThrowInvalid("the " + w + " is empty; a JSON document is required", w);
    if (auto problem = ScanJson(text); !problem.empty())
        ThrowInvalid("the " + w + " " + problem, w);
    try {
        return nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error& e) {
        ThrowInvalid("the " + w + " is not valid JSON (byte " + std::to_string(e.byte) + ")", w);
    } catch (const nlohmann::json::out_of_range&) {  // a number past double's range
        ThrowUnprocessable("the " + w + " holds a number out of range", w);
    }
}

void CheckJsonValues(const nlohmann::json& j, const std::string& prefix) {
    std::string path = prefix;
    CheckValues(j, path);
}

nlohmann::json ParseJsonBody(std::string_view body) {
    auto j = ParseJsonDocument(body, "body");
    CheckJsonValues(j);
    return j;
}

size_t JsonSize(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
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

std::string RequireName(const nlohmann::json& obj, const std::string& field, size_t max_len) {
    auto v = RequireString(obj, field, max_len);
    CheckIdText(v, field, max_len);
    return v;
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
    CheckIdText(s, field, kMaxIdBytes);
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

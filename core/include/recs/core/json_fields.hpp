#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace recs::core {

/// The deepest nesting of arrays and objects a request document may have.
inline constexpr size_t kMaxJsonDepth = 64;

/// The one decoder of request JSON. Parses `text` (a body, or one NDJSON line) after checking
/// that it is valid UTF-8 and nests at most kMaxJsonDepth deep, so that nothing recursive
/// (copy, dump, comparison) downstream ever sees unbounded depth. Throws Error(kInvalidArgument)
/// naming `where` for empty, malformed, ill-encoded or too deep input.
nlohmann::json ParseJsonDocument(std::string_view text, std::string_view where = "body");

/// Checks the values of a decoded document: a NUL in any string or object key, or a number
/// that is not finite, is Error(kUnprocessable) naming the field by its path (`a.b[2]`, under
/// `prefix`). PostgreSQL can store neither.
void CheckJsonValues(const nlohmann::json& j, const std::string& prefix = "");

/// ParseJsonDocument followed by CheckJsonValues: the decoder of single-document bodies.
nlohmann::json ParseJsonBody(std::string_view body);

/// Bytes of `j` serialised compactly (for size limits of free-form objects).
size_t JsonSize(const nlohmann::json& j);

/// Requires the body to be an object. Throws Error(kUnprocessable) otherwise.
const nlohmann::json& RequireObject(const nlohmann::json& j, std::string_view what = "body");

/// Rejects fields not in `allowed` with Error(kUnprocessable) naming the field.
void RejectUnknownFields(const nlohmann::json& obj,
                         std::initializer_list<std::string_view> allowed,
                         std::string_view prefix = "");

/// Required non-empty string (at most max_len bytes). Throws kUnprocessable naming `field`.
std::string RequireString(const nlohmann::json& obj,
                          const std::string& field,
                          size_t max_len = 256);
/// A required name (of a tenant, key, model): as RequireString, and no control characters.
std::string RequireName(const nlohmann::json& obj, const std::string& field, size_t max_len = 128);
std::optional<std::string> OptionalString(const nlohmann::json& obj,
                                          const std::string& field,
                                          size_t max_len = 256);
std::optional<int64_t> OptionalInt(const nlohmann::json& obj,
                                   const std::string& field,
                                   int64_t lo,
                                   int64_t hi);
std::optional<double> OptionalNumber(const nlohmann::json& obj, const std::string& field);
std::optional<bool> OptionalBool(const nlohmann::json& obj, const std::string& field);

/// An identifier of a user or item: a string, or a JSON integer meaning its decimal string.
std::string RequireId(const nlohmann::json& obj, const std::string& field);
std::optional<std::string> OptionalId(const nlohmann::json& obj, const std::string& field);

/// Parses an integer query parameter in [lo, hi]; throws kUnprocessable naming it.
int64_t ParseIntParam(std::string_view name, std::string_view value, int64_t lo, int64_t hi);

}  // namespace recs::core

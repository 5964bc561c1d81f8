#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string_view>

namespace recs::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

/// Sets the minimum level written ("debug", "info", "warn", "error").
void SetLogLevel(std::string_view level);

/// True when `level` would be written.
bool LogEnabled(LogLevel level);

/// Writes one JSON object on one line to stderr: {"ts","level","msg", ...fields}.
/// Callers never pass secrets in fields (keys are logged by prefix only).
void Log(LogLevel level, std::string_view msg, const nlohmann::json& fields);
void Log(LogLevel level, std::string_view msg);

}  // namespace recs::core

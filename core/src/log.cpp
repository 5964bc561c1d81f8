#include "recs/core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

#include "recs/core/domain.hpp"

namespace recs::core {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mu;

const char* LevelName(LogLevel l) {
    switch (l) {
        case LogLevel::kDebug:
            return "debug";
        case LogLevel::kInfo:
            return "info";
        case LogLevel::kWarn:
            return "warn";
        case LogLevel::kError:
            return "error";
    }
    return "info";
}

std::string NowIso() {
    using namespace std::chrono;
    return FormatIso8601Ms(
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace

void SetLogLevel(std::string_view level) {
    LogLevel l = LogLevel::kInfo;
    if (level == "debug") l = LogLevel::kDebug;
    if (level == "warn") l = LogLevel::kWarn;
    if (level == "error") l = LogLevel::kError;
    g_level = static_cast<int>(l);
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void Log(LogLevel level, std::string_view msg, const nlohmann::json& fields) {
    if (!LogEnabled(level)) return;
    nlohmann::json line = {{"ts", NowIso()}, {"level", LevelName(level)}, {"msg", msg}};
    if (fields.is_object())
        for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
    std::string s = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    s.push_back('\n');
    std::lock_guard lock(g_mu);
    std::fwrite(s.data(), 1, s.size(), stderr);
}

void Log(LogLevel level, std::string_view msg) { Log(level, msg, nlohmann::json::object()); }

}  // namespace recs::core

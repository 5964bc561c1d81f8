#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace recs::core {

/// Event types the platform accepts.
const std::vector<std::string>& EventTypes();
bool IsEventType(const std::string& type);

/// One user event, validated.
struct Event {
    std::string event_id;
    std::string type;
    std::string user_id;
    std::optional<std::string> item_id;
    int64_t timestamp_ms = 0;  ///< epoch milliseconds
    std::optional<std::string> session_id;
    std::optional<std::string> request_id;
    std::optional<double> value;
    nlohmann::json metadata;  ///< null or an object
    std::string received_at;  ///< set when read back
};

/// Limits of an event's free-form parts.
inline constexpr double kMaxEventValue = 1e9;
inline constexpr size_t kMaxEventMetadataBytes = 64 * 1024;

/// Parses and validates one event object. `now_ms` fills a missing timestamp; a missing
/// event_id is assigned (UUID). Throws Error(kUnprocessable) naming the field.
Event ParseEvent(const nlohmann::json& j, int64_t now_ms);
nlohmann::json EventJson(const Event& e);

/// Parses an ISO 8601 date-time (e.g. 2024-05-01T10:00:00Z, with optional fraction and
/// offset) to epoch milliseconds; nullopt when not valid.
std::optional<int64_t> ParseIso8601Ms(const std::string& s);
std::string FormatIso8601Ms(int64_t ms);

/// A model definition of a tenant.
struct ModelDef {
    std::string id;
    std::string tenant_id;
    std::string name;
    std::string type;
    std::string algorithm;
    nlohmann::json hyperparameters = nlohmann::json::object();
    std::optional<std::string> description;
    bool is_default = false;
    std::optional<int> deployed_version;
    std::optional<std::string> deployed_version_id;
    std::string deployed_pool = "default";  ///< the worker pool of the current deployment
    std::string created_at;
    std::string updated_at;
};

/// kRolledBack: a canary of the version tripped its guard (it may still be deployed by hand).
enum class VersionStatus : uint8_t { kReady, kDeployed, kRetired, kFailed, kRolledBack };
std::string_view VersionStatusName(VersionStatus s);
std::optional<VersionStatus> ParseVersionStatus(std::string_view name);
inline bool operator==(VersionStatus s, std::string_view name) {
    return VersionStatusName(s) == name;
}
NLOHMANN_JSON_SERIALIZE_ENUM(VersionStatus,
                             {{VersionStatus::kReady, "ready"},
                              {VersionStatus::kDeployed, "deployed"},
                              {VersionStatus::kRetired, "retired"},
                              {VersionStatus::kFailed, "failed"},
                              {VersionStatus::kRolledBack, "rolled_back"}})

/// A trained version of a model.
struct ModelVersion {
    std::string id;
    std::string model_id;
    std::string tenant_id;
    int version = 0;
    VersionStatus status = VersionStatus::kReady;
    nlohmann::json metrics = nlohmann::json::object();
    std::string artifact_path;
    int64_t artifact_bytes = 0;
    std::string artifact_sha256;  ///< hex; empty for versions recorded before it was kept
    std::optional<std::string> training_job_id;
    std::string created_at;
    std::optional<std::string> deployed_at;
};

}  // namespace recs::core

namespace recs::core {

/// Bounds of predict filters.
inline constexpr size_t kMaxFilterFields = 32;
inline constexpr size_t kMaxFilterInValues = 1000;
inline constexpr size_t kMaxFilterValueBytes = 1024;

/// Validates item-feature filters: {field: scalar} equality, {field: {"in": [..]}},
/// {field: {"gte"|"gt"|"lte"|"lt": number, ...}}. Throws Error(kUnprocessable) naming
/// "filters.<field>".
void ValidateFilters(const nlohmann::json& filters);

/// True when `features` (an item's feature object) passes every filter.
bool MatchesFilters(const nlohmann::json& features, const nlohmann::json& filters);

}  // namespace recs::core

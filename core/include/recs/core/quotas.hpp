#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace recs::core {

/// What a tenant may use; an unset quota is unlimited.
struct Quotas {
    std::optional<int64_t> requests_per_second_per_key;
    std::optional<int64_t> burst_per_key;
    std::optional<int64_t> requests_per_second_per_tenant;
    std::optional<int64_t> burst_per_tenant;
    std::optional<int64_t> predictions_per_month;
    std::optional<int64_t> events_per_month;
    std::optional<int64_t> models;
    std::optional<int64_t> model_versions_kept;
    std::optional<int64_t> artifact_bytes;
    std::optional<int64_t> concurrent_jobs;
    std::optional<int64_t> queued_jobs;
    std::string updated_at;  ///< empty when the tenant has no quotas of its own
};

/// A quota's wire and column name, and its member.
struct QuotaField {
    std::string_view name;
    std::optional<int64_t> Quotas::*member;
};
/// Every quota, in the order of the wire format.
const std::array<QuotaField, 11>& QuotaFields();

/// The calendar month (UTC) that monthly quotas count in.
struct QuotaPeriod {
    std::string date;       ///< its first day, "YYYY-MM-01"
    std::string start;      ///< RFC 3339 of its first instant
    std::string resets_at;  ///< RFC 3339 of the next month's first instant
    int64_t resets_in_s = 0;
};
QuotaPeriod MonthOf(std::chrono::system_clock::time_point t);

/// The quotas on the wire: every quota by name, null when unlimited.
nlohmann::json QuotasJson(const Quotas& q);

}  // namespace recs::core

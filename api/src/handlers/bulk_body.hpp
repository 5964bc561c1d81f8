#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "http/route.hpp"
#include "recs/core/error.hpp"

namespace recs::api {

/// The items of a bulk request body: a JSON array, or NDJSON lines when the Content-Type is
/// application/x-ndjson (blank lines skipped; a line that is not JSON comes back discarded,
/// `is_discarded()`, so that it is reported by index). Throws core::Error: 400 for a body that
/// is not JSON, 422 for one that is not an array or has more than `max_items` items.
std::vector<nlohmann::json> BulkItems(const Request& req, size_t max_items, std::string_view what);

/// The {index, field, detail} entry of a rejected bulk item.
nlohmann::json RejectedItem(size_t index, const core::Error& e);

}  // namespace recs::api

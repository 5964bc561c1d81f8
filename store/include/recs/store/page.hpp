#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace recs::store {

/// A page request: at most `limit` rows after the opaque cursor.
struct PageRequest {
    int limit = 50;
    std::optional<std::string> cursor;
};

/// A page of results with the cursor of the next page (nullopt on the last page).
template <typename T>
struct Page {
    std::vector<T> items;
    std::optional<std::string> next_cursor;
};

/// Encodes a position (a row's sequence number) as an opaque cursor.
std::string EncodeCursor(int64_t seq);
/// Decodes a cursor; throws core::Error(kUnprocessable, field "cursor") when invalid.
int64_t DecodeCursor(const std::string& cursor);

}  // namespace recs::store

#include "recs/store/page.hpp"

#include <charconv>

#include "recs/core/error.hpp"

namespace recs::store {

// The cursor is "c" + hex(seq ^ mask): opaque to clients, cheap to check.
namespace {
constexpr uint64_t kMask = 0x5a17c3e9d2b4f681ULL;
}

std::string EncodeCursor(int64_t seq) {
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<uint64_t>(seq) ^ kMask, 16);
    (void)ec;
    return "c" + std::string(buf, p);
}

int64_t DecodeCursor(const std::string& cursor) {
    uint64_t v = 0;
    if (cursor.size() < 2 || cursor.size() > 17 || cursor[0] != 'c')
        core::ThrowUnprocessable("cursor is not valid", "cursor");
    auto [p, ec] = std::from_chars(cursor.data() + 1, cursor.data() + cursor.size(), v, 16);
    if (ec != std::errc() || p != cursor.data() + cursor.size())
        core::ThrowUnprocessable("cursor is not valid", "cursor");
    return static_cast<int64_t>(v ^ kMask);
}

}  // namespace recs::store

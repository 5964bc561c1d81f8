#include "recs/store/page.hpp"

#include <charconv>

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"

namespace recs::store {

// The cursor is "c" + the row's sequence number sealed with the platform key (AES): opaque,
// unforgeable, and it tells nothing of how many rows other tenants made in between (finding
// L3: the sequences are platform-wide).
std::string EncodeCursor(int64_t seq) { return "c" + core::SealU64(static_cast<uint64_t>(seq)); }

int64_t DecodeCursor(const std::string& cursor) {
    if (cursor.size() != 33 || cursor[0] != 'c')
        core::ThrowUnprocessable("cursor is not valid", "cursor");
    auto v = core::UnsealU64(std::string_view(cursor).substr(1));
    if (!v) core::ThrowUnprocessable("cursor is not valid", "cursor");
    return static_cast<int64_t>(*v);
}

}  // namespace recs::store

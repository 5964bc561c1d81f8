#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace recs::core {

/// Byte offset of the first byte that does not start a well-formed UTF-8 sequence (overlong
/// forms, surrogates and code points past U+10FFFF are ill-formed), or npos when `s` is valid.
size_t FindInvalidUtf8(std::string_view s);
inline bool IsValidUtf8(std::string_view s) { return FindInvalidUtf8(s) == std::string_view::npos; }

/// True when `s` holds a C0 control character or DEL (NUL included).
bool HasControlChar(std::string_view s);

/// The rules every identifier-like text (ids, names from paths, queries and bodies) follows:
/// valid UTF-8, else Error(kInvalidArgument) naming `field`; a NUL or other control character,
/// an empty value or one longer than `max_len` bytes, else Error(kUnprocessable) naming `field`.
void CheckIdText(std::string_view value, const std::string& field, size_t max_len);

/// The longest identifier (user, item, event, session and entity ids) in bytes.
inline constexpr size_t kMaxIdBytes = 256;

}  // namespace recs::core

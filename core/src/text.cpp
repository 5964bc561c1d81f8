#include "recs/core/text.hpp"

#include "recs/core/error.hpp"

namespace recs::core {

size_t FindInvalidUtf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte (RFC 3629 table)
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c == 0xE0) {
            len = 3, lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            len = 3;
        } else if (c == 0xED) {
            len = 3, hi = 0x9F;  // no surrogates
        } else if (c == 0xF0) {
            len = 4, lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            len = 4;
        } else if (c == 0xF4) {
            len = 4, hi = 0x8F;  // nothing past U+10FFFF
        } else {
            return i;
        }
        if (i + len > n) return i;
        if (p[i + 1] < lo || p[i + 1] > hi) return i;
        for (size_t k = 2; k < len; ++k)
            if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
        i += len;
    }
    return std::string_view::npos;
}

bool HasControlChar(std::string_view s) {
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) return true;
    }
    return false;
}

void CheckIdText(std::string_view value, const std::string& field, size_t max_len) {
    if (size_t bad = FindInvalidUtf8(value); bad != std::string_view::npos)
        ThrowInvalid("'" + field + "' is not valid UTF-8 (byte " + std::to_string(bad) + ")",
                     field);
    if (value.empty()) ThrowUnprocessable("'" + field + "' must not be empty", field);
    if (value.size() > max_len)
        ThrowUnprocessable("'" + field + "' is longer than " + std::to_string(max_len) + " bytes",
                           field);
    if (HasControlChar(value))
        ThrowUnprocessable("'" + field + "' must not contain NUL or other control characters",
                           field);
}

}  // namespace recs::core

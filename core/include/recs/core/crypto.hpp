#pragma once

#include <string>
#include <string_view>

namespace recs::core {

/// Lower-case hex SHA-256 of the input.
std::string Sha256Hex(std::string_view data);

/// Lower-case hex HMAC-SHA256 of data under key.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

/// `n` bytes from the OS CSPRNG, encoded as URL-safe base62 characters (a-zA-Z0-9).
std::string RandomToken(size_t n);

/// Random UUID v4 in canonical form.
std::string RandomUuid();

/// Compares two strings in time independent of where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace recs::core

namespace recs::core {
/// True when s is a canonical 8-4-4-4-12 hex UUID.
bool IsUuid(std::string_view s);
}  // namespace recs::core

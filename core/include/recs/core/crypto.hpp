#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace recs::core {

/// Lower-case hex SHA-256 of the input.
std::string Sha256Hex(std::string_view data);

/// Lower-case hex HMAC-SHA256 of data under key.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

/// `n` bytes from the OS CSPRNG, encoded as URL-safe base62 characters (a-zA-Z0-9).
std::string RandomToken(size_t n);

/// `n` random bytes from the OS CSPRNG as 2n lower-case hex digits.
std::string RandomHex(size_t n);

/// Random UUID v4 in canonical form.
std::string RandomUuid();

/// Compares two strings in time independent of where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace recs::core

namespace recs::core {
/// Sets the process's 128-bit sealing key (32 hex digits; all processes of a platform share it,
/// from platform_settings). Until set, a random key of this process is used.
void SetSealKey(std::string_view key_hex);
/// A 64-bit value sealed with AES-128 under the key (32 hex digits): opaque, and it cannot be
/// forged (unsealing checks 64 redundant bits).
std::string SealU64(uint64_t v);
/// The value sealed in `hex`, or nullopt when it is not a value sealed under this key.
std::optional<uint64_t> UnsealU64(std::string_view hex);

/// True when s is a canonical 8-4-4-4-12 hex UUID.
bool IsUuid(std::string_view s);
}  // namespace recs::core

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace recs::engine {

/// The model artifact container: magic "RECSMDL\0", format version, payload size, CRC-32 of
/// the payload, then the payload (algorithm, info, catalogue, algorithm data). LoadModel
/// checks all of it before parsing and then bounds-checks every read.
inline constexpr uint32_t kArtifactFormatVersion = 1;

/// Wraps `payload` in a valid artifact header (magic, version, size, checksum). For tools and
/// the fuzz target, which use it to reach the parser behind the checksum.
std::string WrapArtifactPayload(std::string_view payload);

/// The payload of a well-formed artifact (header checked). Throws core::Error(kUnprocessable).
std::string_view ArtifactPayload(std::string_view artifact);

}  // namespace recs::engine

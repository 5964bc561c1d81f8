#pragma once

#include <string>
#include <string_view>

namespace recs::core {

/// Writes `bytes` to `path` atomically and durably: a temporary file of a unique name in the
/// same folder, fsync, rename over `path`, fsync of the folder. Concurrent writers of the same
/// path never write into each other's file. Throws Error(kUnavailable) naming `what` on I/O
/// failure.
void WriteFileDurably(const std::string& path, std::string_view bytes, const char* what);

}  // namespace recs::core

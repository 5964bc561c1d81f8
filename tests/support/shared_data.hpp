#pragma once

#include <cstdlib>
#include <string>

namespace recs::testing {

/// ml-latest-small's ratings.csv in the shared data folder: RECS_SHARED_DIR (set by
/// scripts/test.sh), else ../shared beside the source tree.
inline std::string MovieLensRatingsPath() {
    const char* shared = std::getenv("RECS_SHARED_DIR");
    std::string base = shared ? shared : std::string(RECS_SOURCE_DIR) + "/../shared";
    return base + "/data/ml-latest-small/ratings.csv";
}

}  // namespace recs::testing

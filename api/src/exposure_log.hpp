#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "recs/store/experiment_store.hpp"

namespace recs::api {

/// Records first exposures off the request path: Add() is a set lookup and a push; a thread
/// writes the batch every `flush_ms` (one statement, duplicates ignored by the database). A
/// unit seen recently is not queued again (a bounded set of experiment|unit keys). At most
/// `max_pending` exposures wait; past that new ones are dropped and counted (PostgreSQL down
/// for long), and a unit that comes back is queued again then, with a later first time.
class ExposureLog {
public:
    ExposureLog(store::ExperimentRepository& repo, int flush_ms, size_t max_pending = 100000);
    ~ExposureLog();
    ExposureLog(const ExposureLog&) = delete;
    ExposureLog& operator=(const ExposureLog&) = delete;

    void Add(store::Exposure exposure);
    /// The variant this process recorded for the unit (recently), if any.
    std::optional<std::string> Known(const std::string& experiment_id,
                                     const std::string& unit_id) const;
    /// Writes what is queued now (the results call it so that they include the last second).
    void Flush();
    /// Exposures dropped since start.
    size_t dropped() const;

private:
    void Loop();
    bool WriteBatch();

    store::ExperimentRepository& repo_;
    int flush_ms_;
    size_t max_pending_;
    mutable std::mutex mu_;
    std::mutex write_mu_;  ///< one batch at a time (the thread or a Flush)
    std::condition_variable cv_;
    std::deque<store::Exposure> pending_;
    std::unordered_map<std::string, std::string> seen_;  ///< experiment|unit → variant
    size_t dropped_ = 0;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace recs::api

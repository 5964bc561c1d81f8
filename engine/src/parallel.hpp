#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace recs::engine::detail {

/// Number of worker threads to use when the caller asks for `requested` (0 = hardware).
inline int ThreadCount(int requested) {
    int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return requested > 0 ? requested : hw;
}

/// Runs fn(index, thread_id) for index in [0, n) on `threads` threads, handing out chunks of
/// `chunk` indices dynamically. The first exception thrown by fn is rethrown.
template <typename Fn>
void ParallelFor(size_t n, int threads, size_t chunk, Fn&& fn) {
    threads = std::max(1, std::min<int>(threads, static_cast<int>((n + chunk - 1) / chunk)));
    std::atomic<size_t> next{0};
    std::exception_ptr error;
    std::atomic<bool> failed{false};
    auto work = [&](int tid) {
        try {
            for (;;) {
                size_t begin = next.fetch_add(chunk);
                if (begin >= n || failed.load(std::memory_order_relaxed)) {
                    break;
                }
                size_t end = std::min(n, begin + chunk);
                for (size_t i = begin; i < end; ++i) {
                    fn(i, tid);
                }
            }
        } catch (...) {
            if (!failed.exchange(true)) {
                error = std::current_exception();
            }
        }
    };
    if (threads <= 1) {
        work(0);
    } else {
        std::vector<std::thread> pool;
        for (int t = 1; t < threads; ++t) {
            pool.emplace_back(work, t);
        }
        work(0);
        for (auto& th : pool) {
            th.join();
        }
    }
    if (error) {
        std::rethrow_exception(error);
    }
}

}  // namespace recs::engine::detail

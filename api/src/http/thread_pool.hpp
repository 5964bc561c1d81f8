#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace recs::api {

/// A fixed pool of threads with a bounded queue, for blocking handler work off the reactor.
class ThreadPool {
public:
    ThreadPool(int threads, size_t max_queue) : max_queue_(max_queue) {
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
    }
    ~ThreadPool() { Stop(); }
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    /// False when the queue is full (the caller answers 503).
    bool Submit(std::function<void()> fn) {
        {
            std::lock_guard lock(mu_);
            if (stopped_ || queue_.size() >= max_queue_) return false;
            queue_.push_back(std::move(fn));
        }
        cv_.notify_one();
        return true;
    }

    /// Finishes queued work, then joins.
    void Stop() {
        {
            std::lock_guard lock(mu_);
            if (stopped_) return;
            stopped_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }

private:
    void Run() {
        for (;;) {
            std::function<void()> fn;
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return stopped_ || !queue_.empty(); });
                if (queue_.empty()) return;
                fn = std::move(queue_.front());
                queue_.pop_front();
            }
            fn();
        }
    }

    size_t max_queue_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    std::vector<std::thread> threads_;
    bool stopped_ = false;
};

}  // namespace recs::api

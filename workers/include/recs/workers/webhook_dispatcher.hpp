#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "recs/core/config.hpp"
#include "recs/store/webhook_store.hpp"

namespace recs::workers {

/// Sends the webhook outbox: threads that lease one due delivery at a time from PostgreSQL,
/// POST it with the Standard Webhooks headers (signed with every secret still valid), and
/// record the attempt and the next retry (or the delivery's death) under the lease. A worker
/// killed mid-delivery leaves a lease that expires, and another worker sends the same event,
/// with the same webhook-id. No exception leaves its threads.
///
/// Protection: only http and https; the address of every connection is checked after name
/// resolution (core::ForbiddenAddressReason) unless private targets are allowed; no proxy,
/// no redirects; at most kMaxResponseBytes of a response are read.
class WebhookDispatcher {
public:
    WebhookDispatcher(store::WebhookRepository& repo,
                      const core::Config& config,
                      std::string owner);
    ~WebhookDispatcher();
    void Start();
    void Stop();

    /// One attempt of a claimed delivery (exposed for tests of the client's protections).
    store::AttemptResult Send(const store::ClaimedDelivery& d);

    static constexpr size_t kKeptResponseBytes = 1024;
    static constexpr size_t kMaxResponseBytes = 64 * 1024;

private:
    void Loop();
    bool RunOnce();

    store::WebhookRepository& repo_;
    core::Config config_;
    std::string owner_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace recs::workers

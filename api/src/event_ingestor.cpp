#include "event_ingestor.hpp"

#include <map>
#include <nlohmann/json.hpp>

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"

namespace recs::api {

StreamRelay::StreamRelay(store::EventRepository& events, store::EventStream& stream)
    : events_(events), stream_(stream), thread_([this] { Run(); }) {}

StreamRelay::~StreamRelay() { Stop(); }

void StreamRelay::Enqueue(int64_t outbox_id,
                          const core::TenantId& tenant,
                          std::vector<core::Event> events) {
    if (outbox_id == 0 || events.empty()) return;
    {
        std::lock_guard lock(mu_);
        // Full: the outbox row stays and the scheduler's repair appends it later.
        if (stop_ || queued_events_ + events.size() > kMaxQueuedEvents) return;
        queued_events_ += events.size();
        queue_.push_back(Batch{outbox_id, tenant, std::move(events)});
    }
    cv_.notify_one();
}

void StreamRelay::Stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void StreamRelay::Run() {
    bool failing = false;
    for (;;) {
        std::vector<Batch> batches;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            if (queue_.empty()) return;
            while (!queue_.empty() && batches.size() < 64) {
                queued_events_ -= queue_.front().events.size();
                batches.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        std::vector<int64_t> appended;
        for (auto& b : batches) {
            try {
                stream_.Append(b.tenant, b.events);
                appended.push_back(b.outbox_id);
                failing = false;
            } catch (const std::exception& e) {
                // Left in the outbox: repaired from PostgreSQL, never dropped.
                if (!failing)
                    core::Log(core::LogLevel::kWarn, "event stream append failed; repair pending",
                              {{"tenant", b.tenant.value},
                               {"events", b.events.size()},
                               {"error", e.what()}});
                failing = true;
            }
        }
        try {
            events_.AckStreamed(appended);
        } catch (const std::exception& e) {
            // The rows stay: the repair appends those events a second time (at least once).
            core::Log(core::LogLevel::kWarn, "event stream outbox ack failed",
                      {{"batches", appended.size()}, {"error", e.what()}});
        }
    }
}

store::InsertResult EventIngestor::Store(const core::TenantId& tenant,
                                         const std::vector<core::Event>& events) {
    auto res = events_.Insert(tenant, events);
    if (res.accepted > 0) {
        std::vector<core::Event> fresh;
        fresh.reserve(res.accepted);
        for (size_t i = 0; i < events.size(); ++i)
            if (res.inserted[i]) fresh.push_back(events[i]);
        relay_.Enqueue(res.outbox_id, tenant, std::move(fresh));
    }
    return res;
}

void EventIngestor::Write(Round& round) {
    std::map<std::string, std::vector<std::shared_ptr<Pending>>> by_tenant;
    for (auto& p : round) by_tenant[p->tenant.value].push_back(p);
    for (auto& entry : by_tenant) {
        // Not a structured binding: clang 14 cannot capture one in the lambda below.
        const std::string& tenant = entry.first;
        auto& group = entry.second;
        auto write_each = [&] {
            for (auto& p : group) {
                try {
                    p->result = Store(p->tenant, p->events);
                } catch (...) {
                    p->error = std::current_exception();
                }
            }
        };
        if (group.size() == 1) {
            write_each();
            continue;
        }
        try {
            std::vector<core::Event> merged;
            for (auto& p : group) merged.insert(merged.end(), p->events.begin(), p->events.end());
            auto res = Store(core::TenantId{tenant}, merged);
            size_t offset = 0;
            for (auto& p : group) {
                store::InsertResult r;
                for (size_t i = 0; i < p->events.size(); ++i) {
                    bool ins = res.inserted[offset + i];
                    r.inserted.push_back(ins);
                    ins ? ++r.accepted : ++r.duplicates;
                }
                offset += p->events.size();
                p->result = std::move(r);
            }
        } catch (const core::Error& e) {
            // One caller's bad values must not fail the others it was merged with.
            if (e.code() == core::ErrorCode::kUnprocessable) {
                write_each();
            } else {
                for (auto& p : group) p->error = std::current_exception();
            }
        } catch (...) {
            for (auto& p : group) p->error = std::current_exception();
        }
    }
}

store::InsertResult EventIngestor::Submit(const core::TenantId& tenant,
                                          std::vector<core::Event> events) {
    if (events.size() >= kDirectBatch) return Store(tenant, events);
    auto p = std::make_shared<Pending>();
    p->tenant = tenant;
    p->events = std::move(events);
    auto deadline = std::chrono::steady_clock::now() + kMaxWait;
    std::unique_lock lock(mu_);
    pending_.push_back(p);
    while (!p->done) {
        if (leaders_ < kMaxLeaders && !pending_.empty()) {
            ++leaders_;
            Round round;
            size_t n = 0;
            while (!pending_.empty() && (round.empty() || n < kMaxRoundEvents)) {
                n += pending_.front()->events.size();
                round.push_back(std::move(pending_.front()));
                pending_.pop_front();
            }
            lock.unlock();
            Write(round);  // never throws
            lock.lock();
            for (auto& q : round) q->done = true;
            --leaders_;
            cv_.notify_all();
            continue;
        }
        if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && !p->done) {
            // Still pending: take it back so nobody writes it after this answer.
            for (auto it = pending_.begin(); it != pending_.end(); ++it)
                if (*it == p) {
                    pending_.erase(it);
                    throw core::Error(core::ErrorCode::kUnavailable,
                                      "the events could not be stored in time; retry")
                        .WithRetryAfter(1);
                }
            // In a round being written: its outcome comes with the round.
            cv_.wait(lock, [&] { return p->done; });
        }
    }
    if (p->error) std::rethrow_exception(p->error);
    return p->result;
}

}  // namespace recs::api

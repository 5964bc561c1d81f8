#pragma once

// In-memory fakes of store interfaces, for unit tests of the logic above store/.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "recs/core/error.hpp"
#include "recs/store/loop_store.hpp"

namespace recs::testing {

/// Events in memory, idempotent by (tenant, event_id), with an outbox. `fail` can make an
/// Insert throw (to exercise error paths); `delay` slows every Insert.
class FakeEventRepository final : public store::EventRepository {
public:
    std::function<void(const core::TenantId&, const std::vector<core::Event>&)> fail;
    std::chrono::milliseconds delay{0};
    std::atomic<int> inserts{0};

    store::InsertResult Insert(const core::TenantId& tenant,
                               const std::vector<core::Event>& events) override {
        ++inserts;
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        if (fail) fail(tenant, events);
        std::lock_guard lock(mu_);
        store::InsertResult r;
        std::vector<std::string> fresh;
        for (const auto& e : events) {
            bool ins = stored_[tenant.value].emplace(e.event_id, e).second;
            r.inserted.push_back(ins);
            ins ? ++r.accepted : ++r.duplicates;
            if (ins) fresh.push_back(e.event_id);
        }
        if (!fresh.empty()) {
            r.outbox_id = ++next_outbox_;
            outbox_[r.outbox_id] = {tenant.value, fresh};
        }
        return r;
    }
    std::optional<core::Event> Find(const core::TenantId& tenant, const std::string& id) override {
        std::lock_guard lock(mu_);
        auto t = stored_.find(tenant.value);
        if (t == stored_.end()) return std::nullopt;
        auto e = t->second.find(id);
        if (e == t->second.end()) return std::nullopt;
        return e->second;
    }
    void ForEachInteraction(const core::TenantId&,
                            const std::function<void(const store::EventRow&)>&) override {}
    void AckStreamed(const std::vector<int64_t>& ids) override {
        std::lock_guard lock(mu_);
        for (auto id : ids) outbox_.erase(id);
    }
    size_t RepairStreams(
        int64_t,
        int limit,
        const std::function<void(const core::TenantId&, const std::vector<core::Event>&)>& append)
        override {
        std::lock_guard lock(mu_);
        size_t n = 0;
        for (auto it = outbox_.begin(); it != outbox_.end() && limit-- > 0;) {
            std::vector<core::Event> events;
            for (const auto& id : it->second.second)
                events.push_back(stored_[it->second.first][id]);
            append(core::TenantId{it->second.first}, events);
            n += events.size();
            it = outbox_.erase(it);
        }
        return n;
    }
    size_t stored(const std::string& tenant) {
        std::lock_guard lock(mu_);
        return stored_[tenant].size();
    }
    size_t outbox_rows() {
        std::lock_guard lock(mu_);
        return outbox_.size();
    }

private:
    std::mutex mu_;
    std::map<std::string, std::map<std::string, core::Event>> stored_;
    std::map<int64_t, std::pair<std::string, std::vector<std::string>>> outbox_;
    int64_t next_outbox_ = 0;
};

/// Streams in memory; `down` makes every call fail as Redis unavailable.
class FakeEventStream final : public store::EventStream {
public:
    std::atomic<bool> down{false};
    void Append(const core::TenantId& tenant, const std::vector<core::Event>& events) override {
        if (down) throw core::Error(core::ErrorCode::kUnavailable, "Redis is unavailable");
        std::lock_guard lock(mu_);
        for (const auto& e : events) streams_[tenant.value].insert(e.event_id);
    }
    int64_t Length(const core::TenantId& tenant) override {
        std::lock_guard lock(mu_);
        return static_cast<int64_t>(streams_[tenant.value].size());
    }
    void Delete(const core::TenantId& tenant) override {
        std::lock_guard lock(mu_);
        streams_.erase(tenant.value);
    }

private:
    std::mutex mu_;
    std::map<std::string, std::set<std::string>> streams_;
};

}  // namespace recs::testing

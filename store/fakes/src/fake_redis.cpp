// The Redis side: the ready-jobs sorted set and the tenants' event streams
// (store/src/redis/queues.cpp).
#include <chrono>

#include "fake_state.hpp"

namespace recs::store {
namespace {

constexpr size_t kStreamMaxLen = 1000000;

class FakeJobQueue final : public JobQueue {
public:
    explicit FakeJobQueue(std::shared_ptr<FakeDatabase> db)
        : db_(std::move(db)), s_(db_->state()) {}

    void Push(const std::vector<std::string>& job_ids) override {
        if (job_ids.empty()) return;
        s_.Enter("queue.push");
        int64_t score = s_.NowUs() / 1000;  // ZADD NX <now ms>: a waiting id keeps its place
        {
            std::lock_guard lock(s_.redis_mu);
            for (const auto& id : job_ids) {
                if (s_.ready_score.emplace(id, score).second) s_.ready.emplace(score, id);
            }
        }
        s_.redis_cv.notify_all();
    }

    /// BZPOPMIN: the lowest score first, ties in id order; waits up to timeout_ms (real time).
    /// timeout_ms <= 0 does not wait (BZPOPMIN 0 would block until the client's I/O timeout).
    std::optional<std::string> Pop(int timeout_ms) override {
        s_.Enter("queue.pop");
        std::unique_lock lock(s_.redis_mu);
        if (timeout_ms > 0)
            s_.redis_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                 [&] { return !s_.ready.empty(); });
        if (s_.ready.empty()) return std::nullopt;
        auto first = s_.ready.begin();
        std::string id = first->second;
        s_.ready.erase(first);
        s_.ready_score.erase(id);
        return id;
    }

    int64_t Depth() override {
        s_.Enter("queue.depth");
        std::lock_guard lock(s_.redis_mu);
        return static_cast<int64_t>(s_.ready.size());
    }

private:
    std::shared_ptr<FakeDatabase> db_;
    FakeDatabase::State& s_;
};

class FakeEventStream final : public EventStream {
public:
    explicit FakeEventStream(std::shared_ptr<FakeDatabase> db)
        : db_(std::move(db)), s_(db_->state()) {}

    /// XADD per event (never deduplicated: consumers dedupe by event_id), with the fields the
    /// real one writes; a missing item_id is written as "" and read back as none.
    void Append(const core::TenantId& tenant, const std::vector<core::Event>& events) override {
        if (events.empty()) return;
        s_.Enter("stream.append");
        std::lock_guard lock(s_.redis_mu);
        auto& stream = s_.streams[tenant.value];
        for (const auto& e : events) {
            core::Event entry;
            entry.event_id = e.event_id;
            entry.type = e.type;
            entry.user_id = e.user_id;
            if (e.item_id && !e.item_id->empty()) entry.item_id = e.item_id;
            entry.timestamp_ms = e.timestamp_ms;
            stream.push_back(std::move(entry));
        }
        if (stream.size() > kStreamMaxLen)
            stream.erase(stream.begin(),
                         stream.begin() + static_cast<long>(stream.size() - kStreamMaxLen));
    }

    int64_t Length(const core::TenantId& tenant) override {
        s_.Enter("stream.length");
        std::lock_guard lock(s_.redis_mu);
        auto it = s_.streams.find(tenant.value);
        return it == s_.streams.end() ? 0 : static_cast<int64_t>(it->second.size());
    }

    void Delete(const core::TenantId& tenant) override {
        s_.Enter("stream.delete");
        std::lock_guard lock(s_.redis_mu);
        s_.streams.erase(tenant.value);
    }

private:
    std::shared_ptr<FakeDatabase> db_;
    FakeDatabase::State& s_;
};

}  // namespace

std::unique_ptr<JobQueue> MakeFakeJobQueue(std::shared_ptr<FakeDatabase> db) {
    return std::make_unique<FakeJobQueue>(std::move(db));
}
std::unique_ptr<EventStream> MakeFakeEventStream(std::shared_ptr<FakeDatabase> db) {
    return std::make_unique<FakeEventStream>(std::move(db));
}

}  // namespace recs::store

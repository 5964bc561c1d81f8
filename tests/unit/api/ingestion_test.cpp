// The event ingestor and the stream relay on the store fakes (finding M1: leaders, wedges,
// merged bad batches; M6: the acknowledgement never waits on the stream). The fakes are the
// ones the contract suite checks against PostgreSQL and Redis (tests/contract); faults are
// injected around them, never inside.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "event_ingestor.hpp"
#include "recs/store/fakes.hpp"

namespace recs::api {
namespace {

/// The fake events repository with faults around it: `fail` may throw before an Insert,
/// `delay` slows every Insert.
class FaultyEvents final : public store::EventRepository {
public:
    explicit FaultyEvents(store::EventRepository& inner) : inner_(inner) {}
    std::function<void(const core::TenantId&, const std::vector<core::Event>&)> fail;
    std::chrono::milliseconds delay{0};

    store::InsertResult Insert(const core::TenantId& t,
                               const std::vector<core::Event>& events) override {
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        if (fail) fail(t, events);
        return inner_.Insert(t, events);
    }
    std::optional<core::Event> Find(const core::TenantId& t, const std::string& id) override {
        return inner_.Find(t, id);
    }
    void ForEachInteraction(const core::TenantId& t,
                            const std::function<void(const store::EventRow&)>& fn) override {
        inner_.ForEachInteraction(t, fn);
    }
    void AckStreamed(const std::vector<int64_t>& ids) override { inner_.AckStreamed(ids); }
    size_t RepairStreams(
        int64_t older_than_ms,
        int limit,
        const std::function<void(const core::TenantId&, const std::vector<core::Event>&)>& append)
        override {
        return inner_.RepairStreams(older_than_ms, limit, append);
    }

private:
    store::EventRepository& inner_;
};

/// One fake database with its events, streams and tenants.
struct Fixture {
    store::FakeStores stores = store::MakeFakeStores();
    FaultyEvents repo{*stores.events};
    store::EventStream& stream = *stores.streams;
    std::atomic<bool> stream_down{false};
    core::Actor actor{"platform_admin", "admin", "", ""};

    Fixture() {
        stores.db->SetFailureHook([this](std::string_view op) {
            if (stream_down && op == "stream.append")
                throw core::Error(core::ErrorCode::kUnavailable, "Redis is unavailable");
        });
    }
    core::TenantId Tenant(const std::string& name) {
        return core::TenantId{stores.tenants->Create(actor, name).id};
    }
    /// Events stored for the tenant (each has an item, so the training scan sees them all).
    size_t Stored(const core::TenantId& t) {
        size_t n = 0;
        stores.events->ForEachInteraction(t, [&](const store::EventRow&) { ++n; });
        return n;
    }
    /// Outbox rows waiting for the repair (taken out by this call).
    size_t TakeOutbox() {
        size_t rows = 0;
        stores.events->RepairStreams(
            0, 1000, [&](const core::TenantId&, const std::vector<core::Event>&) { ++rows; });
        return rows;
    }
};

core::Event Ev(const std::string& id) {
    core::Event e;
    e.event_id = id;
    e.type = "view";
    e.user_id = "u";
    e.item_id = "i";
    return e;
}

template <typename Pred>
bool Eventually(Pred p) {
    for (int i = 0; i < 200; ++i) {
        if (p()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

TEST(Ingestion, StoresAndRelaysToTheStream) {
    Fixture f;
    StreamRelay relay(f.repo, f.stream);
    EventIngestor ing(f.repo, relay);
    auto t = f.Tenant("t1");
    auto r = ing.Submit(t, {Ev("a"), Ev("b"), Ev("a")});
    EXPECT_EQ(r.accepted, 2u);
    EXPECT_EQ(r.duplicates, 1u);
    EXPECT_TRUE(Eventually([&] { return f.stream.Length(t) == 2; }));
    // The relay acknowledged its row: nothing is left for the repair.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(f.TakeOutbox(), 0u);
}

TEST(Ingestion, AStreamOutageNeverDelaysTheAcknowledgementNorLosesEvents) {
    Fixture f;
    f.stream_down = true;
    StreamRelay relay(f.repo, f.stream);
    EventIngestor ing(f.repo, relay);
    auto t = f.Tenant("t1");
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(ing.Submit(t, {Ev("e" + std::to_string(i))}).accepted, 1u);
    EXPECT_EQ(f.Stored(t), 20u);
    // The relay could not append: every batch stays in the outbox for the repair.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    f.stream_down = false;
    size_t repaired = f.repo.RepairStreams(
        0, 100, [&](const core::TenantId& tenant, const std::vector<core::Event>& ev) {
            f.stream.Append(tenant, ev);
        });
    EXPECT_EQ(repaired, 20u);
    EXPECT_EQ(f.stream.Length(t), 20);
}

TEST(Ingestion, OneCallersBadValuesDoNotFailTheCallersMergedWithIt) {
    Fixture f;
    auto t1 = f.Tenant("t1");
    StreamRelay relay(f.repo, f.stream);
    EventIngestor ing(f.repo, relay);
    f.repo.delay = std::chrono::milliseconds(20);  // so that concurrent callers are merged
    f.repo.fail = [](const core::TenantId&, const std::vector<core::Event>& ev) {
        for (const auto& e : ev)
            if (e.event_id == "bad")
                throw core::Error(core::ErrorCode::kUnprocessable, "a value is not valid");
    };
    std::vector<std::future<int>> calls;
    for (int i = 0; i < 16; ++i)
        calls.push_back(std::async(std::launch::async, [&, i] {
            try {
                ing.Submit(t1, {Ev(i == 7 ? "bad" : "e" + std::to_string(i))});
                return 0;
            } catch (const core::Error& e) {
                return static_cast<int>(e.code()) + 1;
            }
        }));
    int failed = 0;
    for (auto& c : calls) failed += c.get() != 0;
    EXPECT_EQ(failed, 1);
    EXPECT_EQ(f.Stored(t1), 15u);
}

TEST(Ingestion, AThrowingStoreNeverWedgesLaterCallers) {
    Fixture fx;
    auto t = fx.Tenant("t");
    StreamRelay relay(fx.repo, fx.stream);
    EventIngestor ing(fx.repo, relay);
    fx.repo.fail = [](const core::TenantId&, const std::vector<core::Event>&) {
        throw std::bad_alloc();
    };
    for (int i = 0; i < 5; ++i)
        EXPECT_THROW(ing.Submit(t, {Ev("x" + std::to_string(i))}), std::bad_alloc);
    fx.repo.fail = nullptr;
    auto f = std::async(std::launch::async, [&] { return ing.Submit(t, {Ev("ok")}); });
    ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "wedged";
    EXPECT_EQ(f.get().accepted, 1u);
}

// A leader returns once its own events are stored, however much others keep sending.
TEST(Ingestion, ALeaderReturnsUnderSustainedLoad) {
    Fixture f;
    auto busy = f.Tenant("busy"), quiet = f.Tenant("quiet");
    StreamRelay relay(f.repo, f.stream);
    EventIngestor ing(f.repo, relay);
    f.repo.delay = std::chrono::milliseconds(2);
    std::atomic<bool> stop{false};
    std::vector<std::thread> load;
    std::atomic<int> n{0};
    for (int c = 0; c < 8; ++c)
        load.emplace_back([&] {
            while (!stop) ing.Submit(busy, {Ev("l" + std::to_string(n++))});
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) ing.Submit(quiet, {Ev("q" + std::to_string(i))});
    auto took = std::chrono::steady_clock::now() - start;
    stop = true;
    for (auto& t : load) t.join();
    EXPECT_LT(took, std::chrono::seconds(5)) << "a caller was kept writing for others";
    // Bulks of their own are written by their caller, never merged.
    std::vector<core::Event> bulk;
    for (int i = 0; i < 500; ++i) bulk.push_back(Ev("b" + std::to_string(i)));
    EXPECT_EQ(ing.Submit(quiet, bulk).accepted, 500u);
}

}  // namespace
}  // namespace recs::api

// The event ingestor and the stream relay on fakes (finding M1: leaders, wedges, merged bad
// batches; M6: the acknowledgement never waits on the stream).
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "event_ingestor.hpp"
#include "support/fakes.hpp"

namespace recs::api {
namespace {

using testing::FakeEventRepository;
using testing::FakeEventStream;

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
    FakeEventRepository repo;
    FakeEventStream stream;
    StreamRelay relay(repo, stream);
    EventIngestor ing(repo, relay);
    core::TenantId t{"t1"};
    auto r = ing.Submit(t, {Ev("a"), Ev("b"), Ev("a")});
    EXPECT_EQ(r.accepted, 2u);
    EXPECT_EQ(r.duplicates, 1u);
    EXPECT_TRUE(Eventually([&] { return stream.Length(t) == 2; }));
    EXPECT_TRUE(Eventually([&] { return repo.outbox_rows() == 0; }));
}

TEST(Ingestion, AStreamOutageNeverDelaysTheAcknowledgementNorLosesEvents) {
    FakeEventRepository repo;
    FakeEventStream stream;
    stream.down = true;
    StreamRelay relay(repo, stream);
    EventIngestor ing(repo, relay);
    core::TenantId t{"t1"};
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(ing.Submit(t, {Ev("e" + std::to_string(i))}).accepted, 1u);
    EXPECT_EQ(repo.stored("t1"), 20u);
    // The relay could not append: every batch stays in the outbox for the repair.
    EXPECT_TRUE(Eventually([&] { return repo.outbox_rows() == 20; }));
    stream.down = false;
    size_t repaired = repo.RepairStreams(
        0, 100, [&](const core::TenantId& tenant, const std::vector<core::Event>& ev) {
            stream.Append(tenant, ev);
        });
    EXPECT_EQ(repaired, 20u);
    EXPECT_EQ(stream.Length(t), 20);
}

TEST(Ingestion, OneCallersBadValuesDoNotFailTheCallersMergedWithIt) {
    FakeEventRepository repo;
    FakeEventStream stream;
    StreamRelay relay(repo, stream);
    EventIngestor ing(repo, relay);
    repo.delay = std::chrono::milliseconds(20);  // so that concurrent callers are merged
    repo.fail = [](const core::TenantId&, const std::vector<core::Event>& ev) {
        for (const auto& e : ev)
            if (e.event_id == "bad")
                throw core::Error(core::ErrorCode::kUnprocessable, "a value is not valid");
    };
    std::vector<std::future<int>> calls;
    for (int i = 0; i < 16; ++i)
        calls.push_back(std::async(std::launch::async, [&, i] {
            try {
                ing.Submit(core::TenantId{"t1"}, {Ev(i == 7 ? "bad" : "e" + std::to_string(i))});
                return 0;
            } catch (const core::Error& e) {
                return static_cast<int>(e.code()) + 1;
            }
        }));
    int failed = 0;
    for (auto& c : calls) failed += c.get() != 0;
    EXPECT_EQ(failed, 1);
    EXPECT_EQ(repo.stored("t1"), 15u);
}

TEST(Ingestion, AThrowingStoreNeverWedgesLaterCallers) {
    FakeEventRepository repo;
    FakeEventStream stream;
    StreamRelay relay(repo, stream);
    EventIngestor ing(repo, relay);
    repo.fail = [](const core::TenantId&, const std::vector<core::Event>&) {
        throw std::bad_alloc();
    };
    for (int i = 0; i < 5; ++i)
        EXPECT_THROW(ing.Submit(core::TenantId{"t"}, {Ev("x" + std::to_string(i))}),
                     std::bad_alloc);
    repo.fail = nullptr;
    auto f =
        std::async(std::launch::async, [&] { return ing.Submit(core::TenantId{"t"}, {Ev("ok")}); });
    ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "wedged";
    EXPECT_EQ(f.get().accepted, 1u);
}

// A leader returns once its own events are stored, however much others keep sending.
TEST(Ingestion, ALeaderReturnsUnderSustainedLoad) {
    FakeEventRepository repo;
    FakeEventStream stream;
    StreamRelay relay(repo, stream);
    EventIngestor ing(repo, relay);
    repo.delay = std::chrono::milliseconds(2);
    std::atomic<bool> stop{false};
    std::vector<std::thread> load;
    std::atomic<int> n{0};
    for (int c = 0; c < 8; ++c)
        load.emplace_back([&] {
            while (!stop) ing.Submit(core::TenantId{"busy"}, {Ev("l" + std::to_string(n++))});
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) ing.Submit(core::TenantId{"quiet"}, {Ev("q" + std::to_string(i))});
    auto took = std::chrono::steady_clock::now() - start;
    stop = true;
    for (auto& t : load) t.join();
    EXPECT_LT(took, std::chrono::seconds(5)) << "a caller was kept writing for others";
    // Bulks of their own are written by their caller, never merged.
    std::vector<core::Event> bulk;
    for (int i = 0; i < 500; ++i) bulk.push_back(Ev("b" + std::to_string(i)));
    EXPECT_EQ(ing.Submit(core::TenantId{"quiet"}, bulk).accepted, 500u);
}

}  // namespace
}  // namespace recs::api

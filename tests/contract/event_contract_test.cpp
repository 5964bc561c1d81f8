// The contract of events (idempotent inserts, the training scan, the stream outbox) and
// features.
#include <algorithm>
#include <future>
#include <tuple>

#include "contract/contract.hpp"
#include "recs/core/crypto.hpp"

namespace recs::contract {
namespace {

using nlohmann::json;

class EventContract : public ContractTest {};
RECS_CONTRACT_SIDES(EventContract);

TEST_P(EventContract, InsertIsIdempotentByTenantAndEventIdWithinAndAcrossBatches) {
    auto t = NewTenant("a");
    auto r1 = events().Insert(t, {Ev("e1"), Ev("e2")});
    EXPECT_EQ(r1.inserted, (std::vector<bool>{true, true}));
    EXPECT_EQ(r1.accepted, 2u);
    EXPECT_EQ(r1.duplicates, 0u);
    EXPECT_GT(r1.outbox_id, 0);
    auto r2 = events().Insert(t, {Ev("e2"), Ev("e3"), Ev("e3", "u9", "i9", "click")});
    EXPECT_EQ(r2.inserted, (std::vector<bool>{false, true, false}));
    EXPECT_EQ(r2.accepted, 1u);
    EXPECT_EQ(r2.duplicates, 2u);
    EXPECT_GT(r2.outbox_id, 0);
    EXPECT_NE(r2.outbox_id, r1.outbox_id);
    auto e3 = events().Find(t, "e3");
    ASSERT_TRUE(e3);
    EXPECT_EQ(e3->type, "view");  // the first of the repeats is the one stored
    EXPECT_EQ(e3->user_id, "u1");
    auto r3 = events().Insert(t, {Ev("e1")});
    EXPECT_EQ(r3.inserted, (std::vector<bool>{false}));
    EXPECT_EQ(r3.accepted, 0u);
    EXPECT_EQ(r3.duplicates, 1u);
    EXPECT_EQ(r3.outbox_id, 0);  // nothing stored, nothing to stream
    auto empty = events().Insert(t, {});
    EXPECT_TRUE(empty.inserted.empty());
    EXPECT_EQ(empty.accepted, 0u);
    EXPECT_EQ(empty.outbox_id, 0);
}

TEST_P(EventContract, FindReturnsEveryField) {
    auto t = NewTenant("a");
    core::Event full = Ev("full", "u1", std::string("i1"), "purchase");
    full.timestamp_ms = 1700000000123;
    full.session_id = "s1";
    full.request_id = "r1";
    full.value = 2.5;
    full.metadata = {{"k", "v"}, {"n", {1, 2}}};
    core::Event bare = Ev("bare", "u2", std::nullopt);
    events().Insert(t, {full, bare});
    auto f = events().Find(t, "full");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->event_id, "full");
    EXPECT_EQ(f->type, "purchase");
    EXPECT_EQ(f->user_id, "u1");
    EXPECT_EQ(f->item_id, "i1");
    EXPECT_EQ(f->timestamp_ms, 1700000000123);
    EXPECT_EQ(f->session_id, "s1");
    EXPECT_EQ(f->request_id, "r1");
    EXPECT_EQ(f->value, 2.5);
    EXPECT_EQ(f->metadata, full.metadata);
    EXPECT_TRUE(IsTimestamp(f->received_at)) << f->received_at;
    auto b = events().Find(t, "bare");
    ASSERT_TRUE(b);
    EXPECT_FALSE(b->item_id);
    EXPECT_FALSE(b->session_id);
    EXPECT_FALSE(b->request_id);
    EXPECT_FALSE(b->value);
    EXPECT_TRUE(b->metadata.is_null());
    EXPECT_EQ(b->timestamp_ms, 1700000000000);
    EXPECT_FALSE(events().Find(t, "missing"));
}

TEST_P(EventContract, EventsAreTenantScoped) {
    auto a = NewTenant("a");
    auto b = NewTenant("b");
    EXPECT_EQ(events().Insert(a, {Ev("same", "ua"), Ev("only-a")}).accepted, 2u);
    EXPECT_EQ(events().Insert(b, {Ev("same", "ub")}).inserted, (std::vector<bool>{true}));
    EXPECT_EQ(events().Find(a, "same")->user_id, "ua");
    EXPECT_EQ(events().Find(b, "same")->user_id, "ub");
    EXPECT_FALSE(events().Find(b, "only-a"));
    EXPECT_CODE(events().Insert(core::TenantId{core::RandomUuid()}, {Ev("x")}), kNotFound);
}

TEST_P(EventContract, ForEachInteractionSeesOnlyTheTenantsEventsWithAnItem) {
    auto a = NewTenant("a");
    auto b = NewTenant("b");
    auto e1 = Ev("e1", "u1", std::string("i1"), "view");
    e1.timestamp_ms = 1700000000400;  // seconds are rounded: ...000
    auto e2 = Ev("e2", "u2", std::string("i2"), "purchase");
    e2.timestamp_ms = 1700000000500;  // ...001 (halves away from zero)
    e2.value = 3;
    auto e3 = Ev("e3", "u3", std::nullopt);
    events().Insert(a, {e1, e2, e3});
    events().Insert(b, {Ev("e4", "u4", std::string("i4"))});
    using Row = std::tuple<std::string, std::string, std::string, double, int64_t>;
    std::vector<Row> rows;
    events().ForEachInteraction(a, [&](const store::EventRow& r) {
        rows.emplace_back(r.user_id, r.item_id, r.type, r.value, r.timestamp_s);
    });
    std::sort(rows.begin(), rows.end());
    EXPECT_EQ(rows, (std::vector<Row>{{"u1", "i1", "view", 1.0, 1700000000},
                                      {"u2", "i2", "purchase", 3.0, 1700000001}}));
    int none = 0;
    events().ForEachInteraction(NewTenant("c"), [&](const store::EventRow&) { ++none; });
    EXPECT_EQ(none, 0);
}

TEST_P(EventContract, RepairStreamsAppendsWhatNoRelayAckedAndKeepsItOnFailure) {
    auto t = NewTenant("a");
    core::Event e1 = Ev("e1", "u1", std::string("i1"));
    e1.session_id = "s";  // not carried to the stream
    e1.timestamp_ms = 1700000000777;
    events().Insert(t, {e1, Ev("e2", "u2", std::nullopt, "click")});
    int calls = 0;
    EXPECT_EQ(
        events().RepairStreams(
            60000, 10, [&](const core::TenantId&, const std::vector<core::Event>&) { ++calls; }),
        0u);  // younger than the repair's age
    EXPECT_EQ(calls, 0);
    std::vector<core::Event> got;
    EXPECT_EQ(
        events().RepairStreams(0, 10,
                               [&](const core::TenantId& tt, const std::vector<core::Event>& e) {
                                   EXPECT_EQ(tt, t);
                                   got.insert(got.end(), e.begin(), e.end());
                               }),
        2u);
    std::sort(got.begin(), got.end(),
              [](const auto& x, const auto& y) { return x.event_id < y.event_id; });
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].event_id, "e1");
    EXPECT_EQ(got[0].type, "view");
    EXPECT_EQ(got[0].user_id, "u1");
    EXPECT_EQ(got[0].item_id, "i1");
    EXPECT_EQ(got[0].timestamp_ms, 1700000000777);
    EXPECT_FALSE(got[0].session_id);
    EXPECT_EQ(got[1].event_id, "e2");
    EXPECT_EQ(got[1].type, "click");
    EXPECT_FALSE(got[1].item_id);
    auto nothing = [&](const core::TenantId&, const std::vector<core::Event>&) { ++calls; };
    EXPECT_EQ(events().RepairStreams(0, 10, nothing), 0u);  // the rows were deleted
    EXPECT_EQ(calls, 0);

    // A failing append keeps every row; a later repair appends them.
    events().Insert(t, {Ev("e3")});
    events().Insert(t, {Ev("e4")});
    EXPECT_CODE(events().RepairStreams(0, 10,
                                       [](const core::TenantId&, const std::vector<core::Event>&) {
                                           throw core::Error(core::ErrorCode::kUnavailable, "down");
                                       }),
                kUnavailable);
    std::vector<std::string> order;
    auto collect = [&](const core::TenantId&, const std::vector<core::Event>& e) {
        for (const auto& x : e) order.push_back(x.event_id);
    };
    EXPECT_EQ(events().RepairStreams(0, 1, collect), 1u);  // oldest row first, `limit` rows
    EXPECT_EQ(events().RepairStreams(0, 1, collect), 1u);
    EXPECT_EQ(order, (std::vector<std::string>{"e3", "e4"}));

    // An acknowledged row is not repaired.
    auto r = events().Insert(t, {Ev("e5")});
    events().AckStreamed({r.outbox_id});
    events().AckStreamed({});
    EXPECT_EQ(events().RepairStreams(0, 10, nothing), 0u);
    EXPECT_EQ(calls, 0);
}

TEST_P(EventContract, ConcurrentInsertsStoreEachEventOnce) {
    auto t = NewTenant("a");
    std::vector<core::Event> batch;
    for (int i = 0; i < 50; ++i) batch.push_back(Ev("e" + std::to_string(i)));
    std::vector<std::future<store::InsertResult>> runs;
    for (int i = 0; i < 4; ++i)
        runs.push_back(std::async(std::launch::async, [&] { return events().Insert(t, batch); }));
    size_t accepted = 0, duplicates = 0;
    for (auto& r : runs) {
        auto res = r.get();
        accepted += res.accepted;
        duplicates += res.duplicates;
    }
    EXPECT_EQ(accepted, 50u);
    EXPECT_EQ(duplicates, 150u);
    size_t scanned = 0;
    events().ForEachInteraction(t, [&](const store::EventRow&) { ++scanned; });
    EXPECT_EQ(scanned, 50u);
}

TEST_P(EventContract, FeatureUpsertReplacesTheWholeObject) {
    auto t = NewTenant("a");
    auto at = features().Upsert(t, "user", "u1", {{"age", 30}, {"tags", {"a", "b"}}});
    EXPECT_TRUE(IsTimestamp(at)) << at;
    auto f = features().Find(t, "user", "u1");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->first, json({{"age", 30}, {"tags", {"a", "b"}}}));
    EXPECT_EQ(f->second, at);
    features().Upsert(t, "user", "u1", {{"country", "fr"}});
    EXPECT_EQ(features().Find(t, "user", "u1")->first, json({{"country", "fr"}}));
    EXPECT_FALSE(features().Find(t, "item", "u1"));  // the entity type is part of the key
    EXPECT_FALSE(features().Find(t, "user", "u2"));
    EXPECT_CODE(features().Upsert(t, "group", "g", json::object()), kUnprocessable);
    EXPECT_CODE(features().Upsert(core::TenantId{core::RandomUuid()}, "user", "u", {{"x", 1}}),
                kNotFound);
}

TEST_P(EventContract, UpsertManyLastRowWinsAndFindItemsSkipsMissing) {
    auto t = NewTenant("a");
    features().UpsertMany(
        t, json::array({{{"entity_type", "item"}, {"entity_id", "i1"}, {"features", {{"p", 1}}}},
                        {{"entity_type", "item"}, {"entity_id", "i2"}, {"features", {{"p", 2}}}},
                        {{"entity_type", "item"}, {"entity_id", "i1"}, {"features", {{"p", 3}}}},
                        {{"entity_type", "user"}, {"entity_id", "u1"}, {"features", {{"a", 5}}}}}));
    EXPECT_EQ(features().Find(t, "item", "i1")->first, json({{"p", 3}}));
    EXPECT_EQ(features().Find(t, "user", "u1")->first, json({{"a", 5}}));
    auto items = features().FindItems(t, {"i2", "missing", "i1", "u1", "i1"});
    std::sort(items.begin(), items.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    ASSERT_EQ(items.size(), 2u);  // users are not items; each item once
    EXPECT_EQ(items[0].first, "i1");
    EXPECT_EQ(items[0].second, json({{"p", 3}}));
    EXPECT_EQ(items[1].first, "i2");
    EXPECT_EQ(items[1].second, json({{"p", 2}}));
    EXPECT_TRUE(features().FindItems(t, {}).empty());
    EXPECT_NO_THROW(features().UpsertMany(t, json::array()));
}

TEST_P(EventContract, UpsertManyIsAllOrNothing) {
    auto t = NewTenant("a");
    EXPECT_CODE(
        features().UpsertMany(
            t, json::array(
                   {{{"entity_type", "item"}, {"entity_id", "i1"}, {"features", json::object()}},
                    {{"entity_type", "bogus"}, {"entity_id", "x"}, {"features", {{"a", 1}}}}})),
        kUnprocessable);
    EXPECT_FALSE(features().Find(t, "item", "i1"));
    EXPECT_CODE(
        features().UpsertMany(t, json::array({{{"entity_type", "item"}, {"entity_id", "i2"}}})),
        kUnprocessable);  // features NOT NULL
    EXPECT_FALSE(features().Find(t, "item", "i2"));
    EXPECT_CODE(features().UpsertMany(t, json({{"not", "an array"}})), kUnprocessable);
}

TEST_P(EventContract, FeaturesAreTenantScoped) {
    auto a = NewTenant("a");
    auto b = NewTenant("b");
    features().Upsert(a, "item", "i1", {{"x", 1}});
    features().Upsert(b, "item", "i1", {{"x", 2}});
    EXPECT_EQ(features().Find(a, "item", "i1")->first, json({{"x", 1}}));
    EXPECT_EQ(features().Find(b, "item", "i1")->first, json({{"x", 2}}));
    EXPECT_TRUE(features().FindItems(NewTenant("c"), {"i1"}).empty());
    auto only_b = features().FindItems(b, {"i1"});
    ASSERT_EQ(only_b.size(), 1u);
    EXPECT_EQ(only_b[0].second, json({{"x", 2}}));
}

}  // namespace
}  // namespace recs::contract

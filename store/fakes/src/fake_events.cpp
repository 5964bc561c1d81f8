// Events, their stream outbox, and features (store/src/pg/queries/events.hpp).
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "fake_state.hpp"

namespace recs::store {
namespace {

using fake::Ts;
using fake::UuidParam;
using nlohmann::json;

/// extract(epoch from ts)::bigint: the seconds rounded to the nearest, halves away from zero.
int64_t RoundedSeconds(int64_t ms) { return ms >= 0 ? (ms + 500) / 1000 : -((-ms + 500) / 1000); }

class FakeEventRepository final : public EventRepository {
public:
    explicit FakeEventRepository(std::shared_ptr<FakeDatabase> db)
        : db_(std::move(db)), s_(db_->state()) {}

    InsertResult Insert(const core::TenantId& tenant,
                        const std::vector<core::Event>& events) override {
        InsertResult out;
        out.inserted.assign(events.size(), false);
        if (events.empty()) return out;
        s_.Enter("events.insert");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        // ON CONFLICT (tenant_id, event_id) DO NOTHING: the first of repeats in a batch is stored.
        std::unordered_set<std::string> batch;
        std::vector<size_t> fresh;
        for (size_t i = 0; i < events.size(); ++i) {
            if (s_.events.count({t, events[i].event_id})) continue;
            if (!batch.insert(events[i].event_id).second) continue;
            fresh.push_back(i);
        }
        if (fresh.empty()) {
            out.duplicates = events.size();
            return out;
        }
        s_.RequireTenant(t);
        int64_t now = s_.NowUs();
        fake::OutboxRow ob;
        ob.tenant_id = t;
        ob.created_us = now;
        for (size_t i : fresh) {
            core::Event e = events[i];
            e.received_at = Ts(now);
            s_.events[{t, e.event_id}] = fake::EventRec{++s_.next_event_ord, e};
            ob.event_ids.push_back(e.event_id);
            out.inserted[i] = true;
        }
        out.accepted = fresh.size();
        out.duplicates = events.size() - fresh.size();
        out.outbox_id = ++s_.next_outbox;
        s_.outbox[out.outbox_id] = std::move(ob);
        return out;
    }

    std::optional<core::Event> Find(const core::TenantId& tenant,
                                    const std::string& event_id) override {
        s_.Enter("events.find");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto it = s_.events.find({t, event_id});
        if (it == s_.events.end()) return std::nullopt;
        return it->second.e;
    }

    void ForEachInteraction(const core::TenantId& tenant,
                            const std::function<void(const EventRow&)>& fn) override {
        s_.Enter("events.scan");
        std::string t = UuidParam(tenant.value);
        std::vector<std::pair<int64_t, EventRow>> rows;
        {
            std::lock_guard lock(s_.mu);
            for (auto it = s_.events.lower_bound({t, ""});
                 it != s_.events.end() && it->first.first == t; ++it) {
                const auto& e = it->second.e;
                if (!e.item_id) continue;
                rows.emplace_back(it->second.ord,
                                  EventRow{e.user_id, *e.item_id, e.type, e.value.value_or(1.0),
                                           RoundedSeconds(e.timestamp_ms)});
            }
        }
        std::sort(rows.begin(), rows.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [ord, row] : rows) fn(row);  // outside the lock: fn may be slow
    }

    void AckStreamed(const std::vector<int64_t>& outbox_ids) override {
        if (outbox_ids.empty()) return;
        s_.Enter("events.outbox_ack");
        std::lock_guard lock(s_.mu);
        for (auto id : outbox_ids) s_.outbox.erase(id);
    }

    size_t RepairStreams(
        int64_t older_than_ms,
        int limit,
        const std::function<void(const core::TenantId&, const std::vector<core::Event>&)>& append)
        override {
        s_.Enter("events.outbox_repair");
        if (limit < 0) fake::ThrowBadValue();
        // The rows are taken (FOR UPDATE SKIP LOCKED), appended outside the lock, and deleted
        // only when every append succeeded (the real one's transaction rolls back otherwise).
        std::vector<std::pair<int64_t, std::pair<core::TenantId, std::vector<core::Event>>>> work;
        {
            std::lock_guard lock(s_.mu);
            int64_t cutoff = s_.NowUs() - older_than_ms * 1000;
            for (auto& [id, row] : s_.outbox) {
                if (static_cast<int>(work.size()) >= limit) break;
                if (row.locked || row.created_us >= cutoff) continue;
                std::vector<core::Event> events;
                for (const auto& eid : row.event_ids) {
                    auto it = s_.events.find({row.tenant_id, eid});
                    if (it == s_.events.end()) continue;
                    core::Event e;
                    e.event_id = it->second.e.event_id;
                    e.type = it->second.e.type;
                    e.user_id = it->second.e.user_id;
                    e.item_id = it->second.e.item_id;
                    e.timestamp_ms = it->second.e.timestamp_ms;
                    events.push_back(std::move(e));
                }
                if (events.empty()) continue;  // the join finds nothing: the row stays
                row.locked = true;
                work.push_back({id, {core::TenantId{row.tenant_id}, std::move(events)}});
            }
        }
        auto unlock = [&](bool remove) {
            std::lock_guard lock(s_.mu);
            for (const auto& w : work) {
                auto it = s_.outbox.find(w.first);
                if (it == s_.outbox.end()) continue;
                if (remove)
                    s_.outbox.erase(it);
                else
                    it->second.locked = false;
            }
        };
        size_t repaired = 0;
        try {
            for (const auto& w : work) {
                append(w.second.first, w.second.second);
                repaired += w.second.second.size();
            }
        } catch (...) {
            unlock(false);
            throw;
        }
        unlock(true);
        return repaired;
    }

private:
    std::shared_ptr<FakeDatabase> db_;
    FakeDatabase::State& s_;
};

class FakeFeatureRepository final : public FeatureRepository {
public:
    explicit FakeFeatureRepository(std::shared_ptr<FakeDatabase> db)
        : db_(std::move(db)), s_(db_->state()) {}

    std::string Upsert(const core::TenantId& tenant,
                       const std::string& entity_type,
                       const std::string& entity_id,
                       const json& features) override {
        s_.Enter("features.upsert");
        std::string t = UuidParam(tenant.value);
        if (entity_type != "user" && entity_type != "item") fake::ThrowBadValue();
        std::lock_guard lock(s_.mu);
        s_.RequireTenant(t);
        std::string at = Ts(s_.NowUs());
        s_.features[{t, entity_type, entity_id}] = fake::FeatureRec{features, at};
        return at;
    }

    void UpsertMany(const core::TenantId& tenant, const json& rows) override {
        if (rows.empty()) return;
        s_.Enter("features.upsert_many");
        std::string t = UuidParam(tenant.value);
        // jsonb_to_recordset: an array of objects; text columns read strings as they are and
        // other scalars as their JSON text; JSON null is SQL NULL.
        if (!rows.is_array()) fake::ThrowBadValue();
        auto text = [](const json& row, const char* key) -> std::optional<std::string> {
            auto it = row.find(key);
            if (it == row.end() || it->is_null()) return std::nullopt;
            if (it->is_string()) return it->get<std::string>();
            return it->dump();
        };
        // DISTINCT ON (entity_type, entity_id) ... ORDER BY ord DESC: the last row of a key wins.
        std::map<std::pair<std::string, std::string>, json> last;
        for (const auto& row : rows) {
            if (!row.is_object()) fake::ThrowBadValue();
            auto type = text(row, "entity_type");
            auto id = text(row, "entity_id");
            auto f = row.find("features");
            if (!type || !id || f == row.end() || f->is_null()) fake::ThrowBadValue();  // NOT NULL
            if (*type != "user" && *type != "item") fake::ThrowBadValue();              // CHECK
            last[{*type, *id}] = *f;
        }
        std::lock_guard lock(s_.mu);
        s_.RequireTenant(t);
        std::string at = Ts(s_.NowUs());
        for (auto& [key, f] : last)
            s_.features[{t, key.first, key.second}] = fake::FeatureRec{std::move(f), at};
    }

    std::optional<std::pair<json, std::string>> Find(const core::TenantId& tenant,
                                                     const std::string& entity_type,
                                                     const std::string& entity_id) override {
        s_.Enter("features.find");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        auto it = s_.features.find({t, entity_type, entity_id});
        if (it == s_.features.end()) return std::nullopt;
        return std::make_pair(it->second.features, it->second.updated_at);
    }

    std::vector<std::pair<std::string, json>> FindItems(
        const core::TenantId& tenant, const std::vector<std::string>& item_ids) override {
        std::vector<std::pair<std::string, json>> out;
        if (item_ids.empty()) return out;
        s_.Enter("features.find_items");
        std::string t = UuidParam(tenant.value);
        std::lock_guard lock(s_.mu);
        std::set<std::string> seen;  // `IN (...)`: each row once
        for (const auto& id : item_ids) {
            if (!seen.insert(id).second) continue;
            auto it = s_.features.find({t, "item", id});
            if (it != s_.features.end()) out.emplace_back(id, it->second.features);
        }
        return out;
    }

private:
    std::shared_ptr<FakeDatabase> db_;
    FakeDatabase::State& s_;
};

}  // namespace

std::unique_ptr<EventRepository> MakeFakeEventRepository(std::shared_ptr<FakeDatabase> db) {
    return std::make_unique<FakeEventRepository>(std::move(db));
}
std::unique_ptr<FeatureRepository> MakeFakeFeatureRepository(std::shared_ptr<FakeDatabase> db) {
    return std::make_unique<FakeFeatureRepository>(std::move(db));
}

}  // namespace recs::store

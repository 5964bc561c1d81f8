#include <nlohmann/json.hpp>
#include <pqxx/tablewriter>
#include <unordered_map>
#include <unordered_set>

#include "pg/pg_pool_impl.hpp"
#include "pg/queries/events.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/feature_store.hpp"

namespace recs::store {
namespace {

using nlohmann::json;
namespace q = pg;

// COPY text format: backslash escapes, \N for NULL.
void CopyField(std::string& line, std::string_view v) {
    for (char c : v) {
        switch (c) {
            case '\\':
                line += "\\\\";
                break;
            case '\t':
                line += "\\t";
                break;
            case '\n':
                line += "\\n";
                break;
            case '\r':
                line += "\\r";
                break;
            default:
                line.push_back(c);
        }
    }
}
void CopyOpt(std::string& line, const std::optional<std::string>& v) {
    if (v)
        CopyField(line, *v);
    else
        line += "\\N";
}

std::string CopyLine(const core::Event& e) {
    std::string line;
    line.reserve(96);
    CopyField(line, e.event_id);
    line.push_back('\t');
    CopyField(line, e.type);
    line.push_back('\t');
    CopyField(line, e.user_id);
    line.push_back('\t');
    CopyOpt(line, e.item_id);
    line.push_back('\t');
    line += std::to_string(e.timestamp_ms);
    line.push_back('\t');
    CopyOpt(line, e.session_id);
    line.push_back('\t');
    CopyOpt(line, e.request_id);
    line.push_back('\t');
    if (e.value) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", *e.value);
        line += buf;
    } else {
        line += "\\N";
    }
    line.push_back('\t');
    if (e.metadata.is_null())
        line += "\\N";
    else
        CopyField(line, e.metadata.dump(-1, ' ', false, json::error_handler_t::replace));
    return line;
}

class PgEventRepository final : public EventRepository {
public:
    explicit PgEventRepository(PgPool& pool) : pool_(pool) {}

    // EventRepository
    InsertResult Insert(const core::TenantId& tenant,
                        const std::vector<core::Event>& events) override {
        InsertResult out;
        out.inserted.assign(events.size(), false);
        if (events.empty()) return out;
        std::unordered_set<std::string> fresh;
        if (events.size() < kCopyThreshold) {
            InsertSmall(tenant, events, fresh, &out.outbox_id);
        } else {
            InsertCopy(tenant, events, fresh, &out.outbox_id);
        }
        for (size_t i = 0; i < events.size(); ++i) {
            auto it = fresh.find(events[i].event_id);
            if (it != fresh.end()) {
                out.inserted[i] = true;
                fresh.erase(it);  // a repeat later in the batch is a duplicate
                ++out.accepted;
            } else {
                ++out.duplicates;
            }
        }
        return out;
    }

private:
    static constexpr size_t kCopyThreshold = 200;
    static constexpr int kCopyTimeoutMs = 60000;
    static constexpr int kFetchTimeoutMs = 120000;

    static void ReadInserted(const pqxx::result& r,
                             std::unordered_set<std::string>& fresh,
                             int64_t* outbox_id) {
        fresh.reserve(r.size());
        for (const auto& row : r) {
            fresh.insert(row[0].as<std::string>());
            if (!row[1].is_null()) *outbox_id = row[1].as<int64_t>();
        }
    }

    void InsertSmall(const core::TenantId& tenant,
                     const std::vector<core::Event>& events,
                     std::unordered_set<std::string>& fresh,
                     int64_t* outbox_id) {
        auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(); };
        json rows = json::array();
        for (const auto& e : events) {
            rows.push_back({{"event_id", e.event_id},
                            {"type", e.type},
                            {"user_id", e.user_id},
                            {"item_id", opt(e.item_id)},
                            {"ts", e.timestamp_ms},
                            {"session_id", opt(e.session_id)},
                            {"request_id", opt(e.request_id)},
                            {"value", e.value ? json(*e.value) : json()},
                            {"metadata", e.metadata}});
        }
        WithConnection(pool_, "events.insert", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);  // one statement: atomic on its own
            auto r = tx.exec_params(std::string(q::kInsertEventsJson), tenant.value,
                                    rows.dump(-1, ' ', false, json::error_handler_t::replace));
            ReadInserted(r, fresh, outbox_id);
        });
    }

    void InsertCopy(const core::TenantId& tenant,
                    const std::vector<core::Event>& events,
                    std::unordered_set<std::string>& fresh,
                    int64_t* outbox_id) {
        // A big batch may take longer than a request's statement timeout.
        WithConnection(
            pool_, "events.insert_copy",
            [&](pqxx::connection& c) {
                pqxx::work tx(c);
                tx.exec("SET LOCAL statement_timeout = " + std::to_string(kCopyTimeoutMs));
                tx.exec(std::string(q::kCreateStage));
                {
                // tablewriter is deprecated in libpqxx 6.4 but is the only public raw-line COPY.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
                    pqxx::tablewriter w(tx, "events_stage");
#pragma GCC diagnostic pop
                    for (const auto& e : events) w.write_raw_line(CopyLine(e));
                    w.complete();
                }
                auto r = tx.exec_params(std::string(q::kInsertFromStage), tenant.value);
                ReadInserted(r, fresh, outbox_id);
                tx.commit();
            },
            kCopyTimeoutMs + 2000);
    }

public:
    std::optional<core::Event> Find(const core::TenantId& tenant,
                                    const std::string& event_id) override {
        std::optional<core::Event> out;
        WithConnection(pool_, "events.find", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(std::string(q::kSelectEvent), tenant.value, event_id);
            if (r.empty()) return;
            const auto& row = r[0];
            core::Event e;
            e.event_id = row[0].as<std::string>();
            e.type = row[1].as<std::string>();
            e.user_id = row[2].as<std::string>();
            e.item_id = OptText(row[3]);
            e.timestamp_ms = row[4].as<int64_t>();
            e.session_id = OptText(row[5]);
            e.request_id = OptText(row[6]);
            if (!row[7].is_null()) e.value = row[7].as<double>();
            e.metadata = json::parse(row[8].as<std::string>());
            e.received_at = row[9].as<std::string>();
            out = std::move(e);
        });
        return out;
    }

    void ForEachInteraction(const core::TenantId& tenant,
                            const std::function<void(const EventRow&)>& fn) override {
        // A cursor in a read-only transaction, fetched in batches: memory stays at one batch
        // (libpq buffers a whole result otherwise), and each fetch has its own deadline.
        WithLease(pool_, "events.scan", [&](PgLease& lease) {
            pqxx::work tx(*lease);
            tx.exec("SET TRANSACTION READ ONLY");
            tx.exec("SET LOCAL statement_timeout = 0");
            tx.exec("SET LOCAL idle_in_transaction_session_timeout = 0");  // fn may be slow
            tx.exec_params(std::string(q::kDeclareInteractions), tenant.value);
            EventRow ev;
            for (;;) {
                lease.Rearm(kFetchTimeoutMs);
                auto r = tx.exec(std::string(q::kFetchInteractions));
                lease.Rearm(-1);  // no deadline while fn consumes the batch
                for (const auto& row : r) {
                    ev.user_id = row[0].c_str();
                    ev.item_id = row[1].c_str();
                    ev.type = row[2].c_str();
                    ev.value = row[3].as<double>();
                    ev.timestamp_s = row[4].as<int64_t>();
                    fn(ev);
                }
                if (r.empty()) break;
            }
            tx.commit();
        });
    }

    void AckStreamed(const std::vector<int64_t>& outbox_ids) override {
        if (outbox_ids.empty()) return;
        std::string arr = "{";
        for (size_t i = 0; i < outbox_ids.size(); ++i)
            arr += (i ? "," : "") + std::to_string(outbox_ids[i]);
        arr += "}";
        WithConnection(pool_, "events.outbox_ack", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(std::string(q::kDeleteOutbox), arr);
        });
    }

    size_t RepairStreams(
        int64_t older_than_ms,
        int limit,
        const std::function<void(const core::TenantId&, const std::vector<core::Event>&)>& append)
        override {
        size_t repaired = 0;
        WithConnection(pool_, "events.outbox_repair", [&](pqxx::connection& c) {
            pqxx::work tx(c);
            auto r = tx.exec_params(std::string(q::kPendingOutbox),
                                    static_cast<double>(older_than_ms), limit);
            std::vector<int64_t> done;
            for (size_t i = 0; i < r.size();) {
                int64_t id = r[i][0].as<int64_t>();
                core::TenantId tenant{r[i][1].as<std::string>()};
                std::vector<core::Event> events;
                for (; i < r.size() && r[i][0].as<int64_t>() == id; ++i) {
                    core::Event e;
                    e.event_id = r[i][2].as<std::string>();
                    e.type = r[i][3].as<std::string>();
                    e.user_id = r[i][4].as<std::string>();
                    e.item_id = OptText(r[i][5]);
                    e.timestamp_ms = r[i][6].as<int64_t>();
                    events.push_back(std::move(e));
                }
                append(tenant, events);  // throws when Redis fails: the rows stay for later
                done.push_back(id);
                repaired += events.size();
            }
            std::string arr = "{";
            for (size_t k = 0; k < done.size(); ++k)
                arr += (k ? "," : "") + std::to_string(done[k]);
            arr += "}";
            if (!done.empty()) tx.exec_params(std::string(q::kDeleteOutbox), arr);
            tx.commit();
        });
        return repaired;
    }

private:
    PgPool& pool_;
};

class PgFeatureRepository final : public FeatureRepository {
public:
    explicit PgFeatureRepository(PgPool& pool) : pool_(pool) {}

    std::string Upsert(const core::TenantId& tenant,
                       const std::string& entity_type,
                       const std::string& entity_id,
                       const json& features) override {
        std::string at;
        WithConnection(pool_, "features.upsert", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            at = tx.exec_params1(std::string(q::kUpsertFeature), tenant.value, entity_type,
                                 entity_id, features.dump())[0]
                     .as<std::string>();
        });
        return at;
    }

    void UpsertMany(const core::TenantId& tenant, const json& rows) override {
        if (rows.empty()) return;
        WithConnection(pool_, "features.upsert_many", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(std::string(q::kUpsertFeatures), tenant.value, rows.dump());
        });
    }

    std::optional<std::pair<json, std::string>> Find(const core::TenantId& tenant,
                                                     const std::string& entity_type,
                                                     const std::string& entity_id) override {
        std::optional<std::pair<json, std::string>> out;
        WithConnection(pool_, "features.find", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(std::string(q::kSelectFeature), tenant.value, entity_type,
                                    entity_id);
            if (!r.empty())
                out.emplace(json::parse(r[0][0].as<std::string>()), r[0][1].as<std::string>());
        });
        return out;
    }

    std::vector<std::pair<std::string, json>> FindItems(
        const core::TenantId& tenant, const std::vector<std::string>& item_ids) override {
        std::vector<std::pair<std::string, json>> out;
        if (item_ids.empty()) return out;
        WithConnection(pool_, "features.find_items", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(std::string(q::kSelectItemFeatures), tenant.value,
                                    json(item_ids).dump());
            for (const auto& row : r)
                out.emplace_back(row[0].as<std::string>(), json::parse(row[1].as<std::string>()));
        });
        return out;
    }

private:
    PgPool& pool_;
};

}  // namespace

std::unique_ptr<EventRepository> MakePgEventRepository(PgPool& pool) {
    return std::make_unique<PgEventRepository>(pool);
}
std::unique_ptr<FeatureRepository> MakePgFeatureRepository(PgPool& pool) {
    return std::make_unique<PgFeatureRepository>(pool);
}

}  // namespace recs::store

#pragma once

// The tables of the fake database and the helpers that mimic how PostgreSQL treats parameters
// (uuid casts, constraint violations) and how the repositories translate them to core::Error.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "recs/core/domain.hpp"
#include "recs/core/error.hpp"
#include "recs/core/job.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/store/fakes.hpp"
#include "recs/store/page.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::store {

namespace fake {

/// Rows of a table with a sequence number (the pagination order) and a uuid primary key.
template <typename Row>
struct Table {
    std::map<int64_t, Row> rows;  ///< by seq
    std::unordered_map<std::string, int64_t> by_id;
    int64_t next_seq = 0;

    Row* Find(const std::string& id) {
        auto it = by_id.find(id);
        return it == by_id.end() ? nullptr : &rows.at(it->second);
    }
    /// `id` must not refer into `row` (which is moved from before the body runs).
    Row& Insert(const std::string& id, Row row) {
        int64_t seq = ++next_seq;
        row.seq = seq;
        by_id[id] = seq;
        return rows.emplace(seq, std::move(row)).first->second;
    }
    template <typename Pred>
    void EraseIf(Pred pred) {
        std::set<int64_t> gone;
        for (auto it = rows.begin(); it != rows.end();) {
            if (pred(it->second)) {
                gone.insert(it->first);
                it = rows.erase(it);
            } else {
                ++it;
            }
        }
        if (gone.empty()) return;
        for (auto it = by_id.begin(); it != by_id.end();)
            it = gone.count(it->second) ? by_id.erase(it) : std::next(it);
    }
    void Clear() {
        rows.clear();
        by_id.clear();
    }
};

struct TenantRow {
    int64_t seq = 0;
    core::Tenant t;
};

struct KeyRow {
    int64_t seq = 0;
    core::ApiKey k;
    std::string hash;
    std::optional<int64_t> expires_us;
    std::optional<int64_t> last_used_us;
};

struct IdempotencyRow {
    IdempotentResponse response;
    bool pending = true;
    int64_t created_us = 0;
    int64_t expires_us = 0;
};

struct EventRec {
    int64_t ord = 0;  ///< insertion order (the order a sequential scan returns)
    core::Event e;
};

struct OutboxRow {
    std::string tenant_id;
    std::vector<std::string> event_ids;
    int64_t created_us = 0;
    bool locked = false;  ///< taken by a RepairStreams in progress (FOR UPDATE SKIP LOCKED)
};

struct FeatureRec {
    nlohmann::json features;
    std::string updated_at;
};

struct ModelRow {
    int64_t seq = 0;
    core::ModelDef m;  ///< without the deployment fields (computed on read)
};

struct VersionRow {
    int64_t seq = 0;
    core::ModelVersion v;
};

struct DeploymentRow {
    std::string tenant_id, model_id, version_id, pool;
};

struct JobRow {
    int64_t seq = 0;
    core::Job j;
    std::optional<std::string> lease_owner;
    std::optional<int64_t> lease_expires_us;
    int64_t run_after_us = 0;
    std::optional<int64_t> pushed_us;
    std::optional<std::string> idempotency_key;
};

/// Throws what the repositories throw for a value PostgreSQL rejects (class 22, 23502, 23514).
[[noreturn]] void ThrowBadValue();
/// A unique violation.
[[noreturn]] void ThrowUnique();
/// A foreign key violation (what the request refers to does not exist).
[[noreturn]] void ThrowForeignKey();

/// `s` as PostgreSQL's `$n::uuid` reads it (canonical, upper case, braces, no or 4-digit-group
/// hyphens), in canonical lower case; ThrowBadValue() when it is not a uuid.
std::string UuidParam(std::string_view s);
/// The canonical lower-case form of a string core::IsUuid accepts.
std::string Lower(std::string_view s);

/// Timestamps as the queries format them (to_char ... 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"').
std::string Ts(int64_t us);

/// A page of the rows of `table` that pass `pred`, after the request's cursor, as FillPage
/// makes it from `LIMIT limit + 1`. DecodeCursor must have been called by the caller (the real
/// repositories decode before they query).
template <typename Row, typename T, typename Pred, typename Map>
Page<T> PageOf(const Table<Row>& table, int64_t after, int limit, Pred pred, Map map) {
    Page<T> out;
    if (limit + 1 < 0) ThrowBadValue();  // LIMIT must not be negative
    std::vector<const std::pair<const int64_t, Row>*> rows;
    for (auto it = table.rows.upper_bound(after); it != table.rows.end(); ++it) {
        if (static_cast<int>(rows.size()) >= limit + 1) break;
        if (pred(it->second)) rows.push_back(&*it);
    }
    for (size_t i = 0; i < rows.size() && static_cast<int>(i) < limit; ++i)
        out.items.push_back(map(rows[i]->second));
    if (static_cast<int>(rows.size()) > limit) {
        // FillPage reads row limit - 1: out of range for limit 0 (a driver error → kInternal).
        if (limit < 1) throw core::Error(core::ErrorCode::kInternal, "internal database error");
        out.next_cursor = EncodeCursor(rows[static_cast<size_t>(limit) - 1]->first);
    }
    return out;
}

inline int64_t StartSeq(const PageRequest& page) {
    return page.cursor ? DecodeCursor(*page.cursor) : 0;
}

}  // namespace fake

struct FakeDatabase::State {
    // The clock.
    std::mutex clock_mu;
    std::function<int64_t()> base_ms;  ///< empty: the system clock
    int64_t offset_us = 0;
    int64_t last_us = 0;
    /// The time of one operation (strictly later than the previous one's).
    int64_t NowUs();

    std::mutex hook_mu;
    std::function<void(std::string_view)> hook;
    /// Runs the failure hook for `op` (call before taking a table lock).
    void Enter(std::string_view op);

    // "PostgreSQL": one lock, so that every operation is atomic like its statement.
    std::mutex mu;
    fake::Table<fake::TenantRow> tenants;
    fake::Table<fake::KeyRow> keys;
    std::map<std::string, std::string> settings;
    std::map<std::pair<std::string, std::string>, fake::IdempotencyRow> idempotency;
    std::map<std::pair<std::string, std::string>, fake::EventRec> events;  ///< (tenant, event_id)
    int64_t next_event_ord = 0;
    std::map<int64_t, fake::OutboxRow> outbox;
    int64_t next_outbox = 0;
    std::map<std::tuple<std::string, std::string, std::string>, fake::FeatureRec> features;
    fake::Table<fake::ModelRow> models;
    fake::Table<fake::VersionRow> versions;
    std::map<int64_t, fake::DeploymentRow> deployments;
    int64_t next_deployment = 0;
    fake::Table<fake::JobRow> jobs;

    // Helpers, with mu held.
    const fake::TenantRow* TenantById(const std::string& id);
    /// Throws the foreign key violation when the tenant does not exist.
    void RequireTenant(const std::string& id);
    /// Deletes a model's versions and deployments (ON DELETE CASCADE).
    void CascadeModel(const std::string& model_id);
    /// Adds the deployment fields of a model row (its newest deployment).
    core::ModelDef WithDeployment(const core::ModelDef& m);

    // "Redis": its own lock; Pop waits on the condition.
    std::mutex redis_mu;
    std::condition_variable redis_cv;
    std::set<std::pair<int64_t, std::string>> ready;  ///< (score, id): a sorted set
    std::unordered_map<std::string, int64_t> ready_score;
    std::map<std::string, std::vector<core::Event>> streams;
};

}  // namespace recs::store

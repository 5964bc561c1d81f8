#include <nlohmann/json.hpp>

#include "pg/pg_audit.hpp"
#include "pg/pg_pool_impl.hpp"
#include "pg/queries/experiments.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/store/experiment_store.hpp"

namespace recs::store {
namespace {

using core::ExperimentStatus;
using nlohmann::json;
namespace q = pg;

core::Experiment RowToExperiment(const pqxx::row& r) {
    core::Experiment e;
    e.id = r[1].as<std::string>();
    e.tenant_id = r[2].as<std::string>();
    // A CHECK constraint keeps the column to the names the enum knows.
    e.status =
        core::ParseExperimentStatus(r[3].as<std::string>()).value_or(ExperimentStatus::kDraft);
    e.spec = core::SpecFromJson(json::parse(r[4].as<std::string>()));
    e.started_at = OptText(r[5]);
    e.stopped_at = OptText(r[6]);
    if (!r[7].is_null()) e.results = json::parse(r[7].as<std::string>());
    e.created_at = r[8].as<std::string>();
    e.updated_at = r[9].as<std::string>();
    return e;
}

json Audit(const core::Experiment& e) {
    json j = core::SpecJson(e.spec);
    j["id"] = e.id;
    j["status"] = e.status;
    return j;
}

std::string_view MoveName(ExperimentStatus to) {
    switch (to) {
        case ExperimentStatus::kRunning:
            return "start";
        case ExperimentStatus::kPaused:
            return "pause";
        case ExperimentStatus::kStopped:
            return "stop";
        case ExperimentStatus::kDraft:
            break;
    }
    return "draft";
}

bool MayMove(ExperimentStatus from, ExperimentStatus to) {
    switch (to) {
        case ExperimentStatus::kRunning:
            return from == ExperimentStatus::kDraft || from == ExperimentStatus::kPaused;
        case ExperimentStatus::kPaused:
            return from == ExperimentStatus::kRunning;
        case ExperimentStatus::kStopped:
            return from == ExperimentStatus::kRunning || from == ExperimentStatus::kPaused;
        case ExperimentStatus::kDraft:
            return false;
    }
    return false;
}

class PgExperimentRepository final : public ExperimentRepository {
public:
    explicit PgExperimentRepository(PgPool& pool) : pool_(pool) {}

    core::Experiment Create(const core::Actor& actor,
                            const core::TenantId& tenant,
                            const core::ExperimentSpec& spec) override {
        std::optional<core::Experiment> out;
        WithTransaction(pool_, "experiments.create", [&](pqxx::work& tx) {
            auto id = tx.exec_params1(std::string(q::kInsertExperiment), tenant.value, spec.name,
                                      spec.surface, core::SpecJson(spec).dump())[0]
                          .as<std::string>();
            out = FindIn(tx, tenant, id);
            if (!out) core::ThrowNotFound("experiment not found");
            WriteAudit(tx, tenant.value, actor, "create", "experiment", id, nullptr, Audit(*out));
        });
        return *out;
    }

    std::optional<core::Experiment> Find(const core::TenantId& tenant,
                                         const std::string& id) override {
        if (!core::IsUuid(id)) return std::nullopt;
        std::optional<core::Experiment> out;
        WithConnection(pool_, "experiments.find", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kExperimentColumns, q::kExperimentFrom,
                                            q::kWhereExperimentId}),
                                    tenant.value, id);
            if (!r.empty()) out = RowToExperiment(r[0]);
        });
        return out;
    }

    Page<core::Experiment> List(const core::TenantId& tenant,
                                const PageRequest& page,
                                const std::optional<ExperimentStatus>& status) override {
        Page<core::Experiment> out;
        int64_t after = page.cursor ? DecodeCursor(*page.cursor) : 0;
        std::optional<std::string> st;
        if (status) st = std::string(core::ExperimentStatusName(*status));
        WithConnection(pool_, "experiments.list", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kExperimentColumns, q::kExperimentFrom,
                                            q::kWhereExperimentPage}),
                                    tenant.value, after, OrNull(st), page.limit + 1);
            FillPage(r, page.limit, RowToExperiment, &out);
        });
        return out;
    }

    core::Experiment Update(const core::Actor& actor,
                            const core::TenantId& tenant,
                            const std::string& id,
                            const core::ExperimentSpec& spec) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("experiment not found");
        std::optional<core::Experiment> out;
        WithTransaction(pool_, "experiments.update", [&](pqxx::work& tx) {
            auto before = FindIn(tx, tenant, id, true);
            if (!before) core::ThrowNotFound("experiment not found");
            if (before->status != ExperimentStatus::kDraft &&
                before->status != ExperimentStatus::kPaused)
                core::ThrowConflict("a " + std::string(core::ExperimentStatusName(before->status)) +
                                    " experiment cannot be changed: pause it first");
            tx.exec_params(std::string(q::kUpdateExperimentSpec), tenant.value, id, spec.name,
                           spec.surface, core::SpecJson(spec).dump());
            out = FindIn(tx, tenant, id);
            WriteAudit(tx, tenant.value, actor, "update", "experiment", id, Audit(*before),
                       Audit(*out));
        });
        return *out;
    }

    void Delete(const core::Actor& actor,
                const core::TenantId& tenant,
                const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("experiment not found");
        WithTransaction(pool_, "experiments.delete", [&](pqxx::work& tx) {
            auto before = FindIn(tx, tenant, id, true);
            if (!before) core::ThrowNotFound("experiment not found");
            if (before->status == ExperimentStatus::kRunning)
                core::ThrowConflict("a running experiment cannot be deleted: stop it first");
            tx.exec_params(std::string(q::kDeleteExperiment), tenant.value, id);
            WriteAudit(tx, tenant.value, actor, "delete", "experiment", id, Audit(*before),
                       nullptr);
        });
    }

    core::Experiment Transition(const core::Actor& actor,
                                const core::TenantId& tenant,
                                const std::string& id,
                                ExperimentStatus to,
                                const json& results) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("experiment not found");
        std::optional<core::Experiment> out;
        WithTransaction(pool_, "experiments.transition", [&](pqxx::work& tx) {
            auto peek = FindIn(tx, tenant, id);
            if (!peek) core::ThrowNotFound("experiment not found");
            // The surface lock first, then the row: two starts on one surface queue here.
            if (to == ExperimentStatus::kRunning)
                tx.exec_params(std::string(q::kLockSurface), tenant.value, peek->spec.surface);
            auto before = FindIn(tx, tenant, id, true);
            if (!before) core::ThrowNotFound("experiment not found");
            if (!MayMove(before->status, to))
                core::ThrowConflict("a " + std::string(core::ExperimentStatusName(before->status)) +
                                    " experiment cannot " + std::string(MoveName(to)));
            if (to == ExperimentStatus::kRunning) {
                auto r =
                    tx.exec_params(SqlCat({"SELECT ", q::kExperimentColumns, q::kExperimentFrom,
                                           "WHERE x.tenant_id = $1::uuid AND x.surface = $2 "
                                           "AND x.status = 'running' AND x.id <> $3::uuid"}),
                                   tenant.value, before->spec.surface, id);
                for (const auto& row : r) {
                    auto other = RowToExperiment(row);
                    if (core::ExperimentsOverlap(before->spec, other.spec))
                        core::ThrowConflict("experiment '" + other.spec.name +
                                                "' is running on surface '" + before->spec.surface +
                                                "' and overlaps this one (use a namespace with "
                                                "disjoint ranges to run both)",
                                            "surface");
                }
            }
            std::optional<std::string> res;
            if (to == ExperimentStatus::kStopped) res = results.dump();
            tx.exec_params(std::string(q::kSetExperimentStatus), tenant.value, id,
                           std::string(core::ExperimentStatusName(to)), OrNull(res));
            out = FindIn(tx, tenant, id);
            WriteAudit(tx, tenant.value, actor, std::string(MoveName(to)), "experiment", id,
                       Audit(*before), Audit(*out));
        });
        return *out;
    }

    std::vector<core::Experiment> DueToEnd(int limit) override {
        std::vector<core::Experiment> out;
        WithConnection(pool_, "experiments.due_to_end", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(
                SqlCat({"SELECT ", q::kExperimentColumns, q::kExperimentFrom, q::kWhereDueToEnd}),
                limit);
            for (const auto& row : r) out.push_back(RowToExperiment(row));
        });
        return out;
    }

    std::vector<core::Experiment> Running(const core::TenantId& tenant,
                                          const std::string& surface) override {
        std::vector<core::Experiment> out;
        WithConnection(pool_, "experiments.running", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kExperimentColumns, q::kExperimentFrom,
                                            q::kWhereRunningOnSurface}),
                                    tenant.value, surface);
            for (const auto& row : r) out.push_back(RowToExperiment(row));
        });
        return out;
    }

    void Force(const core::Actor& actor,
               const core::TenantId& tenant,
               const std::string& id,
               const std::string& unit_id,
               const std::string& variant) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("experiment not found");
        WithTransaction(pool_, "experiments.force", [&](pqxx::work& tx) {
            auto e = FindIn(tx, tenant, id);
            if (!e) core::ThrowNotFound("experiment not found");
            tx.exec_params(std::string(q::kUpsertForced), tenant.value, id, unit_id, variant);
            tx.exec_params(std::string(q::kMarkExposureForced), id, unit_id);
            WriteAudit(tx, tenant.value, actor, "assign", "experiment", id, nullptr,
                       json{{"unit_id", unit_id}, {"variant", variant}});
        });
    }

    std::unordered_map<std::string, std::string> Forced(const core::TenantId& tenant,
                                                        const std::string& id,
                                                        int limit) override {
        std::unordered_map<std::string, std::string> out;
        if (!core::IsUuid(id)) return out;
        WithConnection(pool_, "experiments.forced", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            for (const auto& row :
                 tx.exec_params(std::string(q::kSelectForced), tenant.value, id, limit))
                out.emplace(row[0].as<std::string>(), row[1].as<std::string>());
        });
        return out;
    }

    void RecordExposures(const std::vector<Exposure>& exposures) override {
        if (exposures.empty()) return;
        json rows = json::array();
        for (const auto& x : exposures) {
            if (!core::IsUuid(x.experiment_id) || !core::IsUuid(x.tenant.value)) continue;
            rows.push_back({{"tenant_id", x.tenant.value},
                            {"experiment_id", x.experiment_id},
                            {"unit_id", x.unit_id},
                            {"variant", x.variant},
                            {"forced", x.forced},
                            {"at_ms", x.at_ms}});
        }
        WithConnection(pool_, "experiments.exposures", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(std::string(q::kInsertExposures), rows.dump());
        });
    }

    std::vector<ExposureDay> Aggregate(const core::TenantId& tenant,
                                       const core::Experiment& e) override {
        std::vector<ExposureDay> out;
        if (!core::IsUuid(e.id)) return out;
        const auto& sql =
            e.spec.unit == "session_id" ? q::kAggregateBySession : q::kAggregateByUser;
        WithConnection(
            pool_, "experiments.aggregate",
            [&](pqxx::connection& c) {
                pqxx::nontransaction tx(c);
                auto r = tx.exec_params(std::string(sql), tenant.value, e.id,
                                        static_cast<int>(e.spec.attribution_hours),
                                        OrNull(e.stopped_at));
                for (const auto& row : r) {
                    ExposureDay d;
                    d.variant = row[0].as<std::string>();
                    d.day = row[1].as<std::string>();
                    d.units = row[2].as<int64_t>();
                    d.sum_i = row[3].as<double>();
                    d.sum_i2 = row[4].as<double>();
                    d.sum_c = row[5].as<double>();
                    d.sum_c2 = row[6].as<double>();
                    d.sum_ci = row[7].as<double>();
                    d.sum_v = row[8].as<double>();
                    d.sum_r = row[9].as<double>();
                    d.sum_r2 = row[10].as<double>();
                    out.push_back(std::move(d));
                }
            },
            10000);  // a scan of the experiment's events: a bound of its own
        return out;
    }

private:
    std::optional<core::Experiment> FindIn(pqxx::work& tx,
                                           const core::TenantId& tenant,
                                           const std::string& id,
                                           bool for_update = false) {
        auto r = tx.exec_params(SqlCat({"SELECT ", q::kExperimentColumns, q::kExperimentFrom,
                                        q::kWhereExperimentId, for_update ? " FOR UPDATE" : ""}),
                                tenant.value, id);
        if (r.empty()) return std::nullopt;
        return RowToExperiment(r[0]);
    }

    PgPool& pool_;
};

}  // namespace

std::unique_ptr<ExperimentRepository> MakePgExperimentRepository(PgPool& pool) {
    return std::make_unique<PgExperimentRepository>(pool);
}

}  // namespace recs::store

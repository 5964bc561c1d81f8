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
                            const core::ExperimentSpec& spec,
                            const std::string& expected_updated_at) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("experiment not found");
        std::optional<core::Experiment> out;
        WithTransaction(pool_, "experiments.update", [&](pqxx::work& tx) {
            auto before = FindIn(tx, tenant, id, true);
            if (!before) core::ThrowNotFound("experiment not found");
            if (!expected_updated_at.empty() && before->updated_at != expected_updated_at)
                core::ThrowConflict("the experiment changed meanwhile: read it and try again");
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
            if (before->spec.surface != peek->spec.surface)
                core::ThrowConflict("the experiment changed meanwhile: try again");
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

    std::optional<std::string> ExposedVariant(const core::TenantId& tenant,
                                              const std::string& id,
                                              const std::string& unit_id) override {
        std::optional<std::string> out;
        if (!core::IsUuid(id)) return out;
        WithConnection(pool_, "experiments.exposed_variant", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r =
                tx.exec_params(std::string(q::kSelectExposedVariant), tenant.value, id, unit_id);
            if (!r.empty()) out = r[0][0].as<std::string>();
        });
        return out;
    }

    core::ExperimentBandit AttachBandit(const core::Actor& actor,
                                        const core::TenantId& tenant,
                                        const std::string& id,
                                        const core::ExperimentBandit& bandit) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("experiment not found");
        std::optional<core::ExperimentBandit> out;
        WithTransaction(pool_, "experiments.attach_bandit", [&](pqxx::work& tx) {
            auto e = FindIn(tx, tenant, id, true);
            if (!e) core::ThrowNotFound("experiment not found");
            if (e->status == ExperimentStatus::kStopped)
                core::ThrowConflict("a stopped experiment cannot get a bandit", "experiment");
            if (BanditIn(tx, tenant, id))
                core::ThrowConflict("the experiment has a bandit already (DELETE it first)",
                                    "experiment");
            auto config = core::BanditConfigJson(bandit);
            tx.exec_params(std::string(q::kInsertBandit), tenant.value, id, config.dump(),
                           static_cast<int>(bandit.update_every_s));
            tx.exec_params(std::string(q::kSetSticky), tenant.value, id);
            out = BanditIn(tx, tenant, id);
            WriteAudit(tx, tenant.value, actor, "attach_bandit", "experiment", id, nullptr, config);
        });
        return *out;
    }

    std::optional<core::ExperimentBandit> FindBandit(const core::TenantId& tenant,
                                                     const std::string& id) override {
        if (!core::IsUuid(id)) return std::nullopt;
        std::optional<core::ExperimentBandit> out;
        WithConnection(pool_, "experiments.find_bandit", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(SqlCat({"SELECT ", q::kBanditColumns, q::kSelectBandit}),
                                    tenant.value, id);
            if (!r.empty()) out = RowToBandit(r[0]);
        });
        return out;
    }

    void DetachBandit(const core::Actor& actor,
                      const core::TenantId& tenant,
                      const std::string& id) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("bandit not found");
        WithTransaction(pool_, "experiments.detach_bandit", [&](pqxx::work& tx) {
            auto before = BanditIn(tx, tenant, id);
            if (!before) core::ThrowNotFound("bandit not found");
            tx.exec_params(std::string(q::kDeleteBandit), tenant.value, id);
            WriteAudit(tx, tenant.value, actor, "detach_bandit", "experiment", id,
                       core::BanditConfigJson(*before), nullptr);
        });
    }

    std::vector<std::pair<core::Experiment, core::ExperimentBandit>> DueBandits(
        int limit) override {
        std::vector<std::pair<core::Experiment, core::ExperimentBandit>> out;
        WithConnection(pool_, "experiments.due_bandits", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(
                SqlCat({"SELECT ", q::kExperimentColumns, ", ", q::kBanditColumns, q::kDueBandits}),
                limit);
            for (const auto& row : r) {
                auto e = RowToExperiment(row);
                out.emplace_back(std::move(e), RowToBandit(row, 10));
            }
        });
        return out;
    }

    core::Experiment Reweight(const core::Actor& actor,
                              const core::TenantId& tenant,
                              const std::string& id,
                              const std::vector<double>& weights,
                              const json& arms) override {
        if (!core::IsUuid(id)) core::ThrowNotFound("experiment not found");
        std::optional<core::Experiment> out;
        WithTransaction(pool_, "experiments.reweight", [&](pqxx::work& tx) {
            auto before = FindIn(tx, tenant, id, true);
            if (!before) core::ThrowNotFound("experiment not found");
            if (before->status != ExperimentStatus::kRunning)
                core::ThrowConflict("the experiment is no longer running");
            if (weights.size() != before->spec.variants.size())
                core::ThrowConflict("the experiment's variants changed");
            auto spec = before->spec;
            json named = json::object();
            for (size_t i = 0; i < weights.size(); ++i) {
                spec.variants[i].weight = weights[i];
                named[spec.variants[i].id] = weights[i];
            }
            tx.exec_params(std::string(q::kSetSpec), tenant.value, id, core::SpecJson(spec).dump());
            tx.exec_params(std::string(q::kInsertWeights), tenant.value, id, named.dump(),
                           arms.dump());
            tx.exec_params(std::string(q::kScheduleBandit), tenant.value, id);
            out = FindIn(tx, tenant, id);
            WriteAudit(tx, tenant.value, actor, "reweight", "experiment", id, Audit(*before),
                       Audit(*out));
        });
        return *out;
    }

    json WeightHistory(const core::TenantId& tenant, const std::string& id, int limit) override {
        json out = json::array();
        if (!core::IsUuid(id)) return out;
        WithConnection(pool_, "experiments.weights", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            for (const auto& row :
                 tx.exec_params(std::string(q::kSelectWeights), tenant.value, id, limit))
                out.push_back({{"at", row[0].as<std::string>()},
                               {"weights", json::parse(row[1].as<std::string>())},
                               {"arms", json::parse(row[2].as<std::string>())}});
        });
        return out;
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
    /// The bandit in the row's columns from `at` on (kBanditColumns).
    static core::ExperimentBandit RowToBandit(const pqxx::row& r, int at = 0) {
        auto b = core::BanditFromConfigJson(json::parse(r[at + 2].as<std::string>()));
        b.experiment_id = r[at].as<std::string>();
        b.tenant_id = r[at + 1].as<std::string>();
        b.next_update_at = r[at + 3].as<std::string>();
        b.created_at = r[at + 4].as<std::string>();
        b.updated_at = r[at + 5].as<std::string>();
        return b;
    }

    std::optional<core::ExperimentBandit> BanditIn(pqxx::work& tx,
                                                   const core::TenantId& tenant,
                                                   const std::string& id) {
        auto r = tx.exec_params(SqlCat({"SELECT ", q::kBanditColumns, q::kSelectBandit}),
                                tenant.value, id);
        if (r.empty()) return std::nullopt;
        return RowToBandit(r[0]);
    }

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

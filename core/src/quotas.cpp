#include "recs/core/quotas.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace recs::core {

const std::array<QuotaField, 11>& QuotaFields() {
    static const std::array<QuotaField, 11> f = {{
        {"requests_per_second_per_key", &Quotas::requests_per_second_per_key},
        {"burst_per_key", &Quotas::burst_per_key},
        {"requests_per_second_per_tenant", &Quotas::requests_per_second_per_tenant},
        {"burst_per_tenant", &Quotas::burst_per_tenant},
        {"predictions_per_month", &Quotas::predictions_per_month},
        {"events_per_month", &Quotas::events_per_month},
        {"models", &Quotas::models},
        {"model_versions_kept", &Quotas::model_versions_kept},
        {"artifact_bytes", &Quotas::artifact_bytes},
        {"concurrent_jobs", &Quotas::concurrent_jobs},
        {"queued_jobs", &Quotas::queued_jobs},
    }};
    return f;
}

QuotaPeriod MonthOf(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    year_month_day ymd{floor<days>(t)};
    year_month first = ymd.year() / ymd.month();
    year_month next = first + months{1};
    auto reset = sys_days{next / day{1}};
    auto fmt = [](year_month ym) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%04d-%02u-01", static_cast<int>(ym.year()),
                      static_cast<unsigned>(ym.month()));
        return std::string(buf);
    };
    QuotaPeriod p;
    p.date = fmt(first);
    p.start = p.date + "T00:00:00Z";
    p.resets_at = fmt(next) + "T00:00:00Z";
    p.resets_in_s = duration_cast<seconds>(reset - t).count();
    return p;
}

nlohmann::json QuotasJson(const Quotas& q) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& f : QuotaFields()) {
        const auto& v = q.*(f.member);
        j[std::string(f.name)] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    }
    return j;
}

}  // namespace recs::core

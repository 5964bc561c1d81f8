#include "recs/core/experiment_results.hpp"

#include <cmath>
#include <map>
#include <stdexcept>

#include "recs/core/experiment_stats.hpp"

namespace recs::core {

using nlohmann::json;

namespace {

/// The sums of one variant (over days).
struct Sums {
    int64_t units = 0;
    double i = 0, i2 = 0, c = 0, c2 = 0, ci = 0, v = 0, r = 0, r2 = 0;
    Sums& operator+=(const Sums& o) {
        units += o.units;
        i += o.i;
        i2 += o.i2;
        c += o.c;
        c2 += o.c2;
        ci += o.ci;
        v += o.v;
        r += o.r;
        r2 += o.r2;
        return *this;
    }
    void Add(const ExposureDay& d) {
        units += d.units;
        i += d.sum_i;
        i2 += d.sum_i2;
        c += d.sum_c;
        c2 += d.sum_c2;
        ci += d.sum_ci;
        v += d.sum_v;
        r += d.sum_r;
        r2 += d.sum_r2;
    }
};

stats::MetricSummary SummaryOf(const std::string& metric, const Sums& s) {
    if (metric == "ctr") {
        stats::RatioStats x;
        x.n = s.units;
        x.numerator_sum = s.c;
        x.numerator_sum_squares = s.c2;
        x.denominator_sum = s.i;
        x.denominator_sum_squares = s.i2;
        x.cross_sum = s.ci;
        return x.Summary();
    }
    if (metric == "conversion_rate") {
        stats::ProportionStats x;
        x.n = s.units;
        x.successes = static_cast<int64_t>(std::llround(s.v));
        return x.Summary();
    }
    stats::MeanStats x;
    x.n = s.units;
    if (metric == "clicks_per_unit") {
        x.sum = s.c;
        x.sum_squares = s.c2;
    } else {  // revenue_per_unit
        x.sum = s.r;
        x.sum_squares = s.r2;
    }
    return x.Summary();
}

json Num(double x) { return std::isfinite(x) ? json(x) : json(); }

json EffectJson(const stats::Effect& e) {
    return {{"estimate", Num(e.estimate)},
            {"ci", {Num(e.ci.lower), Num(e.ci.upper)}},
            {"p_value", Num(e.p_value)},
            {"significant", e.Significant()}};
}

struct Comparison {
    stats::FrequentistResult freq;
    stats::BayesianResult bayes;
};

Comparison Compare(const ExperimentSpec& spec,
                   const stats::MetricSummary& control,
                   const stats::MetricSummary& variant) {
    stats::FrequentistOptions fo;
    fo.sequential = spec.sequential;
    fo.sequential_tuning_parameter = static_cast<double>(spec.sequential_tuning_n);
    Comparison c;
    if (control.n < 2 || variant.n < 2) {
        c.freq.error = "NOT_ENOUGH_UNITS";
        c.bayes.error = "NOT_ENOUGH_UNITS";
        return c;
    }
    auto finite = [](const stats::MetricSummary& s) {
        return std::isfinite(s.mean) && std::isfinite(s.variance);
    };
    if (!finite(control) || !finite(variant)) {
        c.freq.error = "NON_FINITE_VARIANCE";
        c.bayes.error = "NON_FINITE_VARIANCE";
        return c;
    }
    try {
        c.freq = stats::CompareFrequentist(control, variant, fo);
        c.bayes = stats::CompareBayesian(control, variant);
        if (!std::isfinite(c.freq.absolute.std_error) || !std::isfinite(c.freq.relative.std_error))
            throw std::domain_error("non-finite standard error");
    } catch (const std::exception&) {
        // Figures past double range (e.g. a control mean of 1e-100): nothing to compare.
        c = Comparison{};
        c.freq.error = "NON_FINITE_VARIANCE";
        c.bayes.error = "NON_FINITE_VARIANCE";
    }
    return c;
}

}  // namespace

json ComputeResults(const Experiment& e, const std::vector<ExposureDay>& days) {
    const auto& spec = e.spec;
    std::map<std::string, Sums> total;
    std::map<std::string, std::map<std::string, Sums>> by_day;  // day → variant → sums
    for (const auto& d : days) {
        total[d.variant].Add(d);
        by_day[d.day][d.variant].Add(d);
    }
    const Sums control_sums = total[spec.control];

    std::vector<int64_t> units;
    std::vector<double> weights;
    for (const auto& v : spec.variants) {
        units.push_back(total[v.id].units);
        weights.push_back(v.weight);
    }
    auto srm = stats::CheckSampleRatio(units, weights);

    json variants = json::array();
    json guardrails = json::array();
    for (const auto& v : spec.variants) {
        const Sums& s = total[v.id];
        json metrics = json::object();
        for (const auto& m : spec.metrics) {
            auto mine = SummaryOf(m, s);
            json mj = {
                {"units", mine.n}, {"mean", Num(mine.mean)}, {"variance", Num(mine.variance)}};
            if (v.id != spec.control) {
                auto c = Compare(spec, SummaryOf(m, control_sums), mine);
                mj["absolute_lift"] = EffectJson(c.freq.absolute);
                mj["relative_lift"] = EffectJson(c.freq.relative);
                mj["chance_to_beat_control"] = Num(c.bayes.chance_to_win);
                if (!c.freq.ok()) mj["error"] = c.freq.error;
            }
            metrics[m] = std::move(mj);
        }
        for (const auto& g : spec.guardrails) {
            if (v.id == spec.control) continue;
            auto c = Compare(spec, SummaryOf(g.metric, control_sums), SummaryOf(g.metric, s));
            auto dir = g.bad_direction == "increase" ? stats::MetricDirection::kLowerIsBetter
                                                     : stats::MetricDirection::kHigherIsBetter;
            guardrails.push_back({{"metric", g.metric},
                                  {"variant", v.id},
                                  {"bad_direction", g.bad_direction},
                                  {"status", !c.freq.ok()                         ? "unknown"
                                             : stats::GuardrailFails(c.freq, dir) ? "failing"
                                                                                  : "ok"}});
        }
        variants.push_back({{"id", v.id},
                            {"is_control", v.id == spec.control},
                            {"weight", v.weight},
                            {"units", s.units},
                            {"metrics", std::move(metrics)}});
    }

    // Cumulative by day of first exposure, for plots.
    json series = json::array();
    std::map<std::string, Sums> cumulative;
    for (const auto& [day, per_variant] : by_day) {
        for (const auto& [vid, s] : per_variant) cumulative[vid] += s;
        json point = {{"date", day}, {"variants", json::object()}};
        for (const auto& v : spec.variants) {
            const Sums& s = cumulative[v.id];
            json metrics = json::object();
            for (const auto& m : spec.metrics) {
                auto mine = SummaryOf(m, s);
                json mj = {{"mean", Num(mine.mean)}};
                if (v.id != spec.control) {
                    auto c = Compare(spec, SummaryOf(m, cumulative[spec.control]), mine);
                    mj["relative_lift"] = Num(c.freq.relative.estimate);
                    mj["ci"] = {Num(c.freq.relative.ci.lower), Num(c.freq.relative.ci.upper)};
                }
                metrics[m] = std::move(mj);
            }
            point["variants"][v.id] = {{"units", s.units}, {"metrics", std::move(metrics)}};
        }
        series.push_back(std::move(point));
    }

    int64_t all = 0;
    for (auto n : units) all += n;
    return {{"experiment_id", e.id},
            {"status", e.status},
            {"control", spec.control},
            {"units", all},
            {"sequential", spec.sequential},
            {"attribution_window_hours", spec.attribution_hours},
            // A bandit moves the weights while exposed units keep their variant: the units
            // follow no one set of weights, and a check against today's would flag the moves.
            {"sample_ratio", spec.sticky ? json{{"checked", false},
                                                {"reason", "the weights were moved by a bandit"}}
                                         : json{{"checked", true},
                                                {"chi_square", Num(srm.chi_square)},
                                                {"p_value", Num(srm.p_value)},
                                                {"mismatch", srm.mismatch}}},
            {"variants", std::move(variants)},
            {"guardrails", std::move(guardrails)},
            {"timeseries", std::move(series)}};
}

}  // namespace recs::core

// recs_gb_assign: recs::core::Assign over JSON lines, for tests/compat/growthbook/run.sh.
//
// Each stdin line is {"seed": s, "unit_id": s, "weights": [w...], "coverage": c (default 1),
// "namespace": [id, start, end] | {"id", "start", "end"} | null (optional)}; each stdout line is
// {"in_experiment": b, "variation": i, "hash": h}, or {"error": text} for a line it cannot read
// (then the exit status is 2 once every line is answered).

#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "recs/core/assignment.hpp"

namespace {

using nlohmann::json;

std::optional<recs::core::Namespace> ReadNamespace(const json& in) {
    auto it = in.find("namespace");
    if (it == in.end() || it->is_null()) {
        return std::nullopt;
    }
    if (it->is_array() && it->size() == 3) {
        return recs::core::Namespace{(*it)[0].get<std::string>(), (*it)[1].get<double>(),
                                     (*it)[2].get<double>()};
    }
    if (it->is_object()) {
        return recs::core::Namespace{it->at("id").get<std::string>(), it->at("start").get<double>(),
                                     it->at("end").get<double>()};
    }
    throw std::invalid_argument("namespace: [id, start, end], {id, start, end} or null");
}

json AssignLine(const std::string& line) {
    const json in = json::parse(line);
    if (!in.is_object()) {
        throw std::invalid_argument("a line is a JSON object");
    }
    const auto seed = in.at("seed").get<std::string>();
    const auto unit_id = in.at("unit_id").get<std::string>();
    const auto weights = in.value("weights", std::vector<double>{});
    const double coverage = in.value("coverage", 1.0);
    const auto a = recs::core::Assign(seed, unit_id, weights, coverage, ReadNamespace(in));
    return json{{"in_experiment", a.in_experiment}, {"variation", a.variation}, {"hash", a.hash}};
}

}  // namespace

int main() {
    std::ios::sync_with_stdio(false);
    int status = 0;
    std::string line;
    while (std::getline(std::cin, line)) {
        json out;
        try {
            out = AssignLine(line);
        } catch (const std::exception& e) {
            out = json{{"error", e.what()}};
            status = 2;
        }
        // replace: an error can quote the line's bytes, which need not be UTF-8.
        std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << '\n' << std::flush;
    }
    return status;
}

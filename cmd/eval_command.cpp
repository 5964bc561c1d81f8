#include "eval_command.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "recs/core/error.hpp"
#include "recs/engine/eval.hpp"
#include "recs/engine/model.hpp"

namespace recs::cmd {
namespace {

constexpr const char* kUsage = R"(usage: recsplane eval FILE [options]

Evaluates engine algorithms offline on a MovieLens-style file (CSV with header
user,item,rating,timestamp, or tab-separated u.data without header).

options:
  --split KIND          item-stratified (default), user-stratified or temporal
  --ratio R             fraction of interactions kept for training (default 0.75)
  --seed N              random seed of the split (default 42)
  --k N                 cut-off of the metrics (default 10)
  --algorithms A,B      algorithms to evaluate (default popularity,item_knn,ease,ials)
  --param ALG.NAME=V    a hyperparameter (V parsed as JSON, else a string); repeatable
  --tune                search hyperparameters on a validation split carved from train
  --validation          report on that validation split instead of test (the test part of
                        the split is never read): for choosing settings by hand
  --max-trials N        with --tune, random search of at most N grid points (default all)
  --save-dir DIR        also write each model's artifact to DIR/<algorithm>.model
  --json                machine-readable output on stdout
  --quiet               no progress on stderr
)";

struct Options {
    std::string file;
    engine::SplitOptions split;
    size_t k = 10;
    std::vector<std::string> algorithms{"popularity", "item_knn", "ease", "ials"};
    std::map<std::string, nlohmann::json> params;
    bool tune = false;
    bool validation = false;
    size_t max_trials = 0;
    std::string save_dir;
    bool json = false;
    bool quiet = false;
};

std::vector<std::string> SplitList(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, ',')) {
        if (!part.empty()) {
            out.push_back(part);
        }
    }
    return out;
}

// Returns an error message, or empty on success.
std::string ParseArgs(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](std::string* out) {
            if (i + 1 >= argc) {
                return false;
            }
            *out = argv[++i];
            return true;
        };
        std::string v;
        if (a == "--json") {
            o.json = true;
        } else if (a == "--tune") {
            o.tune = true;
        } else if (a == "--validation") {
            o.validation = true;
        } else if (a == "--quiet") {
            o.quiet = true;
        } else if (a == "--split") {
            if (!value(&v) || !engine::ParseSplitKind(v)) {
                return "--split needs item-stratified, user-stratified or temporal";
            }
            o.split.kind = *engine::ParseSplitKind(v);
        } else if (a == "--ratio") {
            if (!value(&v) || (o.split.ratio = std::atof(v.c_str())) <= 0 || o.split.ratio >= 1) {
                return "--ratio needs a number in (0, 1)";
            }
        } else if (a == "--seed") {
            if (!value(&v)) {
                return "--seed needs a number";
            }
            o.split.seed = std::strtoull(v.c_str(), nullptr, 10);
        } else if (a == "--k") {
            if (!value(&v) || std::atoi(v.c_str()) <= 0) {
                return "--k needs a positive integer";
            }
            o.k = static_cast<size_t>(std::atoi(v.c_str()));
        } else if (a == "--max-trials") {
            if (!value(&v) || std::atoi(v.c_str()) <= 0) {
                return "--max-trials needs a positive integer";
            }
            o.max_trials = static_cast<size_t>(std::atoi(v.c_str()));
        } else if (a == "--algorithms") {
            if (!value(&v) || SplitList(v).empty()) {
                return "--algorithms needs a comma-separated list";
            }
            o.algorithms = SplitList(v);
        } else if (a == "--param") {
            auto dot = value(&v) ? v.find('.') : std::string::npos;
            auto eq = v.find('=');
            if (dot == std::string::npos || eq == std::string::npos || eq < dot) {
                return "--param needs ALGORITHM.NAME=VALUE";
            }
            std::string alg = v.substr(0, dot);
            std::string name = v.substr(dot + 1, eq - dot - 1);
            std::string raw = v.substr(eq + 1);
            auto parsed = nlohmann::json::parse(raw, nullptr, false);
            o.params[alg][name] = parsed.is_discarded() ? nlohmann::json(raw) : parsed;
        } else if (a == "--save-dir") {
            if (!value(&o.save_dir)) {
                return "--save-dir needs a directory";
            }
        } else if (a == "--help" || a == "-h") {
            return "help";
        } else if (!a.empty() && a[0] == '-') {
            return "unknown option " + a;
        } else if (o.file.empty()) {
            o.file = a;
        } else {
            return "unexpected argument " + a;
        }
    }
    if (o.file.empty()) {
        return "missing FILE";
    }
    return {};
}

double Since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

engine::ProgressFn Reporter(const Options& o, const std::string& label) {
    if (o.quiet) {
        return {};
    }
    return [label, last = -1](double p) mutable {
        int pct = static_cast<int>(p * 100);
        if (pct != last && (pct % 10 == 0 || pct == 100)) {
            last = pct;
            std::fprintf(stderr, "\r[%s] %3d%%%s", label.c_str(), pct, pct == 100 ? "\n" : "");
        }
    };
}

/// The split that carves validation data out of train (used by --tune and --validation).
engine::SplitOptions ValidationSplit(engine::SplitOptions outer) {
    outer.seed += 1;
    return outer;
}

nlohmann::json RunOne(const Options& o, const std::string& alg, const engine::SplitResult& split) {
    nlohmann::json hp = o.params.count(alg) != 0 ? o.params.at(alg) : nlohmann::json::object();
    nlohmann::json row{{"algorithm", alg}};
    if (o.tune) {
        auto grid = engine::DefaultSearchGrid(alg);
        for (const auto& [name, v] : hp.items()) {
            grid.erase(name);  // explicit values are not searched
        }
        if (!grid.empty()) {
            engine::SplitOptions inner = ValidationSplit(o.split);
            auto t0 = std::chrono::steady_clock::now();
            engine::TrainContext ctx{Reporter(o, alg + " tune"), nullptr};
            auto sr = engine::SearchHyperparameters(alg, hp, grid, split.train, inner, o.k,
                                                    o.max_trials, ctx);
            nlohmann::json trials = nlohmann::json::array();
            for (const auto& [p, s] : sr.trials) {
                trials.push_back({{"hyperparameters", p}, {"validation_ndcg", s}});
            }
            row["tuning"] = {{"best", sr.best},
                             {"best_validation_ndcg", sr.best_score},
                             {"trials", trials},
                             {"seconds", Since(t0)}};
            hp = sr.best;
        }
    }
    auto t0 = std::chrono::steady_clock::now();
    engine::TrainContext ctx{Reporter(o, alg + " train"), nullptr};
    auto model = engine::Train(alg, hp, split.train, ctx);
    row["train_seconds"] = Since(t0);
    row["hyperparameters"] = hp;
    row["info"] = model->Info();
    engine::Metrics m =
        engine::Evaluate(*model, split.train, split.test, o.k, 0, Reporter(o, alg + " eval"));
    row["metrics"] = m.ToJson();
    std::string bytes = model->Serialize();
    row["artifact_bytes"] = bytes.size();
    if (!o.save_dir.empty()) {
        model->Save(o.save_dir + "/" + alg + ".model");
    }
    return row;
}

void PrintTable(const nlohmann::json& report, size_t k) {
    std::printf("%-12s %8s %8s %8s %8s %8s %8s %8s %9s %12s\n", "algorithm",
                ("nDCG@" + std::to_string(k)).c_str(), "prec", "recall", "MAP", "hit", "MRR",
                "cover", "train_s", "artifact_B");
    for (const auto& r : report["results"]) {
        if (r.contains("error")) {
            std::printf("%-12s error: %s\n", r["algorithm"].get<std::string>().c_str(),
                        r["error"].get<std::string>().c_str());
            continue;
        }
        const auto& m = r["metrics"];
        std::printf("%-12s %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %9.2f %12zu\n",
                    r["algorithm"].get<std::string>().c_str(), m["ndcg"].get<double>(),
                    m["precision"].get<double>(), m["recall"].get<double>(), m["map"].get<double>(),
                    m["hit_rate"].get<double>(), m["mrr"].get<double>(),
                    m["coverage"].get<double>(), r["train_seconds"].get<double>(),
                    r["artifact_bytes"].get<size_t>());
    }
}

}  // namespace

int RunEvalCommand(int argc, char** argv) {
    Options o;
    std::string err = ParseArgs(argc, argv, o);
    if (err == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (!err.empty()) {
        std::fprintf(stderr, "eval: %s\n%s", err.c_str(), kUsage);
        return 2;
    }
    try {
        engine::ReadStats stats;
        auto data = engine::ReadInteractionsFile(o.file, &stats);
        if (!o.quiet) {
            std::fprintf(stderr, "read %zu interactions from %s (%zu bad lines)\n", stats.parsed,
                         o.file.c_str(), stats.bad);
            for (const auto& e : stats.bad_examples) {
                std::fprintf(stderr, "  %s\n", e.c_str());
            }
        }
        auto split = engine::Split(data, o.split);
        if (o.validation) {
            // Train and test both come from the outer train part; its test part is dropped.
            split = engine::Split(split.train, ValidationSplit(o.split));
        }
        nlohmann::json report{
            {"data", {{"file", o.file}, {"interactions", stats.parsed}, {"bad_lines", stats.bad}}},
            {"split",
             {{"train", split.train.size()},
              {"test", split.test.size()},
              {"ratio", o.split.ratio},
              {"seed", o.split.seed},
              {"on", o.validation ? "validation" : "test"}}},
            {"k", o.k},
            {"results", nlohmann::json::array()}};
        int status = 0;
        for (const auto& alg : o.algorithms) {
            try {
                report["results"].push_back(RunOne(o, alg, split));
            } catch (const core::Error& e) {
                status = 1;
                report["results"].push_back(
                    {{"algorithm", alg}, {"error", e.detail()}, {"field", e.field().value_or("")}});
                std::fprintf(stderr, "[%s] error: %s\n", alg.c_str(), e.what());
            }
        }
        if (o.json) {
            std::cout << report.dump(2) << "\n";
        } else {
            PrintTable(report, o.k);
        }
        return status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "eval: %s\n", e.what());
        return 1;
    }
}

}  // namespace recs::cmd

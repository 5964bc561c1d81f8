#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/test_env.hpp"

namespace recs::testing {

/// A small synthetic tenant: users in two taste clusters (items a0..a9 and b0..b9).
inline nlohmann::json ClusterEvents(int users = 40) {
    nlohmann::json events = nlohmann::json::array();
    for (int u = 0; u < users; ++u) {
        char cluster = u % 2 == 0 ? 'a' : 'b';
        for (int i = 0; i < 10; ++i) {
            if ((u + i) % 3 == 0) continue;  // leave something to recommend
            events.push_back({{"event_id", "e-" + std::to_string(u) + "-" + std::to_string(i)},
                              {"type", "click"},
                              {"user_id", "u" + std::to_string(u)},
                              {"item_id", std::string(1, cluster) + std::to_string(i)},
                              {"timestamp", 1700000000000LL + u * 1000 + i}});
        }
    }
    return events;
}

/// Polls GET /jobs/{id} until the job is in a terminal state (or the deadline passes).
inline nlohmann::json WaitJob(TestServer& srv,
                              const std::string& key,
                              const std::string& job_id,
                              int seconds = 120) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    nlohmann::json j;
    while (std::chrono::steady_clock::now() < deadline) {
        j = srv.Json(srv.Call("GET", "/v1/recs/jobs/" + job_id, key));
        std::string st = j.value("status", "");
        if (st == "succeeded" || st == "failed" || st == "dead" || st == "cancelled") return j;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return j;
}

/// Creates a model, trains it through a job, deploys the version; returns {model_id, version_id}.
inline std::pair<std::string, std::string> TrainAndDeploy(
    TestServer& srv,
    const std::string& key,
    const std::string& name,
    const std::string& algorithm,
    const nlohmann::json& hp = nlohmann::json::object()) {
    auto m = srv.Json(srv.Call("POST", "/v1/recs/models", key,
                               nlohmann::json{{"name", name},
                                              {"type", "candidate"},
                                              {"algorithm", algorithm},
                                              {"hyperparameters", hp}}
                                   .dump()));
    std::string model_id = m.value("id", "");
    auto job = srv.Json(srv.Call("POST", "/v1/recs/jobs/train", key,
                                 nlohmann::json{{"model_id", model_id}}.dump()));
    // Generous: on a loaded 2-core machine an EASE training of ml-latest-small (twice, with the
    // holdout evaluation) can take minutes.
    auto done = WaitJob(srv, key, job.value("job_id", ""), 600);
    if (!done.contains("result") || !done["result"].is_object()) return {model_id, ""};
    std::string version_id = done["result"].value("version_id", "");
    srv.Call("POST", "/v1/recs/models/" + model_id + "/versions/" + version_id + "/deploy", key,
             "{}");
    return {model_id, version_id};
}

}  // namespace recs::testing

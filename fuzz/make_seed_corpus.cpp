// Writes valid artifacts of every algorithm (both fuzzer modes) into the directory argv[1].
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "recs/engine/artifact.hpp"
#include "recs/engine/model.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        return 2;
    }
    std::vector<recs::engine::Interaction> data;
    for (int u = 1; u <= 6; ++u) {
        for (int i = u % 2 + 1; i <= 8; i += 1 + u % 2) {
            data.push_back({std::to_string(u), std::to_string(i), 1.f, 1000L * (u + i), ""});
        }
    }
    for (const auto& alg : recs::engine::Algorithms()) {
        nlohmann::json hp = nlohmann::json::object();
        if (alg == "ials") hp = {{"factors", 2}, {"epochs", 1}};
        if (alg == "ease") hp = {{"neighbors", 3}};
        if (alg == "ltr") hp = {{"candidates", 4}, {"ials", {{"factors", 2}, {"epochs", 1}}}};
        if (alg == "blend") hp = {{"generators", {{"item_knn", nlohmann::json::object()}}}};
        std::string bytes;
        try {
            bytes = recs::engine::Train(alg, hp, data)->Serialize();
        } catch (const std::exception&) {
            continue;
        }
        std::ofstream(std::string(argv[1]) + "/" + alg + ".raw", std::ios::binary) << '\0' << bytes;
        std::ofstream(std::string(argv[1]) + "/" + alg + ".payload", std::ios::binary)
            << '\1' << recs::engine::ArtifactPayload(bytes);
    }
    return 0;
}

#include "recs/core/pool_protocol.hpp"

#include "recs/core/error.hpp"

namespace recs::core {
namespace {

using nlohmann::json;

template <typename T>
T Get(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) ThrowInvalid(std::string("pool protocol: '") + key + "' is missing", key);
    try {
        return it->get<T>();
    } catch (const json::exception&) {
        ThrowInvalid(std::string("pool protocol: '") + key + "' has the wrong type", key);
    }
}

}  // namespace

json TargetToJson(const ServingTarget& t) {
    return {{"tenant_id", t.tenant_id},
            {"model_name", t.model_name},
            {"version_id", t.version_id},
            {"version", t.version},
            {"algorithm", t.algorithm},
            {"artifact_path", t.artifact_path},
            {"artifact_sha256", t.artifact_sha256},
            {"pool", t.pool}};
}

ServingTarget TargetFromJson(const json& j) {
    if (!j.is_object()) ThrowInvalid("pool protocol: the target must be an object", "target");
    ServingTarget t;
    t.tenant_id = Get<std::string>(j, "tenant_id");
    t.model_name = Get<std::string>(j, "model_name");
    t.version_id = Get<std::string>(j, "version_id");
    t.version = Get<int>(j, "version");
    t.algorithm = Get<std::string>(j, "algorithm");
    t.artifact_path = Get<std::string>(j, "artifact_path");
    t.artifact_sha256 = Get<std::string>(j, "artifact_sha256");
    t.pool = j.value("pool", std::string(kDefaultPool));
    return t;
}

json RankRequestToJson(const RankRequest& r) {
    json j = {
        {"user_id", r.user_id},
        {"limit", r.limit},
        {"exclude_ids", json(std::vector<std::string>(r.exclude_ids.begin(), r.exclude_ids.end()))},
        {"exclude_seen", r.exclude_seen}};
    j["candidate_ids"] = r.candidate_ids ? json(*r.candidate_ids) : json();
    return j;
}

RankRequest RankRequestFromJson(const json& j) {
    if (!j.is_object()) ThrowInvalid("pool protocol: the request must be an object", "request");
    RankRequest r;
    r.user_id = Get<std::string>(j, "user_id");
    r.limit = Get<size_t>(j, "limit");
    for (auto& id : Get<std::vector<std::string>>(j, "exclude_ids")) r.exclude_ids.insert(id);
    r.exclude_seen = Get<bool>(j, "exclude_seen");
    if (j.contains("candidate_ids") && !j["candidate_ids"].is_null())
        r.candidate_ids = Get<std::vector<std::string>>(j, "candidate_ids");
    return r;
}

json ItemsToJson(const std::vector<RankedItem>& items) {
    json a = json::array();
    for (const auto& it : items)
        a.push_back({{"item_id", it.item_id}, {"score", it.score}, {"reason", it.reason}});
    return a;
}

std::vector<RankedItem> ItemsFromJson(const json& j) {
    if (!j.is_array()) ThrowInvalid("pool protocol: the items must be an array", "items");
    std::vector<RankedItem> out;
    out.reserve(j.size());
    for (const auto& x : j)
        out.push_back({Get<std::string>(x, "item_id"), Get<float>(x, "score"),
                       Get<std::string>(x, "reason")});
    return out;
}

json RankResultToJson(const RankResult& r) {
    return {{"items", ItemsToJson(r.items)}, {"cold_start", r.cold_start}};
}

RankResult RankResultFromJson(const json& j) {
    if (!j.is_object()) ThrowInvalid("pool protocol: the result must be an object", "result");
    RankResult r;
    r.items = ItemsFromJson(j.value("items", json::array()));
    r.cold_start = j.value("cold_start", false);
    return r;
}

json MemberToJson(const PoolMember& m) {
    return {{"id", m.id},
            {"pool", m.pool},
            {"address", m.address},
            {"loaded", m.loaded},
            {"inflight", m.inflight},
            {"p50_ms", m.p50_ms},
            {"p99_ms", m.p99_ms},
            {"heartbeat_ms", m.heartbeat_ms}};
}

PoolMember MemberFromJson(const json& j) {
    PoolMember m;
    m.id = Get<std::string>(j, "id");
    m.pool = Get<std::string>(j, "pool");
    m.address = Get<std::string>(j, "address");
    m.loaded = j.value("loaded", std::vector<std::string>{});
    m.inflight = j.value("inflight", 0);
    m.p50_ms = j.value("p50_ms", 0.0);
    m.p99_ms = j.value("p99_ms", 0.0);
    m.heartbeat_ms = j.value("heartbeat_ms", int64_t{0});
    return m;
}

bool IsPoolName(const std::string& name) {
    if (name.empty() || name.size() > 64 || name[0] == '-') return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}

}  // namespace recs::core

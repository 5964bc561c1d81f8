// The bad-input sweep: it walks openapi/openapi.yaml and sends every operation malformed bodies,
// wrong types for each property, deep nesting, NUL and ill-formed UTF-8 in strings, path
// segments and query values, huge strings and numbers, unknown fields, bad headers, and raw
// framing errors. It fails on any 5xx, any answer slower than a few seconds, any error that is
// not problem+json, and a server that stops answering.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "recs/api/server.hpp"
#include "support/http_client.hpp"
#include "support/test_env.hpp"
#include "support/training_helpers.hpp"

namespace recs {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;
using Clock = std::chrono::steady_clock;

/// The contract, with local $refs resolved on the way down.
class Spec {
public:
    Spec() : root_(YAML::LoadFile(std::string(RECS_SOURCE_DIR) + "/openapi/openapi.yaml")) {}
    YAML::Node Resolve(YAML::Node n) const {
        for (int guard = 0; guard < 16 && n.IsMap() && n["$ref"]; ++guard) {
            std::string ref = n["$ref"].as<std::string>();  // #/components/schemas/X
            YAML::Node cur = YAML::Clone(root_);
            size_t pos = 2;
            while (pos < ref.size()) {
                size_t slash = ref.find('/', pos);
                std::string part =
                    ref.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
                cur = cur[part];
                if (slash == std::string::npos) break;
                pos = slash + 1;
            }
            n = cur;
        }
        return n;
    }
    const YAML::Node& root() const { return root_; }

private:
    YAML::Node root_;
};

/// A YAML value as JSON (quoted scalars stay strings).
json ToJson(const YAML::Node& n) {
    if (n.IsSequence()) {
        json a = json::array();
        for (const auto& x : n) a.push_back(ToJson(x));
        return a;
    }
    if (n.IsMap()) {
        json o = json::object();
        for (const auto& kv : n) o[kv.first.as<std::string>()] = ToJson(kv.second);
        return o;
    }
    if (n.IsNull()) return nullptr;
    const std::string& v = n.Scalar();
    if (n.Tag() != "!") {
        auto lit = json::parse(v, nullptr, false);
        if (!lit.is_discarded() && !lit.is_string()) return lit;
    }
    return v;
}

/// A value the schema accepts, as far as a schema can tell (examples first).
json Example(const Spec& spec, YAML::Node schema, int depth = 0) {
    schema = spec.Resolve(schema);
    if (!schema.IsMap() || depth > 6) return nullptr;
    if (schema["example"]) return ToJson(schema["example"]);
    if (schema["examples"] && schema["examples"].IsSequence() && schema["examples"].size() > 0)
        return ToJson(schema["examples"][0]);
    for (const char* alt : {"oneOf", "anyOf", "allOf"})
        if (schema[alt] && schema[alt].IsSequence() && schema[alt].size() > 0) {
            if (std::string(alt) != "allOf") return Example(spec, schema[alt][0], depth + 1);
            json merged = json::object();
            for (const auto& part : schema[alt]) {
                auto v = Example(spec, part, depth + 1);
                if (v.is_object()) merged.update(v);
            }
            return merged;
        }
    if (schema["enum"] && schema["enum"].IsSequence()) return ToJson(schema["enum"][0]);
    if (schema["const"]) return ToJson(schema["const"]);
    std::string type;
    if (schema["type"]) {
        type = schema["type"].IsSequence() ? schema["type"][0].as<std::string>()
                                           : schema["type"].as<std::string>();
    } else if (schema["properties"]) {
        type = "object";
    }
    if (type == "object") {
        json o = json::object();
        if (schema["required"])
            for (const auto& r : schema["required"]) {
                auto name = r.as<std::string>();
                o[name] = Example(spec, schema["properties"][name], depth + 1);
            }
        return o;
    }
    if (type == "array") {
        json a = json::array();
        if (schema["minItems"] && schema["minItems"].as<int>() > 0)
            a.push_back(Example(spec, schema["items"], depth + 1));
        return a;
    }
    if (type == "integer") return schema["minimum"] ? schema["minimum"].as<int64_t>() : 1;
    if (type == "number") return 1.0;
    if (type == "boolean") return true;
    if (type == "string") return "x1";
    return nullptr;
}

struct Operation {
    std::string method, path;
    YAML::Node op;
    std::vector<YAML::Node> params;
    YAML::Node body_schema;  ///< null when the operation takes no JSON body
    bool admin = false;
};

std::vector<Operation> Operations(const Spec& spec) {
    std::vector<Operation> out;
    for (const auto& p : spec.root()["paths"]) {
        std::string path = p.first.as<std::string>();
        YAML::Node item = p.second;
        std::vector<YAML::Node> shared;
        if (item["parameters"])
            for (const auto& x : item["parameters"]) shared.push_back(spec.Resolve(x));
        for (const char* m : {"get", "post", "put", "patch", "delete"}) {
            if (!item[m]) continue;
            Operation o;
            o.method = m;
            for (auto& c : o.method)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            o.path = path;
            o.op = item[m];
            o.params = shared;
            if (o.op["parameters"])
                for (const auto& x : o.op["parameters"]) o.params.push_back(spec.Resolve(x));
            auto rb = o.op["requestBody"];
            if (rb) {
                rb = spec.Resolve(rb);
                if (rb["content"] && rb["content"]["application/json"])
                    o.body_schema = rb["content"]["application/json"]["schema"];
            }
            o.admin = path.find("/admin/") != std::string::npos;
            out.push_back(o);
        }
    }
    return out;
}

struct Outcome {
    int requests = 0;
    std::vector<std::string> failures;
};

class Sweeper {
public:
    Sweeper(testing::TestServer& srv, std::string key) : srv_(srv), key_(std::move(key)) {}

    void Send(const std::string& what,
              const std::string& method,
              const std::string& path,
              const std::string& body,
              const std::string& key,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
        ++out.requests;
        if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
        auto start = Clock::now();
        HttpResponse r;
        try {
            HttpClient c(srv_.port(), 5000);
            r = c.Send(method, path, body, headers);
        } catch (const std::exception& e) {
            Fail(what, method, path, std::string("no answer: ") + e.what());
            return;
        }
        auto ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (ms > 4000) Fail(what, method, path, "answered in " + std::to_string(ms) + " ms");
        if (r.status >= 500 || r.status < 100)
            Fail(what, method, path, std::to_string(r.status) + " " + r.body.substr(0, 200));
        if (r.status >= 400) {
            auto j = json::parse(r.body, nullptr, false);
            if (r.Header("content-type") != "application/problem+json" || j.is_discarded() ||
                j.value("status", 0) != r.status)
                Fail(what, method, path, "not a problem: " + r.body.substr(0, 120));
        }
    }
    void Fail(const std::string& what,
              const std::string& method,
              const std::string& path,
              const std::string& why) {
        if (out.failures.size() < 40)
            out.failures.push_back(method + " " + path.substr(0, 100) + " [" + what + "]: " + why);
    }
    Outcome out;

private:
    testing::TestServer& srv_;
    std::string key_;
};

std::string Deep(size_t n, char open, char close) {
    if (open == '{') {
        std::string s;
        for (size_t i = 0; i < n; ++i) s += "{\"a\":";
        return s + "1" + std::string(n, '}');
    }
    return std::string(n, open) + std::string(n, close);
}

/// Values that are wrong in one way or another for any property (raw JSON text).
std::vector<std::pair<std::string, std::string>> BadValues() {
    return {{"null", "null"},
            {"true", "true"},
            {"int", "12345"},
            {"negative", "-1"},
            {"float", "1.5"},
            {"string", "\"str\""},
            {"array", "[]"},
            {"object", "{}"},
            {"nested-array", Deep(200, '[', ']')},
            {"nested-object", Deep(200, '{', '}')},
            {"nul", "\"a\\u0000b\""},
            {"bad-utf8",
             "\"a\xff\xfe"
             "b\""},
            {"control", "\"a\\u0007b\""},
            {"huge-string", "\"" + std::string(300000, 'x') + "\""},
            {"huge-int", "123456789012345678901234567890"},
            {"big-double", "1e308"},
            {"out-of-range", "1e400"},
            {"minus-out-of-range", "-1e400"},
            {"surrogate", "\"\\ud800\""},
            {"empty-string", "\"\""},
            {"long-id", "\"" + std::string(257, 'i') + "\""},
            {"int64-min-1", "-9223372036854775809"},
            {"uint64-max+1", "18446744073709551616"},
            {"tiny", "1e-400"},
            {"big-array",
             [] {
                 std::string a = "[";
                 for (int i = 0; i < 20000; ++i) a += (i ? ",1" : "1");
                 return a + "]";
             }()},
            {"many-keys", [] {
                 std::string o = "{";
                 for (int i = 0; i < 5000; ++i)
                     o += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
                 return o + "}";
             }()}};
}

TEST(Sweep, EveryOperationHoldsUnderBadInput) {
    RECS_REQUIRE_SERVICES();
    testing::TestDatabase::Get().Truncate();
    testing::TestServer srv(testing::TestServer::DefaultConfig(), /*roles=*/true);
    auto tenant = srv.CreateTenant("sweep");
    std::string key_id;
    auto key = srv.CreateKey(tenant, {"admin"}, &key_id);
    ASSERT_EQ(
        srv.Call("POST", "/v1/recs/events/bulk", key, testing::ClusterEvents(10).dump()).status,
        200);
    ASSERT_EQ(srv.Call("POST", "/v1/recs/features/entities/item/a1", key,
                       R"({"features":{"category":"x"}})")
                  .status,
              200);
    auto [model_id, version_id] = testing::TrainAndDeploy(srv, key, "m", "popularity");
    ASSERT_FALSE(version_id.empty());
    auto jobs = srv.Json(srv.Call("GET", "/v1/recs/jobs", key));
    std::map<std::string, std::string> ids = {{"key_id", key_id},
                                              {"event_id", "e-0-1"},
                                              {"entity_type", "item"},
                                              {"entity_id", "a1"},
                                              {"model_id", model_id},
                                              {"version_id", version_id},
                                              {"job_id", jobs["items"][0]["id"]},
                                              {"user_id", "u0"},
                                              {"item_id", "a1"},
                                              {"tenant_id", tenant}};
    Spec spec;
    Sweeper sw(srv, key);
    const std::vector<std::string> bad_segments = {
        "%00", "a%00b", "%F0%28%8C%BC", "%FF", "%0A", "..%2F..%2Fetc", std::string(5000, 'a'),
        "%25", "%C0%AF"};
    const std::vector<std::string> bad_query = {
        "%00", "%FF", "-1", "99999999999999999999", "abc", std::string(3000, 'q'), "%0D%0A"};
    int operations = 0;
    for (const auto& op : Operations(spec)) {
        // Deleting the sweep's own tenant or key would end the sweep early: those get only bad ids.
        bool destructive = op.method == "DELETE";
        std::string auth = op.admin ? srv.admin_key() : key;
        if (op.path == "/v1/recs/health" || op.path == "/metrics") auth.clear();
        auto concrete = [&](const std::map<std::string, std::string>& over) {
            std::string p = op.path;
            for (size_t o; (o = p.find('{')) != std::string::npos;) {
                size_t c = p.find('}', o);
                std::string name = p.substr(o + 1, c - o - 1);
                std::string v = over.count(name)  ? over.at(name)
                                : ids.count(name) ? ids[name]
                                                  : "x";
                if (destructive && !over.count(name)) v = "00000000-0000-4000-8000-000000000000";
                p.replace(o, c - o + 1, v);
            }
            return p;
        };
        std::string path = concrete({});
        ++operations;
        // Path segments.
        for (const auto& param : op.params)
            if (param["in"] && param["in"].as<std::string>() == "path")
                for (const auto& bad : bad_segments)
                    sw.Send("path " + param["name"].as<std::string>(), op.method,
                            concrete({{param["name"].as<std::string>(), bad}}),
                            op.body_schema ? "{}" : "", auth);
        // Query values.
        for (const auto& param : op.params)
            if (param["in"] && param["in"].as<std::string>() == "query")
                for (const auto& bad : bad_query)
                    sw.Send("query " + param["name"].as<std::string>(), op.method,
                            path + "?" + param["name"].as<std::string>() + "=" + bad, "", auth);
        // Headers the api reads.
        if (!auth.empty()) {
            sw.Send("idempotency-key", op.method, path, op.body_schema ? "{}" : "", auth,
                    {{"Idempotency-Key", std::string(2000, 'k')}});
            sw.Send("tenant-header", op.method, path, op.body_schema ? "{}" : "", srv.admin_key(),
                    {{"X-Tenant-ID", "\xff\xfe"}});
            sw.Send("bearer", op.method, path, "", "", {{"Authorization", "Bearer \xff"}});
        }
        if (!op.body_schema || destructive) continue;
        // Whole bodies.
        for (const std::string& body :
             {std::string("{"), std::string("[1,2"), std::string("\"unterminated"), std::string(),
              std::string("null"), std::string("[]"), std::string("42"), std::string("\xff\xfe"),
              Deep(100000, '[', ']'), Deep(5000, '{', '}'), std::string("{\"a\":1,}")})
            sw.Send("body", op.method, path, body, auth);
        sw.Send("content-type", op.method, path, "{}", auth, {{"Content-Type", "application/xml"}});
        auto schema = spec.Resolve(op.body_schema);
        json base = Example(spec, schema);
        bool array_body = base.is_array();
        YAML::Node object_schema = array_body ? spec.Resolve(schema["items"]) : schema;
        json item = array_body ? Example(spec, object_schema) : base;
        if (!item.is_object()) item = json::object();
        auto wrap = [&](const std::string& item_text) {
            return array_body ? "[" + item_text + "]" : item_text;
        };
        {
            json unknown = item;
            unknown["zz_unknown_field"] = 1;
            sw.Send("unknown field", op.method, path, wrap(unknown.dump()), auth);
        }
        // Every property, and the properties of nested objects and of array items, two levels
        // down: the bad value goes in place of a placeholder, as text (some are not JSON).
        std::vector<std::vector<std::string>> paths;  // "[]" stands for an array's first item
        std::function<void(YAML::Node, std::vector<std::string>, int)> collect =
            [&](YAML::Node sch, std::vector<std::string> at, int depth) {
                sch = spec.Resolve(sch);
                if (!sch.IsMap() || depth > 2) return;
                if (sch["allOf"])
                    for (const auto& part : sch["allOf"]) collect(part, at, depth);
                if (sch["properties"])
                    for (const auto& p : sch["properties"]) {
                        auto next = at;
                        next.push_back(p.first.as<std::string>());
                        paths.push_back(next);
                        collect(p.second, next, depth + 1);
                    }
                if (sch["items"] && !at.empty()) {
                    auto next = at;
                    next.push_back("[]");
                    paths.push_back(next);
                    collect(sch["items"], next, depth + 1);
                }
            };
        collect(object_schema, {}, 0);
        if (std::getenv("RECS_SWEEP_VERBOSE"))
            std::printf("%s %s: %zu body paths\n", op.method.c_str(), op.path.c_str(),
                        paths.size());
        for (const auto& at : paths) {
            json doc = item;
            json* cur = &doc;
            for (size_t i = 0; i + 1 < at.size(); ++i) {
                if (at[i] == "[]") {
                    if (!cur->is_array()) *cur = json::array();
                    if (cur->empty()) cur->push_back(json::object());
                    cur = &(*cur)[0];
                } else {
                    if (!cur->is_object()) *cur = json::object();
                    if (!cur->contains(at[i]) || !(*cur)[at[i]].is_structured())
                        (*cur)[at[i]] = at[i + 1] == "[]" ? json::array() : json::object();
                    cur = &(*cur)[at[i]];
                }
            }
            if (at.back() == "[]") {
                if (!cur->is_array()) *cur = json::array();
                cur->clear();
                cur->push_back("__SWEEP__");
            } else {
                if (!cur->is_object()) *cur = json::object();
                (*cur)[at.back()] = "__SWEEP__";
            }
            std::string text = doc.dump();
            size_t hole = text.find("\"__SWEEP__\"");
            if (hole == std::string::npos) continue;
            std::string name;
            for (const auto& a : at) name += (name.empty() ? "" : ".") + a;
            for (const auto& [label, raw] : BadValues()) {
                std::string t = text;
                t.replace(hole, 11, raw);
                sw.Send(name + "=" + label, op.method, path, wrap(t), auth);
            }
        }
    }
    // Raw framing errors on a connection of their own.
    std::vector<std::string> frames = {
        "GARBAGE\r\n\r\n",
        "GET /v1/recs/health HTTP/9.9\r\n\r\n",
        "FOO /v1/recs/health HTTP/1.1\r\n\r\n",
        "GET /v1/recs/health\r\n\r\n",
        "GET /v1/recs/health HTTP/1.1\r\nNoColon\r\n\r\n",
        std::string("\x00\x01\x02\r\n\r\n", 7),
        std::string("GET /v1/recs/he\x00lth HTTP/1.1\r\n\r\n", 33),
        "POST /v1/recs/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
        "POST /v1/recs/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: "
        "chunked\r\n\r\n{}",
        "POST /v1/recs/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n{}",
        "POST /v1/recs/events HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "POST /v1/recs/events HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "GET /v1/recs/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2 << 20, 'a') +
            "\r\n\r\n",
    };
    for (const auto& f : frames) {
        ++sw.out.requests;
        try {
            HttpClient c(srv.port(), 5000);
            auto r = c.SendRaw(f);
            if (r.status >= 500 || r.status < 400 ||
                r.Header("content-type") != "application/problem+json")
                sw.Fail("framing", "RAW", f.substr(0, 40), std::to_string(r.status) + " " + r.body);
        } catch (const std::exception& e) {
            sw.Fail("framing", "RAW", f.substr(0, 40), std::string("no answer: ") + e.what());
        }
        if (srv.Call("GET", "/v1/recs/health", "").status != 200)
            sw.Fail("framing", "RAW", f.substr(0, 40), "the server stopped answering");
    }
    std::printf("[ figures  ] sweep: %d operations, %d requests, %zu failures\n", operations,
                sw.out.requests, sw.out.failures.size());
    for (const auto& f : sw.out.failures) ADD_FAILURE() << f;
    EXPECT_GE(operations, 30);
    EXPECT_GT(sw.out.requests, 2000);
    EXPECT_EQ(srv.Call("GET", "/v1/recs/health", "").status, 200);
}

// The contract states every bound: each input string has maxLength, each integer minimum and
// maximum, each array maxItems (checked through $refs, request bodies and parameters).
TEST(Sweep, TheContractBoundsEveryInput) {
    Spec spec;
    std::vector<std::string> missing;
    std::set<const void*> seen;
    std::function<void(YAML::Node, const std::string&, int)> walk =
        [&](YAML::Node s, const std::string& at, int depth) {
            s = spec.Resolve(s);
            if (!s.IsMap() || depth > 12) return;
            for (const char* alt : {"oneOf", "anyOf", "allOf"})
                if (s[alt])
                    for (const auto& x : s[alt]) walk(x, at, depth + 1);
            std::vector<std::string> types;
            if (s["type"]) {
                if (s["type"].IsSequence())
                    for (const auto& t : s["type"]) types.push_back(t.as<std::string>());
                else
                    types.push_back(s["type"].as<std::string>());
            }
            for (const auto& t : types) {
                if (t == "string" && !s["maxLength"] && !s["enum"] && !s["const"] && !s["format"])
                    missing.push_back(at + ": string without maxLength");
                if (t == "integer" && (!s["minimum"] || !s["maximum"]))
                    missing.push_back(at + ": integer without minimum/maximum");
                if (t == "array" && !s["maxItems"])
                    missing.push_back(at + ": array without maxItems");
            }
            if (s["properties"])
                for (const auto& p : s["properties"])
                    walk(p.second, at + "." + p.first.as<std::string>(), depth + 1);
            if (s["items"]) walk(s["items"], at + "[]", depth + 1);
        };
    int inputs = 0;
    for (const auto& op : Operations(spec)) {
        for (const auto& p : op.params) {
            ++inputs;
            walk(p["schema"], op.method + " " + op.path + " " + p["name"].as<std::string>(), 0);
        }
        if (op.body_schema) {
            ++inputs;
            walk(op.body_schema, op.method + " " + op.path + " body", 0);
        }
    }
    EXPECT_GT(inputs, 40);
    for (const auto& m : missing) ADD_FAILURE() << m;
}

}  // namespace
}  // namespace recs

#include <gtest/gtest.h>

#include "recs/core/config.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/tenancy.hpp"

namespace recs::core {
namespace {

TEST(Config, DefaultsAndOverrides) {
    auto c = ConfigFromEnv({});
    EXPECT_EQ(c.http_port, 8080);
    EXPECT_EQ(c.body_limit, 10u * 1024 * 1024);
    c = ConfigFromEnv({{"RECS_HTTP_PORT", "9000"},
                       {"RECS_LOG_LEVEL", "debug"},
                       {"RECS_DATABASE_URL", "postgresql://x/y"}});
    EXPECT_EQ(c.http_port, 9000);
    EXPECT_EQ(c.log_level, "debug");
    EXPECT_EQ(c.database_url, "postgresql://x/y");
}

TEST(Config, BadValuesNameTheVariable) {
    try {
        ConfigFromEnv({{"RECS_HTTP_PORT", "80x"}});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.field(), "RECS_HTTP_PORT");
    }
    EXPECT_THROW(ConfigFromEnv({{"RECS_HTTP_PORT", "70000"}}), Error);
    EXPECT_THROW(ConfigFromEnv({{"RECS_LOG_LEVEL", "loud"}}), Error);
}

TEST(Crypto, Sha256KnownVector) {
    EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(HmacSha256Hex("key", "The quick brown fox jumps over the lazy dog"),
              "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

TEST(Crypto, TokensAndUuids) {
    auto a = RandomToken(32), b = RandomToken(32);
    EXPECT_EQ(a.size(), 32u);
    EXPECT_NE(a, b);
    auto u = RandomUuid();
    EXPECT_TRUE(IsUuid(u)) << u;
    EXPECT_EQ(u[14], '4');
    EXPECT_FALSE(IsUuid("not-a-uuid"));
    EXPECT_FALSE(IsUuid("4a355d68-04e1-472f-a734-a83761ed0ae"));
    EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
    EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
    EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(Keys, GeneratedKeyLayoutAndHash) {
    auto k = GenerateApiKey();
    EXPECT_EQ(k.plaintext.rfind("rk_" + k.prefix + "_", 0), 0u);
    EXPECT_EQ(k.hash, Sha256Hex(k.plaintext));
    EXPECT_EQ(k.prefix.size(), 8u);
}

TEST(Scopes, ParseAndCheck) {
    EXPECT_EQ(AllScopeNames().size(), 12u);
    EXPECT_EQ(ParseScope("events:write"), Scope::kEventsWrite);
    EXPECT_FALSE(ParseScope("events:delete"));
    Principal p;
    p.scopes = {"predict"};
    EXPECT_TRUE(p.HasScope(Scope::kPredict));
    EXPECT_FALSE(p.HasScope(Scope::kModelsWrite));
    p.scopes = {"admin"};
    EXPECT_TRUE(p.HasScope(Scope::kModelsWrite));
    Principal admin;
    admin.platform_admin = true;
    EXPECT_TRUE(admin.HasScope(Scope::kJobsWrite));
}

TEST(JsonFields, MalformedIsInvalidArgument) {
    try {
        ParseJsonBody("{\"a\":");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    }
    EXPECT_THROW(ParseJsonBody(""), Error);
}

TEST(JsonFields, TypeErrorsNameTheField) {
    auto j = nlohmann::json::parse(R"({"name": 5, "n": "x", "id": 42, "flag": 1})");
    try {
        RequireString(j, "name");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnprocessable);
        EXPECT_EQ(e.field(), "name");
    }
    EXPECT_THROW(OptionalInt(j, "n", 0, 10), Error);
    EXPECT_EQ(RequireId(j, "id"), "42");
    EXPECT_THROW(OptionalBool(j, "flag"), Error);
    try {
        RequireString(j, "missing");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.field(), "missing");
    }
    try {
        RejectUnknownFields(j, {"name", "n", "id"});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.field(), "flag");
    }
}

TEST(JsonFields, IntRangeAndParams) {
    auto j = nlohmann::json::parse(R"({"n": 501})");
    EXPECT_THROW(OptionalInt(j, "n", 1, 500), Error);
    EXPECT_EQ(ParseIntParam("limit", "20", 1, 500), 20);
    EXPECT_THROW(ParseIntParam("limit", "0", 1, 500), Error);
    EXPECT_THROW(ParseIntParam("limit", "2x", 1, 500), Error);
}

}  // namespace
}  // namespace recs::core

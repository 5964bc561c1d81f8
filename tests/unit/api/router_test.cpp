#include "http/router.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/problem.hpp"
#include "recs/store/page.hpp"

namespace recs::api {
namespace {

Router MakeRouter() {
    Router r;
    auto h = [](Request&) { return Response::NoContent(); };
    r.Add({"GET", "/v1/recs/keys", AuthMode::kTenant, std::nullopt, false, h});
    r.Add({"POST", "/v1/recs/keys", AuthMode::kTenant, std::nullopt, false, h});
    r.Add({"GET", "/v1/recs/keys/{key_id}", AuthMode::kTenant, std::nullopt, false, h});
    r.Add({"DELETE", "/v1/recs/keys/{key_id}", AuthMode::kTenant, std::nullopt, false, h});
    return r;
}

TEST(Router, MatchesTemplatesAndDecodesParams) {
    auto r = MakeRouter();
    auto m = r.Find("GET", "/v1/recs/keys/ab%20c");
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->path, "/v1/recs/keys/{key_id}");
    EXPECT_EQ(m.params.at("key_id"), "ab c");
    EXPECT_NE(r.Find("POST", "/v1/recs/keys/").route, nullptr);  // trailing slash tolerated
}

TEST(Router, UnknownPathAndWrongMethod) {
    auto r = MakeRouter();
    auto none = r.Find("GET", "/v1/recs/nothing");
    EXPECT_EQ(none.route, nullptr);
    EXPECT_TRUE(none.allowed.empty());
    auto wrong = r.Find("PUT", "/v1/recs/keys/1");
    EXPECT_EQ(wrong.route, nullptr);
    EXPECT_EQ(wrong.allowed, (std::vector<std::string>{"GET", "DELETE"}));
}

TEST(Problem, MapsEveryCodeToAStatus) {
    using core::ErrorCode;
    EXPECT_EQ(StatusOf(ErrorCode::kInvalidArgument), 400);
    EXPECT_EQ(StatusOf(ErrorCode::kUnprocessable), 422);
    EXPECT_EQ(StatusOf(ErrorCode::kUnauthenticated), 401);
    EXPECT_EQ(StatusOf(ErrorCode::kForbidden), 403);
    EXPECT_EQ(StatusOf(ErrorCode::kNotFound), 404);
    EXPECT_EQ(StatusOf(ErrorCode::kConflict), 409);
    EXPECT_EQ(StatusOf(ErrorCode::kPayloadTooLarge), 413);
    EXPECT_EQ(StatusOf(ErrorCode::kRateLimited), 429);
    EXPECT_EQ(StatusOf(ErrorCode::kUnavailable), 503);
}

TEST(Problem, BodyIsProblemJsonWithField) {
    auto resp = ProblemResponse(core::Error(core::ErrorCode::kUnprocessable, "bad name", "name"),
                                "/v1/recs/x");
    EXPECT_EQ(resp.status, 422);
    EXPECT_EQ(resp.content_type, "application/problem+json");
    auto j = nlohmann::json::parse(resp.body);
    EXPECT_EQ(j["status"], 422);
    EXPECT_EQ(j["field"], "name");
    EXPECT_EQ(j["instance"], "/v1/recs/x");
    EXPECT_NE(j["type"].get<std::string>().find("validation-failed"), std::string::npos);
}

TEST(Problem, InternalDetailsNeverLeak) {
    auto resp = ProblemResponse(
        core::Error(core::ErrorCode::kInternal, "SELECT * FROM secret failed"), "/x");
    EXPECT_EQ(resp.status, 500);
    EXPECT_EQ(resp.body.find("SELECT"), std::string::npos);
}

TEST(Cursor, RoundTripAndRejectsGarbage) {
    for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{123456789}})
        EXPECT_EQ(store::DecodeCursor(store::EncodeCursor(v)), v);
    EXPECT_THROW(store::DecodeCursor("zzz"), core::Error);
    EXPECT_THROW(store::DecodeCursor("c12xyz"), core::Error);
    EXPECT_THROW(store::DecodeCursor(""), core::Error);
}

}  // namespace
}  // namespace recs::api

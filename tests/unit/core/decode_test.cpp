// The request decoder: depth, UTF-8, NUL and number checks (reliability findings C1, M2, M17).
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "recs/core/domain.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/text.hpp"

namespace recs::core {
namespace {

Error CatchError(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "expected a core::Error";
    return Error(ErrorCode::kInternal, "none");
}

std::string Nested(size_t depth, char open, char close) {
    return std::string(depth, open) + std::string(depth, close);
}

TEST(Utf8, FindsTheFirstIllFormedByte) {
    EXPECT_TRUE(IsValidUtf8("plain ascii"));
    EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    EXPECT_EQ(FindInvalidUtf8("ab\xf0\x28\x8c\xbc"), 2u);  // the probe of finding M17
    EXPECT_EQ(FindInvalidUtf8("\xc0\xaf"), 0u);            // overlong '/'
    EXPECT_EQ(FindInvalidUtf8("x\xed\xa0\x80"), 1u);       // a surrogate
    EXPECT_EQ(FindInvalidUtf8("\xf4\x90\x80\x80"), 0u);    // past U+10FFFF
    EXPECT_EQ(FindInvalidUtf8("abc\xe2\x82"), 3u);         // truncated
    EXPECT_EQ(FindInvalidUtf8("\x80"), 0u);                // a lone continuation byte
}

TEST(IdText, RulesNameTheField) {
    EXPECT_NO_THROW(CheckIdText("user-1", "user_id", 256));
    auto e = CatchError([] { CheckIdText("a\xff", "user_id", 256); });
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(e.field(), "user_id");
    EXPECT_EQ(CatchError([] { CheckIdText(std::string("a\0b", 3), "id", 256); }).code(),
              ErrorCode::kUnprocessable);
    EXPECT_EQ(CatchError([] { CheckIdText("a\tb", "id", 256); }).code(), ErrorCode::kUnprocessable);
    EXPECT_EQ(CatchError([] { CheckIdText(std::string(257, 'x'), "id", 256); }).code(),
              ErrorCode::kUnprocessable);
    EXPECT_EQ(CatchError([] { CheckIdText("", "id", 256); }).code(), ErrorCode::kUnprocessable);
}

TEST(Decoder, DepthIsBoundedForArraysAndObjects) {
    EXPECT_NO_THROW(ParseJsonBody(Nested(kMaxJsonDepth, '[', ']')));
    for (auto [open, close] : {std::pair{'[', ']'}, std::pair{'{', '}'}}) {
        std::string deep = open == '[' ? Nested(kMaxJsonDepth + 1, '[', ']')
                                       : std::string("{\"a\":") + std::string(kMaxJsonDepth, '[') +
                                             std::string(kMaxJsonDepth, ']') + "}";
        auto e = CatchError([&] { ParseJsonBody(deep); });
        EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
        EXPECT_NE(e.detail().find("64"), std::string::npos) << e.detail();
    }
    // The crash of finding C1: half a million levels inside a value.
    std::string bomb = "{\"features\":{\"a\":" + Nested(500000, '[', ']') + "}}";
    EXPECT_EQ(CatchError([&] { ParseJsonBody(bomb); }).code(), ErrorCode::kInvalidArgument);
    // Brackets inside strings do not count.
    EXPECT_NO_THROW(ParseJsonBody("{\"s\":\"" + std::string(1000, '[') + "\\\"[\"}"));
}

TEST(Decoder, MalformedAndIllEncodedBodiesAreBadRequests) {
    for (std::string body :
         {"", "{\"a\":", "{\"a\":1}}", "nul", "{\"a\":\"\xff\"}", "{\"a\":\"\\ud800\"}"}) {
        auto e = CatchError([&] { ParseJsonBody(body); });
        EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << body;
        EXPECT_EQ(e.field(), "body");
    }
}

TEST(Decoder, NulAndHugeNumbersNameTheField) {
    auto nul = CatchError([] { ParseJsonBody(R"({"user_id":"a\u0000b"})"); });
    EXPECT_EQ(nul.code(), ErrorCode::kUnprocessable);
    EXPECT_EQ(nul.field(), "user_id");
    auto deep = CatchError([] { ParseJsonBody(R"({"metadata":{"x":[1,"\u0000"]}})"); });
    EXPECT_EQ(deep.field(), "metadata.x[1]");
    auto key = CatchError([] { ParseJsonBody(R"({"features":{"a\u0000":1}})"); });
    EXPECT_EQ(key.field(), "features");
    auto big = CatchError([] { ParseJsonBody(R"({"value":1e400})"); });
    EXPECT_EQ(big.code(), ErrorCode::kUnprocessable);
    EXPECT_EQ(big.field(), "body");
    nlohmann::json inf = {{"value", std::numeric_limits<double>::infinity()}};
    EXPECT_EQ(CatchError([&] { CheckJsonValues(inf); }).field(), "value");
    EXPECT_NO_THROW(ParseJsonBody(R"({"value":1e300,"s":"\u0001ok"})"));
}

TEST(Decoder, EventLimits) {
    auto huge_value =
        ParseJsonBody(R"({"type":"rating","user_id":"u","item_id":"i","value":1e12})");
    EXPECT_EQ(CatchError([&] { ParseEvent(huge_value, 0); }).field(), "value");
    nlohmann::json md = {{"type", "view"}, {"user_id", "u"}, {"item_id", "i"}};
    md["metadata"]["blob"] = std::string(70 * 1024, 'x');
    EXPECT_EQ(CatchError([&] { ParseEvent(md, 0); }).field(), "metadata");
    nlohmann::json tab = {{"type", "view"}, {"user_id", "a\tb"}, {"item_id", "i"}};
    EXPECT_EQ(CatchError([&] { ParseEvent(tab, 0); }).field(), "user_id");
}

}  // namespace
}  // namespace recs::core

// Webhook signing, retry schedule, URL checks and forbidden target addresses.
#include "recs/core/webhook.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "recs/core/error.hpp"

namespace recs::core {
namespace {

std::string ToHex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 15]);
    }
    return out;
}

TEST(Webhook, Base64MatchesRfc4648Vectors) {
    const std::vector<std::pair<std::string, std::string>> vectors = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(Base64Encode(plain), encoded) << plain;
        auto back = Base64Decode(encoded);
        ASSERT_TRUE(back) << encoded;
        EXPECT_EQ(*back, plain) << encoded;
    }
    EXPECT_EQ(Base64Encode(std::string("\xfb\xff\xfe", 3)), "+//+");
}

TEST(Webhook, Base64RoundTripsEveryByteAndLength) {
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    for (size_t n = 0; n <= all.size(); ++n) {
        std::string in = all.substr(all.size() - n);
        auto out = Base64Decode(Base64Encode(in));
        ASSERT_TRUE(out) << n;
        EXPECT_EQ(*out, in) << n;
    }
}

TEST(Webhook, Base64DecodeToleratesMissingPaddingAndRejectsTheRest) {
    EXPECT_EQ(Base64Decode("Zg"), "f");
    EXPECT_EQ(Base64Decode("Zm8"), "fo");
    EXPECT_EQ(Base64Decode("Zm9vYg"), "foob");
    for (const char* bad :
         {"Zg=", "Z", "Zm9vY", "Zg===", "=", "==", "Zm 9v", "Zm9v\n", " Zm9v", "Zm9v\t", "Zm-v",
          "Zm_v", "Zm9v!", "Z=g=", "Zg==Zg==", "Zh==", "Zm9=", "Zm8=="}) {
        EXPECT_FALSE(Base64Decode(bad)) << bad;
    }
    EXPECT_FALSE(Base64Decode(std::string_view("Zm9v\0", 5)));
}

TEST(Webhook, HmacSha256MatchesRfc4231Case2) {
    std::string mac = HmacSha256("Jefe", "what do ya want for nothing?");
    EXPECT_EQ(mac.size(), 32u);
    EXPECT_EQ(ToHex(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(HmacSha256("", "").size(), 32u);
    EXPECT_EQ(ToHex(HmacSha256("", "")),
              "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Webhook, SignatureMatchesTheStandardWebhooksReferenceVector) {
    EXPECT_EQ(SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                          1614265330, R"({"test": 2432232314})"),
              "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(Webhook, SignatureHeaderHoldsOneSignaturePerSecretInOrder) {
    std::string a = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b = GenerateWebhookSecret();
    std::string body = R"({"type":"job.succeeded"})";
    std::string header = WebhookSignatureHeader({a, b}, "msg_1", 1700000000, body);
    size_t space = header.find(' ');
    ASSERT_NE(space, std::string::npos) << header;
    EXPECT_EQ(header.find(' ', space + 1), std::string::npos) << header;
    std::string first = header.substr(0, space), second = header.substr(space + 1);
    std::vector<std::pair<std::string, std::string>> parts = {{a, first}, {b, second}};
    for (const auto& [secret, part] : parts) {
        ASSERT_TRUE(part.starts_with("v1,")) << part;
        auto mac = Base64Decode(part.substr(3));
        ASSERT_TRUE(mac) << part;
        EXPECT_EQ(*mac, HmacSha256(*WebhookSecretKey(secret), "msg_1.1700000000." + body));
    }
    EXPECT_NE(first, second);
    EXPECT_EQ(WebhookSignatureHeader({a}, "msg_1", 1700000000, body), first);
    EXPECT_THROW(WebhookSignatureHeader({}, "msg_1", 1700000000, body), Error);
    EXPECT_THROW(WebhookSignatureHeader({a, "whsec_bad"}, "msg_1", 1700000000, body), Error);
}

TEST(Webhook, SecretsAreWhsecAnd32RandomBytes) {
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) {
        std::string s = GenerateWebhookSecret();
        ASSERT_TRUE(s.starts_with("whsec_")) << s;
        EXPECT_EQ(s.size(), 6u + 44u) << s;
        auto raw = Base64Decode(s.substr(6));
        ASSERT_TRUE(raw) << s;
        EXPECT_EQ(raw->size(), 32u);
        EXPECT_EQ(WebhookSecretKey(s), raw);
        seen.insert(s);
    }
    EXPECT_EQ(seen.size(), 50u);
}

TEST(Webhook, SecretKeyNeedsThePrefixAndBase64Of24To64Bytes) {
    EXPECT_EQ(WebhookSecretKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")->size(), 24u);
    EXPECT_EQ(WebhookSecretKey("whsec_" + Base64Encode(std::string(64, 'k')))->size(), 64u);
    EXPECT_FALSE(WebhookSecretKey("whsec_" + Base64Encode(std::string(23, 'k'))));
    EXPECT_FALSE(WebhookSecretKey("whsec_" + Base64Encode(std::string(65, 'k'))));
    EXPECT_FALSE(WebhookSecretKey("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    EXPECT_FALSE(WebhookSecretKey("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    EXPECT_FALSE(WebhookSecretKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!"));
    EXPECT_FALSE(WebhookSecretKey("whsec_"));
    EXPECT_FALSE(WebhookSecretKey(""));
    try {
        SignWebhook("whsec_tooshort", "msg", 1, "{}");
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
        EXPECT_EQ(e.detail().find("tooshort"), std::string::npos) << e.detail();
    }
}

TEST(Webhook, ScheduleParsing) {
    EXPECT_EQ(DefaultWebhookSchedule(),
              (std::vector<int64_t>{5, 300, 1800, 7200, 18000, 36000, 36000}));
    EXPECT_EQ(ParseWebhookSchedule("5,300,1800"), (std::vector<int64_t>{5, 300, 1800}));
    EXPECT_EQ(ParseWebhookSchedule("5 , 300,  1800 "), (std::vector<int64_t>{5, 300, 1800}));
    EXPECT_EQ(ParseWebhookSchedule("60"), (std::vector<int64_t>{60}));
    EXPECT_EQ(ParseWebhookSchedule("604800"), (std::vector<int64_t>{604800}));
    std::string twenty = "1";
    for (int i = 1; i < 20; ++i) twenty += ",1";
    ASSERT_TRUE(ParseWebhookSchedule(twenty));
    EXPECT_EQ(ParseWebhookSchedule(twenty)->size(), 20u);
    for (std::string bad :
         {std::string(""), std::string(" "), std::string("0"), std::string("5,0"),
          std::string("-5"), std::string("5,-300"), std::string("+5"), std::string("abc"),
          std::string("5,abc"), std::string("5x"), std::string("1.5"), std::string("5,,300"),
          std::string("5,"), std::string(",5"), std::string("604801"), std::string("5,\t300"),
          std::string("99999999999999999999999"), twenty + ",1", std::string("5;300")}) {
        EXPECT_FALSE(ParseWebhookSchedule(bad)) << "'" << bad << "'";
    }
}

TEST(Webhook, RetryDelaysFollowTheScheduleWithJitterAndEnd) {
    auto s = DefaultWebhookSchedule();
    for (int attempt = 1; attempt <= static_cast<int>(s.size()); ++attempt) {
        int64_t base = s[attempt - 1] * 1000;
        EXPECT_EQ(WebhookRetryDelayMs(s, attempt, 0.5), base) << attempt;
        EXPECT_EQ(WebhookRetryDelayMs(s, attempt, 0.0), base * 9 / 10) << attempt;
        for (double j : {0.0, 0.1, 0.25, 0.5, 0.75, 0.999, std::nextafter(1.0, 0.0)}) {
            auto d = WebhookRetryDelayMs(s, attempt, j);
            ASSERT_TRUE(d);
            EXPECT_GE(*d, base * 9 / 10) << attempt << " " << j;
            EXPECT_LT(*d, base * 11 / 10) << attempt << " " << j;
        }
    }
    EXPECT_FALSE(WebhookRetryDelayMs(s, static_cast<int>(s.size()) + 1, 0.5));  // dead
    EXPECT_FALSE(WebhookRetryDelayMs(s, 1000, 0.5));
    EXPECT_FALSE(WebhookRetryDelayMs({}, 1, 0.5));
    // Out-of-range jitter is clamped; never below one second.
    EXPECT_EQ(WebhookRetryDelayMs(s, 1, -3.0), 4500);
    EXPECT_LT(*WebhookRetryDelayMs(s, 1, 7.0), 5500);
    EXPECT_EQ(WebhookRetryDelayMs(s, 1, std::nan("")), 5000);
    EXPECT_EQ(WebhookRetryDelayMs({1}, 1, 0.0), 1000);
    EXPECT_THROW(WebhookRetryDelayMs(s, 0, 0.5), Error);
}

TEST(Webhook, EventTypes) {
    EXPECT_EQ(WebhookEventTypes().size(), 11u);
    for (const char* t :
         {"job.succeeded", "job.failed", "job.dead", "job.cancelled", "model.version.created",
          "model.deployed", "model.rolled_back", "experiment.started", "experiment.completed",
          "quota.exceeded", "webhook.disabled"}) {
        EXPECT_TRUE(IsWebhookEventType(t)) << t;
    }
    for (const char* t : {"", "job", "job.*", "Job.Succeeded", "job.succeeded ", "model.created"})
        EXPECT_FALSE(IsWebhookEventType(t)) << t;
}

TEST(Webhook, UrlProblems) {
    for (const char* ok : {"https://example.com", "http://example.com/",
                           "https://hooks.example.com:8443/a/b?x=1&y=2",
                           "http://93.184.216.34:8080/hook", "https://[2001:db8::1]/hook",
                           "https://[2606:4700::1111]:443/x?y", "https://example.com?x=1",
                           "https://a-b.example.com.", "https://localhost:65535/", "http://h:1"}) {
        EXPECT_EQ(WebhookUrlProblem(ok), "") << ok;
    }
    auto has = [](std::string_view url, std::string_view part) {
        std::string why = WebhookUrlProblem(url);
        return why.find(part) != std::string::npos
                   ? ::testing::AssertionSuccess()
                   : ::testing::AssertionFailure() << url << " -> '" << why << "'";
    };
    EXPECT_TRUE(has("ftp://example.com/", "must start with http:// or https://"));
    EXPECT_TRUE(has("example.com/hook", "must start with http:// or https://"));
    EXPECT_TRUE(has("HTTPS://example.com/", "must start with http:// or https://"));
    EXPECT_TRUE(has("", "must start with http:// or https://"));
    EXPECT_TRUE(has("https://", "must name a host"));
    EXPECT_TRUE(has("https:///path", "must name a host"));
    EXPECT_TRUE(has("https://:8080/", "must name a host"));
    EXPECT_TRUE(has("https://user@example.com/", "user info"));
    EXPECT_TRUE(has("https://user:pw@example.com/", "user info"));
    EXPECT_TRUE(has("https://example.com@169.254.169.254/", "user info"));
    EXPECT_TRUE(has("https://example.com:0/", "port"));
    EXPECT_TRUE(has("https://example.com:65536/", "port"));
    EXPECT_TRUE(has("https://example.com:abc/", "port"));
    EXPECT_TRUE(has("https://example.com:/", "port"));
    EXPECT_TRUE(has("https://example.com:-1/", "port"));
    EXPECT_TRUE(has("https://[::1]:99999/", "port"));
    EXPECT_TRUE(has("https://exa mple.com/", "spaces or control characters"));
    EXPECT_TRUE(has("https://example.com/a b", "spaces or control characters"));
    EXPECT_TRUE(has(" https://example.com/", "spaces or control characters"));
    EXPECT_TRUE(has("https://example.com/\n", "spaces or control characters"));
    EXPECT_TRUE(has("https://example.com/\x01", "spaces or control characters"));
    EXPECT_TRUE(has("https://example.com/\x7f", "spaces or control characters"));
    EXPECT_TRUE(has(std::string_view("https://example.com/\0", 21), "control characters"));
    EXPECT_TRUE(has("https://example.com/\xc3\xa9", "ASCII"));
    EXPECT_TRUE(has("https://example.com/#frag", "fragment"));
    EXPECT_TRUE(has("https://example.com#", "fragment"));
    std::string long_url = "https://example.com/" + std::string(2048, 'a');
    EXPECT_TRUE(has(long_url, "at most 2048 bytes"));
    std::string at_limit = "https://example.com/";
    at_limit += std::string(2048 - at_limit.size(), 'a');
    EXPECT_EQ(WebhookUrlProblem(at_limit), "");
    // Hosts.
    EXPECT_TRUE(has("https://::1/", "in brackets"));
    EXPECT_TRUE(has("https://[::1/", "IPv6 address in brackets"));
    EXPECT_TRUE(has("https://[not:v6]/", "not a valid IPv6 address"));
    EXPECT_TRUE(has("https://[fe80::1%25eth0]/", "not a valid IPv6 address"));
    EXPECT_TRUE(has("https://[::1]x/", "host"));
    EXPECT_TRUE(has("https://exa_mple.com/", "DNS name"));
    EXPECT_TRUE(has("https://-example.com/", "DNS name"));
    EXPECT_TRUE(has("https://example..com/", "DNS name"));
    EXPECT_TRUE(has("https://exam%70le.com/", "DNS name"));
    EXPECT_TRUE(has("https://169.254.169.254\\.example.com/", "DNS name"));
    EXPECT_TRUE(has("https://" + std::string(64, 'a') + ".com/", "DNS name"));
    for (const char* numeric :
         {"https://127.1/", "https://2130706433/", "https://0x7f000001/", "https://0x7f.0.0.1/",
          "https://0177.0.0.1/", "https://1.2.3.256/", "https://1.2.3.4./", "https://1.2.3/"}) {
        EXPECT_TRUE(has(numeric, "looks like an IPv4 address")) << numeric;
    }
}

TEST(Webhook, ForbiddenAddressesNameTheirKind) {
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"127.0.0.1", "loopback address 127.0.0.1"},
        {"127.255.0.9", "loopback address 127.255.0.9"},
        {"::1", "loopback address ::1"},
        {"169.254.169.254", "cloud metadata address 169.254.169.254"},
        {"169.254.0.1", "link-local address 169.254.0.1"},
        {"10.0.0.1", "private address 10.0.0.1"},
        {"172.16.5.4", "private address 172.16.5.4"},
        {"172.31.255.255", "private address 172.31.255.255"},
        {"192.168.1.1", "private address 192.168.1.1"},
        {"100.64.0.1", "CGNAT address 100.64.0.1"},
        {"100.127.255.255", "CGNAT address 100.127.255.255"},
        {"224.0.0.1", "multicast address 224.0.0.1"},
        {"239.255.255.250", "multicast address 239.255.255.250"},
        {"0.0.0.0", "unspecified address 0.0.0.0"},
        {"0.1.2.3", "reserved address 0.1.2.3"},
        {"192.0.0.8", "reserved address 192.0.0.8"},
        {"198.18.0.1", "reserved address 198.18.0.1"},
        {"198.19.255.255", "reserved address 198.19.255.255"},
        {"240.0.0.1", "reserved address 240.0.0.1"},
        {"255.255.255.255", "reserved address 255.255.255.255"},
        {"::", "unspecified address ::"},
        {"fe80::1", "link-local address fe80::1"},
        {"febf::1", "link-local address febf::1"},
        {"fd00:ec2::254", "cloud metadata address fd00:ec2::254"},
        {"fd12:3456::1", "unique local address fd12:3456::1"},
        {"fc00::1", "unique local address fc00::1"},
        {"ff02::1", "multicast address ff02::1"},
        {"2001:db8::1", "documentation address 2001:db8::1"},
        {"::ffff:127.0.0.1", "IPv4-mapped loopback address ::ffff:127.0.0.1"},
        {"::ffff:10.1.2.3", "IPv4-mapped private address ::ffff:10.1.2.3"},
        {"::ffff:a9fe:a9fe", "IPv4-mapped cloud metadata address ::ffff:169.254.169.254"},
        {"::127.0.0.1", "IPv4-compatible loopback address ::127.0.0.1"},
        {"::10.0.0.1", "IPv4-compatible private address ::10.0.0.1"},
        {"64:ff9b::7f00:1", "NAT64 loopback address 64:ff9b::7f00:1"},
        {"64:ff9b::a9fe:a9fe", "NAT64 cloud metadata address 64:ff9b::a9fe:a9fe"},
        {"FE80::1", "link-local address fe80::1"},  // canonical (inet_ntop) text
    };
    for (const auto& [ip, why] : refused) EXPECT_EQ(ForbiddenAddressReason(ip), why) << ip;
    for (const char* ok : {"93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "172.32.0.1",
                           "172.15.255.255", "100.128.0.1", "100.63.255.255", "169.253.0.1",
                           "192.0.1.1", "198.20.0.1", "223.255.255.255", "11.0.0.1",
                           "::ffff:8.8.8.8", "64:ff9b::808:808", "2001:db9::1", "fec0::1"}) {
        EXPECT_EQ(ForbiddenAddressReason(ok), "") << ok;
    }
    for (const char* bad : {"", "localhost", "[::1]", "127.1", "1.2.3.4.5", "fe80::1%eth0",
                            " 127.0.0.1", "127.0.0.1 ", "2130706433"}) {
        EXPECT_EQ(ForbiddenAddressReason(bad), "not an IP address") << bad;
    }
    EXPECT_EQ(ForbiddenAddressReason(std::string_view("127.0.0.1\0x", 11)), "not an IP address");
}

TEST(Webhook, ForbiddenAddressFromSockaddr) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(443);
    ASSERT_EQ(inet_pton(AF_INET, "169.254.169.254", &v4.sin_addr), 1);
    EXPECT_EQ(ForbiddenAddressReason(reinterpret_cast<const sockaddr*>(&v4)),
              "cloud metadata address 169.254.169.254");
    ASSERT_EQ(inet_pton(AF_INET, "93.184.216.34", &v4.sin_addr), 1);
    EXPECT_EQ(ForbiddenAddressReason(reinterpret_cast<const sockaddr*>(&v4)), "");

    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(443);
    ASSERT_EQ(inet_pton(AF_INET6, "::ffff:127.0.0.1", &v6.sin6_addr), 1);
    EXPECT_EQ(ForbiddenAddressReason(reinterpret_cast<const sockaddr*>(&v6)),
              "IPv4-mapped loopback address ::ffff:127.0.0.1");
    ASSERT_EQ(inet_pton(AF_INET6, "2606:4700::1111", &v6.sin6_addr), 1);
    EXPECT_EQ(ForbiddenAddressReason(reinterpret_cast<const sockaddr*>(&v6)), "");

    sockaddr_storage other{};
    other.ss_family = AF_UNIX;
    EXPECT_EQ(ForbiddenAddressReason(reinterpret_cast<const sockaddr*>(&other)),
              "unsupported address family");
    EXPECT_EQ(ForbiddenAddressReason(static_cast<const sockaddr*>(nullptr)), "no address");
}

}  // namespace
}  // namespace recs::core

#include "recs/core/webhook.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "recs/core/error.hpp"

namespace recs::core {
namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kSecretPrefix = "whsec_";
constexpr size_t kSecretBytes = 32;
constexpr size_t kMinSecretKeyBytes = 24;
constexpr size_t kMaxSecretKeyBytes = 64;

/// The 6-bit value of a base64 character, or -1.
int Base64Value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    auto byte = [&](size_t k) {
        return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k]));
    };
    for (; i + 3 <= bytes.size(); i += 3) {
        uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out.push_back(kBase64Alphabet[v >> 18]);
        out.push_back(kBase64Alphabet[(v >> 12) & 63]);
        out.push_back(kBase64Alphabet[(v >> 6) & 63]);
        out.push_back(kBase64Alphabet[v & 63]);
    }
    size_t rest = bytes.size() - i;
    if (rest == 1) {
        uint32_t v = byte(i) << 16;
        out.push_back(kBase64Alphabet[v >> 18]);
        out.push_back(kBase64Alphabet[(v >> 12) & 63]);
        out += "==";
    } else if (rest == 2) {
        uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
        out.push_back(kBase64Alphabet[v >> 18]);
        out.push_back(kBase64Alphabet[(v >> 12) & 63]);
        out.push_back(kBase64Alphabet[(v >> 6) & 63]);
        out.push_back('=');
    }
    return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
    size_t pad = 0;
    while (pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
    if (pad > 2) return std::nullopt;
    if (pad > 0 && text.size() % 4 != 0) return std::nullopt;  // padded, then fully
    std::string_view body = text.substr(0, text.size() - pad);
    if (body.size() % 4 == 1) return std::nullopt;  // no encoding ends with one character
    std::string out;
    out.reserve(body.size() / 4 * 3 + 2);
    uint32_t acc = 0;
    int bits = 0;
    for (char c : body) {
        int v = Base64Value(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-zero unused bits
    return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
    static const unsigned char kEmpty = 0;  // OpenSSL reads a null key as "reuse the last key"
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
    const unsigned char* d =
        data.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(data.data());
    if (!HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, data.size(), md.data(), &len))
        throw Error(ErrorCode::kInternal, "HMAC-SHA256 failed");
    return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string GenerateWebhookSecret() {
    std::array<unsigned char, kSecretBytes> b{};
    if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1)
        throw Error(ErrorCode::kInternal, "random number generator failed");
    return std::string(kSecretPrefix) +
           Base64Encode(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

std::optional<std::string> WebhookSecretKey(std::string_view secret) {
    if (!secret.starts_with(kSecretPrefix)) return std::nullopt;
    auto key = Base64Decode(secret.substr(kSecretPrefix.size()));
    if (!key || key->size() < kMinSecretKeyBytes || key->size() > kMaxSecretKeyBytes)
        return std::nullopt;
    return key;
}

std::string SignWebhook(std::string_view secret,
                        std::string_view msg_id,
                        int64_t timestamp_s,
                        std::string_view body) {
    auto key = WebhookSecretKey(secret);
    if (!key)
        throw Error(ErrorCode::kInvalidArgument,
                    "a webhook secret must be whsec_ followed by the base64 of 24 to 64 bytes");
    std::string ts = std::to_string(timestamp_s);
    std::string signed_content;
    signed_content.reserve(msg_id.size() + ts.size() + body.size() + 2);
    signed_content.append(msg_id).append(".").append(ts).append(".").append(body);
    return "v1," + Base64Encode(HmacSha256(*key, signed_content));
}

std::string WebhookSignatureHeader(const std::vector<std::string>& secrets,
                                   std::string_view msg_id,
                                   int64_t timestamp_s,
                                   std::string_view body) {
    if (secrets.empty())
        throw Error(ErrorCode::kInvalidArgument, "a webhook needs at least one secret to sign");
    std::string out;
    for (const auto& s : secrets) {
        if (!out.empty()) out.push_back(' ');
        out += SignWebhook(s, msg_id, timestamp_s, body);
    }
    return out;
}

}  // namespace recs::core

namespace recs::core {

std::vector<int64_t> DefaultWebhookSchedule() { return {5, 300, 1800, 7200, 18000, 36000, 36000}; }

std::optional<std::vector<int64_t>> ParseWebhookSchedule(std::string_view text) {
    std::vector<int64_t> out;
    size_t start = 0;
    while (true) {
        size_t comma = text.find(',', start);
        std::string_view part = text.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
        if (part.empty() || part.size() > 18) return std::nullopt;
        if (!std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return std::nullopt;
        int64_t v = 0;
        auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (ec != std::errc() || ptr != part.data() + part.size()) return std::nullopt;
        if (v < 1 || v > kMaxWebhookDelayS) return std::nullopt;
        if (out.size() == kMaxWebhookScheduleEntries) return std::nullopt;
        out.push_back(v);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

std::optional<int64_t> WebhookRetryDelayMs(const std::vector<int64_t>& schedule,
                                           int failed_attempts,
                                           double jitter01) {
    if (failed_attempts < 1)
        throw Error(ErrorCode::kInvalidArgument, "failed_attempts must be at least 1");
    if (static_cast<size_t>(failed_attempts) > schedule.size()) return std::nullopt;
    int64_t delay_s = std::clamp<int64_t>(schedule[failed_attempts - 1], 0, kMaxWebhookDelayS);
    double j = std::isnan(jitter01) ? 0.5 : std::clamp(jitter01, 0.0, std::nextafter(1.0, 0.0));
    // In integers where possible: 90 % of the delay, plus up to (not including) 20 % of it.
    int64_t base_ms = delay_s * 1000;
    int64_t span_ms = base_ms / 5;
    auto spread = static_cast<int64_t>(std::floor(static_cast<double>(span_ms) * j));
    spread = std::clamp<int64_t>(spread, 0, std::max<int64_t>(span_ms - 1, 0));
    return std::max<int64_t>(base_ms / 10 * 9 + spread, 1000);
}

const std::vector<std::string>& WebhookEventTypes() {
    static const std::vector<std::string> kTypes = {
        "job.succeeded",         "job.failed",     "job.dead",          "job.cancelled",
        "model.version.created", "model.deployed", "model.rolled_back", "experiment.started",
        "experiment.completed",  "quota.exceeded", "webhook.disabled",
    };
    return kTypes;
}

bool IsWebhookEventType(std::string_view type) {
    const auto& types = WebhookEventTypes();
    return std::find(types.begin(), types.end(), type) != types.end();
}

}  // namespace recs::core

namespace recs::core {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

constexpr std::string_view kBadHost =
    "the host must be a DNS name (letters, digits, hyphens and dots), an IPv4 address a.b.c.d or "
    "an IPv6 address in brackets, as in http://[2001:db8::1]/";
constexpr std::string_view kBadPort = "the port must be a number from 1 to 65535";

/// The problem of a host that is not in brackets, or an empty string.
std::string HostNameProblem(std::string_view host) {
    bool trailing_dot = host.ends_with('.');
    std::string_view name = trailing_dot ? host.substr(0, host.size() - 1) : host;
    if (name.empty() || name.size() > 253) return std::string(kBadHost);
    std::string_view last;
    size_t start = 0;
    while (true) {
        size_t dot = name.find('.', start);
        std::string_view label = name.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return std::string(kBadHost);
        for (char c : label)
            if (!IsAlnum(c) && c != '-') return std::string(kBadHost);
        last = label;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    // The resolver takes "127.1", "2130706433" and "0x7f.0.0.1" as IPv4 addresses: such hosts
    // must be plain dotted quads, so that what is checked is what is connected to.
    std::string s(name);
    in_addr a{};
    bool numeric_tld = std::all_of(last.begin(), last.end(), IsDigit);
    if (numeric_tld || inet_aton(s.c_str(), &a) != 0) {
        if (trailing_dot || inet_pton(AF_INET, s.c_str(), &a) != 1)
            return "the host looks like an IPv4 address but is not one in the form a.b.c.d "
                   "(four numbers 0 to 255 without leading zeros)";
    }
    return "";
}

bool PortOk(std::string_view port) {
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit))
        return false;
    int v = 0;
    std::from_chars(port.data(), port.data() + port.size(), v);
    return v >= 1 && v <= 65535;
}

}  // namespace

std::string WebhookUrlProblem(std::string_view url) {
    if (url.size() > kMaxWebhookUrlBytes)
        return "the URL must be at most " + std::to_string(kMaxWebhookUrlBytes) + " bytes";
    for (char ch : url) {
        auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c == 0x7f) return "the URL must not contain spaces or control characters";
        if (c >= 0x80)
            return "the URL must be ASCII: percent-encode other characters of the path and query, "
                   "and write an international host name in its xn-- form";
    }
    std::string_view rest;
    if (url.starts_with("https://"))
        rest = url.substr(8);
    else if (url.starts_with("http://"))
        rest = url.substr(7);
    else
        return "the URL must start with http:// or https://";
    if (rest.find('#') != std::string_view::npos) return "the URL must not have a fragment (#...)";
    std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    if (authority.find('@') != std::string_view::npos)
        return "the URL must not contain user info (user@); put credentials in the secret or a "
               "header instead";
    if (authority.empty()) return "the URL must name a host, as in https://example.com/hook";

    std::string_view port;
    bool has_port = false;
    if (authority.front() == '[') {
        size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::string(kBadHost);
        std::string inner(authority.substr(1, close - 1));
        in6_addr a6{};
        if (inner.empty() || inet_pton(AF_INET6, inner.c_str(), &a6) != 1)
            return "the host [" + inner + "] is not a valid IPv6 address";
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::string(kBadHost);
            has_port = true;
            port = after.substr(1);
        }
    } else {
        size_t colon = authority.find(':');
        std::string_view host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            if (authority.find(':', colon + 1) != std::string_view::npos)
                return "an IPv6 address must be in brackets, as in http://[2001:db8::1]:8080/";
            has_port = true;
            port = authority.substr(colon + 1);
        }
        if (host.empty()) return "the URL must name a host, as in https://example.com/hook";
        if (std::string why = HostNameProblem(host); !why.empty()) return why;
    }
    if (has_port && !PortOk(port)) return std::string(kBadPort);
    return "";
}

}  // namespace recs::core

namespace recs::core {
namespace {

std::string Ntop4(const in_addr& a) {
    char buf[INET_ADDRSTRLEN] = {0};
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

std::string Ntop6(const in6_addr& a) {
    char buf[INET6_ADDRSTRLEN] = {0};
    inet_ntop(AF_INET6, &a, buf, sizeof buf);
    return buf;
}

/// The kind of a refused IPv4 address (host byte order), or nullptr when it is allowed.
const char* Ipv4Kind(uint32_t a) {
    auto in = [a](uint32_t net, int bits) {
        uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
        return (a & mask) == net;
    };
    if (a == 0) return "unspecified";
    if (in(0x00000000, 8)) return "reserved";  // "this network"
    if (in(0x0a000000, 8) || in(0xac100000, 12) || in(0xc0a80000, 16)) return "private";
    if (in(0x64400000, 10)) return "CGNAT";
    if (in(0x7f000000, 8)) return "loopback";
    if (a == 0xa9fea9fe) return "cloud metadata";  // 169.254.169.254
    if (in(0xa9fe0000, 16)) return "link-local";
    if (in(0xc0000000, 24)) return "reserved";  // IETF protocol assignments
    if (in(0xc6120000, 15)) return "reserved";  // benchmarking
    if (in(0xe0000000, 4)) return "multicast";
    if (in(0xf0000000, 4)) return "reserved";  // 255.255.255.255 included
    return nullptr;
}

std::string Ipv4Reason(const in_addr& a) {
    const char* kind = Ipv4Kind(ntohl(a.s_addr));
    return kind ? std::string(kind) + " address " + Ntop4(a) : "";
}

std::string Ipv6Reason(const in6_addr& a) {
    const uint8_t* b = a.s6_addr;
    auto zeros = [b](int from, int to) {
        for (int i = from; i < to; ++i)
            if (b[i] != 0) return false;
        return true;
    };
    std::string text = Ntop6(a);
    auto embedded = [&](const char* how) -> std::string {
        uint32_t v4 = uint32_t{b[12]} << 24 | uint32_t{b[13]} << 16 | uint32_t{b[14]} << 8 | b[15];
        const char* kind = Ipv4Kind(v4);
        return kind ? std::string(how) + " " + kind + " address " + text : "";
    };
    if (zeros(0, 16)) return "unspecified address " + text;
    if (zeros(0, 15) && b[15] == 1) return "loopback address " + text;
    if (zeros(0, 10) && b[10] == 0xff && b[11] == 0xff) return embedded("IPv4-mapped");
    if (zeros(0, 12)) return embedded("IPv4-compatible");
    static constexpr uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (std::memcmp(b, kNat64, sizeof kNat64) == 0) return embedded("NAT64");
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local address " + text;
    static constexpr uint8_t kAwsMetadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                                 0,    0,    0,    0,    0, 0, 0x02, 0x54};
    if (std::memcmp(b, kAwsMetadata, sizeof kAwsMetadata) == 0)
        return "cloud metadata address " + text;
    if ((b[0] & 0xfe) == 0xfc) return "unique local address " + text;
    if (b[0] == 0xff) return "multicast address " + text;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return "documentation address " + text;
    return "";
}

}  // namespace

std::string ForbiddenAddressReason(const struct sockaddr* addr) {
    if (!addr) return "no address";
    if (addr->sa_family == AF_INET) {
        sockaddr_in sin{};
        std::memcpy(&sin, addr, sizeof sin);
        return Ipv4Reason(sin.sin_addr);
    }
    if (addr->sa_family == AF_INET6) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, addr, sizeof sin6);
        return Ipv6Reason(sin6.sin6_addr);
    }
    return "unsupported address family";
}

std::string ForbiddenAddressReason(std::string_view ip_literal) {
    std::string s(ip_literal);
    if (s.find('\0') != std::string::npos) return "not an IP address";  // inet_pton stops at NUL
    in_addr a4{};
    if (inet_pton(AF_INET, s.c_str(), &a4) == 1) return Ipv4Reason(a4);
    in6_addr a6{};
    if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) return Ipv6Reason(a6);
    return "not an IP address";
}

}  // namespace recs::core

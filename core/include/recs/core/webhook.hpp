#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

namespace recs::core {

/// Standard base64 (RFC 4648, with padding).
std::string Base64Encode(std::string_view bytes);
/// The bytes of standard base64 text (RFC 4648 alphabet), or nullopt when it is not valid: any
/// character outside the alphabet (whitespace included), '=' other than one or two at the end of a
/// padded text, a length that no encoding has, or non-zero unused bits in the last character.
/// Missing padding is tolerated.
std::optional<std::string> Base64Decode(std::string_view text);
/// Raw 32-byte HMAC-SHA256 of data under key.
std::string HmacSha256(std::string_view key, std::string_view data);

/// A new webhook signing secret: "whsec_" + base64 of 32 bytes from the OS CSPRNG.
std::string GenerateWebhookSecret();
/// The key bytes of a secret "whsec_<base64>" (24..64 decoded bytes), or nullopt otherwise.
std::optional<std::string> WebhookSecretKey(std::string_view secret);
/// The Standard Webhooks signature "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." +
/// body)), key being WebhookSecretKey(secret). Throws Error(kInvalidArgument) when the secret is
/// not a valid one (the message never quotes the secret).
std::string SignWebhook(std::string_view secret,
                        std::string_view msg_id,
                        int64_t timestamp_s,
                        std::string_view body);
/// The webhook-signature header value for one or more secrets (several during a rotation): their
/// signatures joined by single spaces, in the order given. Throws Error(kInvalidArgument) when
/// `secrets` is empty or one of them is not a valid secret.
std::string WebhookSignatureHeader(const std::vector<std::string>& secrets,
                                   std::string_view msg_id,
                                   int64_t timestamp_s,
                                   std::string_view body);

/// The longest delay of a retry schedule entry, in seconds (7 days).
inline constexpr int64_t kMaxWebhookDelayS = 7 * 24 * 3600;
/// The most entries of a retry schedule.
inline constexpr size_t kMaxWebhookScheduleEntries = 20;

/// The retry schedule: delays in seconds after failed attempt 1, 2, ...
/// {5, 300, 1800, 7200, 18000, 36000, 36000}: 8 attempts over about 27 hours.
std::vector<int64_t> DefaultWebhookSchedule();
/// Parses a schedule such as "5,300,1800": 1..20 comma-separated positive decimal integers of at
/// most 7 days (604800) each, spaces allowed around the commas and at the ends; nullopt on
/// anything else (empty entries, signs, tabs, other characters).
std::optional<std::vector<int64_t>> ParseWebhookSchedule(std::string_view text);
/// The delay in milliseconds before the next attempt after `failed_attempts` failures (1-based:
/// 1 after the first failure), or nullopt when the schedule is exhausted (the delivery is dead).
/// `jitter01` in [0, 1) (clamped; NaN counts as 0.5) spreads the delay by up to +-10 %:
/// delay * (0.9 + 0.2 * jitter01), never below 1000 ms (an entry past 7 days counts as 7 days).
/// Throws Error(kInvalidArgument) when `failed_attempts` < 1.
std::optional<int64_t> WebhookRetryDelayMs(const std::vector<int64_t>& schedule,
                                           int failed_attempts,
                                           double jitter01);

/// The event types a webhook may subscribe to: job.succeeded, job.failed, job.dead,
/// job.cancelled, model.version.created, model.deployed, model.rolled_back, experiment.started,
/// experiment.completed, quota.exceeded, webhook.disabled.
const std::vector<std::string>& WebhookEventTypes();
/// True when `type` is one of WebhookEventTypes() (exact, case-sensitive).
bool IsWebhookEventType(std::string_view type);

/// The longest webhook URL in bytes.
inline constexpr size_t kMaxWebhookUrlBytes = 2048;

/// Checks the form of a webhook URL: at most 2048 bytes of printable ASCII (no whitespace or
/// control characters), starting with http:// or https:// (lower case), then a host (a DNS name,
/// a dotted-quad IPv4 literal or a bracketed IPv6 literal), an optional port 1..65535, an optional
/// path and query; no user info ("user@") and no fragment. Numeric host forms the resolver would
/// take as IPv4 ("2130706433", "0x7f.1", "127.1") are refused. Returns an empty string when the
/// URL is acceptable, otherwise a reason a person can act on. This is the form only: the target
/// addresses are judged by ForbiddenAddressReason when connecting, after name resolution.
std::string WebhookUrlProblem(std::string_view url);

/// Why an address may not be a webhook target (a short phrase naming the address in its canonical
/// inet_ntop form, such as "loopback address 127.0.0.1"), or an empty string when it may.
/// Refused IPv4: 0/8 ("unspecified" for 0.0.0.0, else "reserved"), 10/8, 172.16/12, 192.168/16
/// ("private"), 100.64/10 ("CGNAT"), 127/8 ("loopback"), 169.254.169.254 ("cloud metadata"), the
/// rest of 169.254/16 ("link-local"), 192.0.0/24 and 198.18/15 ("reserved"), 224/4 ("multicast"),
/// 240/4 ("reserved", 255.255.255.255 included).
/// Refused IPv6: :: ("unspecified"), ::1 ("loopback"), fe80::/10 ("link-local"), fd00:ec2::254
/// ("cloud metadata"), the rest of fc00::/7 ("unique local"), ff00::/8 ("multicast"),
/// 2001:db8::/32 ("documentation"); IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d and
/// NAT64 64:ff9b::a.b.c.d are judged by their embedded IPv4 address, the reason then being
/// "IPv4-mapped ", "IPv4-compatible " or "NAT64 " + the reason of the IPv4 address with the
/// IPv6 text ("IPv4-mapped loopback address ::ffff:127.0.0.1").
/// `addr` is an AF_INET sockaddr_in or an AF_INET6 sockaddr_in6; other families give
/// "unsupported address family", a null pointer "no address".
std::string ForbiddenAddressReason(const struct sockaddr* addr);
/// Same for a textual IP literal (inet_pton; IPv6 without brackets or zone); "not an IP address"
/// when it is none.
std::string ForbiddenAddressReason(std::string_view ip_literal);

}  // namespace recs::core

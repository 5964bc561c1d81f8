#include "recs/core/domain.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/job.hpp"
#include "recs/core/json_fields.hpp"

namespace recs::core {
namespace {

// Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(const std::string& s, size_t pos, size_t n, int* out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
}

}  // namespace

const std::vector<std::string>& EventTypes() {
    static const std::vector<std::string> types = {"impression", "click",  "view", "add_to_cart",
                                                   "purchase",   "rating", "like", "dislike"};
    return types;
}

bool IsEventType(const std::string& type) {
    const auto& t = EventTypes();
    return std::find(t.begin(), t.end(), type) != t.end();
}

std::optional<int64_t> ParseIso8601Ms(const std::string& s) {
    int y, mo, d, h, mi, sec;
    if (!Digits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
        s[7] != '-' || !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
        !Digits(s, 17, 2, &sec))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    size_t pos = 19;
    int64_t ms = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 3) ms = ms * 10 + (s[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (int i = digits; i < 3; ++i) ms *= 10;
    }
    int64_t offset_min = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh, om;
        int sign = s[pos] == '-' ? -1 : 1;
        if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !Digits(s, pos + 4, 2, &om))
            return std::nullopt;
        offset_min = sign * (oh * 60 + om);
        pos += 6;
    } else {
        return std::nullopt;  // a time zone is required
    }
    if (pos != s.size()) return std::nullopt;
    int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return ((days * 24 + h) * 60 + mi - offset_min) * 60000 + static_cast<int64_t>(sec) * 1000 + ms;
}

std::string FormatIso8601Ms(int64_t ms) {
    time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int64_t frac = ms - static_cast<int64_t>(secs) * 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(frac));
    return buf;
}

Event ParseEvent(const nlohmann::json& j, int64_t now_ms) {
    RequireObject(j, "event");
    RejectUnknownFields(j, {"event_id", "type", "user_id", "item_id", "timestamp", "session_id",
                            "request_id", "value", "metadata"});
    Event e;
    e.type = RequireString(j, "type", 32);
    if (!IsEventType(e.type)) {
        std::string known;
        for (const auto& t : EventTypes()) known += (known.empty() ? "" : ", ") + t;
        ThrowUnprocessable("unknown event type '" + e.type + "'; known types: " + known, "type");
    }
    e.user_id = RequireId(j, "user_id");
    e.item_id = OptionalId(j, "item_id");
    auto id = OptionalId(j, "event_id");
    e.event_id = id ? *id : RandomUuid();
    e.session_id = OptionalId(j, "session_id");
    e.request_id = OptionalString(j, "request_id", 256);
    e.value = OptionalNumber(j, "value");
    // Ratings weigh training by their value: an unbounded one would swamp (or, past float
    // range, poison) a tenant's whole model.
    if (e.value && (!std::isfinite(*e.value) || std::fabs(*e.value) > kMaxEventValue))
        ThrowUnprocessable("'value' must be between -1e9 and 1e9", "value");
    if (e.type == "rating" && !e.value)
        ThrowUnprocessable("a rating event needs 'value' (the stars)", "value");
    if (e.type != "impression" && !e.item_id)
        ThrowUnprocessable("a " + e.type + " event needs 'item_id'", "item_id");
    auto ts = j.find("timestamp");
    if (ts == j.end() || ts->is_null()) {
        e.timestamp_ms = now_ms;
    } else if (ts->is_number_integer()) {
        e.timestamp_ms = ts->get<int64_t>();
        // Year 1970..9999 in milliseconds.
        if (e.timestamp_ms < 0 || e.timestamp_ms > 253402300799999LL)
            ThrowUnprocessable("'timestamp' epoch milliseconds are out of range", "timestamp");
    } else if (ts->is_string()) {
        if (ts->get_ref<const std::string&>().size() > 64)
            ThrowUnprocessable("'timestamp' is longer than 64 characters", "timestamp");
        auto ms = ParseIso8601Ms(ts->get<std::string>());
        if (!ms)
            ThrowUnprocessable("'timestamp' must be ISO 8601 with a time zone or epoch millis",
                               "timestamp");
        e.timestamp_ms = *ms;
    } else {
        ThrowUnprocessable("'timestamp' must be an ISO 8601 string or epoch milliseconds",
                           "timestamp");
    }
    auto md = j.find("metadata");
    if (md != j.end() && !md->is_null()) {
        if (!md->is_object()) ThrowUnprocessable("'metadata' must be an object", "metadata");
        if (JsonSize(*md) > kMaxEventMetadataBytes)
            ThrowUnprocessable("'metadata' is larger than 64 KiB", "metadata");
        e.metadata = *md;
    }
    return e;
}

nlohmann::json EventJson(const Event& e) {
    nlohmann::json j = {{"event_id", e.event_id},
                        {"type", e.type},
                        {"user_id", e.user_id},
                        {"timestamp", FormatIso8601Ms(e.timestamp_ms)}};
    j["item_id"] = e.item_id ? nlohmann::json(*e.item_id) : nlohmann::json();
    j["session_id"] = e.session_id ? nlohmann::json(*e.session_id) : nlohmann::json();
    j["request_id"] = e.request_id ? nlohmann::json(*e.request_id) : nlohmann::json();
    j["value"] = e.value ? nlohmann::json(*e.value) : nlohmann::json();
    j["metadata"] = e.metadata.is_null() ? nlohmann::json() : e.metadata;
    if (!e.received_at.empty()) j["received_at"] = e.received_at;
    return j;
}

std::string_view VersionStatusName(VersionStatus s) {
    switch (s) {
        case VersionStatus::kReady:
            return "ready";
        case VersionStatus::kDeployed:
            return "deployed";
        case VersionStatus::kRetired:
            return "retired";
        case VersionStatus::kFailed:
            return "failed";
        case VersionStatus::kRolledBack:
            return "rolled_back";
    }
    return "ready";
}

std::optional<VersionStatus> ParseVersionStatus(std::string_view name) {
    for (auto s : {VersionStatus::kReady, VersionStatus::kDeployed, VersionStatus::kRetired,
                   VersionStatus::kFailed, VersionStatus::kRolledBack})
        if (VersionStatusName(s) == name) return s;
    return std::nullopt;
}

std::string_view JobStatusName(JobStatus s) {
    switch (s) {
        case JobStatus::kQueued:
            return "queued";
        case JobStatus::kRunning:
            return "running";
        case JobStatus::kSucceeded:
            return "succeeded";
        case JobStatus::kFailed:
            return "failed";
        case JobStatus::kCancelled:
            return "cancelled";
        case JobStatus::kDead:
            return "dead";
    }
    return "queued";
}

std::optional<JobStatus> ParseJobStatus(std::string_view name) {
    for (auto s : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kSucceeded,
                   JobStatus::kFailed, JobStatus::kCancelled, JobStatus::kDead})
        if (JobStatusName(s) == name) return s;
    return std::nullopt;
}

std::string_view JobKindName(JobKind k) { return k == JobKind::kSimulate ? "simulate" : "train"; }

std::optional<JobKind> ParseJobKind(std::string_view name) {
    if (name == "train") return JobKind::kTrain;
    if (name == "simulate") return JobKind::kSimulate;
    return std::nullopt;
}

bool IsTerminal(JobStatus s) {
    return s == JobStatus::kSucceeded || s == JobStatus::kFailed || s == JobStatus::kCancelled ||
           s == JobStatus::kDead;
}

nlohmann::json JobJson(const Job& j) {
    auto opt = [](const std::optional<std::string>& s) {
        return s ? nlohmann::json(*s) : nlohmann::json();
    };
    return {{"id", j.id},
            {"kind", j.kind},
            {"status", j.status},
            {"progress", j.progress},
            {"attempts", j.attempts},
            {"cancel_requested", j.cancel_requested},
            {"max_attempts", j.max_attempts},
            {"error", opt(j.error)},
            {"result", j.result},
            {"payload", j.payload},
            {"created_at", j.created_at},
            {"started_at", opt(j.started_at)},
            {"finished_at", opt(j.finished_at)}};
}

int64_t BackoffMs(int attempt, const Backoff& b) {
    if (attempt < 1) attempt = 1;
    int64_t v = b.base_ms;
    for (int i = 1; i < attempt && v < b.cap_ms; ++i) v *= 2;
    return std::min(v, b.cap_ms);
}

bool IsRetryable(ErrorCode code) {
    return code != ErrorCode::kUnprocessable && code != ErrorCode::kNotFound &&
           code != ErrorCode::kInvalidArgument && code != ErrorCode::kForbidden;
}

}  // namespace recs::core

namespace recs::core {

void ValidateFilters(const nlohmann::json& filters) {
    if (!filters.is_object()) ThrowUnprocessable("'filters' must be an object", "filters");
    if (filters.size() > kMaxFilterFields)
        ThrowUnprocessable(
            "'filters' has more than " + std::to_string(kMaxFilterFields) + " conditions",
            "filters");
    auto check_value = [](const nlohmann::json& v, const std::string& field) {
        if (v.is_string() && v.get_ref<const std::string&>().size() > kMaxFilterValueBytes)
            ThrowUnprocessable(
                field + " is longer than " + std::to_string(kMaxFilterValueBytes) + " bytes",
                field);
        if (v.is_object() || v.is_array())
            ThrowUnprocessable(field + " must compare with a scalar value", field);
    };
    for (auto it = filters.begin(); it != filters.end(); ++it) {
        std::string field = "filters." + it.key();
        if (it.key().size() > kMaxFilterValueBytes)
            ThrowUnprocessable("a filter field name is too long", "filters");
        const auto& v = it.value();
        if (v.is_object()) {
            if (v.empty()) ThrowUnprocessable(field + " has no condition", field);
            for (auto c = v.begin(); c != v.end(); ++c) {
                if (c.key() == "in") {
                    if (!c.value().is_array() || c.value().empty())
                        ThrowUnprocessable(field + ".in must be a non-empty array", field);
                    if (c.value().size() > kMaxFilterInValues)
                        ThrowUnprocessable(field + ".in has more than " +
                                               std::to_string(kMaxFilterInValues) + " values",
                                           field);
                    for (const auto& x : c.value()) check_value(x, field + ".in");
                } else if (c.key() == "gte" || c.key() == "gt" || c.key() == "lte" ||
                           c.key() == "lt") {
                    if (!c.value().is_number())
                        ThrowUnprocessable(field + "." + c.key() + " must be a number", field);
                } else {
                    ThrowUnprocessable(
                        "unknown filter operator '" + c.key() + "' (use in, gte, gt, lte, lt)",
                        field);
                }
            }
        } else if (v.is_array()) {
            ThrowUnprocessable(field + " must be a value or an operator object", field);
        } else {
            check_value(v, field);
        }
    }
}

bool MatchesFilters(const nlohmann::json& features, const nlohmann::json& filters) {
    if (!features.is_object()) return filters.empty();
    for (auto it = filters.begin(); it != filters.end(); ++it) {
        auto f = features.find(it.key());
        if (f == features.end()) return false;
        const auto& cond = it.value();
        if (!cond.is_object()) {
            if (*f != cond) return false;
            continue;
        }
        for (auto c = cond.begin(); c != cond.end(); ++c) {
            if (c.key() == "in") {
                bool any = false;
                for (const auto& x : c.value()) any = any || *f == x;
                if (!any) return false;
                continue;
            }
            if (!f->is_number()) return false;
            double x = f->get<double>(), y = c.value().get<double>();
            if ((c.key() == "gte" && !(x >= y)) || (c.key() == "gt" && !(x > y)) ||
                (c.key() == "lte" && !(x <= y)) || (c.key() == "lt" && !(x < y)))
                return false;
        }
    }
    return true;
}

}  // namespace recs::core

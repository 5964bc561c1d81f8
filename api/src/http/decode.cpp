#include "http/decode.hpp"

#include <string>

#include "recs/core/json_fields.hpp"
#include "recs/core/text.hpp"

namespace recs::api {
namespace {

using core::Error;
using core::ErrorCode;

std::string LowerMediaType(const std::string& ct) {
    std::string t = ct.substr(0, ct.find(';'));
    while (!t.empty() && t.back() == ' ') t.pop_back();
    size_t start = t.find_first_not_of(' ');
    t = start == std::string::npos ? "" : t.substr(start);
    for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return t;
}

bool IsNdjson(const std::string& media) {
    return media == "application/x-ndjson" || media == "application/ndjson" ||
           media == "application/jsonlines" || media == "application/x-jsonlines";
}

/// JSON media types, and the two that clients send without meaning anything by them (curl -d
/// sends application/x-www-form-urlencoded); the body is read as JSON for all of them.
bool IsJsonLike(const std::string& media) {
    if (media.empty() || media == "application/json" || media == "text/plain" ||
        media == "application/x-www-form-urlencoded" || media == "text/json")
        return true;
    return media.rfind("application/", 0) == 0 && media.size() > 5 &&
           media.compare(media.size() - 5, 5, "+json") == 0;
}

void CheckHeader(const Request& req, const char* lower, const char* name, size_t max_len) {
    const std::string* v = req.Header(lower);
    if (!v) return;
    if (size_t bad = core::FindInvalidUtf8(*v); bad != std::string::npos)
        throw Error(ErrorCode::kInvalidArgument,
                    std::string("the ") + name + " header is not valid UTF-8", name);
    if (v->size() > max_len)
        throw Error(ErrorCode::kUnprocessable,
                    std::string("the ") + name + " header is longer than " +
                        std::to_string(max_len) + " bytes",
                    name);
    if (core::HasControlChar(*v))
        throw Error(ErrorCode::kUnprocessable,
                    std::string("the ") + name + " header must not contain control characters",
                    name);
}

Error ItemError(const Error& e) { return Error(e.code(), e.detail(), e.field()); }

std::vector<BulkItem> NdjsonItems(const std::string& b, size_t max_items) {
    std::vector<BulkItem> items;
    size_t pos = 0, line_no = 0;
    while (pos < b.size()) {
        size_t end = b.find('\n', pos);
        if (end == std::string::npos) end = b.size();
        std::string_view line(b.data() + pos, end - pos);
        pos = end + 1;
        ++line_no;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.remove_suffix(1);
        if (line.empty()) continue;  // blank lines are skipped, not counted
        if (items.size() == max_items)
            throw Error(ErrorCode::kUnprocessable,
                        "at most " + std::to_string(max_items) + " items per request", "body");
        BulkItem item;
        item.index = items.size();
        item.line = line_no;
        try {
            item.value = core::ParseJsonDocument(line, "line");
            core::CheckJsonValues(item.value);
        } catch (const Error& e) {
            item.value = nullptr;
            item.error = Error(e.code(), e.detail(),
                               e.code() == ErrorCode::kInvalidArgument ? std::nullopt : e.field());
        }
        items.push_back(std::move(item));
    }
    return items;
}

std::vector<BulkItem> ArrayItems(const std::string& body, size_t max_items) {
    auto doc = core::ParseJsonDocument(body, "body");
    if (!doc.is_array())
        throw Error(ErrorCode::kUnprocessable,
                    "the body must be a JSON array (or NDJSON with Content-Type "
                    "application/x-ndjson)",
                    "body");
    if (doc.size() > max_items)
        throw Error(ErrorCode::kUnprocessable,
                    "at most " + std::to_string(max_items) + " items per request", "body");
    std::vector<BulkItem> items(doc.size());
    for (size_t i = 0; i < doc.size(); ++i) {
        items[i].index = i;
        try {
            core::CheckJsonValues(doc[i], "");
            items[i].value = std::move(doc[i]);
        } catch (const Error& e) {
            items[i].error = ItemError(e);
        }
    }
    return items;
}

}  // namespace

void CheckRequestText(const Request& req) {
    for (const auto& [name, value] : req.path_params)
        core::CheckIdText(value, name, core::kMaxIdBytes);
    for (const auto& [name, value] : req.query) {
        if (size_t bad = core::FindInvalidUtf8(name); bad != std::string::npos)
            throw Error(ErrorCode::kInvalidArgument, "a query parameter name is not valid UTF-8",
                        "query");
        if (size_t bad = core::FindInvalidUtf8(value); bad != std::string::npos)
            throw Error(ErrorCode::kInvalidArgument,
                        "query parameter '" + name + "' is not valid UTF-8", name);
        if (value.size() > kMaxQueryValueBytes)
            throw Error(ErrorCode::kUnprocessable,
                        "query parameter '" + name + "' is longer than " +
                            std::to_string(kMaxQueryValueBytes) + " bytes",
                        name);
        if (core::HasControlChar(value) || core::HasControlChar(name))
            throw Error(ErrorCode::kUnprocessable,
                        "query parameter '" + name + "' must not contain control characters", name);
    }
    CheckHeader(req, "authorization", "Authorization", 1024);
    CheckHeader(req, "x-tenant-id", "X-Tenant-ID", 64);
    CheckHeader(req, "idempotency-key", "Idempotency-Key", 1024);
    CheckHeader(req, "content-type", "Content-Type", 256);
}

void DecodeBody(const RouteSpec& route, Request& req) {
    if (route.body == BodyKind::kNone) return;
    const std::string* ct = req.Header("content-type");
    std::string media = ct ? LowerMediaType(*ct) : "";
    bool ndjson = IsNdjson(media);
    if (!IsJsonLike(media) && !(ndjson && route.body == BodyKind::kBulk))
        throw Error(
            ErrorCode::kUnsupportedMedia,
            "Content-Type must be application/json" +
                std::string(route.body == BodyKind::kBulk ? " or application/x-ndjson" : "") +
                ", got '" + media + "'",
            "Content-Type");
    switch (route.body) {
        case BodyKind::kJson:
            req.json = core::ParseJsonBody(req.body);
            return;
        case BodyKind::kOptionalJson:
            req.json = req.body.find_first_not_of(" \t\r\n") == std::string::npos
                           ? nlohmann::json::object()
                           : core::ParseJsonBody(req.body);
            return;
        case BodyKind::kBulk:
            req.items = ndjson ? NdjsonItems(req.body, route.max_items)
                               : ArrayItems(req.body, route.max_items);
            return;
        case BodyKind::kNone:
            return;
    }
}

nlohmann::json RejectedItem(const BulkItem& item, const core::Error& e) {
    nlohmann::json r = {{"index", item.index}, {"detail", e.detail()}};
    r["line"] = item.line ? nlohmann::json(*item.line) : nlohmann::json();
    r["field"] = e.field() ? nlohmann::json(*e.field()) : nlohmann::json();
    return r;
}

}  // namespace recs::api

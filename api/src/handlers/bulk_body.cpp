#include "handlers/bulk_body.hpp"

#include <string>

#include "recs/core/json_fields.hpp"

namespace recs::api {

std::vector<nlohmann::json> BulkItems(const Request& req, size_t max_items, std::string_view what) {
    std::string limit =
        "at most " + std::to_string(max_items) + " " + std::string(what) + " per request";
    std::vector<nlohmann::json> items;
    const std::string* ct = req.Header("content-type");
    if (ct && ct->find("application/x-ndjson") != std::string::npos) {
        const std::string& b = req.body;
        size_t pos = 0;
        while (pos < b.size()) {
            size_t end = b.find('\n', pos);
            if (end == std::string::npos) end = b.size();
            std::string_view line(b.data() + pos, end - pos);
            pos = end + 1;
            while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
                line.remove_suffix(1);
            if (line.empty()) continue;  // blank lines are skipped, not counted
            if (items.size() == max_items) core::ThrowUnprocessable(limit);
            items.push_back(nlohmann::json::parse(line, nullptr, false));
        }
        return items;
    }
    auto body = core::ParseJsonBody(req.body);
    if (!body.is_array())
        core::ThrowUnprocessable("the body must be a JSON array of " + std::string(what) +
                                 " (or NDJSON with Content-Type application/x-ndjson)");
    if (body.size() > max_items) core::ThrowUnprocessable(limit);
    items.reserve(body.size());
    for (auto& x : body) items.push_back(std::move(x));
    return items;
}

nlohmann::json RejectedItem(size_t index, const core::Error& e) {
    nlohmann::json r = {{"index", index}, {"detail", e.detail()}};
    r["field"] = e.field() ? nlohmann::json(*e.field()) : nlohmann::json();
    return r;
}

}  // namespace recs::api

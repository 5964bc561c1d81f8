#include "event_ingestor.hpp"

#include <map>
#include <nlohmann/json.hpp>

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"

namespace recs::api {

store::InsertResult EventIngestor::Submit(const core::TenantId& tenant,
                                          std::vector<core::Event> events) {
    auto p = std::make_shared<Pending>();
    p->tenant = tenant;
    p->events = std::move(events);
    auto fut = p->done.get_future();
    bool lead = false;
    {
        std::lock_guard lock(mu_);
        pending_.push_back(p);
        if (leaders_ < kMaxLeaders) {
            ++leaders_;
            lead = true;
        }
    }
    if (lead) Drain();
    return fut.get();
}

void EventIngestor::Drain() {
    for (;;) {
        std::vector<std::shared_ptr<Pending>> batch;
        {
            std::lock_guard lock(mu_);
            if (pending_.empty()) {
                --leaders_;
                return;
            }
            batch.swap(pending_);
        }
        std::map<std::string, std::vector<std::shared_ptr<Pending>>> by_tenant;
        for (auto& p : batch) by_tenant[p->tenant.value].push_back(p);
        for (auto& [tenant, group] : by_tenant) {
            // One caller's batch is written as it is; several are concatenated.
            std::vector<core::Event> merged;
            if (group.size() > 1)
                for (auto& p : group)
                    merged.insert(merged.end(), p->events.begin(), p->events.end());
            const std::vector<core::Event>& all = group.size() > 1 ? merged : group[0]->events;
            try {
                auto res = events_.Insert(core::TenantId{tenant}, all);
                std::vector<core::Event> dup_free;
                if (res.duplicates > 0)
                    for (size_t i = 0; i < all.size(); ++i)
                        if (res.inserted[i]) dup_free.push_back(all[i]);
                const auto& fresh = res.duplicates > 0 ? dup_free : all;
                try {
                    stream_.Append(core::TenantId{tenant}, fresh);
                } catch (const core::Error& e) {
                    // Stored durably already; the real-time layer misses them (logged).
                    core::Log(
                        core::LogLevel::kWarn, "event stream append failed",
                        {{"tenant", tenant}, {"events", fresh.size()}, {"error", e.detail()}});
                }
                size_t offset = 0;
                for (auto& p : group) {
                    store::InsertResult r;
                    for (size_t i = 0; i < p->events.size(); ++i) {
                        bool ins = res.inserted[offset + i];
                        r.inserted.push_back(ins);
                        ins ? ++r.accepted : ++r.duplicates;
                    }
                    offset += p->events.size();
                    p->done.set_value(std::move(r));
                }
            } catch (...) {
                for (auto& p : group) p->done.set_exception(std::current_exception());
            }
        }
    }
}

}  // namespace recs::api

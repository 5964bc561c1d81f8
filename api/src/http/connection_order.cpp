#include "http/connection_order.hpp"

namespace recs::api {

ConnectionOrder::Admit ConnectionOrder::Enter(const void* connection, Task task) {
    std::lock_guard lock(mu_);
    auto it = connections_.find(connection);
    if (it == connections_.end()) {
        connections_.emplace(connection, Connection{});
        return Admit::kRunNow;
    }
    if (it->second.closing || it->second.waiting.size() >= kMaxQueued) {
        it->second.closing = true;
        return Admit::kRefused;
    }
    it->second.waiting.push_back(std::move(task));
    return Admit::kQueued;
}

std::optional<ConnectionOrder::Task> ConnectionOrder::Done(const void* connection) {
    std::lock_guard lock(mu_);
    auto it = connections_.find(connection);
    if (it == connections_.end()) return std::nullopt;
    if (it->second.waiting.empty()) {
        connections_.erase(it);
        return std::nullopt;
    }
    Task next = std::move(it->second.waiting.front());
    it->second.waiting.pop_front();
    return next;
}

bool ConnectionOrder::Closing(const void* connection) const {
    std::lock_guard lock(mu_);
    auto it = connections_.find(connection);
    return it != connections_.end() && it->second.closing && it->second.waiting.empty();
}

void ConnectionOrder::Forget(const void* connection) {
    std::lock_guard lock(mu_);
    connections_.erase(connection);
}

size_t ConnectionOrder::busy() const {
    std::lock_guard lock(mu_);
    return connections_.size();
}

}  // namespace recs::api

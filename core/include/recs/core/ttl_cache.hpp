#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace recs::core {

/// A thread-safe cache whose entries are fresh for a TTL and evicted least-recently-used
/// beyond a capacity (never all at once). Expired entries stay until evicted, so that a caller
/// whose source is down can still serve a stale value (GetStale). Time is passed in, so that
/// tests need no sleeping.
template <typename K, typename V, typename Hash = std::hash<K>>
class TtlCache {
public:
    using Clock = std::chrono::steady_clock;

    TtlCache(std::chrono::milliseconds ttl, size_t capacity) : ttl_(ttl), capacity_(capacity) {}

    /// The value if present and younger than the TTL.
    std::optional<V> Get(const K& key, Clock::time_point now) {
        std::lock_guard lock(mu_);
        auto it = map_.find(key);
        if (it == map_.end() || now >= it->second.expires) return std::nullopt;
        Touch(it);
        return it->second.value;
    }

    /// The value if present and stored less than `max_age` ago, fresh or not.
    std::optional<V> GetStale(const K& key,
                              Clock::time_point now,
                              std::chrono::milliseconds max_age) {
        std::lock_guard lock(mu_);
        auto it = map_.find(key);
        if (it == map_.end() || now - it->second.stored > max_age) return std::nullopt;
        return it->second.value;
    }

    void Put(const K& key, V value, Clock::time_point now) {
        std::lock_guard lock(mu_);
        auto it = map_.find(key);
        if (it != map_.end()) {
            it->second.value = std::move(value);
            it->second.stored = now;
            it->second.expires = now + ttl_;
            Touch(it);
            return;
        }
        lru_.push_front(key);
        map_.emplace(key, Entry{std::move(value), now, now + ttl_, lru_.begin()});
        while (map_.size() > capacity_) {
            map_.erase(lru_.back());
            lru_.pop_back();
        }
    }

    /// Removes every entry for which pred(key, value) holds.
    void EraseIf(const std::function<bool(const K&, const V&)>& pred) {
        std::lock_guard lock(mu_);
        for (auto it = map_.begin(); it != map_.end();) {
            if (pred(it->first, it->second.value)) {
                lru_.erase(it->second.pos);
                it = map_.erase(it);
            } else {
                ++it;
            }
        }
    }

    size_t size() const {
        std::lock_guard lock(mu_);
        return map_.size();
    }

private:
    struct Entry {
        V value;
        Clock::time_point stored;
        Clock::time_point expires;
        typename std::list<K>::iterator pos;
    };
    void Touch(typename std::unordered_map<K, Entry, Hash>::iterator it) {
        lru_.splice(lru_.begin(), lru_, it->second.pos);
    }

    std::chrono::milliseconds ttl_;
    size_t capacity_;
    mutable std::mutex mu_;
    std::list<K> lru_;  ///< front = most recently used
    std::unordered_map<K, Entry, Hash> map_;
};

}  // namespace recs::core

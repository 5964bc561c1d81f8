#pragma once

#include <string>

namespace recs::store::redis_keys {

/// The one list of job ids that workers pop (ids are leased in PostgreSQL, so a duplicate id
/// in the list is harmless).
inline std::string JobQueue() { return "recs:jobs:queue"; }

/// A tenant's event stream (consumed by the real-time layer).
inline std::string EventStream(const std::string& tenant_id) {
    return "recs:t:" + tenant_id + ":events";
}

}  // namespace recs::store::redis_keys

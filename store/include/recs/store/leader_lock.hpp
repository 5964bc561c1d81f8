#pragma once

#include <memory>
#include <string>

namespace recs::store {

/// Leadership among processes of one role: a PostgreSQL session advisory lock held on a
/// connection of its own. When the leader's process dies or its connection drops, the server
/// releases the lock and a standby's next TryAcquire takes it.
class LeaderLock {
public:
    virtual ~LeaderLock() = default;
    /// True when this process holds the lock now (taking it if free). Checks a held lock's
    /// connection with a bounded round trip, so a leader that lost its session steps down.
    /// Never throws: a database that does not answer means "not the leader".
    virtual bool TryAcquire() = 0;
    /// Gives the lock up (closing its connection).
    virtual void Release() = 0;
};

/// A leader lock named by `name` (hashed to the advisory lock key) on the server of `dsn`.
std::unique_ptr<LeaderLock> MakePgLeaderLock(const std::string& dsn, const std::string& name);

}  // namespace recs::store

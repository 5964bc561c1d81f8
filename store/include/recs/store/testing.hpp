#pragma once

#include <string>
#include <vector>

namespace recs::store {

class PgPool;

/// Helpers for tests and tools only: raw SQL never appears outside store/.

/// Creates database `name` on the server of `dsn` (connecting to that DSN's database).
void CreateDatabaseForTesting(const std::string& dsn, const std::string& name);
/// Drops database `name`, terminating its connections.
void DropDatabaseForTesting(const std::string& dsn, const std::string& name);
/// Returns `dsn` with its database replaced by `name` (URL form postgresql://.../db).
std::string DsnWithDatabase(const std::string& dsn, const std::string& name);
/// Runs SQL and returns the first column of every row as text ("" for NULL).
std::vector<std::string> QueryForTesting(PgPool& pool, const std::string& sql);

}  // namespace recs::store

#include <memory>

namespace recs::store {

/// Holds `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE` in an open transaction until destroyed
/// (or Release()), so that tests can keep a request in flight.
class TableLockForTesting {
public:
    TableLockForTesting(const std::string& dsn, const std::string& table);
    ~TableLockForTesting();
    void Release();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace recs::store

#include "recs/store/testing.hpp"

#include "pg/pg_pool_impl.hpp"

namespace recs::store {

void CreateDatabaseForTesting(const std::string& dsn, const std::string& name) {
    pqxx::connection c(dsn);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + tx.quote_name(name));
}

void DropDatabaseForTesting(const std::string& dsn, const std::string& name) {
    pqxx::connection c(dsn);
    pqxx::nontransaction tx(c);
    tx.exec_params("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                   name);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name));
}

std::string DsnWithDatabase(const std::string& dsn, const std::string& name) {
    auto scheme = dsn.find("://");
    auto slash = dsn.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    if (slash == std::string::npos) return dsn + "/" + name;
    auto q = dsn.find('?', slash);
    return dsn.substr(0, slash + 1) + name + (q == std::string::npos ? "" : dsn.substr(q));
}

std::vector<std::string> QueryForTesting(PgPool& pool, const std::string& sql) {
    std::vector<std::string> out;
    WithConnection(pool, "testing", [&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        for (const auto& r : tx.exec(sql)) out.push_back(r[0].is_null() ? "" : r[0].c_str());
    });
    return out;
}

}  // namespace recs::store

namespace recs::store {

struct TableLockForTesting::Impl {
    pqxx::connection conn;
    std::unique_ptr<pqxx::work> tx;
    explicit Impl(const std::string& dsn) : conn(dsn) {}
};

TableLockForTesting::TableLockForTesting(const std::string& dsn, const std::string& table)
    : impl_(std::make_unique<Impl>(dsn)) {
    impl_->tx = std::make_unique<pqxx::work>(impl_->conn);
    impl_->tx->exec("LOCK TABLE " + impl_->tx->quote_name(table) + " IN ACCESS EXCLUSIVE MODE");
}

TableLockForTesting::~TableLockForTesting() { Release(); }

void TableLockForTesting::Release() {
    if (impl_ && impl_->tx) {
        impl_->tx->abort();
        impl_->tx.reset();
    }
}

}  // namespace recs::store

#include "pg/pg_pool_impl.hpp"
#include "pg/queries/tenants.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::store {
namespace {

class PgIdempotencyRepository final : public IdempotencyRepository {
public:
    explicit PgIdempotencyRepository(PgPool& pool) : pool_(pool) {}

    std::optional<IdempotentResponse> Find(const std::string& scope,
                                           const std::string& key) override {
        std::optional<IdempotentResponse> out;
        WithConnection(pool_, "idempotency.find", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            auto r = tx.exec_params(std::string(pg::kSelectIdempotency), scope, key);
            if (!r.empty())
                out = IdempotentResponse{r[0][0].as<std::string>(), r[0][1].as<int>(),
                                         r[0][2].as<std::string>()};
        });
        return out;
    }

    void Save(const std::string& scope,
              const std::string& key,
              const IdempotentResponse& resp) override {
        WithConnection(pool_, "idempotency.save", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(std::string(pg::kInsertIdempotency), scope, key, resp.request_hash,
                           resp.status, resp.body);
        });
    }

private:
    PgPool& pool_;
};

}  // namespace

std::unique_ptr<IdempotencyRepository> MakePgIdempotencyRepository(PgPool& pool) {
    return std::make_unique<PgIdempotencyRepository>(pool);
}

}  // namespace recs::store

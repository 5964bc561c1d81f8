#include "pg/pg_pool_impl.hpp"
#include "pg/queries/tenants.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::store {
namespace {

class PgIdempotencyRepository final : public IdempotencyRepository {
public:
    explicit PgIdempotencyRepository(PgPool& pool) : pool_(pool) {}

    IdempotencyClaim Claim(const std::string& scope,
                           const std::string& key,
                           const std::string& request_hash) override {
        IdempotencyClaim out;
        WithConnection(pool_, "idempotency.claim", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            if (!tx.exec_params(std::string(pg::kClaimIdempotency), scope, key, request_hash)
                     .empty()) {
                out.kind = IdempotencyClaim::Kind::kClaimed;
                return;
            }
            auto r = tx.exec_params(std::string(pg::kSelectIdempotency), scope, key);
            if (r.empty()) {  // dropped between the two statements: someone abandoned it
                out.kind = IdempotencyClaim::Kind::kInFlight;
                return;
            }
            out.response = IdempotentResponse{r[0][0].as<std::string>(), r[0][1].as<int>(),
                                              r[0][2].as<std::string>()};
            if (out.response.request_hash != request_hash)
                out.kind = IdempotencyClaim::Kind::kMismatch;
            else if (r[0][3].as<std::string>() == "pending")
                out.kind = IdempotencyClaim::Kind::kInFlight, out.abandoned = r[0][4].as<bool>();
            else
                out.kind = IdempotencyClaim::Kind::kReplay;
        });
        return out;
    }

    void Complete(const std::string& scope,
                  const std::string& key,
                  int status,
                  const std::string& body) override {
        WithConnection(pool_, "idempotency.complete", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(std::string(pg::kCompleteIdempotency), scope, key, status, body);
        });
    }

    void Abandon(const std::string& scope, const std::string& key) override {
        WithConnection(pool_, "idempotency.abandon", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params(std::string(pg::kAbandonIdempotency), scope, key);
        });
    }

    int Expire(int limit) override {
        int n = 0;
        WithConnection(pool_, "idempotency.expire", [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            n = static_cast<int>(
                tx.exec_params(std::string(pg::kExpireIdempotency), limit).affected_rows());
        });
        return n;
    }

private:
    PgPool& pool_;
};

}  // namespace

std::unique_ptr<IdempotencyRepository> MakePgIdempotencyRepository(PgPool& pool) {
    return std::make_unique<PgIdempotencyRepository>(pool);
}

}  // namespace recs::store

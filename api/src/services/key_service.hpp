#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/tenancy.hpp"

namespace recs::store {
class KeyRepository;
}

namespace recs::api {

/// POST /keys, decoded once at the edge: scopes are known names, each once, in the order
/// sent. Throws core::Error(kUnprocessable) naming the field (`scopes[2]` for one entry).
struct CreateKeyRequest {
    std::string name;
    std::vector<std::string> scopes;
    std::optional<int64_t> expires_in_s;  ///< 60 s .. 10 years; nullopt = never
};

CreateKeyRequest DecodeCreateKey(const nlohmann::json& body);

/// A key as created: the plaintext is returned this once and never stored.
struct CreatedKey {
    core::ApiKey key;
    std::string plaintext;
};

/// API keys of a tenant: generation (only the prefix and the SHA-256 of the plaintext reach
/// the repository) and revocation.
class KeyService {
public:
    explicit KeyService(store::KeyRepository& keys);

    CreatedKey Create(const core::Actor& actor,
                      const core::TenantId& tenant,
                      const CreateKeyRequest& request);
    /// kNotFound for another tenant's key, an unknown or an already revoked one.
    void Revoke(const core::Actor& actor, const core::TenantId& tenant, const std::string& id);

private:
    store::KeyRepository& keys_;
};

}  // namespace recs::api

#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "recs/core/tenancy.hpp"

namespace recs::store {

/// Writes one audit row inside the caller's transaction. Never pass secrets in before/after.
void WriteAudit(pqxx::work& tx,
                const std::optional<std::string>& tenant_id,
                const core::Actor& actor,
                const std::string& action,
                const std::string& resource,
                const std::string& resource_id,
                const nlohmann::json& before,
                const nlohmann::json& after);

}  // namespace recs::store

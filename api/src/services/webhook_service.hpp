#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/tenancy.hpp"
#include "recs/store/webhook_store.hpp"

namespace recs::api {

/// POST /webhooks, decoded at the edge. Throws core::Error(kUnprocessable) naming the field.
struct CreateWebhookRequest {
    std::string url;
    std::vector<std::string> events;
    std::string description;
    std::optional<std::string> secret;
};
/// The URL's form is checked here; its addresses (IP literals too) are judged by the delivery,
/// on every connection after resolution, with the reason recorded on the attempt.
CreateWebhookRequest DecodeCreateWebhook(const nlohmann::json& body, bool allow_private);
store::WebhookPatch DecodeWebhookPatch(const nlohmann::json& body, bool allow_private);

nlohmann::json WebhookJson(const store::Webhook& w);
nlohmann::json DeliveryJson(const store::WebhookDelivery& d);

/// Webhook endpoints of a tenant: secrets are made here (shown once), the rest is stored.
class WebhookService {
public:
    WebhookService(store::WebhookRepository& repo, bool allow_private);
    /// The endpoint and its secret (the one time it is shown).
    std::pair<store::Webhook, std::string> Create(const core::Actor& actor,
                                                  const core::TenantId& tenant,
                                                  const CreateWebhookRequest& request);
    /// {id, secret, previous_secret_expires_at}.
    nlohmann::json Rotate(const core::Actor& actor,
                          const core::TenantId& tenant,
                          const std::string& id);
    store::WebhookRepository& repo() { return repo_; }
    bool allow_private() const { return allow_private_; }

private:
    store::WebhookRepository& repo_;
    bool allow_private_;
};

}  // namespace recs::api

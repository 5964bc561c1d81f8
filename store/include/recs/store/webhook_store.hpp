#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/tenancy.hpp"
#include "recs/store/page.hpp"

namespace recs::store {

class PgPool;

/// A tenant's webhook endpoint. The secrets are only read by the delivery side and shown once
/// by the api (at creation and rotation).
struct Webhook {
    std::string id;
    std::string tenant_id;
    std::string url;
    std::vector<std::string> events;
    std::string description;
    std::string status;  ///< "active" | "disabled"
    std::optional<std::string> disabled_reason;
    std::optional<std::string> failing_since;
    std::optional<std::string> secret_rotated_at;
    std::string created_at, updated_at;
};

/// What a change of an endpoint sets; unset fields stay.
struct WebhookPatch {
    std::optional<std::string> url;
    std::optional<std::vector<std::string>> events;
    std::optional<std::string> description;
    std::optional<std::string> status;
};

/// One attempt of a delivery.
struct WebhookAttempt {
    int attempt = 0;
    std::string at;
    std::string outcome;  ///< succeeded | failed | timeout | refused | error
    double duration_ms = 0;
    std::optional<int> response_code;
    std::optional<std::string> response_body;  ///< at most 1 KiB
    std::optional<std::string> error;
};

/// One event to one endpoint, with every attempt so far.
struct WebhookDelivery {
    std::string id;
    std::string webhook_id;
    std::string event_id;  ///< the webhook-id header, the same on every retry
    std::string type;
    std::string payload;  ///< the body sent: {"type", "timestamp", "data"}
    std::string status;   ///< pending | succeeded | dead
    int attempt_count = 0;
    std::optional<std::string> next_attempt_at;
    std::string created_at;
    std::vector<WebhookAttempt> attempts;
};

/// A due delivery leased by a worker, with what it needs to send it.
struct ClaimedDelivery {
    std::string id;
    std::string tenant_id;
    std::string webhook_id;
    std::string event_id;
    std::string payload;
    int attempt = 0;        ///< this attempt's number (1-based)
    int failed_before = 0;  ///< failures since the schedule last started (a manual retry)
    std::string url;
    std::vector<std::string> secrets;  ///< the current one first, then one still valid
};

/// How an attempt ended, as the worker records it.
struct AttemptResult {
    std::string outcome;  ///< succeeded | failed | timeout | refused | error
    double duration_ms = 0;
    std::optional<int> response_code;
    std::optional<std::string> response_body;
    std::optional<std::string> error;
    /// When the delivery is tried next (failures); nullopt: it is dead.
    std::optional<int64_t> retry_in_ms;
};

/// Endpoints, their outbox and attempts. Events are written into the outbox by the database
/// in the transaction of the change they report (migrations/0009); `Emit` is for the events
/// the code itself raises (a ping, quota.exceeded). Every read and write filters by tenant.
class WebhookRepository {
public:
    virtual ~WebhookRepository() = default;
    virtual Webhook Create(const core::Actor& actor,
                           const core::TenantId& tenant,
                           const Webhook& w,
                           const std::string& secret) = 0;
    virtual std::optional<Webhook> Find(const core::TenantId& tenant, const std::string& id) = 0;
    virtual Page<Webhook> List(const core::TenantId& tenant, const PageRequest& page) = 0;
    /// kNotFound for another tenant's or an unknown id. Re-enabling clears failing_since.
    virtual Webhook Update(const core::Actor& actor,
                           const core::TenantId& tenant,
                           const std::string& id,
                           const WebhookPatch& patch) = 0;
    virtual void Delete(const core::Actor& actor,
                        const core::TenantId& tenant,
                        const std::string& id) = 0;
    /// The new secret signs from now on; the old one beside it for `overlap_s` seconds.
    /// Returns the time the old one stops (RFC 3339).
    virtual std::string RotateSecret(const core::Actor& actor,
                                     const core::TenantId& tenant,
                                     const std::string& id,
                                     const std::string& new_secret,
                                     int64_t overlap_s) = 0;
    /// Queues a `ping` to one endpoint (active or not); returns the delivery.
    virtual WebhookDelivery Ping(const core::TenantId& tenant, const std::string& id) = 0;
    virtual Page<WebhookDelivery> Deliveries(const core::TenantId& tenant,
                                             const std::string& webhook_id,
                                             const std::optional<std::string>& status,
                                             const PageRequest& page) = 0;
    /// A succeeded or dead delivery queued again (same event id); kConflict while pending.
    virtual WebhookDelivery Retry(const core::TenantId& tenant,
                                  const std::string& webhook_id,
                                  const std::string& delivery_id) = 0;
    /// Raises an event for the tenant's subscribed endpoints; returns its id.
    virtual std::string Emit(const core::TenantId& tenant,
                             const std::string& type,
                             const std::string& data_json) = 0;

    // The delivery side (workers).
    /// Leases up to `limit` due deliveries of active endpoints for `lease_ms`.
    virtual std::vector<ClaimedDelivery> Claim(const std::string& owner,
                                               int limit,
                                               int64_t lease_ms) = 0;
    /// Records the attempt of a leased delivery and its next state, and the endpoint's health:
    /// a success clears failing_since; a failure past `disable_after_s` of failing disables
    /// the endpoint (webhook.disabled to the tenant's other endpoints, an audit row). False
    /// when the lease was lost (another worker has it now): nothing is recorded.
    virtual bool Record(const ClaimedDelivery& d,
                        const std::string& owner,
                        const AttemptResult& result,
                        int64_t disable_after_s) = 0;
};

std::unique_ptr<WebhookRepository> MakePgWebhookRepository(PgPool& pool);

}  // namespace recs::store

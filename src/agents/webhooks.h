// Webhooks (SPEC §5, docs/webhooks.md): a tenant's targets, and the durable, signed, retried
// delivery of events to them.
//
// - Targets: created per tenant with a secret generated here (shown once, stored only sealed
//   under the tenant's "webhook" data key), listed, deleted (with their pending deliveries and
//   dead letters). URLs pass refuse_webhook_url (https, SSRF) at creation.
// - enqueue() writes a delivery row (its payload sealed) and returns once it is durable: a
//   restart does not lose it. Worker threads on every node claim due deliveries from the store
//   under a lease (a node that dies mid-attempt has its deliveries taken over when the lease
//   ends), POST them signed (agents/webhook_signature.h), and on failure (no 2xx, network error,
//   timeout, a refused address) retry after an exponential backoff with full jitter; after
//   max_attempts the delivery is a dead letter, listed per webhook and redeliverable.
// - Tenant isolation: every lookup takes the caller's tenant. An id of another tenant's webhook
//   or delivery is reported exactly like an unknown one (WebhookNotFound), and is counted as a
//   tenant-access violation (foreign() is set so the API can audit it).
//
// Blocking (store, DNS): call from a work pool or a worker thread, never from an I/O thread.
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/config.h"

namespace pc::store {
class Store;
struct WebhookRecord;
struct WebhookDeliveryRecord;
}  // namespace pc::store
namespace pc::vault {
class DataKeys;
}

namespace pc::agents {

inline constexpr std::string_view kWebhookDataClass = "webhook";
inline constexpr std::size_t kMaxWebhooksPerTenant = 100;
inline constexpr std::size_t kMaxWebhookPayloadBytes = 1 << 20;

// No such webhook or delivery for this tenant. foreign(): the id exists but belongs to another
// tenant (already counted as a violation; the API answers the same 404 and audits it).
class WebhookNotFound : public std::runtime_error {
 public:
  WebhookNotFound(std::string what, bool foreign) : std::runtime_error(std::move(what)), foreign_(foreign) {}
  bool foreign() const { return foreign_; }

 private:
  bool foreign_;
};

struct WebhookInfo {
  std::string webhook_id;
  std::string url;
  std::string description;
  std::string created_at;
  std::string created_by;
};

// A delivery as the API shows it (never its payload).
struct DeliveryInfo {
  std::string delivery_id;
  std::string webhook_id;
  std::string event_type;
  std::string status;  // pending | delivering | delivered | dead
  int attempts = 0;
  int last_status = 0;  // 0: no HTTP answer
  std::string last_error;
  std::string created_at;
  std::string updated_at;
};

// A2A push notifications (a2a/push_relay.h) ride the same queue. A push
// delivery is a webhook_deliveries row with event type kA2aPushEvent whose webhook_id is the
// relay id of a push config (never a webhook id: those start "wh_"); its body is the runtime's
// notification as received, sent unwrapped, and its target and headers come from PushHooks (the
// agents layer knows neither A2A configs nor the gateway's signing keys).
inline constexpr std::string_view kA2aPushEvent = "a2a.push";
inline constexpr std::string_view kA2aPushIdPrefix = "a2ap_";

struct PushTarget {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // the client's: X-A2A-Notification-Token, Authorization
};
struct PushHooks {
  // Where one push delivery goes (blocking: store, unsealing); nullopt when its config is gone
  // (the delivery becomes a dead letter). May throw (retried like a failed attempt).
  std::function<std::optional<PushTarget>(const std::string& tenant, const std::string& relay_id)> target;
  // The gateway's signature of one attempt, as headers (e.g. a JWT verifiable with its JWKS).
  std::function<std::vector<std::pair<std::string, std::string>>(const std::string& relay_id,
                                                                 const std::string& delivery_id,
                                                                 std::string_view url, std::string_view body)>
      sign;
  // Each attempt's outcome: delivered, retry, dead (metrics).
  std::function<void(std::string_view outcome)> outcome;
};

class Webhooks {
 public:
  // `store` and `keys` must outlive this object. Nothing is delivered until start().
  Webhooks(store::Store& store, vault::DataKeys& keys, core::WebhooksConfig config);
  ~Webhooks();  // stop()
  Webhooks(const Webhooks&) = delete;
  Webhooks& operator=(const Webhooks&) = delete;

  void start();  // the delivery workers
  void stop();   // lets each worker finish its attempt in flight, then joins; idempotent
  void set_config(const core::WebhooksConfig& config);  // a reload; applies to the next attempt
  core::WebhooksConfig config() const;

  struct Created {
    WebhookInfo info;
    std::string secret;  // shown once; the caller cleanses it when sent
  };
  // Throws std::invalid_argument (the message is safe to answer) for a refused URL, a
  // description over 256 characters, or a tenant that has kMaxWebhooksPerTenant already.
  Created create(const std::string& tenant, std::string_view url, std::string_view description,
                 const std::string& created_by);
  // By id, ids greater than `after`, at most `limit`.
  std::vector<WebhookInfo> list(const std::string& tenant, std::string_view after, std::size_t limit);
  WebhookInfo get(const std::string& tenant, const std::string& webhook_id);  // throws WebhookNotFound
  void remove(const std::string& tenant, const std::string& webhook_id);     // throws WebhookNotFound
  // For the invoke route's webhookId check: false for an unknown id and for another tenant's (a
  // violation is counted for the latter).
  bool exists(const std::string& tenant, const std::string& webhook_id);

  // Queues one event for delivery and returns its delivery id once the row is durable.
  // `payload_json` must be one JSON value (it becomes the body's "data"), at most 1 MiB.
  // Throws WebhookNotFound (unknown or foreign webhook), std::invalid_argument (bad event type
  // or payload), store::StoreError. Wakes this node's workers.
  std::string enqueue(const std::string& tenant, const std::string& webhook_id, std::string_view event_type,
                      std::string_view payload_json);
  // A "ping" event to the webhook, to check a receiver end to end.
  std::string ping(const std::string& tenant, const std::string& webhook_id);

  std::vector<DeliveryInfo> dead_letters(const std::string& tenant, const std::string& webhook_id,
                                         std::string_view after, std::size_t limit);
  // A dead letter becomes pending again (attempts reset), due now. Throws WebhookNotFound for an
  // unknown (or foreign) webhook or delivery; false when the delivery is not dead.
  bool redeliver(const std::string& tenant, const std::string& webhook_id, const std::string& delivery_id);
  // nullopt for an unknown id; WebhookNotFound (foreign, counted) for another tenant's.
  std::optional<DeliveryInfo> delivery(const std::string& tenant, const std::string& delivery_id);

  // Set once, before start(): how push deliveries find their target and are signed.
  void set_push_hooks(PushHooks hooks);
  // Queues one A2A push notification (`body`: one JSON value, at most 1 MiB, sent as is) to the
  // push config `relay_id` of `tenant`; returns the delivery id once the row is durable. Throws
  // std::invalid_argument (bad body), store::StoreError (kind gone: no such config or tenant).
  std::string enqueue_push(const std::string& tenant, const std::string& relay_id, std::string_view body);

  // One pass of a worker: claims and attempts at most `limit` due deliveries; returns how many
  // were attempted. For tests (the workers call it in a loop).
  std::size_t run_due(std::size_t limit = 1);

  // The body of a delivery, as signed and sent (exposed for tests).
  static std::string delivery_body(const store::WebhookDeliveryRecord& d, std::string_view payload_json);

 private:
  store::WebhookRecord owned(const std::string& tenant, const std::string& webhook_id);
  void attempt(store::WebhookDeliveryRecord d, const core::WebhooksConfig& cfg);
  void worker_loop();
  void purge_if_due(const core::WebhooksConfig& cfg);

  store::Store& store_;
  vault::DataKeys& keys_;
  const std::string node_;  // claimed_by: random per process

  mutable std::mutex mu_;
  core::WebhooksConfig config_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::uint64_t wakeups_ = 0;
  std::vector<std::thread> workers_;
  std::int64_t next_purge_ms_ = 0;
  PushHooks push_hooks_;  // ---- a2a push (issue 11); guarded by mu_
};

}  // namespace pc::agents

#include "agents/webhooks.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <random>

#include "agents/webhook_signature.h"
#include "agents/webhook_targets.h"
#include "core/thread_priority.h"
#include "core/clock.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/associated_data.h"
#include "crypto/random.h"
#include "net/http_client.h"
#include "store/store.h"
#include "store/tenant_store.h"
#include "vault/data_keys.h"

namespace pc::agents {
namespace {

constexpr std::size_t kMaxDescription = 256;
constexpr std::size_t kMaxEventType = 64;
// A claim lasts twice the attempt's own timeout plus this, before another node may take the
// delivery over: room for the attempt's store writes and a loaded machine's scheduling, yet a
// delivery whose node died is retried within seconds of the timeout, not minutes.
constexpr std::int64_t kLeaseMarginMs = 5000;
constexpr std::int64_t kPurgeIntervalMs = 3600 * 1000;
// What we read of a receiver's answer: only the status matters; a longer body fails the attempt
// rather than being buffered.
constexpr std::size_t kMaxReceiverBody = 64 * 1024;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string secret_aad(const std::string& tenant, const std::string& webhook_id) {
  return crypto::row_aad(tenant, "webhooks", webhook_id, "secret_sealed");
}
std::string payload_aad(const std::string& tenant, const std::string& delivery_id) {
  return crypto::row_aad(tenant, "webhook_deliveries", delivery_id, "payload_sealed");
}

WebhookInfo info_of(const store::WebhookRecord& w) {
  return {w.webhook_id, w.url, w.description, w.created_at, w.created_by};
}

DeliveryInfo info_of(const store::WebhookDeliveryRecord& d) {
  return {d.delivery_id, d.webhook_id, d.event_type, d.status, d.attempts,
          d.last_status, d.last_error, d.created_at, d.updated_at};
}

TargetRules rules_of(const core::WebhooksConfig& c) { return {c.allow_private_targets, c.allow_http}; }

core::Counter& outcome_counter(std::string_view outcome) {
  static core::CounterFamily& family = core::metrics().counter(
      "portcullis_webhook_deliveries_total",
      "Webhook delivery attempts by outcome: delivered, retry (failed, will be retried), dead (failed for the last time)",
      {"outcome"});
  return family.labels({outcome});
}

// Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"): a uniformly random wait
// in [0, min(max, initial · 2^(n-1))]. Many deliveries failing together (a receiver down) then
// spread their retries instead of arriving in waves.
std::int64_t backoff_ms(int attempts, const core::WebhooksConfig& c) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  double cap = static_cast<double>(c.backoff_initial_ms);
  for (int i = 1; i < attempts && cap < c.backoff_max_ms; ++i) cap *= 2;
  const auto upper = static_cast<std::int64_t>(std::min<double>(cap, c.backoff_max_ms));
  return std::uniform_int_distribution<std::int64_t>(0, upper)(rng);
}

bool is_push_delivery(const store::WebhookDeliveryRecord& d) {
  return d.event_type == kA2aPushEvent && d.webhook_id.starts_with(kA2aPushIdPrefix);
}

bool valid_event_type(std::string_view t) {
  if (t.empty() || t.size() > kMaxEventType) return false;
  for (char c : t)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

// A short, loggable reason (no URL query, no body).
std::string trimmed(std::string s) {
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  return s;
}

}  // namespace

Webhooks::Webhooks(store::Store& store, vault::DataKeys& keys, core::WebhooksConfig config)
    : store_(store), keys_(keys), node_("node-" + crypto::random_hex(8)), config_(config) {}

Webhooks::~Webhooks() { stop(); }

void Webhooks::start() {
  std::lock_guard lock(mu_);
  if (!workers_.empty() || stopping_) return;
  for (unsigned i = 0; i < std::max(1u, config_.workers); ++i) workers_.emplace_back([this] {
      // Deliveries only have to keep up: below the I/O threads (core/thread_priority.h).
      core::name_this_thread("webhooks");
      core::lower_this_thread_priority(core::kWriterNice);
      worker_loop();
    });
}

void Webhooks::stop() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    workers.swap(workers_);
  }
  cv_.notify_all();
  for (auto& t : workers)
    if (t.joinable()) t.join();
}

void Webhooks::set_config(const core::WebhooksConfig& config) {
  std::lock_guard lock(mu_);
  config_ = config;  // `workers` takes effect at the next start
}

core::WebhooksConfig Webhooks::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

store::WebhookRecord Webhooks::owned(const std::string& tenant, const std::string& webhook_id) {
  auto w = store_.find_webhook(webhook_id);
  if (!w) throw WebhookNotFound("no webhook of that id", false);
  if (w->tenant_id != tenant) {
    store::count_tenant_access_violation();
    log::warn("tenant access violation", {{"tenant", tenant}, {"resource", "webhook " + webhook_id}, {"owner", w->tenant_id}});
    throw WebhookNotFound("no webhook of that id", true);
  }
  return *w;
}

Webhooks::Created Webhooks::create(const std::string& tenant, std::string_view url, std::string_view description,
                                   const std::string& created_by) {
  if (description.size() > kMaxDescription)
    throw std::invalid_argument("description is longer than " + std::to_string(kMaxDescription) + " characters");
  if (auto why = refuse_webhook_url(url, rules_of(config()))) throw std::invalid_argument(*why);
  if (store_.list_webhooks(tenant, "", kMaxWebhooksPerTenant).size() >= kMaxWebhooksPerTenant)
    throw std::invalid_argument("this tenant has " + std::to_string(kMaxWebhooksPerTenant) +
                                " webhooks already; delete one first");
  store::WebhookRecord w;
  w.webhook_id = "wh_" + crypto::random_hex(12);
  w.tenant_id = tenant;
  w.url = std::string(url);
  w.description = std::string(description);
  w.created_by = created_by;
  w.created_at = core::rfc3339_now();
  Created out;
  out.secret = "whsec_" + crypto::random_token(32);
  w.secret_sealed = keys_.seal(tenant, kWebhookDataClass, secret_aad(tenant, w.webhook_id), out.secret);
  store_.insert_webhook(w);
  out.info = info_of(w);
  log::info("webhook created", {{"tenant", tenant}, {"webhook", w.webhook_id}, {"by", created_by}});
  return out;
}

std::vector<WebhookInfo> Webhooks::list(const std::string& tenant, std::string_view after, std::size_t limit) {
  std::vector<WebhookInfo> out;
  for (const auto& w : store_.list_webhooks(tenant, after, limit)) out.push_back(info_of(w));
  return out;
}

WebhookInfo Webhooks::get(const std::string& tenant, const std::string& webhook_id) {
  return info_of(owned(tenant, webhook_id));
}

void Webhooks::remove(const std::string& tenant, const std::string& webhook_id) {
  owned(tenant, webhook_id);
  if (!store_.delete_webhook(webhook_id)) throw WebhookNotFound("no webhook of that id", false);
  log::info("webhook deleted", {{"tenant", tenant}, {"webhook", webhook_id}});
}

bool Webhooks::exists(const std::string& tenant, const std::string& webhook_id) {
  try {
    owned(tenant, webhook_id);
    return true;
  } catch (const WebhookNotFound&) {
    return false;
  }
}

std::string Webhooks::delivery_body(const store::WebhookDeliveryRecord& d, std::string_view payload_json) {
  // Built by hand so the payload's bytes are sent as they were given (re-serialising could
  // reorder or reformat what the producer meant).
  std::string body = "{\"id\":";
  core::append_json_string(body, d.delivery_id);
  body += ",\"type\":";
  core::append_json_string(body, d.event_type);
  body += ",\"webhookId\":";
  core::append_json_string(body, d.webhook_id);
  body += ",\"createdAt\":";
  core::append_json_string(body, d.created_at);
  body += ",\"data\":";
  body.append(payload_json);
  body += "}";
  return body;
}

std::string Webhooks::enqueue(const std::string& tenant, const std::string& webhook_id, std::string_view event_type,
                              std::string_view payload_json) {
  if (!valid_event_type(event_type) || event_type == kA2aPushEvent)
    throw std::invalid_argument("event type must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
  if (payload_json.size() > kMaxWebhookPayloadBytes) throw std::invalid_argument("webhook payload is over 1 MiB");
  boost::system::error_code ec;
  boost::json::parse(payload_json, ec);
  if (ec) throw std::invalid_argument("webhook payload is not one JSON value");
  owned(tenant, webhook_id);

  store::WebhookDeliveryRecord d;
  d.delivery_id = "dlv_" + crypto::random_hex(12);
  d.tenant_id = tenant;
  d.webhook_id = webhook_id;
  d.event_type = std::string(event_type);
  d.payload_sealed = keys_.seal(tenant, kWebhookDataClass, payload_aad(tenant, d.delivery_id), payload_json);
  d.status = "pending";
  d.next_attempt_ms = now_ms();
  d.created_at = core::rfc3339_now();
  store_.insert_webhook_delivery(d);  // durable from here on
  {
    std::lock_guard lock(mu_);
    ++wakeups_;
  }
  cv_.notify_one();
  return d.delivery_id;
}

void Webhooks::set_push_hooks(PushHooks hooks) {
  std::lock_guard lock(mu_);
  push_hooks_ = std::move(hooks);
}

std::string Webhooks::enqueue_push(const std::string& tenant, const std::string& relay_id, std::string_view body) {
  if (body.size() > kMaxWebhookPayloadBytes) throw std::invalid_argument("push notification is over 1 MiB");
  boost::system::error_code ec;
  boost::json::parse(body, ec);
  if (ec) throw std::invalid_argument("push notification is not one JSON value");
  if (!relay_id.starts_with(kA2aPushIdPrefix)) throw std::invalid_argument("not a push config id");
  store::WebhookDeliveryRecord d;
  d.delivery_id = "dlv_" + crypto::random_hex(12);
  d.tenant_id = tenant;
  d.webhook_id = relay_id;
  d.event_type = std::string(kA2aPushEvent);
  d.payload_sealed = keys_.seal(tenant, kWebhookDataClass, payload_aad(tenant, d.delivery_id), body);
  d.status = "pending";
  d.next_attempt_ms = now_ms();
  d.created_at = core::rfc3339_now();
  store_.insert_a2a_push_delivery(d);  // durable from here on
  {
    std::lock_guard lock(mu_);
    ++wakeups_;
  }
  cv_.notify_one();
  return d.delivery_id;
}

std::string Webhooks::ping(const std::string& tenant, const std::string& webhook_id) {
  boost::json::object data{{"webhookId", webhook_id}, {"message", "ping from portcullis"}};
  return enqueue(tenant, webhook_id, "ping", core::json_text(data));
}

std::vector<DeliveryInfo> Webhooks::dead_letters(const std::string& tenant, const std::string& webhook_id,
                                                 std::string_view after, std::size_t limit) {
  owned(tenant, webhook_id);
  std::vector<DeliveryInfo> out;
  for (const auto& d : store_.list_webhook_deliveries(webhook_id, "dead", after, limit)) out.push_back(info_of(d));
  return out;
}

bool Webhooks::redeliver(const std::string& tenant, const std::string& webhook_id, const std::string& delivery_id) {
  owned(tenant, webhook_id);
  auto d = store_.find_webhook_delivery(delivery_id);
  if (d && d->tenant_id != tenant) {
    store::count_tenant_access_violation();
    log::warn("tenant access violation",
              {{"tenant", tenant}, {"resource", "webhook delivery " + delivery_id}, {"owner", d->tenant_id}});
    throw WebhookNotFound("no delivery of that id", true);
  }
  if (!d || d->webhook_id != webhook_id) throw WebhookNotFound("no delivery of that id", false);
  if (!store_.redeliver_webhook_delivery(delivery_id, now_ms())) return false;
  {
    std::lock_guard lock(mu_);
    ++wakeups_;
  }
  cv_.notify_one();
  log::info("webhook redelivery queued", {{"tenant", tenant}, {"webhook", webhook_id}, {"delivery", delivery_id}});
  return true;
}

std::optional<DeliveryInfo> Webhooks::delivery(const std::string& tenant, const std::string& delivery_id) {
  auto d = store_.find_webhook_delivery(delivery_id);
  if (!d) return std::nullopt;
  if (d->tenant_id != tenant) {
    store::count_tenant_access_violation();
    log::warn("tenant access violation",
              {{"tenant", tenant}, {"resource", "webhook delivery " + delivery_id}, {"owner", d->tenant_id}});
    throw WebhookNotFound("no delivery of that id", true);
  }
  return info_of(*d);
}

void Webhooks::attempt(store::WebhookDeliveryRecord d, const core::WebhooksConfig& cfg) {
  const std::int64_t started = now_ms();
  // A push delivery's target and signature come from the hooks.
  const bool push = is_push_delivery(d);
  PushHooks hooks;
  if (push) {
    std::lock_guard lock(mu_);
    hooks = push_hooks_;
  }
  auto finish = [&](std::string_view outcome) {
    if (!store_.finish_webhook_delivery(d)) {
      // The lease ran out and another node holds the delivery now: its outcome counts.
      log::warn("webhook delivery outcome dropped: the claim expired", {{"delivery", d.delivery_id}});
      return;
    }
    outcome_counter(outcome).inc();
    if (push && hooks.outcome) hooks.outcome(outcome);
    log::info("webhook delivery attempt",
              {{"tenant", d.tenant_id}, {"webhook", d.webhook_id}, {"delivery", d.delivery_id}, {"event", d.event_type},
               {"attempt", d.attempts}, {"outcome", outcome}, {"status", d.last_status},
               {"error", d.last_error}, {"ms", now_ms() - started}});
  };

  if (d.attempts > static_cast<int>(cfg.max_attempts)) {
    // Claimed again after a node died mid-attempt, with no attempt left.
    d.status = "dead";
    if (d.last_error.empty()) d.last_error = "the node making the last attempt stopped";
    return finish("dead");
  }

  std::optional<store::WebhookRecord> webhook;
  if (!push) {
    webhook = store_.find_webhook(d.webhook_id);
    if (!webhook || webhook->tenant_id != d.tenant_id) {
      d.status = "dead";
      d.last_error = "the webhook no longer exists";
      return finish("dead");
    }
  }

  d.last_status = 0;
  d.last_error.clear();
  try {
    const std::string payload =
        keys_.open(d.tenant_id, kWebhookDataClass, payload_aad(d.tenant_id, d.delivery_id), d.payload_sealed);
    net::FetchOptions o;
    o.method = "POST";
    o.timeout = std::chrono::milliseconds(cfg.timeout_ms);
    o.max_body_bytes = kMaxReceiverBody;
    // A fresh timestamp per attempt: a receiver's replay window measures from the attempt, and
    // the delivery id (the same on every attempt) is what it deduplicates on.
    const std::int64_t ts = core::unix_now();
    std::string url;
    if (push) {
      if (!hooks.target) {
        // Claimed before the gateway installed the hooks (a restart with pending pushes): later.
        d.status = "pending";
        d.last_error = "push deliveries are not set up yet";
        d.next_attempt_ms = now_ms() + 1000;
        return finish("retry");
      }
      std::optional<PushTarget> target = hooks.target(d.tenant_id, d.webhook_id);
      if (!target) {
        d.status = "dead";
        d.last_error = "the push config no longer exists";
        return finish("dead");
      }
      url = std::move(target->url);
      o.body = payload;  // the notification as the runtime sent it
      o.headers = {{"Content-Type", "application/json"},
                   {"User-Agent", "portcullis-webhooks/" PORTCULLIS_VERSION},
                   {"X-Portcullis-Delivery-Id", d.delivery_id},
                   {"X-Portcullis-Timestamp", std::to_string(ts)}};
      if (hooks.sign)
        for (auto& [name, value] : hooks.sign(d.webhook_id, d.delivery_id, url, o.body))
          o.headers.push_back({std::move(name), std::move(value)});
      // The client's own headers last: its Authorization (when it gave credentials) wins.
      for (auto& [name, value] : target->headers) {
        std::erase_if(o.headers, [&](const net::Header& h) {
          return h.name.size() == name.size() &&
                 std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                 });
        });
        o.headers.push_back({std::move(name), std::move(value)});
      }
    } else {
      std::string secret = keys_.open(d.tenant_id, kWebhookDataClass, secret_aad(d.tenant_id, d.webhook_id),
                                      webhook->secret_sealed);
      url = webhook->url;
      o.body = delivery_body(d, payload);
      o.headers = {{"Content-Type", "application/json"},
                   {"User-Agent", "portcullis-webhooks/" PORTCULLIS_VERSION},
                   {"X-Portcullis-Delivery-Id", d.delivery_id},
                   {"X-Portcullis-Event", d.event_type},
                   {"X-Portcullis-Timestamp", std::to_string(ts)},
                   {"X-Portcullis-Signature", webhook_signature(secret, ts, o.body)}};
      OPENSSL_cleanse(secret.data(), secret.size());
    }
    o.allow_http_any = cfg.allow_http;
    o.allow_http_loopback = cfg.allow_http;
    o.address_allowed = webhook_address_policy(rules_of(cfg));
    net::FetchResult r = net::fetch(url, o);
    d.last_status = r.status;
    if (r.status >= 200 && r.status < 300) {
      d.status = "delivered";
      return finish("delivered");
    }
    d.last_error = "the receiver answered HTTP " + std::to_string(r.status);
  } catch (const net::FetchError& e) {
    d.last_error = trimmed(e.what());
  } catch (const std::exception& e) {
    // A payload or secret that does not open, say: retrying will not help, but the attempt
    // budget bounds it and the dead letter says why.
    log::error("webhook delivery failed inside the gateway", {{"delivery", d.delivery_id}, {"error", e.what()}});
    d.last_error = "internal error";
  }
  if (d.attempts >= static_cast<int>(cfg.max_attempts)) {
    d.status = "dead";
    return finish("dead");
  }
  d.status = "pending";
  d.next_attempt_ms = now_ms() + backoff_ms(d.attempts, cfg);
  finish("retry");
}

std::size_t Webhooks::run_due(std::size_t limit) {
  const core::WebhooksConfig cfg = config();
  const std::int64_t now = now_ms();
  auto batch = store_.claim_webhook_deliveries(node_, now, now + 2 * static_cast<std::int64_t>(cfg.timeout_ms) + kLeaseMarginMs, limit);
  for (auto& d : batch) attempt(std::move(d), cfg);
  return batch.size();
}

void Webhooks::purge_if_due(const core::WebhooksConfig& cfg) {
  const std::int64_t now = now_ms();
  {
    std::lock_guard lock(mu_);
    if (now < next_purge_ms_) return;
    next_purge_ms_ = now + kPurgeIntervalMs;
  }
  const std::int64_t before_s = core::unix_now() - static_cast<std::int64_t>(cfg.delivered_retention_hours) * 3600;
  const auto removed = store_.purge_webhook_deliveries_before(core::rfc3339_from_unix(before_s));
  if (removed > 0) log::info("delivered webhook deliveries purged", {{"count", removed}});
}

void Webhooks::worker_loop() {
  for (;;) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      seen = wakeups_;
    }
    std::size_t attempted = 0;
    try {
      purge_if_due(config());
      attempted = run_due(1);
    } catch (const std::exception& e) {
      // The store is down or busy: deliveries stay queued in it; try again after the interval.
      log::warn("webhook worker: store call failed", {{"error", e.what()}});
    }
    if (attempted > 0) continue;  // more may be due
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(config_.poll_interval_ms),
                 [&] { return stopping_ || wakeups_ != seen; });
  }
}

}  // namespace pc::agents

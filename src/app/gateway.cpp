#include "app/gateway.h"

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "agents/agent_health.h"
#include "agents/catalog.h"
#include "agents/idempotency.h"
#include "agents/invocation_log.h"
#include "agents/jobs.h"  // issue 9: jobs
#include "agents/registry.h"
#include "agents/webhooks.h"  // issue 9: webhooks
#include "api/activity_routes.h"
#include "api/agent_routes.h"
#include "api/session_routes.h"  // issue 9: invoke
#include "api/idempotent.h"      // issue 9: invoke
#include "agents/sessions.h"     // issue 9: invoke
#include "api/job_routes.h"  // issue 9: jobs
#include "api/audit_trail.h"
#include "api/platform_routes.h"
#include "api/tenant_data_routes.h"
#include "api/chain.h"
#include "api/system_routes.h"
#include "api/tenant_routes.h"
#include "api/token_routes.h"
#include "api/webhook_routes.h"  // issue 9: webhooks
#include "api/mcp_discovery.h"
#include "api/mcp_route.h"
#include "api/a2a_route.h"       // ---- a2a proxy (issue 11)
#include "mcp/sessions.h"
#include "a2a/task_bindings.h"     // ---- a2a bindings (issue 11)
#include "api/a2a_task_routes.h"   // ---- a2a bindings (issue 11)
#include "mcp/federation_setup.h"  // issue 10: federation
#include "mcp/response_guards.h"   // issue 10: redaction, guardrails, size
#include "mcp/tool_calls.h"
#include "app/retention.h"
#include "audit/audit_log.h"
#include "auth/authenticator.h"
#include "auth/key_refresher.h"
#include "auth/signing_keys.h"
#include "auth/token_service.h"
#include "auth/agent_identity.h"
#include "core/thread_priority.h"  // issue 9: perf
#include "core/clock.h"
#include "core/log.h"
#include "core/work_pool.h"
#include "crypto/master_keyring.h"
#include "vault/data_keys.h"
#include "vault/secrets.h"
#include "tenancy/capabilities.h"
#include "tenancy/tenant_directory.h"
#include "tenancy/tenant_service.h"
#include "tenancy/tiers.h"
#include "api/mcp_server_routes.h"
#include "mcp/server_registry.h"
#include "a2a/card_cache.h"       // ---- a2a card (issue 11)
#include "api/a2a_card_route.h"  // ---- a2a card (issue 11)
#include "a2a/push_relay.h"        // ---- a2a push (issue 11)
#include "a2a/push_signer.h"       // ---- a2a push (issue 11)
#include "api/a2a_push_route.h"    // ---- a2a push (issue 11)
#include "cluster/change_bus.h"
#include "app/budget_suspension.h"
#include "cluster/redis_client.h"
#include "cluster/token_leases.h"
#include "cluster/node_registry.h"
#include "cluster/shared_rate_limiter.h"
#include "cluster/shared_quota.h"
#include "api/limit_routes.h"
#include "api/limit_stage.h"
#include "tenancy/usage_limits.h"

namespace pc::app {
namespace {

constexpr auto kRefreshInterval = std::chrono::seconds(2);
// Our own tokens live at most an hour (tokens.access_token_ttl_seconds is capped there); a token
// claiming a longer life was not minted by us as configured.
constexpr std::int64_t kMaxOwnTokenLifetime = 3600;
// How long a token exchange waits for an issuer's keys to be refetched.
constexpr auto kRefetchWait = std::chrono::seconds(10);
// /mcp's blocking work (session creation, store reads of sessions
// other nodes made) runs on a pool of its own, so a flood of initializes never queues the admin API.
constexpr unsigned kMcpPoolThreads = 2;
constexpr std::size_t kMcpPoolQueue = 4096;

// issue 9: jobs
agents::JobService::Options job_options(const core::JobsConfig& c) {
  agents::JobService::Options o;
  o.workers = c.workers;
  o.timeout = std::chrono::milliseconds(c.timeout_ms);
  o.max_attempts = static_cast<int>(c.max_attempts);
  o.backoff_initial = std::chrono::milliseconds(c.backoff_initial_ms);
  o.backoff_max = std::chrono::milliseconds(c.backoff_max_ms);
  o.lease = std::chrono::milliseconds(c.lease_ms);
  o.poll_interval = std::chrono::milliseconds(c.poll_interval_ms);
  return o;
}

std::shared_ptr<auth::PublishedKeys> keys_from_file(const core::IssuerConfig& c) {
  auto keys = std::make_shared<auth::PublishedKeys>();
  try {
    std::ifstream in(c.jwks_file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) throw std::runtime_error("cannot read " + c.jwks_file);
    std::vector<std::string> skipped;
    auto set = std::make_shared<jose::JwkSet>(jose::JwkSet::parse(text.str(), &skipped));
    for (const auto& why : skipped) log::warn("jwks: key skipped", {{"issuer", c.name}, {"reason", why}});
    keys->publish(std::move(set));
  } catch (const std::exception& e) {
    // Fail closed: the issuer stays configured but no token of it verifies.
    log::error("jwks: cannot load the issuer's key file; its tokens are refused",
               {{"issuer", c.name}, {"error", e.what()}});
  }
  return keys;
}

}  // namespace

struct Gateway::Parts {
  Parts(const core::Config& c, store::Store& s, const crypto::MasterKeyring& mk, std::shared_ptr<net::Router> r)
      : cfg(c),
        store(s),
        keyring(mk),
        keys(mk),
        authenticator(directory, c.tokens.cache_entries_per_thread),
        audit_log(s),
        trail(&audit_log),
        data_keys(s, keyring),
        vault(s, data_keys),
        invocations(s, data_keys),
        router(std::move(r)) {}

  mutable std::mutex mu;  // cfg, base_url, remote
  core::Config cfg;
  std::string base_url;
  store::Store& store;
  const crypto::MasterKeyring& keyring;
  tenancy::TenantDirectory directory;
  auth::SigningKeys keys;
  // issue 9: identity — the tokens forwarded calls carry to agents (X-Portcullis-Identity).
  auth::AgentIdentity agent_identity{keys};
  auth::Authenticator authenticator;
  auth::KeyRefresher refresher;
  std::map<std::string, std::shared_ptr<auth::RemoteKeys>> remote;  // by issuer name
  std::unique_ptr<auth::TokenService> token_service;
  std::unique_ptr<tenancy::TenantService> tenant_service;
  agents::AgentCatalog catalog;
  std::unique_ptr<agents::Registry> registry;
  tenancy::Capabilities capabilities;
  audit::AuditLog audit_log;
  api::AuditTrail trail;
  vault::DataKeys data_keys;
  vault::SecretsVault vault;
  agents::InvocationLog invocations;
  // usage plans and the chain's limit stage (declared before the chain,
  // which points at the stage, so they outlive it).
  std::unique_ptr<tenancy::UsageLimits> usage_limits;
  std::unique_ptr<const api::Stage> limit_stage;
  std::unique_ptr<const api::Stage> call_limit_stage;  // after roles: the slot and the quota (review H2)
  std::unique_ptr<api::Chain> chain;
  std::shared_ptr<net::Router> router;
  std::optional<core::WorkPool> token_pool;
  std::optional<core::WorkPool> admin_pool;
  // issue 9: invoke — sessions (their store reads run on the admin pool, so built after it)
  std::unique_ptr<agents::SessionService> sessions;
  // issue 9: records — idempotency keys over the store, and the agents' health checker (started
  // with the background refresh, stopped before it).
  std::unique_ptr<agents::Idempotency> idempotency;
  std::unique_ptr<agents::AgentHealth> health;
  // issue 9: webhooks — targets, the durable delivery queue and its workers.
  std::unique_ptr<agents::Webhooks> webhooks;
  // issue 9: jobs — the service (acceptance writer, dispatcher, workers) and a pool of its own
  // for GET /v1/jobs reads, so polling clients never queue the admin API.
  std::optional<core::WorkPool> job_reads_pool;
  std::unique_ptr<agents::JobService> jobs;
  // the upstream MCP servers (mcp::ServerDirectory for the federation,
  // mcp::ServerHealthSink for its reports); its poll thread starts with the gateway.
  std::unique_ptr<mcp::ServerRegistry> mcp_servers;
  // MCP sessions and the pool of /mcp's blocking work.
  std::optional<core::WorkPool> mcp_pool;
  std::unique_ptr<mcp::McpSessions> mcp_sessions;
  // issue 10: the federation behind /mcp and the records of its tools/call.
  std::unique_ptr<mcp::ToolCallLog> mcp_calls;
  std::shared_ptr<mcp::Federation> mcp_federation;
  // issue 11: the A2A proxy. Each owner adds its members below its marker.
  // Who owns each A2A task and context (store-backed, cached per node).
  std::unique_ptr<a2a::TaskBindings> a2a_bindings;
  // Agent cards fetched from A2A runtimes, rewritten and signed (shared: the proxy reads the
  // runtime's interfaces from it and renders the extended card).
  std::shared_ptr<a2a::CardCache> a2a_cards;
  // Clients' push configs held in the runtime's place; delivers through `webhooks`.
  std::unique_ptr<a2a::PushRelay> a2a_push;
  // The pool of the proxy's blocking work (binding checks and writes,
  // push config swaps), so A2A traffic never queues the admin API.
  std::optional<core::WorkPool> a2a_pool;
  // with cluster.redis.url, one command connection (change signals,
  // shared token leases) and the change bus's subscriber (docs/cluster.md). Null without Redis.
  std::unique_ptr<cluster::RedisClient> redis;
  std::unique_ptr<cluster::ChangeBus> change_bus;
  std::unique_ptr<cluster::RedisTokenLeases> token_leases;
  // how many nodes share Redis (the divisor of the per-node share the
  // rate limits fall back to while Redis is down). Null without Redis.
  std::unique_ptr<cluster::NodeRegistry> node_registry;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  bool refresh_requested = false;  // another node changed something
  std::thread background;

  // The background thread refreshes now instead of at its next interval (any thread).
  void request_refresh() {
    {
      std::lock_guard lock(stop_mu);
      refresh_requested = true;
    }
    stop_cv.notify_all();
  }
  // another node changed something, or Redis came back (signals may have
  // been lost meanwhile): every cache the change signals keep fresh reloads now (subscriber
  // thread; both only wake a thread).
  void refresh_cluster_state() {
    request_refresh();
    if (mcp_servers) mcp_servers->reload_soon();
  }
  // A change this node committed: the other nodes refresh at once (a no-op without Redis).
  void changed(const std::string& kind, const std::string& tenant) {
    if (change_bus) change_bus->publish(kind, tenant);
  }

  // Every thread above stops through here, in reverse order of start (Gateway::stop). Declared
  // last, so even a constructor that throws half-way stops them before any member goes away.
  Lifecycle lifecycle;

  std::string issuer() const {
    std::lock_guard lock(mu);
    return issuer_locked();
  }
  core::Config config() const {
    std::lock_guard lock(mu);
    return cfg;
  }
  // tokens.issuer when configured, else the bound address ("" until the server has bound).
  std::string issuer_locked() const { return cfg.tokens.issuer.empty() ? base_url : cfg.tokens.issuer; }

  // Rebuilds the verifier's issuers and the token service's settings from cfg and base_url.
  void configure_locked() {
    tenancy::TierRanks ranks;
    for (const auto& [name, t] : cfg.tiers) ranks[name] = t.rank;
    tenancy::publish_tier_ranks(std::move(ranks));
    std::vector<auth::TrustedIssuer> issuers;
    const std::string self = issuer_locked();
    std::vector<std::string> audiences = cfg.tokens.audiences;
    if (audiences.empty() && !self.empty()) audiences.push_back(self);
    // an MCP client asks for a token for the resource it calls
    // (RFC 8707 `resource` = <gateway>/mcp, the protected-resource metadata's `resource`), so by
    // default that is an audience of ours too.
    if (cfg.tokens.audiences.empty() && !self.empty()) audiences.push_back(self + "/mcp");
    if (!self.empty()) {
      auth::TrustedIssuer own;
      own.name = "builtin";
      own.issuer = self;
      own.audiences = audiences;
      own.algorithms = {jose::Alg::ES256};
      own.leeway_seconds = cfg.tokens.leeway_seconds;
      own.max_lifetime_seconds = kMaxOwnTokenLifetime;
      own.keys = keys.verification_keys();
      own.may_speak_for_platform = true;
      issuers.push_back(std::move(own));
    }
    std::map<std::string, std::shared_ptr<auth::RemoteKeys>> next_remote;
    std::vector<std::shared_ptr<auth::RemoteKeys>> sources;
    for (const auto& ic : cfg.issuers) {
      auth::TrustedIssuer t = auth::trusted_issuer(ic);
      if (!ic.jwks_file.empty()) {
        t.keys = keys_from_file(ic);
      } else {
        auto it = remote.find(ic.name);
        std::shared_ptr<auth::RemoteKeys> rk;
        if (it != remote.end() && it->second->config() == ic) {
          rk = it->second;  // unchanged: keep its keys and schedule
        } else {
          rk = std::make_shared<auth::RemoteKeys>(ic, auth::default_fetch(),
                                                  [this] { authenticator.keys_changed(); });
        }
        next_remote[ic.name] = rk;
        sources.push_back(rk);
        t.keys = rk;
        t.remote = rk;
      }
      issuers.push_back(std::move(t));
    }
    remote = std::move(next_remote);
    refresher.set_sources(std::move(sources));
    authenticator.set_issuers(std::move(issuers));
    authenticator.set_cache_entries_per_thread(cfg.tokens.cache_entries_per_thread);
    token_service->set_settings({self, audiences, cfg.tokens.access_token_ttl_seconds});
    agent_identity.set_issuer(self);  // issue 9: identity
    agent_identity.set_max_agent_depth(cfg.tokens.agent_call_max_depth);
  }

  // Token exchange verifies its subject token like a request, waiting (on a pool thread) for a
  // JWKS refetch when the token names a new key.
  auth::AuthResult verify_subject(const std::string& token, std::int64_t now) {
    auth::AuthResult r = authenticator.authenticate(token, now);
    if (r.status != auth::AuthResult::Status::refetch) return r;
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    refresher.refetch(r.refetch, [done] { done->set_value(); });
    fut.wait_for(kRefetchWait);
    return authenticator.authenticate(token, core::unix_now(), /*allow_refetch=*/false);
  }

  // The capability table is small (one row per switch): re-read whole, published when changed.
  std::mutex capabilities_mu;  // a refresh that read the table earlier must not publish after a newer one

  void refresh_capabilities() {
    std::lock_guard lock(capabilities_mu);
    auto rows = store.list_capabilities();
    auto current = capabilities.all();
    auto same = [](const store::CapabilityRecord& a, const store::CapabilityRecord& b) {
      return a.name == b.name && a.updated_at == b.updated_at && a.enabled == b.enabled && a.killed == b.killed &&
             a.rollout_percentage == b.rollout_percentage && a.tier_allow_list == b.tier_allow_list &&
             a.tenant_allow_list == b.tenant_allow_list;
    };
    if (rows.size() == current.size() && std::equal(rows.begin(), rows.end(), current.begin(), same)) return;
    capabilities.publish(std::move(rows));
  }

  void refresh_once() {
    try {
      directory.refresh(store);
    } catch (const std::exception& e) {
      log::warn("tenant refresh failed", {{"error", e.what()}});
    }
    try {
      refresh_capabilities();
      registry->publish();
    } catch (const std::exception& e) {
      log::warn("capability or agent refresh failed", {{"error", e.what()}});
    }
    // limit overrides set on another node arrive with its change signal
    // (tenant.limits.set/clear, within a second) or this poll, not only the persist interval.
    try {
      if (usage_limits) usage_limits->reload_overrides();
    } catch (const std::exception& e) {
      log::warn("limit override refresh failed", {{"error", e.what()}});
    }
    try {
      if (keys.load(store, core::unix_now())) {
        authenticator.keys_changed();
        log::info("signing keys reloaded", {{"active_kid", keys.active()->kid()}});
      }
    } catch (const std::exception& e) {
      log::error("signing key reload failed; keeping the loaded keys", {{"error", e.what()}});
    }
  }

  // Retention runs shortly after start, then every retention.interval_minutes.
  std::chrono::steady_clock::time_point next_retention = std::chrono::steady_clock::now() + std::chrono::seconds(30);

  void retention_if_due() {
    if (std::chrono::steady_clock::now() < next_retention) return;
    core::RetentionConfig rc;
    {
      std::lock_guard lock(mu);
      rc = cfg.retention;
    }
    next_retention = std::chrono::steady_clock::now() + std::chrono::minutes(rc.interval_minutes);
    try {
      // A purged tenant's data keys leave this node's memory with its data.
      for (const auto& tenant : run_retention(store, audit_log, rc, core::unix_now()).tenants_purged)
        data_keys.forget(tenant);
    } catch (const std::exception& e) {
      log::error("retention run failed; retrying at the next interval", {{"error", e.what()}});
    }
    // MCP sessions idle past mcp.session_idle_seconds.
    try {
      if (const auto n = mcp_sessions->purge_expired(); n > 0) log::info("idle mcp sessions removed", {{"count", n}});
    } catch (const std::exception& e) {
      log::error("mcp session purge failed; retrying at the next interval", {{"error", e.what()}});
    }
    // issue 9: records — remembered answers past their 24 h.
    try {
      if (const auto n = idempotency->purge_expired(); n > 0)
        log::info("expired idempotency keys removed", {{"count", n}});
    } catch (const std::exception& e) {
      log::error("idempotency key purge failed; retrying at the next interval", {{"error", e.what()}});
    }
  }

  void run_background() {
    // issue 9: perf — refreshes and retention purges are maintenance: below the I/O threads,
    // so that a purge's CPU never delays a client (core/thread_priority.h).
    core::name_this_thread("maintenance");
    core::lower_this_thread_priority(core::kMaintenanceNice);
    std::unique_lock lock(stop_mu);
    for (;;) {
      // a change signal from another node cuts the wait short.
      stop_cv.wait_for(lock, kRefreshInterval, [this] { return stopping || refresh_requested; });
      if (stopping) break;
      refresh_requested = false;  // a signal during the refresh below asks for one more
      lock.unlock();
      refresh_once();
      retention_if_due();
      chain->refusals().tick();  // summed-up refusals are written even when no request follows
      lock.lock();
    }
  }
};

Gateway::Gateway(const core::Config& cfg, store::Store& store, const crypto::MasterKeyring& master_key,
                 std::shared_ptr<net::Router> router)
    : p_(std::make_unique<Parts>(cfg, store, master_key, std::move(router))) {
  Parts& p = *p_;
  // built here, connected in start() (docs/cluster.md).
  if (!cfg.cluster.redis_url.empty()) {
    std::string error;
    auto url = cluster::parse_redis_url(cfg.cluster.redis_url, error);
    if (!url) throw std::runtime_error("cluster.redis.url: " + error);
    cluster::RedisClient::Options ro;
    ro.url = *url;
    ro.ca_file = cfg.cluster.redis_ca_file;
    ro.name = "commands";
    p.redis = std::make_unique<cluster::RedisClient>(ro);
    p.token_leases = std::make_unique<cluster::RedisTokenLeases>(*p.redis);
    cluster::ChangeBus::Options bo;
    bo.url = *url;
    bo.ca_file = cfg.cluster.redis_ca_file;
    // everything the signals drive: the background refresh (tenants,
    // clients, capabilities, agents, keys) and the MCP server registry's own reload.
    bo.on_change = [&p](const cluster::Change&) { p.refresh_cluster_state(); };
    bo.on_resync = [&p] { p.refresh_cluster_state(); };  // signals may have been missed while down
    p.change_bus = std::make_unique<cluster::ChangeBus>(std::move(bo), *p.redis);
  }
  // The log writers run since Parts was built; the pools start here. Whoever records into a log
  // is stopped before it (started after it), so every event is written and every durability
  // callback runs.
  p.lifecycle.start({"audit log", {}, [&p] { p.audit_log.stop(); }});
  p.lifecycle.start({"invocation log", {}, [&p] { p.invocations.stop(); }});
  p.lifecycle.start({"token work pool", {}, [&p] { p.token_pool->stop(); }},
                    [&p] { p.token_pool.emplace("token", kTokenPoolThreads, kTokenPoolQueue); });
  p.lifecycle.start({"admin work pool", {}, [&p] { p.admin_pool->stop(); }},
                    [&p] { p.admin_pool.emplace("admin", kAdminPoolThreads, kAdminPoolQueue); });
  // Its thread runs since Parts was built too, but it is listed after the pools on purpose: it
  // stops before them, answering the token jobs that wait for a refetch at once (they fail
  // closed) instead of holding the pools' stop for an issuer's fetch timeout. Nothing needs it
  // afterwards: a refetch asked of a stopped refresher is answered at once.
  p.lifecycle.start({"key refresher", {}, [&p] { p.refresher.stop(); }});
  // issue 9: webhooks — the workers run from here until stop (before the pools and the logs).
  // Built before the job service, which enqueues a delivery when a job with a webhookId ends:
  // the lifecycle stops the jobs first, so every finished job still finds the queue.
  p.webhooks = std::make_unique<agents::Webhooks>(store, p.data_keys, cfg.server.webhooks);
  p.lifecycle.start({"webhook deliveries", {}, [&p] { p.webhooks->stop(); }}, [&p] { p.webhooks->start(); });
  // issue 9: jobs — its writer runs from here (the invoke route accepts jobs as soon as the
  // server serves), its workers from start(). Stops before the pools and the logs it records
  // into: queued jobs are committed and answered, attempts in flight end.
  p.lifecycle.start({"job reads work pool", {}, [&p] { p.job_reads_pool->stop(); }},
                    [&p] { p.job_reads_pool.emplace("jobs", kJobReadsPoolThreads, kJobReadsPoolQueue); });
  p.lifecycle.start({"jobs", {}, [&p] { p.jobs->stop(); }}, [&p, &cfg, &store] {
    agents::JobService::Hooks hooks;
    // issue 9: invoke — every attempt carries the gateway's statement of the caller, minted when
    // it runs (never stored), like a sync call (the job service adds the session itself).
    hooks.headers_for = [&p](const store::JobRecord& job) {
      auth::Principal caller;
      caller.subject = job.principal;
      caller.tenant = job.tenant_id;
      caller.client = job.client_id;
      caller.scopes = job.scopes;
      if (!job.actor_chain.empty()) {
        caller.actor = job.actor_chain.front();
        caller.prior_actors.assign(job.actor_chain.begin() + 1, job.actor_chain.end());
      }
      std::vector<net::Header> h{{"X-Portcullis-Invocation-Id", job.invocation_id}};
      try {
        h.push_back({"X-Portcullis-Identity", p.agent_identity.token_for(caller, job.tier, job.agent, "")});
      } catch (const std::exception& e) {
        // No signing key yet: the attempt goes without one and the runtime refuses it (fail closed).
        log::warn("jobs: no identity token for the attempt", {{"job_id", job.job_id}, {"error", e.what()}});
      }
      return h;
    };
    // issue 9: jobs → webhooks — a finished job named a webhook: its SPEC §5 job body is queued
    // for delivery (durable before the job's row is final is not promised: a crash in between
    // loses that one event, logged; the job's own result stays pollable).
    hooks.on_finished = [&p](const store::JobRecord& job) {
      if (job.webhook_id.empty()) return;
      try {
        p.webhooks->enqueue(job.tenant_id, job.webhook_id, "job." + job.status, api::job_body(p.jobs->view(job)));
      } catch (const std::exception& e) {
        log::warn("jobs: webhook delivery not queued",
                  {{"job_id", job.job_id}, {"webhook_id", job.webhook_id}, {"error", e.what()}});
      }
    };
    // https runtimes are verified as the proxy verifies them: against server.upstream.ca_file as
    // it is now (a reload may change it).
    hooks.ca_file = [&p] {
      std::lock_guard lock(p.mu);
      return p.cfg.server.upstream.ca_file;
    };
    // a tenant runs at most its plan's max_concurrent jobs at once on
    // this node (review M3: async calls answer 202 at once, so the limit stage's slot does not
    // cover the job). The plan is read from the published snapshots (no store round trip).
    hooks.max_running = [&p](std::string_view tenant, std::string_view tier) -> std::size_t {
      if (!p.usage_limits) return 0;
      return static_cast<std::size_t>(p.usage_limits->plans().resolve(tenant, tier).max_concurrent);
    };
    p.jobs = std::make_unique<agents::JobService>(store, p.data_keys, &p.invocations, job_options(cfg.server.jobs),
                                                  std::move(hooks));
  });
  core::WorkPool& token_pool = *p.token_pool;
  core::WorkPool& pool = *p.admin_pool;
  p.directory.refresh(store);
  p.keys.load(store, core::unix_now());
  p.token_service = std::make_unique<auth::TokenService>(
      store, p.keys, p.directory, [&p](const std::string& t, std::int64_t now) { return p.verify_subject(t, now); },
      auth::TokenSettings{});
  p.tenant_service = std::make_unique<tenancy::TenantService>(store, p.directory, [&p](const std::string& tier) {
    std::lock_guard lock(p.mu);
    return p.cfg.tiers.count(tier) > 0;
  });
  p.registry = std::make_unique<agents::Registry>(store, p.catalog);
  // issue 9: records
  p.idempotency = std::make_unique<agents::Idempotency>(store, p.data_keys);
  {
    agents::AgentHealth::Options ho;
    ho.interval = std::chrono::milliseconds(cfg.server.upstream.health_check_interval_ms);
    // https runtimes are pinged over TLS and verified as the proxy verifies them, against
    // server.upstream.ca_file as it is now (a reload may change it); http ones over a plain socket.
    p.health = std::make_unique<agents::AgentHealth>(
        p.catalog, ho, [&p](const agents::AgentEntry& a, std::chrono::milliseconds timeout) {
          if (a.scheme != "https") return agents::AgentHealth::ping(a.host, a.port, timeout);
          std::string ca_file;
          {
            std::lock_guard lock(p.mu);
            ca_file = p.cfg.server.upstream.ca_file;
          }
          return agents::AgentHealth::ping_https(a.host, a.port, ca_file, timeout);
        });
  }
  p.refresh_capabilities();
  p.registry->publish();
  p.chain = std::make_unique<api::Chain>(p.authenticator, p.refresher, &p.trail, &p.capabilities);
  // usage plans enforced in the chain's limit slot (before any route is
  // declared); the overrides and today's counts are read now, then kept fresh by its sync thread,
  // which writes the counts on stop (before the store goes).
  {
    tenancy::UsageLimits::Options lo;
    lo.config = cfg.server.usage_plans;
    lo.tiers = cfg.tiers;
    lo.store = &store;
    // a tenant past its plan's suspend_after is suspended (audited).
    lo.on_over_budget = [&p](const tenancy::OverBudget& o) {
      app::suspend_over_budget(p.store, *p.tenant_service, o, [&p](const std::string& k, const std::string& t) { p.changed(k, t); });
    };
    // with Redis, the rate budgets are shared by every node (token leases
    // refilled from a GCRA in Redis; per-node shares while Redis is down: docs/usage-plans.md).
    if (p.token_leases) {
      cluster::NodeRegistry::Options no;
      no.node_id = p.change_bus->node_id();
      p.node_registry = std::make_unique<cluster::NodeRegistry>(no, *p.redis);
      lo.limiter = std::make_shared<cluster::SharedRateLimiter>(
          *p.token_leases, [reg = p.node_registry.get()] { return reg->count(); });
    }
    p.usage_limits = std::make_unique<tenancy::UsageLimits>(std::move(lo));
    // with Redis, daily quotas are counted by every node together
    // (cluster/shared_quota.h); the store stays the durable record (docs/usage-plans.md).
    if (p.redis && p.node_registry) {
      cluster::RedisSharedQuota::Options qo;
      qo.node_id = p.change_bus->node_id();
      p.usage_limits->meter().set_shared(std::make_shared<cluster::RedisSharedQuota>(
          *p.redis, p.usage_limits->meter(), [reg = p.node_registry.get()] { return reg->count(); }, qo));
    }
    p.usage_limits->load();
    p.limit_stage = api::limit_stage(*p.usage_limits);
    p.call_limit_stage = api::call_limit_stage(*p.usage_limits);
    p.chain->set_limit(p.limit_stage.get(), p.call_limit_stage.get());
    p.lifecycle.start({"usage plans", {}, [&p] { p.usage_limits->stop(); }}, [&p] { p.usage_limits->start(); });
  }
  // Stops before the audit log (started after it): the open window's refusal summaries are
  // queued while the log still takes them.
  p.lifecycle.start({"refusal summaries", {}, [&p] { p.chain->refusals().flush(); }});
  {
    std::lock_guard lock(p.mu);
    p.configure_locked();
  }

  net::Router& r = *p.router;
  api::add_token_routes(r, {p.token_service.get(), &p.keys, &token_pool, [&p] { return p.issuer(); }, &p.audit_log});
  api::AdminDeps admin;
  admin.chain = p.chain.get();
  admin.pool = &pool;
  admin.store = &store;
  admin.tenants = p.tenant_service.get();
  admin.capabilities = &p.capabilities;
  admin.registry = p.registry.get();
  admin.vault = &p.vault;
  admin.config = [&p] { return p.config(); };
  admin.capabilities_changed = [&p] {
    p.refresh_capabilities();
    p.changed("capabilities.changed", "platform");
  };
  admin.rotate_signing_key = [&p] {
    core::Config cfg = p.config();
    const std::int64_t lifetime = cfg.tokens.access_token_ttl_seconds + cfg.tokens.leeway_seconds;
    std::string kid = auth::SigningKeys::rotate(p.store, p.keyring.current(), lifetime, core::unix_now());
    p.refresh_once();  // this node signs with the new key at once; others at the change signal or their poll
    p.changed("keys.rotate", "platform");
    return kid;
  };
  // every audited admin change (tenants, clients, capabilities, agents,
  // MCP servers, limits) signals the other nodes once committed.
  admin.changed = [&p](const std::string& kind, const std::string& tenant) { p.changed(kind, tenant); };
  api::add_tenant_routes(r, admin);
  api::add_tenant_data_routes(r, admin);
  api::add_limit_routes(r, admin, *p.usage_limits);
  api::add_platform_routes(r, admin);
  api::add_agent_admin_routes(r, admin);
  api::add_activity_routes(r, admin);
  // the registry of upstream MCP servers and its Admin API. Its health
  // writer stops (writing what is queued) before the store goes; the poll starts in start().
  {
    mcp::ServerRegistry::Options so;
    so.tier_exists = [&p](const std::string& tier) {
      std::lock_guard lock(p.mu);
      return p.cfg.tiers.count(tier) > 0;
    };
    p.mcp_servers = std::make_unique<mcp::ServerRegistry>(store, std::move(so));
    p.mcp_servers->publish();
    p.lifecycle.start({"mcp servers", {}, [&p] { p.mcp_servers->stop(); }});
  }
  api::add_mcp_server_routes(r, admin, *p.mcp_servers);
  // issue 9: invoke — sessions, the invoke route's ports, GET/DELETE /v1/sessions/{id}
  {
    agents::SessionService::Options so;
    so.idle_ttl = std::chrono::hours(p.config().retention.sessions_hours);
    p.sessions = std::make_unique<agents::SessionService>(store, pool, so);
    // Stops (writes what is queued) before the admin pool and the store go.
    p.lifecycle.start({"sessions", {}, [&p] { p.sessions->stop(); }});
  }
  api::AgentRoutesDeps agent_deps{p.chain.get(), &p.catalog, &p.capabilities, &p.invocations};
  agent_deps.sessions = p.sessions.get();
  // issue 9: identity — the gateway's statement of the caller to the agent, and the rules for
  // agents calling agents (loop, depth), as the invoke route's ports.
  agent_deps.ports.identity_token = [&p](const auth::Principal& caller, std::string_view tier, std::string_view agent,
                                         std::string_view session) {
    return p.agent_identity.token_for(caller, tier, agent, session);
  };
  agent_deps.ports.call_refusal = [&p](const auth::Principal& caller, std::string_view agent) {
    return auth::agent_call_refusal(caller, agent, p.agent_identity.max_agent_depth());
  };
  // issue 9: records — health (503 + Retry-After, status in the list) and idempotency keys.
  agent_deps.ports.unavailable = [&p](std::string_view agent) -> std::optional<int> {
    if (p.health->status(agent) != agents::kUnavailable) return std::nullopt;
    return p.health->retry_after_seconds();
  };
  agent_deps.ports.health_status = [&p](const agents::AgentEntry& agent) {
    return std::string(p.health->status(agent));
  };
  agent_deps.ports.idempotent = [deps = api::IdempotentDeps{p.idempotency.get(), &pool}](
                                    std::shared_ptr<net::Request> req, const api::Caller& caller,
                                    net::Responder reply, api::IdempotentCall call) {
    api::run_idempotent(deps, std::move(req), caller->tenant, caller->subject, std::move(reply), std::move(call));
  };
  agent_deps.sse_heartbeat = std::chrono::milliseconds(cfg.server.upstream.sse_heartbeat_ms);
  // issue 9: jobs — mode async: the job is handed to the job service; the 202 waits for its row.
  agent_deps.ports.accept_async = [&p](api::AsyncInvoke j, api::AsyncDone done) {
    agents::JobSpec spec;
    spec.tenant = std::move(j.tenant);
    spec.principal = std::move(j.principal);
    spec.client = std::move(j.client);
    if (!j.actor.empty()) spec.actor_chain.push_back(std::move(j.actor));
    for (auto& a : j.prior_actors) spec.actor_chain.push_back(std::move(a));
    spec.scopes = std::move(j.scopes);
    spec.tier = std::move(j.tier);
    spec.agent = std::move(j.agent);
    spec.agent_version = std::move(j.agent_version);
    spec.scheme = std::move(j.scheme);
    spec.host = std::move(j.host);
    spec.port = j.port;
    spec.session_id = std::move(j.session_id);
    spec.body = std::move(j.body);
    spec.idempotency_key = std::move(j.idempotency_key);
    spec.webhook_id = std::move(j.webhook_id);
    spec.request_id = std::move(j.request_id);
    auto accept = [&p](agents::JobSpec spec, api::AsyncDone done) {
      p.jobs->accept(std::move(spec), [done = std::move(done)](std::variant<agents::AcceptedJob, agents::JobError> r) {
        if (auto* ok = std::get_if<agents::AcceptedJob>(&r)) return done(api::AsyncAccepted{ok->job_id});
        const auto& e = std::get<agents::JobError>(r);
        done(api::AsyncRefused{e.status, e.code, e.message});
      });
    };
    if (spec.webhook_id.empty()) return accept(std::move(spec), std::move(done));
    // issue 9: webhooks — a webhookId must name one of the caller's own webhooks (a store read:
    // on the admin pool, never the I/O thread). Another tenant's id is the same 400 as an
    // unknown one, and counted as a violation by Webhooks::exists.
    auto check = [&p, accept, spec = std::make_shared<agents::JobSpec>(std::move(spec)), done]() mutable {
      try {
        p.webhooks->get(spec->tenant, spec->webhook_id);  // throws WebhookNotFound (counted when foreign)
      } catch (const agents::WebhookNotFound& e) {
        return done(api::AsyncRefused{400, "invalid_request", "webhookId names no webhook of this tenant", e.foreign()});
      } catch (const std::exception& e) {
        log::warn("jobs: webhook check failed", {{"error", e.what()}});
        return done(api::AsyncRefused{503, "store_unavailable", "the webhook could not be checked; try again"});
      }
      accept(std::move(*spec), std::move(done));
    };
    if (!p.admin_pool->try_submit(std::move(check))) done(api::AsyncRefused{});
  };
  api::add_agent_routes(r, std::move(agent_deps));
  api::add_session_routes(r, {p.chain.get(), p.sessions.get(), &pool});
  api::add_webhook_routes(r, {p.chain.get(), &pool, p.webhooks.get()});
  api::add_job_routes(r, {p.chain.get(), p.jobs.get(), &*p.job_reads_pool});  // issue 9: jobs
  // MCP sessions, POST/GET/DELETE /mcp, RFC 9728 discovery
  {
    p.lifecycle.start({"mcp work pool", {}, [&p] { p.mcp_pool->stop(); }},
                      [&p] { p.mcp_pool.emplace("mcp", kMcpPoolThreads, kMcpPoolQueue); });
    mcp::McpSessions::Options mo;
    mo.idle = std::chrono::seconds(cfg.mcp.session_idle_seconds);
    p.mcp_sessions = std::make_unique<mcp::McpSessions>(store, *p.mcp_pool, mo);
    // Stops (writes queued touches and upstream state) before its pool and the store go.
    p.lifecycle.start({"mcp sessions", {}, [&p] { p.mcp_sessions->stop(); }});
    // The address clients reach us at (known once the server bound its port).
    auto base_url = [&p] {
      std::lock_guard lock(p.mu);
      return p.base_url;
    };
    api::add_mcp_discovery_routes(r, {base_url, [&p] {
                                        std::lock_guard lock(p.mu);
                                        std::vector<std::string> servers{p.issuer_locked()};
                                        for (const auto& i : p.cfg.issuers) servers.push_back(i.issuer);
                                        return servers;
                                      }});
    api::McpRouteDeps md;
    md.chain = p.chain.get();
    md.sessions = p.mcp_sessions.get();
    md.pool = &*p.mcp_pool;
    // issue 10: the federation — the servers' registry, sessions, act-on-behalf tokens, vault
    // secrets, the interceptor chains (policy, schema, hooks; redaction, guardrails, size).
    p.mcp_calls = std::make_unique<mcp::ToolCallLog>(store, p.data_keys, &p.audit_log);
    p.lifecycle.start({"mcp tool call records", {}, [&p] { p.mcp_calls->stop(); }});
    mcp::FederationSetup fs;
    fs.directory = p.mcp_servers.get();
    fs.health = p.mcp_servers.get();
    fs.sessions = p.mcp_sessions.get();
    fs.capabilities = &p.capabilities;
    fs.on_behalf = &p.agent_identity.on_behalf();
    fs.vault = &p.vault;
    fs.blocking = &*p.mcp_pool;
    fs.idempotency = p.idempotency.get();
    fs.calls = p.mcp_calls.get();
    fs.response_guards = mcp::make_response_guards(cfg.redaction, cfg.mcp);
    mcp::FederationOptions fo;
    fo.mcp = cfg.mcp;
    // Every node with this master key issues and accepts the same cursors.
    fo.cursor_key = crypto::derive_key(p.keyring.current(), "portcullis mcp cursor v1");
    fo.server_version = PORTCULLIS_VERSION;
    fo.ca_file = cfg.server.upstream.ca_file;
    p.mcp_federation = mcp::build_federation(cfg.mcp, std::move(fs), std::move(fo));
    md.federation = p.mcp_federation.get();
    md.base_url = base_url;
    api::add_mcp_routes(r, std::move(md));
  }
  // issue 11: the A2A proxy, built in this order (the proxy route uses the three before it).
  // Each owner writes only its own block.
  {
    p.a2a_bindings = std::make_unique<a2a::TaskBindings>(store);
    api::add_a2a_task_routes(r, admin, *p.a2a_bindings);
    {
      a2a::CardCacheOptions co;
      co.refresh_seconds = cfg.a2a.card_refresh_seconds;
      co.max_stale_seconds = cfg.a2a.card_max_stale_seconds;
      co.ca_file = cfg.server.upstream.ca_file;
      co.base_url = [&p] {
        std::lock_guard lock(p.mu);
        return p.base_url;
      };
      co.issuer = [&p] { return p.issuer(); };
      co.signing_key = [&p] { return p.keys.active(); };
      co.capabilities = &p.capabilities;
      p.a2a_cards = a2a::make_card_cache(std::move(co));
      api::add_a2a_card_routes(r, {p.chain.get(), &p.catalog, &p.capabilities, p.a2a_cards.get(), [&p] {
                                     std::lock_guard lock(p.mu);
                                     return p.base_url;
                                   }});
    }
    {
      a2a::PushRelaySetup ps;
      ps.store = &store;
      ps.keys = &p.data_keys;
      ps.webhooks = p.webhooks.get();
      // Runtimes reach the relay at the address clients reach us at.
      ps.public_base = [&p] {
        std::lock_guard lock(p.mu);
        return p.base_url;
      };
      ps.max_configs_per_task = cfg.a2a.push_max_configs_per_task;
      ps.sign = a2a::make_push_signer(p.keys, [&p] { return p.issuer(); });
      p.a2a_push = a2a::make_push_relay(std::move(ps));
      api::add_a2a_push_route(r, {p.a2a_push.get(), &*p.admin_pool, &p.chain->refusals()});  // refusals: edgefix (issue 12)
    }
    // POST /a2a/{agent} and the REST binding (after the card routes:
    // its patterns are generic by depth).
    {
      // Binding checks are cache hits mostly; writes are one per new task or context.
      static constexpr unsigned kA2aPoolThreads = 2;
      static constexpr std::size_t kA2aPoolQueue = 4096;
      p.lifecycle.start({"a2a work pool", {}, [&p] { p.a2a_pool->stop(); }},
                        [&p] { p.a2a_pool.emplace("a2a", kA2aPoolThreads, kA2aPoolQueue); });
      api::A2aRouteDeps ad;
      ad.chain = p.chain.get();
      ad.catalog = &p.catalog;
      ad.capabilities = &p.capabilities;
      ad.invocations = &p.invocations;
      ad.sessions = p.sessions.get();
      ad.pool = &*p.a2a_pool;
      ad.bindings = api::binding_ports(*p.a2a_bindings);
      ad.cards = p.a2a_cards.get();
      ad.push = p.a2a_push.get();
      // The invoke route's identity and call-rule ports: one rule for agents calling agents.
      ad.ports.identity_token = [&p](const auth::Principal& caller, std::string_view tier, std::string_view agent,
                                     std::string_view session) {
        return p.agent_identity.token_for(caller, tier, agent, session);
      };
      ad.ports.call_refusal = [&p](const auth::Principal& caller, std::string_view agent) {
        return auth::agent_call_refusal(caller, agent, p.agent_identity.max_agent_depth());
      };
      ad.ports.unavailable = [&p](std::string_view agent) -> std::optional<int> {
        if (p.health->status(agent) != agents::kUnavailable) return std::nullopt;
        return p.health->retry_after_seconds();
      };
      ad.call_timeout = std::chrono::milliseconds(cfg.a2a.call_timeout_ms);
      ad.stream_idle_timeout = std::chrono::milliseconds(cfg.a2a.stream_idle_timeout_ms);
      ad.max_answer_bytes = cfg.a2a.max_answer_bytes;
      ad.record_capture_bytes = cfg.a2a.record_capture_bytes;
      ad.sse_heartbeat = std::chrono::milliseconds(cfg.server.upstream.sse_heartbeat_ms);
      api::add_a2a_routes(r, std::move(ad));
    }
  }
}

Gateway::~Gateway() { stop(); }

std::shared_ptr<const net::Router> Gateway::router() const { return p_->router; }
net::Router& Gateway::routes() { return *p_->router; }

void Gateway::set_public_base_url(const std::string& base_url) {
  std::lock_guard lock(p_->mu);
  p_->base_url = base_url;
  p_->configure_locked();
}

std::string Gateway::issuer() const { return p_->issuer(); }

std::vector<std::string> Gateway::start() {
  Parts& p = *p_;
  auto failures = p.refresher.refresh_all_now();
  p.jobs->start();  // issue 9: jobs — runtime calls begin once the gateway knows its address
  p.lifecycle.start({"background refresh", {},
                     [&p] {
                       {
                         std::lock_guard lock(p.stop_mu);
                         p.stopping = true;
                       }
                       p.stop_cv.notify_all();
                       if (p.background.joinable()) p.background.join();
                     }},
                    [&p] { p.background = std::thread([&p] { p.run_background(); }); });
  // issue 9: records — pings the promoted agents from now on.
  p.lifecycle.start({"agent health", {}, [&p] { p.health->stop(); }}, [&p] { p.health->start(); });
  // other nodes' changes to the MCP servers arrive through this poll.
  p.lifecycle.start({"mcp server poll", {}, [&p] { p.mcp_servers->stop_poll(); }}, [&p] { p.mcp_servers->start(); });
  // Redis connections (stopped before the background refresh they wake).
  if (p.redis) {
    p.lifecycle.start({"redis", {}, [&p] { p.redis->stop(); }}, [&p] { p.redis->start(); });
    p.lifecycle.start({"cluster change bus", {}, [&p] { p.change_bus->stop(); }}, [&p] {
      p.change_bus->start();
      log::info("cluster: change signals over Redis", {{"node", p.change_bus->node_id()},
                                                        {"redis", p.redis->options().url.describe()}});
    });
    // heartbeats into the node set (stopped before the connection).
    p.lifecycle.start({"cluster node registry", {}, [&p] { p.node_registry->stop(); }},
                      [&p] { p.node_registry->start(); });
  }
  return failures;
}

void Gateway::refresh() { p_->refresh_once(); }

void Gateway::apply(const core::Config& cfg) {
  std::lock_guard lock(p_->mu);
  p_->cfg = cfg;
  p_->configure_locked();
  if (p_->webhooks) p_->webhooks->set_config(cfg.server.webhooks);  // issue 9: webhooks
  if (p_->mcp_sessions) p_->mcp_sessions->set_idle(std::chrono::seconds(cfg.mcp.session_idle_seconds));
  if (p_->a2a_cards) p_->a2a_cards->set_limits(cfg.a2a.card_refresh_seconds, cfg.a2a.card_max_stale_seconds);  // ---- a2a card (issue 11)
  if (p_->usage_limits) p_->usage_limits->configure(cfg.server.usage_plans, cfg.tiers);
}

void Gateway::stop() { p_->lifecycle.shutdown(std::chrono::milliseconds(0)); }

std::vector<std::string> Gateway::subsystems() const { return p_->lifecycle.names(); }

agents::AgentCatalog& Gateway::catalog() { return p_->catalog; }
agents::Registry& Gateway::registry() { return *p_->registry; }
tenancy::TenantService& Gateway::tenants() { return *p_->tenant_service; }
// issue 9: records
agents::Idempotency& Gateway::idempotency() { return *p_->idempotency; }
agents::AgentHealth& Gateway::agent_health() { return *p_->health; }
agents::Webhooks& Gateway::webhooks() { return *p_->webhooks; }  // issue 9: webhooks
mcp::ServerRegistry& Gateway::mcp_servers() { return *p_->mcp_servers; }
cluster::TokenLeases* Gateway::token_leases() { return p_->token_leases.get(); }

}  // namespace pc::app

// A Store that forwards every call to a real one; tests derive from it and override the one call
// whose answer they need to stage (a stale read, a race lost to another gateway).
#pragma once

#include "store/store.h"

namespace pc::testing {

class ForwardingStore : public store::Store {
 public:
  explicit ForwardingStore(store::Store& real) : real_(real) {}
  bool ping() override { return real_.ping(); }
  int schema_version() override { return real_.schema_version(); }
  void insert_client(const store::ClientRecord& c) override { real_.insert_client(c); }
  std::optional<store::ClientRecord> find_client(std::string_view id) override { return real_.find_client(id); }
  std::optional<store::ClientRecord> find_bootstrap_client() override { return real_.find_bootstrap_client(); }
  std::vector<store::ClientRecord> list_clients(std::string_view t) override { return real_.list_clients(t); }
  bool update_client_secret(std::string_view id, std::string_view h) override {
    return real_.update_client_secret(id, h);
  }
  bool set_client_status(std::string_view id, std::string_view s) override { return real_.set_client_status(id, s); }
  std::vector<std::string> blocked_clients() override { return real_.blocked_clients(); }
  store::TenantRecord insert_tenant(const store::TenantRecord& t) override { return real_.insert_tenant(t); }
  std::optional<store::TenantRecord> find_tenant(std::string_view id) override { return real_.find_tenant(id); }
  std::vector<store::TenantRecord> list_tenants(std::string_view a, std::size_t l) override {
    return real_.list_tenants(a, l);
  }
  std::optional<store::TenantRecord> update_tenant(std::string_view id, const store::TenantPatch& p) override {
    return real_.update_tenant(id, p);
  }
  std::vector<store::TenantRecord> tenants_changed_since(std::int64_t r) override {
    return real_.tenants_changed_since(r);
  }
  std::vector<store::SigningKeyRecord> published_signing_keys() override { return real_.published_signing_keys(); }
  bool insert_first_signing_key(const store::SigningKeyRecord& k) override { return real_.insert_first_signing_key(k); }
  void rotate_signing_key(const store::SigningKeyRecord& k, std::int64_t a, std::int64_t n) override {
    real_.rotate_signing_key(k, a, n);
  }

  std::optional<store::TenantRecord> mark_tenant_deleted(std::string_view id, std::int64_t p) override {
    return real_.mark_tenant_deleted(id, p);
  }
  std::vector<std::string> tenants_due_for_purge(std::int64_t n) override { return real_.tenants_due_for_purge(n); }
  void purge_tenant(std::string_view id) override { real_.purge_tenant(id); }

  std::vector<store::DataKeyRecord> data_keys(std::string_view t, std::string_view c) override { return real_.data_keys(t, c); }
  bool insert_data_key(const store::DataKeyRecord& k) override { return real_.insert_data_key(k); }
  std::vector<store::DataKeyRecord> all_data_keys() override { return real_.all_data_keys(); }
  std::vector<store::SigningKeyRecord> all_signing_keys() override { return real_.all_signing_keys(); }
  void rewrap(const std::vector<store::DataKeyRecord>& d, const std::vector<store::SigningKeyRecord>& s) override {
    real_.rewrap(d, s);
  }

  void insert_secret(const store::SecretRecord& s) override { real_.insert_secret(s); }
  std::optional<store::SecretRecord> find_secret(std::string_view t, std::string_view n, int v) override {
    return real_.find_secret(t, n, v);
  }
  std::vector<store::SecretRecord> list_secrets(std::string_view t) override { return real_.list_secrets(t); }
  bool delete_secret(std::string_view t, std::string_view n) override { return real_.delete_secret(t, n); }

  void append_audit(std::vector<store::AuditRecord>& b, const AuditLinker& l) override { real_.append_audit(b, l); }
  void audited(store::AuditRecord& e, const AuditLinker& l, const std::function<void()>& change) override {
    real_.audited(e, l, change);
  }
  std::vector<store::AuditRecord> query_audit(const store::AuditQuery& q) override { return real_.query_audit(q); }
  std::int64_t purge_audit_before(std::string_view b) override { return real_.purge_audit_before(b); }
  std::optional<store::AuditAnchor> audit_anchor() override { return real_.audit_anchor(); }

  void upsert_capability(const store::CapabilityRecord& c) override { real_.upsert_capability(c); }
  bool delete_capability(std::string_view n) override { return real_.delete_capability(n); }
  std::vector<store::CapabilityRecord> list_capabilities() override { return real_.list_capabilities(); }

  void insert_agent(const store::AgentRecord& a) override { real_.insert_agent(a); }
  std::optional<store::AgentRecord> find_agent(std::string_view n) override { return real_.find_agent(n); }
  std::vector<store::AgentRecord> list_agents() override { return real_.list_agents(); }
  bool update_agent(const store::AgentRecord& a) override { return real_.update_agent(a); }
  bool delete_agent(std::string_view n) override { return real_.delete_agent(n); }
  void insert_agent_version(const store::AgentVersionRecord& v) override { real_.insert_agent_version(v); }
  std::vector<store::AgentVersionRecord> agent_versions(std::string_view a) override { return real_.agent_versions(a); }
  bool promote_agent_version(std::string_view a, std::string_view v, std::string_view p,
                             std::string_view live = {}) override {
    return real_.promote_agent_version(a, v, p, live);
  }
  std::vector<std::pair<store::AgentRecord, store::AgentVersionRecord>> promoted_agents() override {
    return real_.promoted_agents();
  }

  void insert_invocation(const store::InvocationRecord& r) override { real_.insert_invocation(r); }
  void insert_invocations(const std::vector<store::InvocationRecord>& r) override { real_.insert_invocations(r); }
  std::optional<store::InvocationRecord> find_invocation(std::string_view id) override { return real_.find_invocation(id); }
  std::vector<store::InvocationRecord> list_invocations(const store::InvocationQuery& q) override {
    return real_.list_invocations(q);
  }
  std::int64_t purge_invocation_content_before(std::string_view b) override {
    return real_.purge_invocation_content_before(b);
  }
  std::vector<store::TenantUsage> usage_since(std::string_view s, std::string_view t, std::size_t l) override {
    return real_.usage_since(s, t, l);
  }
  void insert_session(const store::SessionRecord& s) override { real_.insert_session(s); }
  std::optional<store::SessionRecord> find_session(std::string_view id) override { return real_.find_session(id); }
  bool end_session(std::string_view id) override { return real_.end_session(id); }
  std::int64_t purge_sessions_before(std::string_view b) override { return real_.purge_sessions_before(b); }

  void insert_sessions(const std::vector<store::SessionRecord>& rows) override { real_.insert_sessions(rows); }
  void touch_sessions(const std::vector<std::pair<std::string, std::string>>& seen) override {
    real_.touch_sessions(seen);
  }

  bool reserve_data_key_seals(std::string_view t, std::string_view c, int v, std::int64_t n,
                              std::int64_t limit) override {
    return real_.reserve_data_key_seals(t, c, v, n, limit);
  }
  store::IdempotencyClaim claim_idempotency_key(const store::IdempotencyRecord& p, std::string_view now) override {
    return real_.claim_idempotency_key(p, now);
  }
  bool complete_idempotency_key(const store::IdempotencyRecord& d) override { return real_.complete_idempotency_key(d); }
  bool release_idempotency_key(std::string_view t, std::string_view p, std::string_view k,
                               std::string_view o) override {
    return real_.release_idempotency_key(t, p, k, o);
  }
  std::int64_t purge_idempotency_keys_before(std::string_view now) override {
    return real_.purge_idempotency_keys_before(now);
  }
  bool set_agent_version_endpoint(std::string_view a, std::string_view v, std::string_view e) override {
    return real_.set_agent_version_endpoint(a, v, e);
  }

  void insert_webhook(const store::WebhookRecord& w) override { real_.insert_webhook(w); }
  std::optional<store::WebhookRecord> find_webhook(std::string_view id) override { return real_.find_webhook(id); }
  std::vector<store::WebhookRecord> list_webhooks(std::string_view t, std::string_view a, std::size_t l) override {
    return real_.list_webhooks(t, a, l);
  }
  bool delete_webhook(std::string_view id) override { return real_.delete_webhook(id); }
  void insert_webhook_delivery(const store::WebhookDeliveryRecord& d) override { real_.insert_webhook_delivery(d); }
  std::optional<store::WebhookDeliveryRecord> find_webhook_delivery(std::string_view id) override {
    return real_.find_webhook_delivery(id);
  }
  std::vector<store::WebhookDeliveryRecord> claim_webhook_deliveries(std::string_view n, std::int64_t now,
                                                                     std::int64_t lease, std::size_t l) override {
    return real_.claim_webhook_deliveries(n, now, lease, l);
  }
  bool finish_webhook_delivery(const store::WebhookDeliveryRecord& d) override { return real_.finish_webhook_delivery(d); }
  std::vector<store::WebhookDeliveryRecord> list_webhook_deliveries(std::string_view w, std::string_view s,
                                                                    std::string_view a, std::size_t l) override {
    return real_.list_webhook_deliveries(w, s, a, l);
  }
  bool redeliver_webhook_delivery(std::string_view id, std::int64_t now) override {
    return real_.redeliver_webhook_delivery(id, now);
  }
  std::int64_t purge_webhook_deliveries_before(std::string_view b) override {
    return real_.purge_webhook_deliveries_before(b);
  }

  void insert_jobs(const std::vector<store::JobRecord>& j) override { real_.insert_jobs(j); }
  std::optional<store::JobRecord> find_job(std::string_view id) override { return real_.find_job(id); }
  std::vector<store::JobRecord> claim_jobs(std::string_view n, std::int64_t now, std::int64_t lease,
                                           std::size_t limit, const JobCap& cap = {}) override {
    return real_.claim_jobs(n, now, lease, limit, cap);
  }
  bool renew_job_lease(std::string_view id, std::string_view n, std::int64_t until) override {
    return real_.renew_job_lease(id, n, until);
  }
  bool finish_job(const store::JobRecord& j, std::string_view n) override { return real_.finish_job(j, n); }
  bool retry_job(const store::JobRecord& j, std::string_view n, std::int64_t at) override {
    return real_.retry_job(j, n, at);
  }
  void insert_mcp_server(const store::McpServerRecord& s) override { real_.insert_mcp_server(s); }
  std::optional<store::McpServerRecord> find_mcp_server(std::string_view id) override { return real_.find_mcp_server(id); }
  std::optional<store::McpServerRecord> find_mcp_server_named(std::string_view t, std::string_view n) override {
    return real_.find_mcp_server_named(t, n);
  }
  std::vector<store::McpServerRecord> list_mcp_servers(std::string_view t, std::string_view after,
                                                       std::size_t limit) override {
    return real_.list_mcp_servers(t, after, limit);
  }
  std::vector<store::McpServerRecord> all_mcp_servers() override { return real_.all_mcp_servers(); }
  bool update_mcp_server(const store::McpServerRecord& s) override { return real_.update_mcp_server(s); }
  bool delete_mcp_server(std::string_view id) override { return real_.delete_mcp_server(id); }
  void record_mcp_server_health(const std::vector<store::McpServerHealth>& r) override {
    real_.record_mcp_server_health(r);
  }
  // ---- a2a push
  bool put_a2a_push_config(const store::A2aPushConfigRecord& c, std::size_t m) override {
    return real_.put_a2a_push_config(c, m);
  }
  std::optional<store::A2aPushConfigRecord> find_a2a_push_config(std::string_view id) override {
    return real_.find_a2a_push_config(id);
  }
  bool delete_a2a_push_config(std::string_view t, std::string_view a, std::string_view task,
                              std::string_view c) override {
    return real_.delete_a2a_push_config(t, a, task, c);
  }
  void insert_a2a_push_delivery(const store::WebhookDeliveryRecord& d) override { real_.insert_a2a_push_delivery(d); }
  void insert_mcp_tool_calls(const std::vector<store::McpToolCallRecord>& r) override { real_.insert_mcp_tool_calls(r); }
  std::optional<store::McpToolCallRecord> find_mcp_tool_call(std::string_view id) override {
    return real_.find_mcp_tool_call(id);
  }
  std::vector<store::McpToolCallRecord> list_mcp_tool_calls(std::string_view t, std::string_view a,
                                                            std::size_t l) override {
    return real_.list_mcp_tool_calls(t, a, l);
  }

  // ---- a2a bindings
  store::A2aTaskRecord bind_a2a_task(const store::A2aTaskRecord& t) override { return real_.bind_a2a_task(t); }
  std::optional<store::A2aTaskRecord> find_a2a_task(std::string_view a, std::string_view id) override {
    return real_.find_a2a_task(a, id);
  }
  store::A2aContextRecord bind_a2a_context(const store::A2aContextRecord& c) override {
    return real_.bind_a2a_context(c);
  }
  std::optional<store::A2aContextRecord> find_a2a_context(std::string_view a, std::string_view id) override {
    return real_.find_a2a_context(a, id);
  }
  bool set_a2a_task_state(std::string_view a, std::string_view id, std::string_view t, std::string_view p,
                          std::string_view s, std::string_view at) override {
    return real_.set_a2a_task_state(a, id, t, p, s, at);
  }
  std::vector<store::A2aTaskRecord> list_a2a_tasks(const store::A2aTaskQuery& q) override {
    return real_.list_a2a_tasks(q);
  }
  void insert_mcp_session(const store::McpSessionRecord& s) override { real_.insert_mcp_session(s); }
  std::optional<store::McpSessionRecord> find_mcp_session(std::string_view id) override {
    return real_.find_mcp_session(id);
  }
  void touch_mcp_sessions(const std::vector<std::pair<std::string, std::string>>& seen) override {
    real_.touch_mcp_sessions(seen);
  }
  void set_mcp_session_upstreams(const std::vector<store::McpUpstreamWrite>& w) override {
    real_.set_mcp_session_upstreams(w);
  }
  bool delete_mcp_session(std::string_view id) override { return real_.delete_mcp_session(id); }
  std::int64_t purge_mcp_sessions_before(std::string_view b) override { return real_.purge_mcp_sessions_before(b); }
  void put_tenant_limits(const store::TenantLimitsRecord& r) override { real_.put_tenant_limits(r); }
  std::optional<store::TenantLimitsRecord> find_tenant_limits(std::string_view t) override {
    return real_.find_tenant_limits(t);
  }
  std::vector<store::TenantLimitsRecord> list_tenant_limits() override { return real_.list_tenant_limits(); }
  bool delete_tenant_limits(std::string_view t) override { return real_.delete_tenant_limits(t); }
  void put_daily_usage(std::string_view node, const std::vector<store::DailyUsageRecord>& d) override {
    real_.put_daily_usage(node, d);
  }
  std::vector<store::DailyUsageRecord> daily_usage(std::string_view day) override { return real_.daily_usage(day); }
  std::int64_t purge_daily_usage_before(std::string_view day, std::int64_t limit) override {
    return real_.purge_daily_usage_before(day, limit);
  }

 protected:
  store::Store& real_;
};

}  // namespace pc::testing

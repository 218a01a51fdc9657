// The gateway's configuration: SPEC §3 as a plain struct with defaults, loaded from YAML.
// Loading never throws: every problem is reported with its key path so `check-config` can list
// them all at once, and `serve` can refuse to start (or to reload) with a one-line reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pc::core {

struct LimitsConfig {
  std::size_t max_header_bytes = 16384;
  std::size_t max_body_bytes = 1048576;
  std::size_t max_connections = 10000;
  std::uint32_t header_timeout_ms = 10000;
  std::uint32_t idle_timeout_ms = 60000;
  std::uint32_t body_timeout_ms = 30000;  // whole request body must arrive within this
  bool operator==(const LimitsConfig&) const = default;
};

struct TlsConfig {
  std::string cert_file;  // PEM; both files set = TLS on
  std::string key_file;
  std::string min_version = "1.2";  // "1.2" or "1.3"
  bool enabled() const { return !cert_file.empty(); }
  bool operator==(const TlsConfig&) const = default;
};

// How the gateway talks to agent runtimes and tool servers.
struct UpstreamConfig {
  std::uint32_t connect_timeout_ms = 2000;
  std::uint32_t response_timeout_ms = 30000;  // until response headers, and between body reads
  std::uint32_t pool_idle_timeout_ms = 30000;
  std::size_t pool_max_idle_per_host = 64;
  std::string ca_file;  // PEM trust anchors for https upstreams; empty = the system store
  // records (issue 9): how often each promoted agent's GET /ping is asked (agents::AgentHealth).
  std::uint32_t health_check_interval_ms = 3000;
  // invoke (issue 9): a streamed invocation idle this long gets a ": keep-alive" comment.
  std::uint32_t sse_heartbeat_ms = 15000;
  bool operator==(const UpstreamConfig&) const = default;
};

// outbound deliveries to tenants' webhook targets (docs/webhooks.md).
struct WebhooksConfig {
  // Targets resolving to loopback, private, link-local, CGNAT, multicast, … addresses are
  // refused (SSRF) unless this is set: tests, all-internal deployments.
  bool allow_private_targets = false;
  bool allow_http = false;  // plain http:// targets (default: https only)
  std::uint32_t max_attempts = 8;           // then the delivery becomes a dead letter
  std::uint32_t backoff_initial_ms = 1000;  // retry n waits a random time in [0, min(max, initial·2^(n-1))]
  std::uint32_t backoff_max_ms = 300000;
  std::uint32_t timeout_ms = 10000;  // one attempt, connect to last byte
  unsigned workers = 2;              // delivery threads per node
  std::uint32_t poll_interval_ms = 1000;  // how often a node looks for due deliveries (others' too)
  std::uint32_t delivered_retention_hours = 24;  // delivered rows kept this long; dead letters stay
  bool operator==(const WebhooksConfig&) const = default;
};

// issue 9: jobs — durable async jobs (docs/jobs.md), under server.jobs.
struct JobsConfig {
  unsigned workers = 4;                     // runtime calls in flight at once on this node
  std::uint32_t timeout_ms = 30000;         // one attempt: connect, send, the whole answer
  unsigned max_attempts = 3;                // attempts per job (1 = no retry)
  std::uint32_t backoff_initial_ms = 1000;  // pause before the first retry; doubled after each
  std::uint32_t backoff_max_ms = 60000;     // longest pause between attempts
  std::uint32_t lease_ms = 30000;           // a dead node's jobs are taken over after this
  std::uint32_t poll_interval_ms = 500;     // how often the store is asked for due jobs
  bool operator==(const JobsConfig&) const = default;
};

// edge protection in the net layer (docs/edge.md).
// A per-IP request budget: a GCRA of `rps` requests per second with `burst` back to back.
// rps 0 = no budget.
struct EdgeBudget {
  double rps = 0;
  std::uint64_t burst = 0;  // 0 = max(1, rps)
  bool operator==(const EdgeBudget&) const = default;
};

// A WAF-lite rule: it matches when every part it names matches (methods: one of them; the
// patterns: Hyperscan expressions, searched anywhere in the percent-decoded path or query, in
// each value of the named header, in the body). `block` answers 403 request_blocked; `log`
// counts, logs (bounded) and lets the request through.
struct WafRule {
  std::string name;
  std::string action = "block";  // block | log
  std::vector<std::string> methods;
  std::string path;
  std::string query;
  std::string header_name;
  std::string header_pattern;
  std::string body;
  bool caseless = false;
  bool operator==(const WafRule&) const = default;
};

struct EdgeConfig {
  // Open connections per peer address (IPv6: per /64); 0 = no cap. Trusted proxies are exempt.
  std::size_t max_connections_per_ip = 0;
  EdgeBudget requests_per_ip;                 // every request, per client address
  EdgeBudget token_endpoint{100, 1000};       // POST /oauth2/token, per client address
  EdgeBudget admin_api;                       // /v1/tenants…, /v1/platform…, per client address
  EdgeBudget a2a_push{50, 200};               // POST /a2a-push/{relayId} (runtimes' webhooks), per client address
  // The header naming the client when the peer is a trusted proxy: the one the operator's proxies
  // write (x-forwarded-for, or forwarded: RFC 7239 for=). Only one is read: a client may send
  // either, and the one the proxy does not write is the client's own word.
  std::string forwarded_header = "x-forwarded-for";
  std::size_t max_tracked_ips = 65536;        // per budget; least recently seen evicted beyond
  std::vector<WafRule> waf;
  bool operator==(const EdgeConfig&) const = default;
};
// how usage plans are enforced (server.usage_plans, docs/usage-plans.md).
struct UsagePlansConfig {
  bool enabled = true;                         // false: the limit stage lets everything through
  std::uint32_t persist_interval_seconds = 5;  // quota counters written to the store this often
  // UTC time of day at which a quota day starts ("HH:MM" or "HH:MM:SS"); counters reset then.
  std::string day_start_utc = "00:00";
  // days of daily_usage rows kept; older ones are purged in bounded batches.
  std::uint32_t keep_days = 90;
  bool operator==(const UsagePlansConfig&) const = default;
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 = pick one (tests)
  TlsConfig tls;
  unsigned threads = 0;  // 0 = one per core
  LimitsConfig limits;
  UpstreamConfig upstream;
  std::uint32_t drain_timeout_ms = 10000;  // SIGTERM: wait this long for in-flight requests
  bool metrics_public = true;              // false: /metrics only from loopback
  WebhooksConfig webhooks;                 // issue 9: webhooks
  JobsConfig jobs;                         // issue 9: jobs
  // Peers (IPs or CIDRs) whose X-Forwarded-For is believed: the client is its right-most hop
  // that is not itself a trusted proxy. Empty: the client is always the peer.
  std::vector<std::string> trusted_proxies;
  EdgeConfig edge;
  UsagePlansConfig usage_plans;
  bool operator==(const ServerConfig&) const = default;
};

struct StorageConfig {
  std::string backend = "sqlite";  // sqlite | postgres
  std::string sqlite_path;         // empty = <data_dir>/portcullis.db
  std::string postgres_url;
  bool operator==(const StorageConfig&) const = default;
};

struct ClusterConfig {
  std::string redis_url;  // empty = no Redis (single node)
  // trust anchors (PEM) for rediss://; empty = the system store.
  std::string redis_ca_file;
  bool operator==(const ClusterConfig&) const = default;
};

struct KeysConfig {
  std::string master_key_file;  // empty = <data_dir>/master.key (created on first start)
  bool operator==(const KeysConfig&) const = default;
};

struct IssuerClaimsConfig {
  std::string tenant = "tenantid";
  std::string app = "appid";
  std::string roles = "roles";
  std::string email = "email";
  std::string name = "name";
  bool operator==(const IssuerClaimsConfig&) const = default;
};

// How long fetched keys are trusted before a refresh, and how often an unknown `kid` may force
// an early one. The issuer's Cache-Control max-age is used, clamped to [min, max].
struct JwksCacheConfig {
  std::uint32_t min_seconds = 60;
  std::uint32_t max_seconds = 86400;
  std::uint32_t refetch_interval_seconds = 30;  // at most one unknown-kid refetch per interval
  bool operator==(const JwksCacheConfig&) const = default;
};

struct IssuerConfig {
  std::string name;
  std::string issuer;
  bool discovery = true;
  std::string jwks_uri;
  std::string jwks_file;  // static key set from a file (offline IdPs); excludes discovery/jwks_uri
  std::vector<std::string> audiences;
  std::vector<std::string> allowed_clients;
  std::vector<std::string> tenants;  // when set, the only tenants this issuer may speak for
  std::vector<std::string> algorithms = {"RS256", "ES256"};
  std::uint32_t leeway_seconds = 60;
  IssuerClaimsConfig claims;
  JwksCacheConfig jwks_cache;
  bool operator==(const IssuerConfig&) const = default;
};

// The built-in issuer (SPEC §4): its identity and the tokens it mints.
struct TokensConfig {
  std::string issuer;                  // empty = http(s)://<server.listen>
  std::vector<std::string> audiences;  // accepted and mintable audiences; empty = [issuer]
  std::uint32_t access_token_ttl_seconds = 900;  // at most one hour
  std::uint32_t leeway_seconds = 30;
  std::size_t cache_entries_per_thread = 16384;  // verified-token cache bound, per I/O thread
  // issue 9: identity — agents on one call path (user → A → B → …); a call beyond is refused.
  std::uint32_t agent_call_max_depth = 4;
  bool operator==(const TokensConfig&) const = default;
};

struct TierConfig {
  double rps = 0;
  std::uint64_t burst = 0;
  std::uint64_t daily_quota = 0;  // 0 = unlimited
  // Order among tiers (higher meets more tierMinimums). Required for tiers other than the
  // built-in ones, which default to basic 0, standard 1, premium 2. -1 = not given.
  std::int64_t rank = -1;
  // the rest of the usage plan (docs/usage-plans.md). 0 = no limit.
  double principal_rps = 0;            // per principal (token subject) of a tenant; 0 = off
  std::uint64_t principal_burst = 0;   // 0 = the tier's burst
  std::uint64_t max_concurrent = 0;    // calls (invocations, tool calls) in flight per tenant
  std::uint64_t daily_tool_calls = 0;  // MCP tools/call per quota day (daily_quota counts invocations)
  // calls (invocations + tool calls) in a quota day past which the tenant
  // is suspended automatically (audited; an admin resumes it). 0 = off.
  std::uint64_t suspend_after = 0;
  bool operator==(const TierConfig&) const = default;
};


struct RetentionConfig {
  std::uint32_t invocation_content_days = 90;
  std::uint32_t audit_years = 7;
  std::uint32_t sessions_hours = 24;
  std::uint32_t tenant_purge_days = 30;  // grace period between DELETE of a tenant and its purge
  std::uint32_t interval_minutes = 60;   // how often the retention job runs
  bool operator==(const RetentionConfig&) const = default;
};

struct CustomRedaction {
  std::string name;
  std::string pattern;  // RE2 syntax
  bool operator==(const CustomRedaction&) const = default;
};

struct RedactionConfig {
  // The SPEC's eight, plus (redact, issue 10) private_key and api_key: secrets with shapes that
  // almost never occur by chance. ip_address is opt-in (version strings and operational output).
  std::vector<std::string> builtin = {"email",   "phone",   "credit_card", "iban",       "us_ssn",
                                      "uk_nino", "aws_key", "jwt",         "private_key", "api_key"};
  std::vector<CustomRedaction> custom;
  bool operator==(const RedactionConfig&) const = default;
};

// the MCP gateway (SPEC §7, docs/mcp.md).
// A policy rule (area "intercept"): matches calls by tenant, server and tool (each "" or "*" =
// any; tool may end in "*"), and by the caller's roles (any of; empty = any). Rules are read in
// order, the first match decides; when rules exist, a call no rule allows is denied.
struct McpPolicyRule {
  std::string tenant;
  std::string server;
  std::string tool;
  std::vector<std::string> roles;
  std::string effect = "allow";  // allow | deny
  bool operator==(const McpPolicyRule&) const = default;
};

// An external interceptor (area "intercept"): POST JSON to `url` at `stage`, JSON back.
struct McpHook {
  std::string name;
  std::string url;
  std::string stage = "request";  // request | response
  std::uint32_t timeout_ms = 1000;
  std::vector<std::string> tenants;  // empty: every tenant
  std::vector<std::string> servers;  // empty: every server
  bool operator==(const McpHook&) const = default;
};

struct McpConfig {
  std::uint32_t session_idle_seconds = 3600;  // transport: an idle Mcp-Session-Id ends after this
  std::uint32_t call_timeout_ms = 30000;      // federation: one upstream request (server timeout_ms wins)
  std::uint32_t list_timeout_ms = 5000;       // federation: a server slower than this drops out of a list
  std::size_t max_result_bytes = 4u << 20;    // an upstream answer larger than this fails the call
  std::vector<std::string> guardrail_deny;    // redact: RE2 patterns; a result matching one is refused
  std::vector<McpPolicyRule> policies;
  std::vector<McpHook> hooks;
  bool operator==(const McpConfig&) const = default;
};

// issue 11: the A2A proxy (docs/a2a.md). Each owner adds its own fields below its marker.
struct A2aConfig {
  // ---- card
  std::uint32_t card_refresh_seconds = 300;    // a cached agent card is refetched in the background after this
  std::uint32_t card_max_stale_seconds = 3600;  // a card older than this (runtime not answering) is not served
  // ---- proxy
  std::uint32_t call_timeout_ms = 60000;        // one non-streaming call to the runtime
  std::uint32_t stream_idle_timeout_ms = 300000;  // a relayed stream with no event for this long is ended
  std::size_t max_answer_bytes = 4u << 20;      // a larger runtime answer fails the call (stream: per event)
  std::size_t record_capture_bytes = 64u << 10;  // how much of each answer/stream is kept (sealed) in the record
  // ---- push
  std::uint32_t push_max_configs_per_task = 10;
  bool operator==(const A2aConfig&) const = default;
};

struct LogConfig {
  std::string level = "info";   // trace debug info warn error off
  std::string format = "json";  // json | text
  bool access = true;           // one access line per request
  bool operator==(const LogConfig&) const = default;
};

struct Config {
  std::string data_dir = "./var";
  ServerConfig server;
  StorageConfig storage;
  ClusterConfig cluster;
  KeysConfig keys;
  std::vector<IssuerConfig> issuers;
  TokensConfig tokens;
  std::map<std::string, TierConfig> tiers = {
      // rps, burst, daily_quota, rank, principal_rps, principal_burst, max_concurrent, daily_tool_calls
      {"basic", {10, 100, 1000, 0, 0, 0, 20, 1000}},
      {"standard", {50, 500, 10000, 1, 0, 0, 100, 10000}},
      {"premium", {500, 2000, 0, 2, 0, 0, 500, 0}},
  };
  RetentionConfig retention;
  RedactionConfig redaction;
  McpConfig mcp;
  A2aConfig a2a;  // issue 11
  LogConfig log;

  // Paths with their data_dir-relative defaults filled in.
  std::string sqlite_path() const;
  std::string master_key_path() const;
  // The built-in issuer's identifier with its default filled in (for validation; a running
  // gateway uses the address it actually bound, see app/gateway.cpp).
  std::string token_issuer() const;
  bool operator==(const Config&) const = default;
};

struct ConfigError {
  std::string path;     // e.g. "server.limits.max_body_bytes"
  std::string message;  // e.g. "must be a positive integer"
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

struct ConfigResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<ConfigError> errors;
};

// Parses YAML text. `${VAR}` is expanded from the environment (an unset variable is an error);
// string values of the form `file:/path` are replaced by that file's contents (trailing newline
// trimmed) for the keys that hold secrets or URLs.
ConfigResult parse_config(const std::string& yaml_text);
ConfigResult load_config_file(const std::string& path);

// Keys that are validated and kept but whose subsystem does not exist yet: one line for each
// such key set to anything but its default, e.g. "<key>: accepted but not used yet (…)" (none
// today: cluster.redis.url is read since issue 12). check-config prints them as notices, serve logs them
// at warn, so a set key never looks active when it is not.
std::vector<std::string> inactive_key_notices(const Config& c);

// seconds after midnight of "HH:MM" or "HH:MM:SS"; nullopt when malformed.
std::optional<std::int64_t> parse_time_of_day(std::string_view v);

}  // namespace pc::core

// `portcullis serve`: load the configuration, bind the port, prepare the store and first-start
// material, wire the routes, start serving, and react to signals (SIGHUP reload, SIGTERM/SIGINT
// drain and exit). What runs is an ordered list of subsystems (app/lifecycle.h), stopped in
// reverse order of start.
#include <boost/url/parse.hpp>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <sstream>

#include "api/system_routes.h"
#include "agents/catalog.h"
#include "app/bootstrap.h"
#include "app/build_info.h"
#include "app/commands.h"
#include "app/demo.h"
#include "app/gateway.h"
#include "app/lifecycle.h"
#include "app/signals.h"
#include "auth/signing_keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/work_pool.h"
#include "examples/example_agent.h"
#include "net/server.h"
#include "cluster/redis_url.h"  // edgefix (issue 12)
#include "net/waf.h"  // edge (issue 12)
#include "store/store.h"

namespace pc::app {
namespace {

core::ConfigResult load(const std::string& path) {
  if (path.empty()) return {core::Config{}, {}};
  auto r = core::load_config_file(path);
  // WAF patterns are Hyperscan's to judge (the core layer has no Hyperscan);
  // edgefix: the Redis URL is the cluster layer's (the same parser the gateway starts with).
  if (r.config) {
    auto errors = net::waf_config_errors(*r.config);
    for (auto& e : cluster::redis_config_errors(*r.config)) errors.push_back(std::move(e));
    if (!errors.empty()) {
      r.errors = std::move(errors);
      r.config.reset();
    }
  }
  return r;
}

std::string one_line(const std::vector<core::ConfigError>& errors) {
  std::string msg = errors.front().to_string();
  if (errors.size() > 1) msg += " (and " + std::to_string(errors.size() - 1) + " more; run check-config)";
  return msg;
}

// Settings that only a restart can change; a reload that changes them keeps the old ones.
std::vector<std::string> restart_only_changes(const core::Config& a, const core::Config& b) {
  std::vector<std::string> keys;
  if (a.server.listen != b.server.listen) keys.push_back("server.listen");
  if (a.server.threads != b.server.threads) keys.push_back("server.threads");
  if (!(a.server.tls == b.server.tls)) keys.push_back("server.tls");
  if (a.data_dir != b.data_dir) keys.push_back("data_dir");
  if (!(a.storage == b.storage)) keys.push_back("storage");
  if (!(a.cluster == b.cluster)) keys.push_back("cluster");
  if (!(a.keys == b.keys)) keys.push_back("keys");
  // Quota counters are keyed by the quota day they were counted in; moving the day's start live
  // would skip or repeat a reset (review M2), so a new day start waits for a restart.
  if (a.server.usage_plans.day_start_utc != b.server.usage_plans.day_start_utc)
    keys.push_back("server.usage_plans.day_start_utc");
  // issue 10: the MCP federation and its interceptor chains (Hyperscan databases, compiled
  // policies, hooks) are built once at start; only the session idle time is live.
  if (!(a.redaction == b.redaction)) keys.push_back("redaction");
  core::McpConfig ma = a.mcp;
  ma.session_idle_seconds = b.mcp.session_idle_seconds;
  if (!(ma == b.mcp)) keys.push_back("mcp");
  return keys;
}

struct DemoUpstream {
  std::unique_ptr<examples::ExampleAgent> agent;  // only when we started it ourselves
  std::string host;
  std::uint16_t port = 0;
};

// The gateway as a process on this host reaches it: a wildcard listen address is reached on loopback.
std::string local_url(std::string base) {
  for (auto [any, loop] : {std::pair{"//0.0.0.0:", "//127.0.0.1:"}, std::pair{"//[::]:", "//[::1]:"}})
    if (auto at = base.find(any); at != std::string::npos) base.replace(at, std::string(any).size(), loop);
  return base;
}

// Without --demo-agent the example agent runs here, checking the identity tokens of this gateway
// (`gateway` is its URL, `issuer` its issuer, `ca_file` what an https gateway is verified with).
DemoUpstream demo_upstream(const std::string& url, const std::string& gateway, const std::string& issuer,
                           const std::string& ca_file) {
  DemoUpstream d;
  if (url.empty()) {
    examples::ExampleAgentOptions o;
    o.listen = "127.0.0.1:0";
    o.gateway = gateway;
    o.issuer = issuer;
    o.gateway_ca = ca_file;
    o.a2a_name = std::string(kDemoA2aAgent);  // ---- a2a example (issue 11)
    d.agent = std::make_unique<examples::ExampleAgent>(std::move(o));
    auto addr = d.agent->address();
    auto colon = addr.rfind(':');
    d.host = addr.substr(0, colon);
    d.port = static_cast<std::uint16_t>(std::stoi(addr.substr(colon + 1)));
    return d;
  }
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "http" || u->host().empty())
    throw std::runtime_error("--demo-agent: expected http://host:port, got " + url);
  d.host = std::string(u->host());
  d.port = u->has_port() ? u->port_number() : 80;
  return d;
}

// What every MCP request of the banner sends besides its token (docs/mcp.md).
constexpr std::string_view kMcpHeaders = "-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'";

// An A2A 1.0 JSON-RPC SendMessage (a2a.proto's JSON names).
constexpr std::string_view kA2aSend =
    R"({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m-1","role":"ROLE_USER","parts":[{"text":"hello over A2A"}]}}})";

void print_demo_banner(const std::string& base, const std::string& creds_file) {
  // Reads the demo client's credentials from the file with sed, so the banner (a log line)
  // never carries a secret and the commands need nothing beyond curl and sed.
  const std::string token =
      R"x(TOKEN=$(curl -s -u "$(sed -E 's/.*"demo":\{"client_id":"([^"]*)","client_secret":"([^"]*)".*/\1:\2/' )x" +
      creds_file + R"x()" -d grant_type=client_credentials )x" + base +
      R"x(/oauth2/token | sed -E 's/.*"access_token":"([^"]*)".*/\1/'))x";
  std::ostringstream out;
  out << "\nPortcullis demo is running on " << base << "\n"
      << "  health:      curl -s " << base << "/healthz\n"
      << "  get a token (tenant demo, credentials in " << creds_file << "):\n"
      << "               " << token << "\n"
      << "  its agents:  curl -s " << base << "/v1/agents -H \"Authorization: Bearer $TOKEN\"\n"
      << "  demo agent:  curl -s -X POST " << base << "/v1/agents/echo/invoke -H \"Authorization: Bearer $TOKEN\""
      << " -H 'Content-Type: application/json' -d '{\"input\":\"hello\"}'\n"
      << "  streaming:   curl -sN -X POST " << base << "/v1/agents/echo/invoke -H \"Authorization: Bearer $TOKEN\""
      << " -H 'Content-Type: application/json' -d '{\"input\":{\"stream_events\":5,\"stream_interval_ms\":300},\"mode\":\"stream\"}'\n"
      << "  async job:   curl -s -X POST " << base << "/v1/agents/echo/invoke -H \"Authorization: Bearer $TOKEN\""
      << " -H 'Content-Type: application/json' -d '{\"input\":\"later\",\"mode\":\"async\"}'"
      << "   then GET the pollUrl it names\n"
      << "  identity:    the demo agent (unless --demo-agent) verifies the X-Portcullis-Identity the gateway signs; it shows\n"
      << "               the verified claims in output.identity (docs/agent-identity.md)\n"
      << "  MCP session: SID=$(curl -si -X POST " << base << "/mcp -H \"Authorization: Bearer $TOKEN\" " << kMcpHeaders
      << " -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
         "\"capabilities\":{},\"clientInfo\":{\"name\":\"curl\",\"version\":\"1\"}}}' | sed -nE 's/^mcp-session-id: *//ip' | tr -d '\\r')\n"
      << "  MCP tool:    curl -s -X POST " << base << "/mcp -H \"Authorization: Bearer $TOKEN\" -H \"Mcp-Session-Id: $SID\""
      << " -H 'MCP-Protocol-Version: 2025-11-25' " << kMcpHeaders
      << " -d '{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"lookup_customer\","
         "\"arguments\":{\"id\":\"c-42\"}}}'   (its PII comes back [REDACTED:<kind>]; docs/mcp.md)\n"
      // The same example agent as A2A agent echo-a2a (docs/a2a.md).
      << "  A2A card:    curl -s " << base << "/a2a/" << kDemoA2aAgent << "/.well-known/agent-card.json -H \"Authorization: Bearer $TOKEN\"\n"
      << "  A2A message: curl -s -X POST " << base << "/a2a/" << kDemoA2aAgent << " -H \"Authorization: Bearer $TOKEN\""
      << " -H 'A2A-Version: 1.0' -H 'Content-Type: application/json' -d '" << kA2aSend << "'\n"
      << "  A2A stream:  the same with -N -H 'Accept: text/event-stream' and \"method\":\"SendStreamingMessage\"\n"
      << "  no token:    curl -si " << base << "/v1/agents   (401)\n"
      << "  metrics:     curl -s " << base << "/metrics\n"
      << "Stop with Ctrl-C.\n";
  log::raw(out.str());
}

}  // namespace

int check_config(const std::string& path) {
  auto r = load(path);  // edge (issue 12): WAF patterns checked too
  if (r.errors.empty()) {
    for (const auto& n : core::inactive_key_notices(*r.config)) std::cout << "notice: " << n << "\n";
    std::cout << path << ": configuration is valid\n";
    return 0;
  }
  for (const auto& e : r.errors) std::cout << e.to_string() << "\n";
  return 1;
}

int example_agent(const examples::ExampleAgentOptions& options) {
  log::init("info", "json");
  try {
    examples::ExampleAgent agent(options);
    log::info("listening", {{"address", agent.address()}, {"service", "example-agent"}, {"name", options.name},
                            {"a2a_name", options.a2a_name.empty() ? options.name : options.a2a_name},
                            {"identity_checked", !options.gateway.empty()}});
    int sig;
    while ((sig = wait_process_signal()) == SIGHUP) {
    }
    agent.stop();
  } catch (const std::exception& e) {
    std::cerr << "portcullis example-agent: " << e.what() << "\n";
    return 1;
  }
  log::info("stopped", {{"service", "example-agent"}});
  log::flush();
  return 0;
}

// Blocking store work of /readyz runs on a pool of its own, so probes never queue behind the
// token endpoint or the admin API (their pools are in the gateway). One thread: a probe is one
// cheap query; a queue of a few, because an orchestrator probes rarely and a full queue answers
// 503, which is the truth when the store does not keep up with even that.
constexpr unsigned kProbePoolThreads = 1;
constexpr std::size_t kProbePoolQueue = 16;

int serve(const ServeOptions& opts) {
  // SIGHUP, SIGTERM and SIGINT are blocked already (main, before any thread started).
  auto loaded = load(opts.config_path);
  if (!loaded.errors.empty()) {
    std::cerr << "portcullis: " << one_line(loaded.errors) << "\n";
    return 2;
  }
  core::Config cfg = *loaded.config;
  log::init(cfg.log.level, cfg.log.format);
  for (const auto& n : core::inactive_key_notices(cfg)) log::warn("configuration: " + n);
  auto& reloads = core::metrics().counter("portcullis_config_reloads_total", "Configuration reloads by outcome", {"outcome"});
  core::metrics()
      .gauge("portcullis_build_info", "Build information (always 1)", {"version", "revision"})
      .labels({build_version(), build_revision()})
      .set(1);

  // What the subsystems below use is declared before the lifecycle that stops them; the
  // lifecycle alone decides the order they stop in (reverse order of start, see lifecycle.h).
  auto router = std::make_shared<net::Router>();
  net::Server server(cfg, router);
  std::unique_ptr<store::Store> store;
  std::optional<crypto::MasterKeyring> master_keys;
  std::unique_ptr<Gateway> gateway;
  std::optional<core::WorkPool> probe_pool;
  DemoUpstream demo;
  DemoTools demo_tools;
  Lifecycle life;
  auto fail = [&](int code, const std::string& why) {
    life.shutdown(std::chrono::milliseconds(0));
    log::flush();
    std::cerr << "portcullis: " << why << "\n";
    return code;
  };

  // 1. The port, before any file is created: a second gateway on the same port stops here with
  // one line and leaves the data directory as it found it.
  try {
    life.start({"listening sockets and event loops", {}, [&] { server.stop(); }}, [&] { server.listen(); });
  } catch (const std::exception& e) {
    return fail(1, e.what());
  }
  const std::string base = std::string(cfg.server.tls.enabled() ? "https://" : "http://") + server.address();

  // 2. Keys and the store.
  try {
    ensure_master_key(cfg);  // creates it on first start
    // The keyring: the key file plus what an interrupted or recent master-key rotation left
    // (crypto/master_keyring.h), so every row opens whichever key wrapped it.
    master_keys.emplace(crypto::load_master_keyring(cfg.master_key_path()));
    store = store::Store::open(cfg.storage, cfg.sqlite_path());
    if (auth::SigningKeys::ensure_key(*store, master_keys->current())) log::info("token signing key created");
  } catch (const std::exception& e) {
    return fail(1, e.what());
  }

  // 3. The gateway (its logs, key refresher and work pools) and the probes' pool.
  auto live = std::make_shared<std::atomic<bool>>(cfg.server.metrics_public);
  try {
    gateway = std::make_unique<Gateway>(cfg, *store, *master_keys, router);
    life.start({"gateway", {}, [&] { gateway->stop(); }});
    life.start({"probe work pool", {}, [&] { probe_pool->stop(); }},
               [&] { probe_pool.emplace("probe", kProbePoolThreads, kProbePoolQueue); });
  } catch (const std::exception& e) {
    return fail(1, e.what());
  }
  api::add_system_routes(*router, {[s = store.get()] { return s->ping(); }, &*probe_pool,
                                   [live] { return live->load(); }});
  // The issuer is known from here on (the port is bound): the demo agent is told whose tokens to
  // expect.
  gateway->set_public_base_url(base);
  if (opts.demo) {
    try {
      life.start({"demo agent", {}, [&] {
                    if (demo.agent) demo.agent->stop();
                  }},
                 [&] {
                   demo = demo_upstream(opts.demo_agent_url, local_url(base), gateway->issuer(),
                                        cfg.server.tls.enabled() ? cfg.server.tls.cert_file : "");
                 });
    } catch (const std::exception& e) {
      return fail(2, e.what());
    }
    // the example MCP server, checking this gateway's act-on-behalf tokens.
    try {
      life.start({"demo tools", {}, [&] {
                    if (demo_tools.server) demo_tools.server->stop();
                  }},
                 [&] {
                   demo_tools = start_demo_tools(local_url(base), gateway->issuer(),
                                                 cfg.server.tls.enabled() ? cfg.server.tls.cert_file : "");
                 });
    } catch (const std::exception& e) {
      return fail(2, e.what());
    }
  }

  // 4. First-start material, the demo seed, the first key fetches.
  const std::string token_url = gateway->issuer() + "/oauth2/token";
  DemoSeed seeded;
  try {
    auto boot = first_start(cfg, *store, gateway->issuer());
    if (boot.created_admin)
      log::info("bootstrap admin client created", {{"credentials_file", boot.bootstrap_file}});
    if (opts.demo) {
      seeded = seed_demo(gateway->tenants(), gateway->registry(), *store, cfg, token_url,
                         "http://" + demo.host + ":" + std::to_string(demo.port));
      seeded.tools_url = demo_tools.url;
      if (!seeded.tools_url.empty()) register_demo_tools(gateway->mcp_servers(), seeded.tools_url);
      if (seeded.wrote_credentials)
        log::info("demo tenants and clients created", {{"credentials_file", seeded.credentials_file}});
    }
    gateway->refresh();  // serve what first start and the demo just wrote, not 2 s later
  } catch (const std::exception& e) {
    log::error("first start failed", {{"error", e.what()}});
    return fail(1, e.what());
  }
  for (const auto& failure : gateway->start())
    log::warn("jwks: first fetch failed; that issuer's tokens are refused until it answers", {{"issuer", failure}});

  // 5. Connections, last: drained first at shutdown.
  life.start({"connections",
              [&](std::chrono::milliseconds left) { server.drain(left); },
              {}},
             [&] { server.start(); });
  log::info("listening", {{"address", server.address()}, {"tls", cfg.server.tls.enabled()}, {"demo", opts.demo},
                          {"issuer", gateway->issuer()}});
  if (opts.demo) {
    log::info("demo agent", {{"upstream", demo.host + ":" + std::to_string(demo.port)},
                             {"started_here", demo.agent != nullptr}});
    log::info("demo tools", {{"url", seeded.tools_url}});
    print_demo_banner(base, seeded.credentials_file);
  }

  for (;;) {
    int sig = wait_process_signal();
    if (sig != SIGHUP) {
      log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                  {"drain_timeout_ms", cfg.server.drain_timeout_ms}});
      break;
    }
    if (opts.config_path.empty()) {
      log::info("reload: no configuration file; nothing to reload");
      continue;
    }
    auto next = load(opts.config_path);  // edge (issue 12): WAF patterns checked too
    if (!next.errors.empty()) {
      reloads.labels({"rejected"}).inc();
      for (const auto& e : next.errors)
        log::error("reload rejected; keeping the running configuration", {{"key", e.path}, {"error", e.to_string()}});
      continue;
    }
    for (const auto& key : restart_only_changes(cfg, *next.config))
      log::warn("reload: this setting needs a restart; keeping the running value", {{"key", key}});
    core::Config applied = *next.config;
    applied.server.listen = cfg.server.listen;
    applied.server.threads = cfg.server.threads;
    applied.server.tls = cfg.server.tls;
    applied.data_dir = cfg.data_dir;
    applied.storage = cfg.storage;
    applied.cluster = cfg.cluster;
    applied.keys = cfg.keys;
    applied.server.usage_plans.day_start_utc = cfg.server.usage_plans.day_start_utc;
    cfg = applied;
    server.apply(cfg);
    gateway->apply(cfg);
    live->store(cfg.server.metrics_public);
    log::init(cfg.log.level, cfg.log.format);
    reloads.labels({"applied"}).inc();
    log::info("reload applied", {{"config", opts.config_path}});
  }

  // Signals that arrive from here on stay blocked and pending: nothing reacts to them, so a
  // SIGHUP (or a second SIGTERM) during the drain neither reloads nor cuts the drain short.
  // Connections drain first, the event loops stop last (lifecycle.h).
  life.shutdown(std::chrono::milliseconds(cfg.server.drain_timeout_ms));
  log::info("stopped");
  log::flush();
  return 0;
}

}  // namespace pc::app

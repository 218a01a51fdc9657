// `portcullis serve`: load the configuration, prepare the store and first-start material, wire
// the routes, run the server, and react to signals (SIGHUP reload, SIGTERM/SIGINT drain and exit).
#include <boost/url/parse.hpp>
#include <signal.h>

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
#include "auth/signing_keys.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/work_pool.h"
#include "examples/example_agent.h"
#include "net/server.h"
#include "store/store.h"

namespace pc::app {
namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Called before any thread starts, so every thread inherits the mask and only the main thread's
// sigwait sees these signals.
void block_signals() {
  sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_signal() {
  sigset_t set = handled_signals();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

core::ConfigResult load(const std::string& path) {
  if (path.empty()) return {core::Config{}, {}};
  return core::load_config_file(path);
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
  return keys;
}

struct DemoUpstream {
  std::unique_ptr<examples::ExampleAgent> agent;  // only when we started it ourselves
  std::string host;
  std::uint16_t port = 0;
};

DemoUpstream demo_upstream(const std::string& url) {
  DemoUpstream d;
  if (url.empty()) {
    d.agent = std::make_unique<examples::ExampleAgent>("127.0.0.1:0");
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
      << " -H 'Content-Type: application/json' -d '{\"input\":\"hi\",\"stream\":true,\"chunks\":5,\"interval_ms\":300}'\n"
      << "  no token:    curl -si " << base << "/v1/agents   (401)\n"
      << "  metrics:     curl -s " << base << "/metrics\n"
      << "Stop with Ctrl-C.\n";
  log::raw(out.str());
}

}  // namespace

int check_config(const std::string& path) {
  auto r = core::load_config_file(path);
  if (r.errors.empty()) {
    std::cout << path << ": configuration is valid\n";
    return 0;
  }
  for (const auto& e : r.errors) std::cout << e.to_string() << "\n";
  return 1;
}

int example_agent(const std::string& listen) {
  log::init("info", "json");
  block_signals();
  try {
    examples::ExampleAgent agent(listen);
    log::info("listening", {{"address", agent.address()}, {"service", "example-agent"}});
    int sig;
    while ((sig = wait_signal()) == SIGHUP) {
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

int serve(const ServeOptions& opts) {
  auto loaded = load(opts.config_path);
  if (!loaded.errors.empty()) {
    std::cerr << "portcullis: " << one_line(loaded.errors) << "\n";
    return 2;
  }
  core::Config cfg = *loaded.config;
  log::init(cfg.log.level, cfg.log.format);
  block_signals();
  auto& reloads = core::metrics().counter("portcullis_config_reloads_total", "Configuration reloads by outcome", {"outcome"});
  core::metrics()
      .gauge("portcullis_build_info", "Build information (always 1)", {"version", "revision"})
      .labels({build_version(), build_revision()})
      .set(1);

  std::unique_ptr<store::Store> store;
  std::optional<crypto::MasterKeyring> master_keys;
  try {
    ensure_master_key(cfg);  // creates it on first start
    // The keyring: the key file plus what an interrupted or recent master-key rotation left
    // (crypto/master_keyring.h), so every row opens whichever key wrapped it.
    master_keys.emplace(crypto::load_master_keyring(cfg.master_key_path()));
    store = store::Store::open(cfg.storage, cfg.sqlite_path());
    if (auth::SigningKeys::ensure_key(*store, master_keys->current())) log::info("token signing key created");
  } catch (const std::exception& e) {
    std::cerr << "portcullis: " << e.what() << "\n";
    return 1;
  }
  // Blocking store work runs here, never on the I/O threads; a full queue answers 503.
  core::WorkPool pool("store", 2, 4096);

  std::unique_ptr<Gateway> gateway;
  try {
    gateway = std::make_unique<Gateway>(cfg, *store, *master_keys, pool);
  } catch (const std::exception& e) {
    std::cerr << "portcullis: " << e.what() << "\n";
    return 1;
  }
  auto live = std::make_shared<std::atomic<bool>>(cfg.server.metrics_public);
  api::add_system_routes(gateway->routes(),
                         {[s = store.get()] { return s->ping(); }, &pool, [live] { return live->load(); }});
  DemoUpstream demo;
  if (opts.demo) {
    try {
      demo = demo_upstream(opts.demo_agent_url);
    } catch (const std::exception& e) {
      std::cerr << "portcullis: " << e.what() << "\n";
      return 2;
    }
  }

  net::Server server(cfg, gateway->router());
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "portcullis: " << e.what() << "\n";
    return 1;
  }
  const std::string base = std::string(cfg.server.tls.enabled() ? "https://" : "http://") + server.address();
  gateway->set_public_base_url(base);
  const std::string token_url = gateway->issuer() + "/oauth2/token";
  DemoSeed seeded;
  try {
    auto boot = first_start(cfg, *store, gateway->issuer());
    if (boot.created_admin)
      log::info("bootstrap admin client created", {{"credentials_file", boot.bootstrap_file}});
    if (opts.demo) {
      seeded = seed_demo(gateway->tenants(), gateway->registry(), *store, cfg, token_url,
                         "http://" + demo.host + ":" + std::to_string(demo.port));
      if (seeded.wrote_credentials)
        log::info("demo tenants and clients created", {{"credentials_file", seeded.credentials_file}});
    }
    gateway->refresh();  // serve what first start and the demo just wrote, not 2 s later
  } catch (const std::exception& e) {
    log::error("first start failed", {{"error", e.what()}});
    server.shutdown(std::chrono::milliseconds(0));
    pool.stop();  // before the gateway its queued jobs use goes away
    log::flush();
    std::cerr << "portcullis: " << e.what() << "\n";
    return 1;
  }
  for (const auto& failure : gateway->start())
    log::warn("jwks: first fetch failed; that issuer's tokens are refused until it answers", {{"issuer", failure}});
  log::info("listening", {{"address", server.address()}, {"tls", cfg.server.tls.enabled()}, {"demo", opts.demo},
                          {"issuer", gateway->issuer()}});
  if (opts.demo) {
    log::info("demo agent", {{"upstream", demo.host + ":" + std::to_string(demo.port)},
                             {"started_here", demo.agent != nullptr}});
    print_demo_banner(base, seeded.credentials_file);
  }

  for (;;) {
    int sig = wait_signal();
    if (sig != SIGHUP) {
      log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                  {"drain_timeout_ms", cfg.server.drain_timeout_ms}});
      break;
    }
    if (opts.config_path.empty()) {
      log::info("reload: no configuration file; nothing to reload");
      continue;
    }
    auto next = core::load_config_file(opts.config_path);
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
    cfg = applied;
    server.apply(cfg);
    gateway->apply(cfg);
    live->store(cfg.server.metrics_public);
    log::init(cfg.log.level, cfg.log.format);
    reloads.labels({"applied"}).inc();
    log::info("reload applied", {{"config", opts.config_path}});
  }

  server.shutdown(std::chrono::milliseconds(cfg.server.drain_timeout_ms));
  gateway->stop();
  if (demo.agent) demo.agent->stop();
  pool.stop();
  log::info("stopped");
  log::flush();
  return 0;
}

}  // namespace pc::app

// `portcullis ops …`: the operator CLI. Each leaf command is one or a few Admin REST API calls
// (docs/admin-api.md) rendered as a table or record, or printed as the API's JSON with --json.
// Credentials, calls and error mapping live in ops_client; rendering in ops_table.
//
// Exit codes: 0 done; 1 the API refused (its error code and request id are printed), the
// gateway was unreachable or the token request failed; 2 bad flags, usage or configuration.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "app/commands.h"
#include "app/ops_client.h"
#include "app/ops_table.h"

namespace pc::app {
namespace {

namespace json = boost::json;
using ops::Column;
using ops::Failure;
using ops::OpsClient;
using ops::path_segment;
using ops::run_error;
using ops::usage_error;

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::size_t kMaxExportBytes = std::size_t{1} << 30;  // fetch buffers the whole answer
constexpr std::size_t kMaxSecretBytes = 64 * 1024;
constexpr int kMaxPages = 100000;

struct Globals {
  ops::CredentialSource source;
  std::string ca_file;
  double timeout_seconds = 30;
  bool json = false;
};

struct State;
using Action = std::function<void(State&)>;

struct Leaf {
  CLI::App* app;
  Action run;
};

struct State {
  Globals g;
  std::vector<Leaf> leaves;
  std::unique_ptr<OpsClient> client_;

  // Built on first use, so usage errors of a command are reported before any network call.
  OpsClient& client() {
    if (!client_) {
      auto [creds, base] = ops::resolve_credentials(g.source);
      ops::ClientSettings s;
      s.credentials = std::move(creds);
      s.base_url = std::move(base);
      s.ca_file = g.ca_file;
      s.timeout = std::chrono::milliseconds(static_cast<long long>(g.timeout_seconds * 1000));
      client_ = std::make_unique<OpsClient>(std::move(s));
    }
    return *client_;
  }
};

// ---------------------------------------------------------------------------------------------
// output

void print_json_body(const ops::Reply& r) {
  // A 204 has no body; "{}" keeps --json output parseable for every command.
  if (r.body.empty()) {
    std::cout << "{}\n";
    return;
  }
  std::cout << r.body;
  if (r.body.back() != '\n') std::cout << '\n';
}

// The answer as a record (human) or verbatim (--json). `skip`: fields shown another way.
void print_object(State& st, const ops::Reply& r, const std::vector<std::string>& skip = {}) {
  if (st.g.json) return print_json_body(r);
  if (const auto* o = r.json.if_object()) std::cout << ops::render_record(*o, skip);
  else std::cout << ops::cell_text(&r.json) << '\n';
}

// A sentence in human mode, the API's answer with --json.
void print_done(State& st, const ops::Reply& r, const std::string& sentence) {
  if (st.g.json) return print_json_body(r);
  std::cout << sentence << '\n';
}

std::string field(const ops::Reply& r, std::string_view path) {
  return ops::cell_text(ops::lookup(r.json, path));
}

const json::array& items_of(const ops::Reply& r, const std::string& key, const std::string& what) {
  const auto* v = ops::lookup(r.json, key);
  if (!v || !v->is_array()) throw run_error("the gateway's answer to " + what + " has no '" + key + "' list");
  return v->get_array();
}

// ---------------------------------------------------------------------------------------------
// lists: ?limit=&cursor=, nextCursor; --all follows it

struct Paging {
  int limit = 0;  // 0 = the API's default
  std::string cursor;
  bool all = false;
};

void add_paging(CLI::App* cmd, const std::shared_ptr<Paging>& p) {
  cmd->add_option("--limit", p->limit, "items per page (1-1000)")->check(CLI::Range(1, 1000));
  auto* cursor = cmd->add_option("--cursor", p->cursor, "start after this cursor (a previous page's nextCursor)");
  cmd->add_flag("--all", p->all, "follow nextCursor to the last page")->excludes(cursor);
}

std::string next_cursor(const ops::Reply& r) {
  const auto* v = ops::lookup(r.json, "nextCursor");
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

void print_list(State& st, const std::string& path, Params params, const std::string& key,
                const std::vector<Column>& columns, const Paging& p) {
  auto with_page = [&](int limit, const std::string& cursor) {
    Params q = params;
    if (limit > 0) q.emplace_back("limit", std::to_string(limit));
    q.emplace_back("cursor", cursor);
    return path + ops::query_string(q);
  };
  if (!p.all) {
    auto r = st.client().call("GET", with_page(p.limit, p.cursor));
    if (st.g.json) return print_json_body(r);
    std::cout << ops::render_table(items_of(r, key, path), columns);
    if (auto next = next_cursor(r); !next.empty())
      std::cerr << "(more: --cursor " << ops::sanitize(next) << ", or --all)\n";
    return;
  }
  // --all: one merged answer, shaped like a single last page (nextCursor null).
  json::object merged;
  json::array all;
  std::string cursor;
  for (int page = 0;; ++page) {
    if (page == kMaxPages) throw run_error("more than " + std::to_string(kMaxPages) + " pages; stopped");
    auto r = st.client().call("GET", with_page(p.limit > 0 ? p.limit : 1000, cursor));
    const auto& items = items_of(r, key, path);
    all.insert(all.end(), items.begin(), items.end());
    if (page == 0 && r.json.is_object()) merged = r.json.get_object();
    std::string next = next_cursor(r);
    if (next.empty()) break;
    if (next == cursor) throw run_error("the gateway answered the same nextCursor twice; stopped");
    cursor = std::move(next);
  }
  if (st.g.json) {
    merged[key] = std::move(all);
    if (merged.contains("nextCursor")) merged["nextCursor"] = nullptr;
    std::cout << json::serialize(merged) << '\n';
    return;
  }
  std::cout << ops::render_table(all, columns);
}

// ---------------------------------------------------------------------------------------------
// small helpers

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, ',')) {
    while (!cur.empty() && cur.front() == ' ') cur.erase(cur.begin());
    while (!cur.empty() && cur.back() == ' ') cur.pop_back();
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

json::array to_array(const std::vector<std::string>& v) { return json::array(v.begin(), v.end()); }

std::string since_param(const std::string& t) {
  return t.empty() ? std::string() : ops::resolve_time(t, std::chrono::system_clock::now());
}

void warn_secret_once() {
  std::cerr << "portcullis ops: warning: the client secret is not shown again; store it now\n";
}

std::string read_stream(std::istream& in, const std::string& what) {
  std::string out;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > kMaxSecretBytes) throw usage_error(what + " is larger than 64 KiB");
  }
  return out;
}

// The value of `secrets put`: a file or stdin, never a flag (shell history keeps flags). One
// trailing newline is dropped, as `echo value |` and editors add it (the config's file: values
// do the same).
std::string read_secret_value(const std::string& value_file) {
  std::string v;
  if (value_file.empty() || value_file == "-") {
    if (::isatty(STDIN_FILENO)) std::cerr << "reading the secret value from stdin (end with Ctrl-D)\n";
    v = read_stream(std::cin, "the value on stdin");
  } else {
    std::ifstream in(value_file, std::ios::binary);
    if (!in) throw usage_error("--value-file: cannot read " + value_file + ": " + std::strerror(errno));
    v = read_stream(in, value_file);
  }
  if (v.ends_with("\r\n")) v.resize(v.size() - 2);
  else if (v.ends_with('\n')) v.pop_back();
  if (v.empty()) throw usage_error("the secret value is empty");
  if (!ops::valid_utf8(v)) throw usage_error("the secret value must be UTF-8 text");
  return v;
}

// Writes `data` to `path` (mode 0600: audit events name tenants and actors) through a temp file
// and rename, so an interrupted export never leaves a truncated file under the final name.
void write_private_file(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw run_error("cannot write " + path + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw run_error("cannot write " + path + ": " + std::strerror(err));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw run_error("cannot write " + path + ": " + std::strerror(err));
  }
}

std::size_t count_lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  if (!s.empty() && s.back() != '\n') ++n;
  return n;
}

// ---------------------------------------------------------------------------------------------
// columns

const std::vector<Column> kTenantColumns = {{"TENANT", {"tenantId"}},   {"NAME", {"displayName"}},
                                            {"TIER", {"tier"}},         {"STATUS", {"status"}},
                                            {"CREATED", {"createdAt"}}};
const std::vector<Column> kClientColumns = {{"CLIENT ID", {"clientId"}}, {"NAME", {"name"}},
                                            {"ROLES", {"roles"}},        {"SCOPES", {"scopes"}},
                                            {"STATUS", {"status"}},      {"CREATED", {"createdAt"}}};
const std::vector<Column> kTierColumns = {
    {"NAME", {"name"}}, {"RPS", {"rps"}}, {"BURST", {"burst"}}, {"DAILY QUOTA", {"dailyQuota"}}};
const std::vector<Column> kCapabilityColumns = {
    {"NAME", {"name"}},        {"ENABLED", {"enabled"}},          {"ROLLOUT %", {"rolloutPercentage"}},
    {"TIERS", {"tierAllowList"}}, {"TENANTS", {"tenantAllowList"}}, {"KILLED", {"killed"}},
    {"DESCRIPTION", {"description"}}};
const std::vector<Column> kCheckColumns = {{"NAME", {"name"}}, {"ALLOWED", {"allowed"}}, {"REASON", {"reason"}}};
const std::vector<Column> kAgentColumns = {{"NAME", {"name"}},
                                           {"PROTOCOL", {"protocol"}},
                                           {"TIER MINIMUM", {"tierMinimum"}},
                                           {"PROMOTED", {"promotedVersion"}},
                                           {"DESCRIPTION", {"description"}}};
const std::vector<Column> kVersionColumns = {
    {"VERSION", {"version"}}, {"STATUS", {"status"}}, {"ENDPOINT", {"endpoint"}}, {"CREATED", {"createdAt"}}};
const std::vector<Column> kKeyColumns = {{"KID", {"kid"}},
                                         {"ALG", {"alg"}},
                                         {"STATUS", {"status"}},
                                         {"CREATED", {"createdAt"}},
                                         {"NOT AFTER", {"notAfter"}}};
const std::vector<Column> kSecretColumns = {
    {"NAME", {"name"}}, {"VERSION", {"version"}}, {"CREATED", {"createdAt"}}, {"CREATED BY", {"createdBy"}}};
const std::vector<Column> kInvocationColumns = {{"INVOCATION", {"invocationId", "id"}},
                                                {"TENANT", {"tenantId"}},
                                                {"AGENT", {"agentName", "agent"}},
                                                {"VERSION", {"agentVersion"}},
                                                {"MODE", {"mode"}},
                                                {"STATUS", {"status"}},
                                                {"LATENCY MS", {"usage.latencyMs", "latencyMs"}},
                                                {"TIME", {"timestamp", "createdAt", "time"}}};
const std::vector<Column> kAuditColumns = {{"SEQ", {"seq"}},           {"TIME", {"time"}},
                                           {"TENANT", {"tenantId"}},   {"ACTOR", {"actor"}},
                                           {"ACTION", {"action"}},     {"RESOURCE", {"resource"}},
                                           {"OUTCOME", {"outcome"}},   {"REQUEST", {"requestId"}}};
const std::vector<Column> kTopTenantColumns = {
    {"TENANT", {"tenantId"}}, {"INVOCATIONS", {"invocations"}}, {"ERRORS", {"errors"}},
    {"INPUT TOKENS", {"inputTokens"}}, {"OUTPUT TOKENS", {"outputTokens"}}};

// ---------------------------------------------------------------------------------------------
// the tree

class Tree {
 public:
  Tree(CLI::App* ops, std::shared_ptr<State> st) : ops_(ops), st_(std::move(st)) {}

  CLI::App* group(const std::string& name, const std::string& help) {
    auto* g = ops_->add_subcommand(name, help);
    g->require_subcommand(1);
    return g;
  }
  CLI::App* leaf(CLI::App* parent, const std::string& name, const std::string& help, Action run) {
    auto* c = parent->add_subcommand(name, help);
    st_->leaves.push_back({c, std::move(run)});
    return c;
  }

  void tenants();
  void clients();
  void tiers();
  void capabilities();
  void agents();
  void keys();
  void secrets();
  void invocations();
  void audit();
  void reports();
  void mcp_servers();
  void limits();
  void a2a_tasks();    // ---- a2a bindings (issue 11)

 private:
  CLI::App* ops_;
  std::shared_ptr<State> st_;
};

void Tree::tenants() {
  auto* g = group("tenants", "list, create, update, suspend and delete tenants");
  {
    auto p = std::make_shared<Paging>();
    auto* c = leaf(g, "list", "list tenants", [p](State& st) {
      print_list(st, "/v1/tenants", {}, "tenants", kTenantColumns, *p);
    });
    add_paging(c, p);
  }
  {
    auto id = std::make_shared<std::string>();
    auto* c = leaf(g, "get", "show one tenant", [id](State& st) {
      print_object(st, st.client().call("GET", "/v1/tenants/" + path_segment(*id)));
    });
    c->add_option("id", *id, "tenant id")->required();
  }
  {
    struct O { std::string id, tier, name; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "create", "create a tenant", [o](State& st) {
      json::object body{{"tenantId", o->id}, {"tier", o->tier}};
      if (!o->name.empty()) body["displayName"] = o->name;
      json::value v = body;
      print_object(st, st.client().call("POST", "/v1/tenants", &v));
    });
    c->add_option("id", o->id, "tenant id")->required();
    c->add_option("--tier", o->tier, "tier (see `ops tiers list`)")->required();
    c->add_option("--name", o->name, "display name");
  }
  {
    struct O { std::string id, tier, status, name; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "update", "change a tenant's tier, status or display name", [o](State& st) {
      json::object body;
      if (!o->tier.empty()) body["tier"] = o->tier;
      if (!o->status.empty()) body["status"] = o->status;
      if (!o->name.empty()) body["displayName"] = o->name;
      if (body.empty()) throw usage_error("tenants update: nothing to change (--tier, --status or --name)");
      json::value v = body;
      print_object(st, st.client().call("PATCH", "/v1/tenants/" + path_segment(o->id), &v));
    });
    c->add_option("id", o->id, "tenant id")->required();
    c->add_option("--tier", o->tier, "new tier");
    c->add_option("--status", o->status, "active or suspended")->check(CLI::IsMember({"active", "suspended"}));
    c->add_option("--name", o->name, "new display name");
  }
  for (const auto& [verb, status] : {std::pair<std::string, std::string>{"suspend", "suspended"}, {"resume", "active"}}) {
    auto id = std::make_shared<std::string>();
    const std::string help = verb == "suspend" ? "suspend a tenant: its principals are refused until resumed"
                                               : "make a suspended tenant active again";
    auto* c = leaf(g, verb, help, [id, status = status](State& st) {
      json::value v = json::object{{"status", status}};
      auto r = st.client().call("PATCH", "/v1/tenants/" + path_segment(*id), &v);
      print_done(st, r, "tenant " + field(r, "tenantId") + " is " + field(r, "status"));
    });
    c->add_option("id", *id, "tenant id")->required();
  }
  {
    auto id = std::make_shared<std::string>();
    auto* c = leaf(g, "delete", "delete a tenant (its data is purged after the grace period)", [id](State& st) {
      auto r = st.client().call("DELETE", "/v1/tenants/" + path_segment(*id));
      print_done(st, r, "tenant " + ops::sanitize(*id) + " deleted; its data is purged after " + field(r, "purgeAfter"));
    });
    c->add_option("id", *id, "tenant id")->required();
  }
}

void Tree::clients() {
  auto* g = group("clients", "a tenant's OAuth clients: list, create, rotate secrets, disable, enable, delete");
  {
    auto tenant = std::make_shared<std::string>();
    auto p = std::make_shared<Paging>();
    auto* c = leaf(g, "list", "list a tenant's clients (never their secrets)", [tenant, p](State& st) {
      print_list(st, "/v1/tenants/" + path_segment(*tenant) + "/clients", {}, "clients", kClientColumns, *p);
    });
    c->add_option("tenant", *tenant, "tenant id")->required();
    add_paging(c, p);
  }
  {
    struct O {
      std::string tenant, name;
      std::vector<std::string> roles, scopes;
    };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "create", "create a client; its secret is printed once", [o](State& st) {
      json::object body{{"name", o->name}, {"roles", to_array(o->roles)}};
      if (!o->scopes.empty()) body["scopes"] = to_array(o->scopes);
      json::value v = body;
      auto r = st.client().call("POST", "/v1/tenants/" + path_segment(o->tenant) + "/clients", &v);
      print_object(st, r);
      warn_secret_once();
    });
    c->add_option("tenant", o->tenant, "tenant id")->required();
    c->add_option("--name", o->name, "client name")->required();
    c->add_option("--role", o->roles, "a role (repeat for several)")->required()->allow_extra_args(false);
    c->add_option("--scope", o->scopes, "a scope (repeat for several)")->allow_extra_args(false);
  }
  {
    struct O { std::string tenant, client_id; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "rotate", "give a client a new secret (printed once); the old one stops working", [o](State& st) {
      auto r = st.client().call("POST", "/v1/tenants/" + path_segment(o->tenant) + "/clients/" +
                                            path_segment(o->client_id) + "/rotate");
      print_object(st, r);
      warn_secret_once();
    });
    c->add_option("tenant", o->tenant, "tenant id")->required();
    c->add_option("client_id", o->client_id, "client id")->required();
  }
  // disable / enable: the client's tokens stop (or resume) working at once.
  for (bool enable : {false, true}) {
    struct O { std::string tenant, client_id; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, enable ? "enable" : "disable",
                   enable ? "re-enable a disabled client" : "disable a client: it gets no tokens and its tokens are refused",
                   [o, enable](State& st) {
                     json::value v = json::object{{"enabled", enable}};
                     print_object(st, st.client().call("PATCH", "/v1/tenants/" + path_segment(o->tenant) + "/clients/" +
                                                                     path_segment(o->client_id), &v));
                   });
    c->add_option("tenant", o->tenant, "tenant id")->required();
    c->add_option("client_id", o->client_id, "client id")->required();
  }
  {
    struct O { std::string tenant, client_id; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "delete", "delete a client for good; its tokens are refused at once", [o](State& st) {
      auto r = st.client().call("DELETE", "/v1/tenants/" + path_segment(o->tenant) + "/clients/" + path_segment(o->client_id));
      print_done(st, r, "client " + ops::sanitize(o->client_id) + " deleted");
    });
    c->add_option("tenant", o->tenant, "tenant id")->required();
    c->add_option("client_id", o->client_id, "client id")->required();
  }
}

void Tree::tiers() {
  auto* g = group("tiers", "the tiers and their limits");
  auto p = std::make_shared<Paging>();
  auto* c = leaf(g, "list", "list tiers", [p](State& st) {
    print_list(st, "/v1/platform/tiers", {}, "tiers", kTierColumns, *p);
  });
  add_paging(c, p);
}

void Tree::capabilities() {
  auto* g = group("capabilities", "feature capabilities: rollout, allow lists, kill switch");
  {
    auto p = std::make_shared<Paging>();
    auto* c = leaf(g, "list", "list capabilities", [p](State& st) {
      print_list(st, "/v1/platform/capabilities", {}, "capabilities", kCapabilityColumns, *p);
    });
    add_paging(c, p);
  }
  {
    struct O {
      std::string name, tiers, tenants, description;
      bool enabled = false, disabled = false, kill = false, unkill = false;
      int rollout = -1;
      CLI::Option *tiers_opt = nullptr, *tenants_opt = nullptr, *description_opt = nullptr;
    };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "set", "create or change a capability; fields not named keep their value", [o](State& st) {
      // PUT replaces the whole capability, so start from its current state: `set X --rollout 50`
      // must not reset X's allow lists.
      static const char* kFields[] = {"enabled", "rolloutPercentage", "tierAllowList", "tenantAllowList", "killed",
                                      "description"};
      json::object body;
      auto r = st.client().call("GET", "/v1/platform/capabilities?limit=1000");
      std::string cursor;
      bool found = false;
      for (int page = 0; !found && page < kMaxPages; ++page) {
        for (const auto& cap : items_of(r, "capabilities", "/v1/platform/capabilities")) {
          const auto* name = ops::lookup(cap, "name");
          if (!name || !name->is_string() || name->get_string() != o->name) continue;
          for (const char* f : kFields)
            if (const auto* v = cap.get_object().if_contains(f); v && !v->is_null()) body[f] = *v;
          found = true;
          break;
        }
        std::string next = next_cursor(r);
        if (found || next.empty() || next == cursor) break;
        cursor = next;
        r = st.client().call("GET", "/v1/platform/capabilities" + ops::query_string({{"limit", "1000"}, {"cursor", cursor}}));
      }
      if (!found && !o->enabled && !o->disabled)
        throw usage_error("capabilities set: '" + o->name + "' is new: say --enabled or --disabled");
      if (o->enabled) body["enabled"] = true;
      if (o->disabled) body["enabled"] = false;
      if (o->rollout >= 0) body["rolloutPercentage"] = o->rollout;
      if (o->tiers_opt->count()) body["tierAllowList"] = to_array(split_list(o->tiers));
      if (o->tenants_opt->count()) body["tenantAllowList"] = to_array(split_list(o->tenants));
      if (o->kill) body["killed"] = true;
      if (o->unkill) body["killed"] = false;
      if (o->description_opt->count()) body["description"] = o->description;
      json::value v = body;
      print_object(st, st.client().call("PUT", "/v1/platform/capabilities/" + path_segment(o->name), &v));
    });
    c->add_option("name", o->name, "capability name")->required();
    auto* en = c->add_flag("--enabled", o->enabled, "turn it on");
    c->add_flag("--disabled", o->disabled, "turn it off")->excludes(en);
    c->add_option("--rollout", o->rollout, "percentage of tenants (0-100)")->check(CLI::Range(0, 100));
    o->tiers_opt = c->add_option("--tiers", o->tiers, "tier allow list, comma-separated (\"\" clears it)");
    o->tenants_opt = c->add_option("--tenants", o->tenants, "tenant allow list, comma-separated (\"\" clears it)");
    auto* kill = c->add_flag("--kill", o->kill, "kill switch on: refused everywhere");
    c->add_flag("--unkill", o->unkill, "kill switch off")->excludes(kill);
    o->description_opt = c->add_option("--description", o->description, "what it gates");
  }
  {
    auto name = std::make_shared<std::string>();
    auto* c = leaf(g, "delete", "delete a capability", [name](State& st) {
      auto r = st.client().call("DELETE", "/v1/platform/capabilities/" + path_segment(*name));
      print_done(st, r, "capability " + ops::sanitize(*name) + " deleted");
    });
    c->add_option("name", *name, "capability name")->required();
  }
  {
    auto tenant = std::make_shared<std::string>();
    auto* c = leaf(g, "check", "evaluate every capability for one tenant", [tenant](State& st) {
      auto r = st.client().call("GET", "/v1/tenants/" + path_segment(*tenant) + "/capabilities");
      if (st.g.json) return print_json_body(r);
      std::cout << ops::render_table(items_of(r, "capabilities", "capabilities check"), kCheckColumns);
    });
    c->add_option("tenant", *tenant, "tenant id")->required();
  }
}

void Tree::agents() {
  auto* g = group("agents", "the agent registry: agents, versions, promotion and rollback");
  {
    auto p = std::make_shared<Paging>();
    auto* c = leaf(g, "list", "list agents", [p](State& st) {
      print_list(st, "/v1/platform/agents", {}, "agents", kAgentColumns, *p);
    });
    add_paging(c, p);
  }
  {
    auto name = std::make_shared<std::string>();
    auto* c = leaf(g, "get", "show an agent and its versions", [name](State& st) {
      auto r = st.client().call("GET", "/v1/platform/agents/" + path_segment(*name));
      print_object(st, r, {"versions"});
      if (st.g.json) return;
      if (const auto* v = ops::lookup(r.json, "versions"); v && v->is_array()) {
        std::cout << "\nversions:\n" << ops::render_table(v->get_array(), kVersionColumns);
      }
    });
    c->add_option("name", *name, "agent name")->required();
  }
  struct AgentFields {
    std::string name, tier_minimum, protocol, description;
    CLI::Option* description_opt = nullptr;
  };
  auto fields = [](CLI::App* c, AgentFields& o) {
    c->add_option("name", o.name, "agent name")->required();
    c->add_option("--tier-minimum", o.tier_minimum, "lowest tier that may invoke it");
    c->add_option("--protocol", o.protocol, "how the gateway speaks to it: http (default) or a2a")
        ->check(CLI::IsMember({"http", "a2a"}));
    o.description_opt = c->add_option("--description", o.description, "what it does");
  };
  auto body_of = [](const AgentFields& o) {
    json::object body;
    if (!o.tier_minimum.empty()) body["tierMinimum"] = o.tier_minimum;
    if (!o.protocol.empty()) body["protocol"] = o.protocol;
    if (o.description_opt->count()) body["description"] = o.description;
    return body;
  };
  {
    auto o = std::make_shared<AgentFields>();
    auto* c = leaf(g, "create", "register an agent", [o, body_of](State& st) {
      json::object body = body_of(*o);
      body["name"] = o->name;
      json::value v = body;
      print_object(st, st.client().call("POST", "/v1/platform/agents", &v));
    });
    fields(c, *o);
  }
  {
    auto o = std::make_shared<AgentFields>();
    auto* c = leaf(g, "update", "change an agent's description, tier minimum or protocol", [o, body_of](State& st) {
      json::object body = body_of(*o);
      if (body.empty()) throw usage_error("agents update: nothing to change (--tier-minimum, --protocol or --description)");
      json::value v = body;
      print_object(st, st.client().call("PATCH", "/v1/platform/agents/" + path_segment(o->name), &v));
    });
    fields(c, *o);
  }
  {
    auto name = std::make_shared<std::string>();
    auto* c = leaf(g, "delete", "delete an agent", [name](State& st) {
      auto r = st.client().call("DELETE", "/v1/platform/agents/" + path_segment(*name));
      print_done(st, r, "agent " + ops::sanitize(*name) + " deleted");
    });
    c->add_option("name", *name, "agent name")->required();
  }
  {
    struct O { std::string name, version, endpoint; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "add-version", "register a new version of an agent (status built)", [o](State& st) {
      json::value v = json::object{{"version", o->version}, {"endpoint", o->endpoint}};
      print_object(st, st.client().call("POST", "/v1/platform/agents/" + path_segment(o->name) + "/versions", &v));
    });
    c->add_option("name", o->name, "agent name")->required();
    c->add_option("version", o->version, "version label")->required();
    c->add_option("--endpoint", o->endpoint, "the runtime's base URL")->required();
  }
  {
    struct O { std::string name, version; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "promote", "route the agent's traffic to this version", [o](State& st) {
      auto r = st.client().call("POST", "/v1/platform/agents/" + path_segment(o->name) + "/versions/" +
                                            path_segment(o->version) + "/promote");
      print_object(st, r);
    });
    c->add_option("name", o->name, "agent name")->required();
    c->add_option("version", o->version, "version label")->required();
  }
  {
    auto name = std::make_shared<std::string>();
    auto* c = leaf(g, "rollback", "promote the previous version again", [name](State& st) {
      print_object(st, st.client().call("POST", "/v1/platform/agents/" + path_segment(*name) + "/rollback"));
    });
    c->add_option("name", *name, "agent name")->required();
  }
}

void Tree::keys() {
  auto* g = group("keys", "the built-in issuer's token-signing keys");
  auto p = std::make_shared<Paging>();
  auto* c = leaf(g, "list", "list signing keys", [p](State& st) {
    print_list(st, "/v1/platform/keys", {}, "keys", kKeyColumns, *p);
  });
  add_paging(c, p);
  leaf(g, "rotate", "make a new signing key active; the old one stays published until its tokens expire",
       [](State& st) {
         auto r = st.client().call("POST", "/v1/platform/keys/rotate");
         print_done(st, r, "new signing key " + field(r, "kid") + " is active");
       });
}

void Tree::secrets() {
  auto* g = group("secrets", "a tenant's secrets (write-only values, versioned)");
  {
    auto tenant = std::make_shared<std::string>();
    auto p = std::make_shared<Paging>();
    auto* c = leaf(g, "list", "list a tenant's secrets (names and versions, never values)", [tenant, p](State& st) {
      print_list(st, "/v1/tenants/" + path_segment(*tenant) + "/secrets", {}, "secrets", kSecretColumns, *p);
    });
    c->add_option("tenant", *tenant, "tenant id")->required();
    add_paging(c, p);
  }
  {
    struct O { std::string tenant, name, value_file; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "put", "store a new version of a secret; the value comes from --value-file or stdin", [o](State& st) {
      const std::string value = read_secret_value(o->value_file);
      json::value v = json::object{{"value", value}};
      auto r = st.client().call("PUT", "/v1/tenants/" + path_segment(o->tenant) + "/secrets/" + path_segment(o->name), &v);
      print_done(st, r, "secret " + ops::sanitize(o->name) + " of tenant " + ops::sanitize(o->tenant) +
                            " stored (version " + field(r, "version") + ")");
    });
    c->add_option("tenant", o->tenant, "tenant id")->required();
    c->add_option("name", o->name, "secret name")->required();
    c->add_option("--value-file", o->value_file, "read the value from this file ('-' or absent: stdin)");
  }
  {
    struct O { std::string tenant, name; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "delete", "delete a secret (every version)", [o](State& st) {
      auto r = st.client().call("DELETE", "/v1/tenants/" + path_segment(o->tenant) + "/secrets/" + path_segment(o->name));
      print_done(st, r, "secret " + ops::sanitize(o->name) + " of tenant " + ops::sanitize(o->tenant) + " deleted");
    });
    c->add_option("tenant", o->tenant, "tenant id")->required();
    c->add_option("name", o->name, "secret name")->required();
  }
}

void Tree::invocations() {
  auto* g = group("invocations", "invocation metadata (never content)");
  struct O { std::string tenant, agent, since; };
  auto o = std::make_shared<O>();
  auto p = std::make_shared<Paging>();
  auto* c = leaf(g, "list", "list invocations, newest first", [o, p](State& st) {
    Params q{{"tenant", o->tenant}, {"agent", o->agent}, {"since", since_param(o->since)}};
    print_list(st, "/v1/platform/invocations", q, "invocations", kInvocationColumns, *p);
  });
  c->add_option("--tenant", o->tenant, "only this tenant");
  c->add_option("--agent", o->agent, "only this agent");
  c->add_option("--since", o->since, "RFC 3339 time, or a duration ago (30m, 24h, 7d)");
  add_paging(c, p);
}

struct AuditFilters {
  std::string tenant, action, actor, since, until;
};

void add_audit_filters(CLI::App* c, AuditFilters& f) {
  c->add_option("--tenant", f.tenant, "only this tenant");
  c->add_option("--action", f.action, "only this action (e.g. tenant.created)");
  c->add_option("--actor", f.actor, "only this actor (a client id or subject)");
  c->add_option("--since", f.since, "from this time: RFC 3339, or a duration ago (30m, 24h, 7d)");
  c->add_option("--until", f.until, "up to this time: RFC 3339, or a duration ago");
}

Params audit_params(const AuditFilters& f) {
  return {{"tenant", f.tenant},
          {"action", f.action},
          {"actor", f.actor},
          {"since", since_param(f.since)},
          {"until", since_param(f.until)}};
}

void Tree::audit() {
  auto* g = group("audit", "the audit log: search and export");
  {
    auto f = std::make_shared<AuditFilters>();
    auto p = std::make_shared<Paging>();
    auto* c = leaf(g, "search", "search audit events", [f, p](State& st) {
      print_list(st, "/v1/platform/audit", audit_params(*f), "events", kAuditColumns, *p);
    });
    add_audit_filters(c, *f);
    add_paging(c, p);
  }
  {
    struct O { std::string tenant, out; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "export", "a tenant's audit log as NDJSON (one event a line, with its chain hash)", [o](State& st) {
      // A whole log in one answer: a longer allowance than one API call's --timeout.
      const auto timeout = std::max(std::chrono::milliseconds(600000),
                                    std::chrono::milliseconds(static_cast<long long>(st.g.timeout_seconds * 1000)));
      auto r = st.client().call_raw("GET", "/v1/tenants/" + path_segment(o->tenant) + "/audit-export",
                                    kMaxExportBytes, timeout);
      if (o->out.empty() || o->out == "-") {
        std::cout << r.body;
        if (!r.body.empty() && r.body.back() != '\n') std::cout << '\n';
        return;
      }
      write_private_file(o->out, r.body);
      std::cerr << "wrote " << count_lines(r.body) << " audit events to " << o->out << "\n";
    });
    c->add_option("tenant", o->tenant, "tenant id")->required();
    c->add_option("--out", o->out, "write to this file (mode 0600) instead of stdout");
  }
}

void Tree::reports() {
  {
    auto f = std::make_shared<AuditFilters>();
    auto p = std::make_shared<Paging>();
    auto* c = leaf(ops_, "security-events", "security.* audit events (tenant access violations, …)", [f, p](State& st) {
      print_list(st, "/v1/platform/security-events", audit_params(*f), "events", kAuditColumns, *p);
    });
    add_audit_filters(c, *f);
    add_paging(c, p);
  }
  {
    auto tenant = std::make_shared<std::string>();
    auto* c = leaf(ops_, "quotas", "a tenant's limits and today's usage", [tenant](State& st) {
      print_object(st, st.client().call("GET", "/v1/tenants/" + path_segment(*tenant) + "/quotas"));
    });
    c->add_option("tenant", *tenant, "tenant id")->required();
  }
  {
    struct O { std::string window; int limit = 0; };
    auto o = std::make_shared<O>();
    auto* c = leaf(ops_, "top-tenants", "the busiest tenants over a window", [o](State& st) {
      Params q{{"window", o->window}, {"limit", o->limit > 0 ? std::to_string(o->limit) : ""}};
      auto r = st.client().call("GET", "/v1/platform/top-tenants" + ops::query_string(q));
      if (st.g.json) return print_json_body(r);
      std::cout << "window: " << field(r, "window") << "\n"
                << ops::render_table(items_of(r, "tenants", "top-tenants"), kTopTenantColumns);
    });
    c->add_option("--window", o->window, "how far back: <n>m, <n>h or <n>d (default 24h)");
    c->add_option("--limit", o->limit, "how many tenants (default 10)")->check(CLI::Range(1, 1000));
  }
  {
    struct O { std::string window, tenant; };
    auto o = std::make_shared<O>();
    auto* c = leaf(ops_, "error-rate", "invocations, errors and their ratio over a window", [o](State& st) {
      Params q{{"window", o->window}, {"tenant", o->tenant}};
      print_object(st, st.client().call("GET", "/v1/platform/error-rate" + ops::query_string(q)));
    });
    c->add_option("--window", o->window, "how far back: <n>m, <n>h or <n>d (default 1h)");
    c->add_option("--tenant", o->tenant, "only this tenant");
  }
}

// `ops limits get|set|clear TENANT`: a tenant's override of its tier's usage plan
// (GET/PUT/DELETE /v1/tenants/{id}/limits, docs/usage-plans.md). `set` replaces the override
// with the fields given; the others are the tier's again.
void Tree::limits() {
  auto* g = group("limits", "a tenant's usage plan: the tier's limits and the tenant's override");
  {
    auto tenant = std::make_shared<std::string>();
    auto* c = leaf(g, "get", "the tier's limits, the override and the effective plan", [tenant](State& st) {
      print_object(st, st.client().call("GET", "/v1/tenants/" + path_segment(*tenant) + "/limits"));
    });
    c->add_option("tenant", *tenant, "tenant id")->required();
  }
  {
    struct O {
      std::string tenant;
      std::optional<double> rps, principal_rps;
      std::optional<std::uint64_t> burst, principal_burst, max_concurrent, daily_quota, daily_tool_calls,
          suspend_after;
    };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "set", "replace the tenant's override (fields not given follow the tier)", [o](State& st) {
      json::object body;
      if (o->rps) body["rps"] = *o->rps;
      if (o->burst) body["burst"] = *o->burst;
      if (o->principal_rps) body["principalRps"] = *o->principal_rps;
      if (o->principal_burst) body["principalBurst"] = *o->principal_burst;
      if (o->max_concurrent) body["maxConcurrent"] = *o->max_concurrent;
      if (o->daily_quota) body["dailyQuota"] = *o->daily_quota;
      if (o->daily_tool_calls) body["dailyToolCalls"] = *o->daily_tool_calls;
      if (o->suspend_after) body["suspendAfter"] = *o->suspend_after;
      if (body.empty()) throw usage_error("limits set: give at least one limit (--rps, --burst, …)");
      json::value v = body;
      print_object(st, st.client().call("PUT", "/v1/tenants/" + path_segment(o->tenant) + "/limits", &v));
    });
    c->add_option("tenant", o->tenant, "tenant id")->required();
    c->add_option("--rps", o->rps, "requests per second of the tenant")->check(CLI::PositiveNumber);
    c->add_option("--burst", o->burst, "requests at once above the rate")->check(CLI::Range(1.0, 9e15));
    c->add_option("--principal-rps", o->principal_rps, "requests per second of each principal")->check(CLI::PositiveNumber);
    c->add_option("--principal-burst", o->principal_burst, "burst of each principal")->check(CLI::Range(1.0, 9e15));
    c->add_option("--max-concurrent", o->max_concurrent, "calls in flight at once (0 = no limit)");
    c->add_option("--daily-quota", o->daily_quota, "invocations per quota day (0 = unlimited)");
    c->add_option("--daily-tool-calls", o->daily_tool_calls, "MCP tool calls per quota day (0 = unlimited)");
    c->add_option("--suspend-after", o->suspend_after,
                  "calls (invocations + tool calls) in a quota day past which the tenant is suspended (0 = off)");
  }
  {
    auto tenant = std::make_shared<std::string>();
    auto* c = leaf(g, "clear", "remove the override: the tier's limits apply", [tenant](State& st) {
      auto r = st.client().call("DELETE", "/v1/tenants/" + path_segment(*tenant) + "/limits");
      print_done(st, r, "tenant " + ops::sanitize(*tenant) + " follows its tier's limits");
    });
    c->add_option("tenant", *tenant, "tenant id")->required();
  }
}
// `ops a2a-tasks TENANT`: the A2A tasks a tenant's callers created (who, which agent, state;
// never content), newest first.
const std::vector<Column> kA2aTaskColumns = {{"TASK", {"taskId"}},         {"CONTEXT", {"contextId"}},
                                             {"AGENT", {"agent"}},         {"PRINCIPAL", {"principal"}},
                                             {"STATE", {"state"}},         {"UPDATED", {"updatedAt"}}};

void Tree::a2a_tasks() {
  struct O { std::string tenant, agent; };
  auto o = std::make_shared<O>();
  auto p = std::make_shared<Paging>();
  auto* c = leaf(ops_, "a2a-tasks", "a tenant's A2A tasks (metadata, never content), newest first", [o, p](State& st) {
    print_list(st, "/v1/tenants/" + path_segment(o->tenant) + "/a2a-tasks", {{"agent", o->agent}}, "tasks",
               kA2aTaskColumns, *p);
  });
  c->add_option("tenant", o->tenant, "tenant id")->required();
  c->add_option("--agent", o->agent, "only this agent");
  add_paging(c, p);
}

// `ops mcp-servers`: the upstream MCP servers, global (default) or one tenant's own (--tenant).
const std::vector<Column> kMcpServerColumns = {{"NAME", {"name"}},          {"SCOPE", {"scope"}},
                                               {"URL", {"url"}},            {"AUTH", {"auth.mode"}},
                                               {"TIER MINIMUM", {"tierMinimum"}}, {"ENABLED", {"enabled"}},
                                               {"STATUS", {"status"}},      {"CHECKED", {"checkedAt"}}};
const std::vector<Column> kMcpToolColumns = {{"TOOL", {"name"}}, {"DESCRIPTION", {"description"}}};

std::string mcp_servers_path(const std::string& tenant) {
  return tenant.empty() ? "/v1/platform/mcp-servers" : "/v1/tenants/" + path_segment(tenant) + "/mcp-servers";
}

void Tree::mcp_servers() {
  auto* g = group("mcp-servers", "upstream MCP servers: global ones, or a tenant's own with --tenant");
  {
    auto tenant = std::make_shared<std::string>();
    auto p = std::make_shared<Paging>();
    auto* c = leaf(g, "list", "list the global servers (or a tenant's own)", [tenant, p](State& st) {
      print_list(st, mcp_servers_path(*tenant), {}, "servers", kMcpServerColumns, *p);
    });
    c->add_option("--tenant", *tenant, "a tenant's own servers instead of the global ones");
    add_paging(c, p);
  }
  {
    struct O { std::string tenant, name; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "get", "show a server: its configuration, health and last tools/list", [o](State& st) {
      auto r = st.client().call("GET", mcp_servers_path(o->tenant) + "/" + path_segment(o->name));
      print_object(st, r, {"tools"});
      if (st.g.json) return;
      if (const auto* v = ops::lookup(r.json, "tools"); v && v->is_array() && !v->get_array().empty())
        std::cout << "\ntools:\n" << ops::render_table(v->get_array(), kMcpToolColumns);
    });
    c->add_option("name", o->name, "server name (or id)")->required();
    c->add_option("--tenant", o->tenant, "the tenant whose own server it is");
  }
  struct Fields {
    std::string tenant, name, url, auth, secret, header, tier_minimum, disabled_tools;
    std::int64_t timeout_ms = 0;
    bool enable = false, disable = false;
    CLI::Option *disabled_tools_opt = nullptr, *timeout_opt = nullptr;
  };
  auto fields = [](CLI::App* c, Fields& o, bool create) {
    c->add_option("name", o.name, create ? "server name (the tenant-id rule)" : "server name (or id)")->required();
    c->add_option("--tenant", o.tenant, "a tenant's own server instead of a global one");
    auto* url = c->add_option("--url", o.url, "its Streamable HTTP endpoint, http(s)://host[:port]/path");
    if (create) url->required();
    c->add_option("--auth", o.auth, "how the gateway authenticates to it: none, act_on_behalf or vault_secret")
        ->check(CLI::IsMember({"none", "act_on_behalf", "vault_secret"}));
    c->add_option("--secret", o.secret, "vault_secret: the NAME of the secret in the calling tenant's vault");
    c->add_option("--header", o.header, "vault_secret: the header it goes in (default Authorization: Bearer <secret>)");
    c->add_option("--tier-minimum", o.tier_minimum, "lowest tier whose tenants may use its tools");
    o.disabled_tools_opt =
        c->add_option("--disabled-tools", o.disabled_tools, "tool names switched off, comma-separated (\"\" clears)");
    o.timeout_opt = c->add_option("--timeout-ms", o.timeout_ms, "per call (0 = the configured default)");
    auto* en = c->add_flag("--enable", o.enable, "enabled (the default for a new server)");
    c->add_flag("--disable", o.disable, "disabled: its tools are neither listed nor callable")->excludes(en);
  };
  auto body_of = [](const Fields& o) {
    json::object body;
    if (!o.url.empty()) body["url"] = o.url;
    if (!o.auth.empty()) {
      json::object auth{{"mode", o.auth}};
      if (!o.secret.empty()) auth["secret"] = o.secret;
      if (!o.header.empty()) auth["header"] = o.header;
      body["auth"] = std::move(auth);
    } else if (!o.secret.empty() || !o.header.empty()) {
      throw usage_error("mcp-servers: --secret and --header go with --auth vault_secret");
    }
    if (!o.tier_minimum.empty()) body["tierMinimum"] = o.tier_minimum;
    if (o.disabled_tools_opt->count()) body["disabledTools"] = to_array(split_list(o.disabled_tools));
    if (o.timeout_opt->count()) body["timeoutMs"] = o.timeout_ms;
    if (o.enable) body["enabled"] = true;
    if (o.disable) body["enabled"] = false;
    return body;
  };
  {
    auto o = std::make_shared<Fields>();
    auto* c = leaf(g, "create", "register a server (creates its capability tools.<name>, enabled)", [o, body_of](State& st) {
      json::object body = body_of(*o);
      body["name"] = o->name;
      json::value v = body;
      print_object(st, st.client().call("POST", mcp_servers_path(o->tenant), &v), {"tools"});
    });
    fields(c, *o, true);
  }
  {
    auto o = std::make_shared<Fields>();
    auto* c = leaf(g, "update", "change a server; --auth replaces its whole auth", [o, body_of](State& st) {
      json::object body = body_of(*o);
      if (body.empty()) throw usage_error("mcp-servers update: nothing to change");
      json::value v = body;
      print_object(st, st.client().call("PATCH", mcp_servers_path(o->tenant) + "/" + path_segment(o->name), &v),
                   {"tools"});
    });
    fields(c, *o, false);
  }
  {
    struct O { std::string tenant, name; };
    auto o = std::make_shared<O>();
    auto* c = leaf(g, "delete", "remove a server (its capability stays, as the operator set it)", [o](State& st) {
      auto r = st.client().call("DELETE", mcp_servers_path(o->tenant) + "/" + path_segment(o->name));
      print_done(st, r, "mcp server " + ops::sanitize(o->name) + " deleted");
    });
    c->add_option("name", o->name, "server name (or id)")->required();
    c->add_option("--tenant", o->tenant, "the tenant whose own server it is");
  }
}

}  // namespace

OpsCommand add_ops_command(CLI::App& parent) {
  auto st = std::make_shared<State>();
  auto* ops = parent.add_subcommand("ops", "the operator CLI: calls the Admin REST API with an admin client's credentials");
  ops->require_subcommand(1);
  // Global options are accepted after the command too (`ops tenants list --json`): each
  // subcommand created below inherits fallthrough and hands unknown options up to `ops`.
  ops->fallthrough();
  auto& g = st->g;
  ops->add_option("--config", g.source.config_path, "YAML configuration; its data_dir holds bootstrap-admin.json (default ./var)");
  auto* creds = ops->add_option("--credentials", g.source.credentials_file,
                                "a bootstrap-admin.json-shaped file {client_id, client_secret, token_url}");
  auto* id = ops->add_option("--client-id", g.source.client_id, "an admin client's id (instead of a credentials file)");
  ops->add_option("--client-secret", g.source.client_secret, "its secret (prefer $PORTCULLIS_CLIENT_SECRET: flags land in shell history)");
  ops->add_option("--token-url", g.source.token_url, "the token endpoint (default: <url>/oauth2/token)");
  ops->add_option("--url", g.source.url, "the gateway's base URL (default: the origin of token_url)");
  ops->add_option("--ca-file", g.ca_file, "PEM trust anchors for an https gateway");
  ops->add_option("--timeout", g.timeout_seconds, "seconds per request (default 30)")->check(CLI::Range(0.1, 3600.0));
  ops->add_flag("--json", g.json, "print the API's JSON answer instead of a table");
  creds->excludes(id);

  Tree tree(ops, st);
  tree.tenants();
  tree.clients();
  tree.tiers();
  tree.capabilities();
  tree.agents();
  tree.keys();
  tree.secrets();
  tree.invocations();
  tree.audit();
  tree.reports();
  tree.limits();
  tree.mcp_servers();
  tree.a2a_tasks();    // ---- a2a bindings (issue 11)

  OpsCommand out;
  out.command = ops;
  out.run = [st]() -> int {
    try {
      for (auto& leaf : st->leaves) {
        if (!*leaf.app) continue;
        leaf.run(*st);
        std::cout.flush();
        if (!std::cout) throw ops::run_error("cannot write the output");
        return 0;
      }
      std::cerr << "portcullis ops: no command (see --help)\n";
      return 2;
    } catch (const Failure& e) {
      // Messages may quote the API (tenant names, error text): escaped like table cells, and
      // always one line.
      std::cout.flush();
      std::cerr << "portcullis ops: " << ops::sanitize(e.what()) << "\n";
      return e.exit_code();
    } catch (const std::exception& e) {
      std::cout.flush();
      std::cerr << "portcullis ops: " << ops::sanitize(e.what()) << "\n";
      return 1;
    }
  };
  return out;
}

}  // namespace pc::app

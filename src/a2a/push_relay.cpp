// PushRelay over the store and the webhook queue (a2a/push_relay.h, docs/a2a-push.md).
#include "a2a/push_relay.h"

#include <algorithm>

#include <boost/json.hpp>

#include "agents/webhook_targets.h"
#include "agents/webhooks.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/associated_data.h"
#include "crypto/random.h"
#include "crypto/secret_hash.h"
#include "store/store.h"
#include "store/store_error.h"
#include "vault/data_keys.h"

namespace pc::a2a {
namespace {

namespace json = boost::json;

constexpr std::string_view kRelayPath = "/a2a-push/";
constexpr std::size_t kMaxConfigId = 256;
constexpr std::size_t kMaxClientToken = 4096;

core::Counter& push_counter(std::string_view outcome) {
  static core::CounterFamily& family = core::metrics().counter(
      "portcullis_a2a_push_deliveries_total",
      "A2A push notifications: refused at the relay (refused), then delivery attempts by outcome "
      "(delivered, retry, dead)",
      {"outcome"});
  return family.labels({outcome});
}

constexpr std::size_t kRelayIdHexDigits = 32;  // relay ids are "a2ap_" + 16 random bytes in hex

std::string client_aad(const std::string& tenant, const std::string& relay_id) {
  return crypto::row_aad(tenant, "a2a_push_configs", relay_id, "client_sealed");
}

const json::string* string_at(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? &it->value().get_string() : nullptr;
}

// The config object inside one element of a runtime's answer: 1.0 TaskPushNotificationConfig is
// flat; 0.3 wraps it as {taskId, pushNotificationConfig}.
json::object* inner_config(json::object& element) {
  auto it = element.find("pushNotificationConfig");
  if (it != element.end()) return it->value().is_object() ? &it->value().get_object() : nullptr;
  return &element;
}

// The relay id in a URL we gave a runtime ("…/a2a-push/{relayId}"), "" when it is not one.
std::string relay_id_of(std::string_view url) {
  auto at = url.rfind(kRelayPath);
  if (at == std::string_view::npos) return "";
  std::string_view id = url.substr(at + kRelayPath.size());
  id = id.substr(0, id.find_first_of("?#/"));
  return id.starts_with(agents::kA2aPushIdPrefix) ? std::string(id) : "";
}

// The task a notification is about. 1.0 (StreamResponse): {"task":{id}}, {"statusUpdate":
// {taskId}}, {"artifactUpdate":{taskId}}, {"message":{taskId}}; 0.3: the Task itself (kind
// "task", id) or an event with taskId.
std::string notified_task(const json::object& n) {
  for (std::string_view key : {"statusUpdate", "artifactUpdate", "message"}) {
    auto it = n.find(key);
    if (it != n.end() && it->value().is_object())
      if (auto* t = string_at(it->value().get_object(), "taskId")) return std::string(*t);
  }
  if (auto it = n.find("task"); it != n.end() && it->value().is_object())
    if (auto* t = string_at(it->value().get_object(), "id")) return std::string(*t);
  const json::string* kind = string_at(n, "kind");
  if (kind && *kind == "task")
    if (auto* t = string_at(n, "id")) return std::string(*t);
  if (kind && (*kind == "status-update" || *kind == "artifact-update" || *kind == "message"))
    if (auto* t = string_at(n, "taskId")) return std::string(*t);
  return "";
}

json::object open_client_secret(vault::DataKeys& keys, const store::A2aPushConfigRecord& r) {
  const std::string text =
      keys.open(r.tenant_id, agents::kWebhookDataClass, client_aad(r.tenant_id, r.relay_id), r.client_sealed);
  json::value v = json::parse(text);
  return v.is_object() ? v.get_object() : json::object{};
}

// For the webhook workers: where a delivery goes, with the client's own headers. Free of the
// relay object (the workers may outlive it): it needs only the store and the data keys.
std::optional<agents::PushTarget> push_target(store::Store& store, vault::DataKeys& keys, const std::string& tenant,
                                            const std::string& relay_id) {
  auto r = store.find_a2a_push_config(relay_id);
  if (!r || r->tenant_id != tenant) return std::nullopt;
  json::object secret = open_client_secret(keys, *r);
  agents::PushTarget t;
  t.url = r->url;
  if (auto* token = string_at(secret, "token"); token && !token->empty())
    t.headers.emplace_back("X-A2A-Notification-Token", std::string(*token));
  if (auto it = secret.find("authentication"); it != secret.end() && it->value().is_object()) {
    const json::object& a = it->value().get_object();
    const json::string* credentials = string_at(a, "credentials");
    // 1.0: {scheme, credentials}; 0.3: {schemes: [...], credentials}.
    std::string scheme;
    if (auto* sc = string_at(a, "scheme")) scheme = std::string(*sc);
    if (auto sit = a.find("schemes"); scheme.empty() && sit != a.end() && sit->value().is_array() &&
                                       !sit->value().get_array().empty() &&
                                       sit->value().get_array()[0].is_string())
      scheme = std::string(sit->value().get_array()[0].get_string());
    if (credentials && !credentials->empty() && !scheme.empty())
      t.headers.emplace_back("Authorization", scheme + " " + std::string(*credentials));
  }
  return t;
}

// The client's token and credentials become header values on every delivery: printable ASCII
// only, so none can end the header early and add one of its own (header injection).
bool header_safe(std::string_view v) {
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

void check_authentication(const json::object& a) {
  auto check = [](const json::value& v, std::string_view what) {
    if (!v.is_string() || !header_safe(v.get_string()) || v.get_string().size() > kMaxClientToken)
      throw PushRefused(std::string(what) + " must be printable text");
  };
  if (auto it = a.find("scheme"); it != a.end()) check(it->value(), "authentication.scheme");
  if (auto it = a.find("credentials"); it != a.end() && !it->value().is_null())
    check(it->value(), "authentication.credentials");
  if (auto it = a.find("schemes"); it != a.end()) {
    if (!it->value().is_array()) throw PushRefused("authentication.schemes must be an array");
    for (const auto& v : it->value().get_array()) check(v, "authentication.schemes");
  }
}

class StorePushRelay final : public PushRelay {
 public:
  explicit StorePushRelay(PushRelaySetup s) : s_(std::move(s)) {}

  json::object register_config(const Owner& owner, std::string_view task_id, Version version,
                               const json::object& client_config) override {
    const json::string* url = string_at(client_config, "url");
    if (!url || url->empty()) throw PushRefused("the push config needs a url");
    const core::WebhooksConfig rules = s_.webhooks->config();
    // The same rule as a webhook target (https unless allowed, no private addresses unless
    // allowed): the gateway, not the runtime, is who connects to this URL.
    if (auto why = agents::refuse_webhook_url(*url, {rules.allow_private_targets, rules.allow_http}))
      throw PushRefused("push url refused: " + *why);
    if (version == Version::v1_0)
      if (auto* t = string_at(client_config, "taskId"); t && !t->empty() && *t != task_id)
        throw PushRefused("the push config's taskId is not the task it is set on");
    std::string config_id;
    if (auto* id = string_at(client_config, "id"); id && !id->empty()) config_id = std::string(*id);
    if (config_id.size() > kMaxConfigId) throw PushRefused("the push config id is too long");
    // Without an id the runtime would pick one we could not tie back to this row: we pick it.
    if (config_id.empty()) config_id = "pc-" + crypto::random_hex(12);

    json::object client_secret;
    if (auto* token = string_at(client_config, "token")) {
      if (token->size() > kMaxClientToken) throw PushRefused("the push token is too long");
      if (!header_safe(*token)) throw PushRefused("the push token must be printable text");
      client_secret["token"] = *token;
    }
    if (auto it = client_config.find("authentication"); it != client_config.end() && !it->value().is_null()) {
      if (!it->value().is_object()) throw PushRefused("authentication must be an object");
      check_authentication(it->value().get_object());
      client_secret["authentication"] = it->value();
    }

    store::A2aPushConfigRecord r;
    r.relay_id = std::string(agents::kA2aPushIdPrefix) + crypto::random_hex(kRelayIdHexDigits / 2);
    r.tenant_id = owner.tenant;
    r.principal = owner.principal;
    r.agent = owner.agent;
    r.task_id = std::string(task_id);
    r.config_id = config_id;
    r.version = std::string(version_name(version));
    r.url = std::string(*url);
    std::string relay_token = crypto::random_token(32);
    r.relay_token_hash = crypto::hash_secret(relay_token);
    r.client_sealed =
        s_.keys->seal(owner.tenant, agents::kWebhookDataClass, client_aad(owner.tenant, r.relay_id),
                      core::json_text(client_secret));
    if (!s_.store->put_a2a_push_config(r, s_.max_configs_per_task))
      throw PushRefused("this task has " + std::to_string(s_.max_configs_per_task) +
                        " push configs already; delete one first");
    log::info("a2a push config registered", {{"tenant", owner.tenant}, {"agent", owner.agent},
                                              {"task", r.task_id}, {"config", config_id}, {"relay", r.relay_id}});

    // What the runtime gets: the client's object with our URL and token, and no credentials
    // of the client's (the runtime authenticates to us with the token alone).
    json::object out = client_config;
    out["id"] = config_id;
    out["url"] = s_.public_base() + std::string(kRelayPath) + r.relay_id;
    out["token"] = relay_token;
    out.erase("authentication");
    if (version == Version::v1_0) out["taskId"] = std::string(task_id);
    return out;
  }

  json::value client_view(const Owner& owner, std::string_view task_id, Version version,
                          const json::value& runtime_answer) override {
    (void)version;  // both shapes are recognised by their members
    auto map_one = [&](const json::value& v) -> std::optional<json::value> {
      if (!v.is_object()) return std::nullopt;
      json::value copy = v;
      json::object* inner = inner_config(copy.get_object());
      if (!inner) return std::nullopt;
      const json::string* url = string_at(*inner, "url");
      if (!url) return std::nullopt;
      std::string relay_id = relay_id_of(*url);
      if (relay_id.empty()) return std::nullopt;
      auto r = s_.store->find_a2a_push_config(relay_id);
      // Only the caller's own configs of this task: anything else is not shown.
      if (!r || r->tenant_id != owner.tenant || r->principal != owner.principal || r->agent != owner.agent ||
          r->task_id != task_id)
        return std::nullopt;
      json::object secret = open_client(*r);
      (*inner)["url"] = r->url;
      if (auto* t = string_at(secret, "token"))
        (*inner)["token"] = *t;
      else
        inner->erase("token");
      if (auto it = secret.find("authentication"); it != secret.end())
        (*inner)["authentication"] = it->value();
      else
        inner->erase("authentication");
      return copy;
    };
    auto map_array = [&](const json::array& a) {
      json::array out;
      for (const auto& e : a)
        if (auto m = map_one(e)) out.push_back(std::move(*m));
      return out;
    };
    if (runtime_answer.is_array()) return map_array(runtime_answer.get_array());  // 0.3 list
    if (!runtime_answer.is_object()) return runtime_answer;
    const json::object& o = runtime_answer.get_object();
    if (auto it = o.find("configs"); it != o.end() && it->value().is_array()) {  // 1.0 list
      json::object out = o;
      out["configs"] = map_array(it->value().get_array());
      return out;
    }
    if (auto m = map_one(runtime_answer)) return *m;
    return nullptr;  // a config the gateway does not hold for this caller
  }

  void forget(const Owner& owner, std::string_view task_id, std::string_view config_id) override {
    if (s_.store->delete_a2a_push_config(owner.tenant, owner.agent, task_id, config_id))
      log::info("a2a push config forgotten",
                {{"tenant", owner.tenant}, {"agent", owner.agent}, {"task", task_id}, {"config", config_id}});
  }

  Relayed relay(std::string_view relay_id, std::string_view token, std::string_view body) override {
    Relayed out;
    std::optional<store::A2aPushConfigRecord> r;
    if (well_formed_relay_id(relay_id)) r = s_.store->find_a2a_push_config(relay_id);
    // An unknown id and a wrong token answer alike; verify_secret compares in constant time.
    if (!r || token.empty() || !crypto::verify_secret(token, r->relay_token_hash)) {
      push_counter("refused").inc();
      return out;
    }
    out.tenant = r->tenant_id;
    out.task_id = r->task_id;
    if (body.size() > agents::kMaxWebhookPayloadBytes) {
      push_counter("refused").inc();
      out.outcome = RelayOutcome::bad_body;
      return out;
    }
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
      push_counter("refused").inc();
      out.outcome = RelayOutcome::bad_body;
      return out;
    }
    // A runtime holds one token per config: it may only notify about that config's task.
    if (notified_task(v.get_object()) != r->task_id) {
      push_counter("refused").inc();
      out.outcome = RelayOutcome::wrong_task;
      return out;
    }
    try {
      out.delivery_id = s_.webhooks->enqueue_push(r->tenant_id, r->relay_id, body);
    } catch (const store::StoreError& e) {
      if (e.kind() != store::StoreError::Kind::gone) throw;
      // Deleted between the lookup and the insert: as if it had never existed.
      push_counter("refused").inc();
      return Relayed{};
    }
    out.outcome = RelayOutcome::queued;
    return out;
  }

 private:
  json::object open_client(const store::A2aPushConfigRecord& r) { return open_client_secret(*s_.keys, r); }

  PushRelaySetup s_;
};

}  // namespace

std::unique_ptr<PushRelay> make_push_relay(PushRelaySetup setup) {
  if (!setup.store || !setup.keys || !setup.webhooks || !setup.public_base)
    throw std::invalid_argument("make_push_relay: store, keys, webhooks and public_base are required");
  auto relay = std::make_unique<StorePushRelay>(setup);
  agents::PushHooks hooks;
  hooks.target = [store = setup.store, keys = setup.keys](const std::string& tenant, const std::string& relay_id) {
    return push_target(*store, *keys, tenant, relay_id);
  };
  hooks.sign = setup.sign;
  hooks.outcome = [](std::string_view outcome) { push_counter(outcome).inc(); };
  setup.webhooks->set_push_hooks(std::move(hooks));
  return relay;
}

bool well_formed_relay_id(std::string_view id) {
  if (!id.starts_with(agents::kA2aPushIdPrefix)) return false;
  id.remove_prefix(agents::kA2aPushIdPrefix.size());
  return id.size() == kRelayIdHexDigits &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void count_relay_refused() { push_counter("refused").inc(); }

}  // namespace pc::a2a

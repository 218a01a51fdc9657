#include "api/guard.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "agents/catalog.h"
#include "api/agent_routes.h"
#include "jose/jws_test_util.h"
#include "net/router.h"
#include "tenancy/capabilities.h"
#include "core/metrics.h"
#include "jose/sign.h"

namespace pc::api {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kIss = "https://idp.test";
const std::string kAud = "api://portcullis";

const jose::PrivateKey& signing_key() {
  static const jose::PrivateKey k = jose::PrivateKey::generate(jose::Alg::ES256, "guard-1");
  return k;
}
const jose::PrivateKey& later_key() {
  static const jose::PrivateKey k = jose::PrivateKey::generate(jose::Alg::ES256, "guard-2");
  return k;
}

std::string jwks_text(std::initializer_list<const jose::PrivateKey*> keys) {
  json::array a;
  for (const auto* k : keys) a.push_back(k->public_jwk());
  return json::serialize(json::object{{"keys", a}});
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

store::TenantRecord tenant_row(std::string id, std::string tier, std::string status, std::int64_t revision) {
  store::TenantRecord r;
  r.tenant_id = std::move(id);
  r.tier = std::move(tier);
  r.status = std::move(status);
  r.revision = revision;
  return r;
}

std::shared_ptr<net::Request> request(std::initializer_list<std::string> authorization) {
  auto req = std::make_shared<net::Request>();
  req->method = "GET";
  req->path = req->target = "/v1/agents";
  req->route = "/v1/agents";
  req->request_id = "req-42";
  for (const auto& a : authorization) req->headers.push_back({"Authorization", a});
  return req;
}

const std::string* header(const net::Response& r, std::string_view name) {
  for (const auto& h : r.headers)
    if (net::iequals(h.name, name)) return &h.value;
  return nullptr;
}

class GuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tenants.apply(tenant_row("acme", "standard", "active", 1));
    tenants.apply(tenant_row("sleepy", "basic", "suspended", 2));
    auto keys = std::make_shared<auth::PublishedKeys>();
    keys->publish(std::make_shared<jose::JwkSet>(jose::JwkSet::parse(jwks_text({&signing_key()}))));
    auth::TrustedIssuer is;
    is.name = "corp";
    is.issuer = kIss;
    is.audiences = {kAud};
    is.algorithms = {jose::Alg::ES256};
    is.leeway_seconds = 30;
    is.keys = keys;
    is.tenants = {};
    is.may_speak_for_platform = true;  // like the built-in issuer
    authenticator.set_issuers({is});
  }

  static std::string token(const std::string& tenant, json::array roles, std::int64_t exp_in = 600,
                           const jose::PrivateKey& key = signing_key(), const std::string& iss = kIss) {
    json::object c{{"iss", iss},     {"aud", kAud},           {"sub", "user-1"}, {"exp", now() + exp_in},
                   {"iat", now()},   {"tenantid", tenant},    {"appid", "app"},  {"roles", std::move(roles)}};
    return jose::make_jws(key, {}, c);
  }

  Chain::Outcome check(std::shared_ptr<net::Request> req, const Policy& access) {
    std::promise<Chain::Outcome> p;
    auto f = p.get_future();
    guard.check(std::move(req), access, [&p](Chain::Outcome o) { p.set_value(std::move(o)); });
    if (f.wait_for(3s) != std::future_status::ready) {
      ADD_FAILURE() << "the guard never answered";
      return net::Response{};
    }
    return f.get();
  }

  Chain::Outcome check_bearer(const std::string& t, const Policy& access) {
    return check(request({"Bearer " + t}), access);
  }

  tenancy::TenantDirectory tenants;
  auth::Authenticator authenticator{tenants};
  auth::KeyRefresher refresher;
  Chain guard{authenticator, refresher};
};

::testing::AssertionResult allowed(const Chain::Outcome& o) {
  if (const auto* c = std::get_if<Caller>(&o)) {
    if (!c->principal) return ::testing::AssertionFailure() << "a Caller without a principal";
    return ::testing::AssertionSuccess();
  }
  const auto& r = std::get<net::Response>(o);
  return ::testing::AssertionFailure() << r.status << " " << r.body;
}

int status_of(const Chain::Outcome& o) {
  if (std::holds_alternative<Caller>(o)) return 200;
  return std::get<net::Response>(o).status;
}

// ---- bearer_token

TEST(BearerToken, TakesTheTokenOfTheBearerScheme) {
  auto one = [](std::string value) {
    net::Request r;
    r.headers.push_back({"Authorization", std::move(value)});
    return std::string(bearer_token(r));
  };
  EXPECT_EQ(one("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(one("bearer abc"), "abc");
  EXPECT_EQ(one("BEARER abc"), "abc");
  EXPECT_EQ(one("bEaReR abc"), "abc");
  EXPECT_EQ(one("Bearer    abc"), "abc");
  EXPECT_EQ(one("Bearer abc   "), "abc");
  EXPECT_EQ(one("Bearer   abc   "), "abc");

  for (const char* other : {"Basic dXNlcjpwYXNz", "Token abc", "Digest abc", "Bearerabc", "Bearer", "Bearer ",
                            "Bearer     ", "", "  ", "Bear abc", "NotBearer abc", "DPoP abc"})
    EXPECT_EQ(one(other), "") << "'" << other << "'";
}

TEST(BearerToken, AbsentHeaderAndHeaderNameCase) {
  net::Request none;
  EXPECT_EQ(bearer_token(none), "");
  net::Request upper;
  upper.headers.push_back({"AUTHORIZATION", "Bearer xyz"});
  EXPECT_EQ(bearer_token(upper), "xyz");
  net::Request other_header;
  other_header.headers.push_back({"X-Authorization", "Bearer xyz"});
  EXPECT_EQ(bearer_token(other_header), "");
}

// ---- 401: who are you?

TEST_F(GuardTest, MissingTokenGetsAChallengeWithoutAnErrorCode) {
  auto o = check(request({}), Policy::authenticated());
  ASSERT_EQ(status_of(o), 401);
  const auto& r = std::get<net::Response>(o);
  const std::string* challenge = header(r, "WWW-Authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(*challenge, "Bearer realm=\"portcullis\"");
  auto body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("error").at("code").as_string(), "unauthenticated");
  EXPECT_EQ(body.at("error").at("requestId").as_string(), "req-42");
}

TEST_F(GuardTest, AnotherSchemeCountsAsNoToken) {
  auto o = check(request({"Basic dXNlcjpwYXNz"}), Policy::authenticated());
  ASSERT_EQ(status_of(o), 401);
  const std::string* challenge = header(std::get<net::Response>(o), "WWW-Authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(*challenge, "Bearer realm=\"portcullis\"");
}

TEST_F(GuardTest, InvalidTokenGetsAnInvalidTokenChallenge) {
  auto o = check_bearer(token("acme", {}, /*exp_in=*/-3600), Policy::authenticated());
  ASSERT_EQ(status_of(o), 401);
  const std::string* challenge = header(std::get<net::Response>(o), "WWW-Authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(challenge->rfind("Bearer realm=\"portcullis\", error=\"invalid_token\", error_description=\"", 0), 0u)
      << *challenge;
  EXPECT_NE(challenge->find("expired"), std::string::npos) << *challenge;
  EXPECT_EQ(challenge->back(), '"');

  auto garbage = check_bearer("garbage", Policy::authenticated());
  ASSERT_EQ(status_of(garbage), 401);
  EXPECT_NE(header(std::get<net::Response>(garbage), "WWW-Authenticate")->find("error=\"invalid_token\""),
            std::string::npos);
}

TEST_F(GuardTest, ChallengeNeverCarriesTokenControlledQuotesOrLineBreaks) {
  // The typ value is echoed into the reason; it must not break out of the quoted-string.
  const std::string header_json = R"({"alg":"ES256","kid":"guard-1","typ":"x\"y\\z\r\nSet-Cookie: a=b"})";
  json::object c{{"iss", kIss}, {"aud", kAud}, {"sub", "u"}, {"exp", now() + 600}, {"tenantid", "acme"}, {"appid", "a"}};
  const std::string t = jose::testing::sign_raw(signing_key(), header_json, json::serialize(c));
  auto o = check_bearer(t, Policy::authenticated());
  ASSERT_EQ(status_of(o), 401);
  const std::string* challenge = header(std::get<net::Response>(o), "WWW-Authenticate");
  ASSERT_NE(challenge, nullptr);
  const std::string prefix = "Bearer realm=\"portcullis\", error=\"invalid_token\", error_description=\"";
  ASSERT_EQ(challenge->rfind(prefix, 0), 0u) << *challenge;
  const std::string description = challenge->substr(prefix.size(), challenge->size() - prefix.size() - 1);
  EXPECT_EQ(challenge->back(), '"');
  EXPECT_NE(description.find("typ"), std::string::npos) << "the test token was refused for another reason";
  for (char ch : description) {
    EXPECT_NE(ch, '"') << *challenge;
    EXPECT_NE(ch, '\\') << *challenge;
    EXPECT_GE(static_cast<unsigned char>(ch), 0x20) << *challenge;
    EXPECT_LT(static_cast<unsigned char>(ch), 0x7f) << *challenge;
  }
}

TEST_F(GuardTest, TwoAuthorizationHeadersAreRefused) {
  const std::string good = token("acme", {"Agent.Invoke"});
  auto o = check(request({"Bearer " + good, "Bearer " + good}), Policy::authenticated());
  ASSERT_EQ(status_of(o), 401);
  const std::string* challenge = header(std::get<net::Response>(o), "WWW-Authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_NE(challenge->find("error=\"invalid_token\""), std::string::npos);

  auto mixed = request({"Bearer " + good});
  mixed->headers.push_back({"authorization", "Basic dXNlcjpwYXNz"});
  EXPECT_EQ(status_of(check(mixed, Policy::authenticated())), 401);
}

TEST_F(GuardTest, SuspendedOrUnknownTenantIsUnauthenticated) {
  EXPECT_EQ(status_of(check_bearer(token("sleepy", {"Agent.Invoke"}), Policy::authenticated())), 401);
  EXPECT_EQ(status_of(check_bearer(token("nobody", {"Agent.Invoke"}), Policy::authenticated())), 401);
}

TEST_F(GuardTest, SuspensionAppliesToAnAlreadyAcceptedToken) {
  const std::string t = token("acme", {"Agent.Invoke"});
  ASSERT_TRUE(allowed(check_bearer(t, Policy::tenant_only({"Agent.Invoke"}))));
  tenants.apply(tenant_row("acme", "standard", "suspended", 5));
  EXPECT_EQ(status_of(check_bearer(t, Policy::tenant_only({"Agent.Invoke"}))), 401);
}

// ---- 403: who may call the route

TEST_F(GuardTest, AuthenticatedAccessTakesAnyPrincipal) {
  auto o = check_bearer(token("acme", {}), Policy::authenticated());
  ASSERT_TRUE(allowed(o));
  const Caller& c = std::get<Caller>(o);
  EXPECT_EQ(c->tenant, "acme");
  EXPECT_EQ(c->subject, "user-1");
  EXPECT_EQ(c.tier, "standard");
  EXPECT_TRUE(allowed(check_bearer(token("platform", {"Platform.Operator"}), Policy::authenticated())));
}

TEST_F(GuardTest, TenantRoutesNeedOneOfTheRoles) {
  const Policy access = Policy::tenant_only({"Agent.Invoke", "Machine.Invoke"});
  EXPECT_TRUE(allowed(check_bearer(token("acme", {"Machine.Invoke"}), access)));
  EXPECT_TRUE(allowed(check_bearer(token("acme", {"Agent.Invoke", "Agent.Developer"}), access)));

  auto o = check_bearer(token("acme", {"Agent.Developer", "SelfService.Admin"}), access);
  ASSERT_EQ(status_of(o), 403);
  const auto& r = std::get<net::Response>(o);
  EXPECT_EQ(header(r, "WWW-Authenticate"), nullptr) << "403 carries no challenge";
  auto body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("error").at("code").as_string(), "forbidden");
  EXPECT_EQ(body.at("error").at("requestId").as_string(), "req-42");
  EXPECT_EQ(status_of(check_bearer(token("acme", {}), access)), 403);
}

TEST_F(GuardTest, TenantRoutesRefusePlatformPrincipals) {
  EXPECT_EQ(status_of(check_bearer(token("platform", {"Platform.Admin"}), Policy::tenant_only())), 403);
  EXPECT_EQ(status_of(check_bearer(token("platform", {"Platform.Admin", "Agent.Invoke"}), Policy::tenant_only({"Agent.Invoke"}))),
            403);
  EXPECT_TRUE(allowed(check_bearer(token("acme", {}), Policy::tenant_only())));
}

TEST_F(GuardTest, PlatformRoutesTakePlatformPrincipalsWithTheRole) {
  const Policy admin = Policy::platform_only({"Platform.Admin"});
  EXPECT_TRUE(allowed(check_bearer(token("platform", {"Platform.Admin"}), admin)));
  EXPECT_EQ(status_of(check_bearer(token("platform", {"Platform.Operator"}), admin)), 403);
  // A tenant principal never passes, whatever roles its token names.
  EXPECT_EQ(status_of(check_bearer(token("acme", {"Platform.Admin", "SelfService.Admin"}), admin)), 403);
  EXPECT_EQ(status_of(check_bearer(token("acme", {"Platform.Admin"}), Policy::platform_only({}))), 403);

  const Policy readers = Policy::platform_only({"Platform.Admin", "Platform.Operator"});
  EXPECT_TRUE(allowed(check_bearer(token("platform", {"Platform.Operator"}), readers)));
  EXPECT_EQ(status_of(check_bearer(token("platform", {"Agent.Invoke"}), readers)), 403);
}

// ---- keys the issuer publishes later

class GuardRefetchTest : public GuardTest {
 protected:
  void use_remote_keys(bool idp_up) {
    core::IssuerConfig cfg;
    cfg.name = "corp";
    cfg.issuer = kIss;
    cfg.discovery = false;
    cfg.jwks_uri = kIss + "/keys";
    remote = std::make_shared<auth::RemoteKeys>(
        cfg,
        [this, idp_up](const std::string&) {
          ++fetches;
          if (!idp_up) return auth::FetchedDocument{503, "", ""};
          return auth::FetchedDocument{200, "max-age=600", jwks_text({&signing_key(), &later_key()})};
        },
        [this] { authenticator.keys_changed(); });
    auth::TrustedIssuer is;
    is.name = "corp";
    is.issuer = kIss;
    is.audiences = {kAud};
    is.algorithms = {jose::Alg::ES256};
    is.keys = remote;
    is.remote = remote;
    authenticator.set_issuers({is});
  }
  std::shared_ptr<auth::RemoteKeys> remote;
  std::atomic<int> fetches{0};
};

TEST_F(GuardRefetchTest, ATokenWithANewKeyIsAcceptedAfterARefetch) {
  use_remote_keys(/*idp_up=*/true);
  auto o = check_bearer(token("acme", {"Agent.Invoke"}, 600, later_key()), Policy::tenant_only({"Agent.Invoke"}));
  EXPECT_TRUE(allowed(o));
  EXPECT_EQ(fetches.load(), 1);
  // Now known: no further fetch.
  EXPECT_TRUE(allowed(check_bearer(token("acme", {"Agent.Invoke"}, 600, later_key()), Policy::tenant_only({"Agent.Invoke"}))));
  EXPECT_EQ(fetches.load(), 1);
}

TEST_F(GuardRefetchTest, IdpDownMeansUnauthenticated) {
  use_remote_keys(/*idp_up=*/false);
  auto o = check_bearer(token("acme", {"Agent.Invoke"}), Policy::tenant_only({"Agent.Invoke"}));
  ASSERT_EQ(status_of(o), 401);
  EXPECT_EQ(fetches.load(), 1);
  // Rate-limited: the next unknown key answers at once, without another fetch.
  EXPECT_EQ(status_of(check_bearer(token("acme", {"Agent.Invoke"}), Policy::tenant_only({"Agent.Invoke"}))), 401);
  EXPECT_EQ(fetches.load(), 1);
}

// ---- route(): the stage chain

TEST_F(GuardTest, TheRouteCallsTheHandlerOnlyForAllowedCallers) {
  int handled = 0;
  net::Handler h = guard.route(Policy::tenant_only({"Agent.Invoke"}),
                                 [&](std::shared_ptr<net::Request>, Caller c, net::Responder reply) {
                                   ++handled;
                                   reply(net::Response::json(200, "{\"tenant\":\"" + c->tenant + "\"}"));
                                 });
  auto call = [&](std::shared_ptr<net::Request> req) {
    std::promise<net::Response> p;
    auto f = p.get_future();
    h(std::move(req), net::Responder([&p](net::Response&& r) { p.set_value(std::move(r)); }));
    EXPECT_EQ(f.wait_for(3s), std::future_status::ready);
    return f.get();
  };
  auto ok = call(request({"Bearer " + token("acme", {"Agent.Invoke"})}));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"tenant":"acme"})");
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(call(request({})).status, 401);
  EXPECT_EQ(call(request({"Bearer " + token("acme", {"Machine.Invoke"})})).status, 403);
  EXPECT_EQ(call(request({"Bearer " + token("platform", {"Platform.Admin"})})).status, 403);
  EXPECT_EQ(handled, 1);
}

// Answers a handler synchronously (the stages here never park).
net::Response call(const net::Handler& h, std::shared_ptr<net::Request> req) {
  std::promise<net::Response> p;
  auto f = p.get_future();
  h(std::move(req), net::Responder([&p](net::Response&& r) { p.set_value(std::move(r)); }));
  EXPECT_EQ(f.wait_for(3s), std::future_status::ready);
  return f.get();
}

// tools.search, switched on, for tenant acme only.
void allow_search_for_acme(tenancy::Capabilities& caps) {
  store::CapabilityRecord c;
  c.name = "tools.search";
  c.enabled = true;
  c.tenant_allow_list = {"acme"};
  caps.publish({c});
}

// A stage that records that it ran, for the order of a chain.
class Trace final : public Stage {
 public:
  Trace(std::vector<std::string>& log, std::string name, bool refuse = false) : log_(log), name_(std::move(name)), refuse_(refuse) {}
  std::string_view name() const override { return name_; }
  Verdict on_request(Context& ctx) const override {
    log_.push_back(name_ + (ctx.caller.principal ? " after authentication" : " before authentication"));
    if (!refuse_) return Verdict::proceed;
    ctx.refuse(net::error_response(429, "rate_limited", "slow down", ctx.req->request_id), "limit");
    return Verdict::answered;
  }
  bool sees_response() const override { return true; }
  void on_response(const std::shared_ptr<net::Request>&, const std::shared_ptr<const auth::Principal>& who,
                   net::Response&& r, net::Responder next) const override {
    log_.push_back(name_ + " saw " + std::to_string(r.status) + " of " + who->tenant);
    r.headers.push_back({"X-Seen-By", name_});
    next(std::move(r));
  }

 private:
  std::vector<std::string>& log_;
  std::string name_;
  bool refuse_;
};

TEST_F(GuardTest, TheLimitSlotRunsAfterTheTenantIsBoundAndBeforeTheRoles) {
  std::vector<std::string> trace;
  Trace limit(trace, "limit");
  Chain chain{authenticator, refresher};
  chain.set_limit(&limit);
  net::Handler h = chain.route(Policy::tenant_only({"Agent.Invoke"}), [&](auto, Caller, net::Responder reply) {
    trace.push_back("handler");
    reply(net::Response::json(200, "{}"));
  });
  // An unauthenticated request never reaches the limit; one without the role does (the limit
  // counts the tenant's calls whatever the route's roles), and is refused by the roles stage.
  EXPECT_EQ(call(h, request({})).status, 401);
  EXPECT_TRUE(trace.empty());
  EXPECT_EQ(call(h, request({"Bearer " + token("acme", {})})).status, 403);
  EXPECT_EQ(trace, (std::vector<std::string>{"limit after authentication"}));
  trace.clear();
  auto ok = call(h, request({"Bearer " + token("acme", {"Agent.Invoke"})}));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(trace, (std::vector<std::string>{"limit after authentication", "handler", "limit saw 200 of acme"}));
  ASSERT_NE(header(ok, "X-Seen-By"), nullptr);
}

// Review H2: the call slot (concurrency and quota) runs only once roles and capabilities passed,
// so a principal that may not call spends nothing of the tenant's quota.
TEST_F(GuardTest, TheCallLimitSlotRunsAfterRolesAndCapabilities) {
  std::vector<std::string> trace;
  Trace limit(trace, "limit"), call_limit(trace, "call");
  tenancy::Capabilities caps;
  allow_search_for_acme(caps);
  tenants.apply(tenant_row("other", "standard", "active", 3));
  Chain chain{authenticator, refresher, nullptr, &caps};
  chain.set_limit(&limit, &call_limit);
  net::Handler h = chain.route(Policy::tenant_only({"Agent.Invoke"}).capability("tools.search"),
                               [&](auto, Caller, net::Responder reply) {
                                 trace.push_back("handler");
                                 reply(net::Response::json(200, "{}"));
                               });
  EXPECT_EQ(call(h, request({"Bearer " + token("acme", {})})).status, 403) << "no role";
  EXPECT_EQ(trace, (std::vector<std::string>{"limit after authentication"}));
  trace.clear();
  EXPECT_EQ(call(h, request({"Bearer " + token("other", {"Agent.Invoke"})})).status, 403) << "no capability";
  EXPECT_EQ(trace, (std::vector<std::string>{"limit after authentication"}));
  trace.clear();
  EXPECT_EQ(call(h, request({"Bearer " + token("acme", {"Agent.Invoke"})})).status, 200);
  EXPECT_EQ(trace, (std::vector<std::string>{"limit after authentication", "call after authentication", "handler",
                                             "call saw 200 of acme", "limit saw 200 of acme"}));
}

TEST_F(GuardTest, AStageThatAnswersEndsTheChain) {
  std::vector<std::string> trace;
  Trace limit(trace, "limit", /*refuse=*/true);
  Chain chain{authenticator, refresher};
  chain.set_limit(&limit);
  bool handled = false;
  net::Handler h = chain.route(Policy::authenticated(), [&](auto, Caller, net::Responder reply) {
    handled = true;
    reply(net::Response::json(200, "{}"));
  });
  const double before = core::metrics().counter("portcullis_auth_failures_total", "", {"reason"}).labels({"limit"}).value();
  EXPECT_EQ(call(h, request({"Bearer " + token("acme", {})})).status, 429);
  EXPECT_FALSE(handled);
  EXPECT_EQ(core::metrics().counter("portcullis_auth_failures_total", "", {"reason"}).labels({"limit"}).value() - before, 1);
}

TEST_F(GuardTest, ACapabilityPolicyRefusesTenantsItDoesNotAllow) {
  tenancy::Capabilities caps;
  allow_search_for_acme(caps);
  tenants.apply(tenant_row("other", "standard", "active", 3));
  Chain chain{authenticator, refresher, nullptr, &caps};
  net::Handler h = chain.route(Policy::tenant_only().capability("tools.search"),
                               [](auto, Caller, net::Responder reply) { reply(net::Response::json(200, "{}")); });
  EXPECT_EQ(call(h, request({"Bearer " + token("acme", {})})).status, 200);
  EXPECT_EQ(call(h, request({"Bearer " + token("other", {})})).status, 403);
  net::Handler unknown = chain.route(Policy::tenant_only().capability("tools.unknown"),
                                     [](auto, Caller, net::Responder reply) { reply(net::Response::json(200, "{}")); });
  EXPECT_EQ(call(unknown, request({"Bearer " + token("acme", {})})).status, 403) << "deny by default";
}

TEST_F(GuardRefetchTest, AParkedRequestResumesItsRouteAfterTheRefetch) {
  use_remote_keys(/*idp_up=*/true);
  std::atomic<int> handled{0};
  net::Handler h = guard.route(Policy::tenant_only({"Agent.Invoke"}), [&](auto, Caller c, net::Responder reply) {
    ++handled;
    reply(net::Response::json(200, "{\"tenant\":\"" + c->tenant + "\"}"));
  });
  auto r = call(h, request({"Bearer " + token("acme", {"Agent.Invoke"}, 600, later_key())}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(handled.load(), 1);
  EXPECT_EQ(fetches.load(), 1);
}

// ---- agents: what is not listed cannot be used

class AgentAccessTest : public GuardTest {
 protected:
  void SetUp() override {
    GuardTest::SetUp();
    tenants.apply(tenant_row("quiet", "premium", "active", 3));  // agents.invoke is off for it
    tenants.apply(tenant_row("rich", "premium", "active", 4));
    std::vector<agents::AgentEntry> list;
    for (auto [name, tier] : {std::pair{"open", "basic"}, {"premium-only", "premium"}, {"switched-off", "basic"},
                              {"killed", "basic"}, {"rich-only", "basic"}, {"no-capability", "basic"}}) {
      agents::AgentEntry a;
      a.name = name;
      a.tier_minimum = tier;
      a.host = "127.0.0.1";
      a.port = 9;
      // Text the list writes by hand must still come out as valid JSON (quotes, controls, bad UTF-8).
      a.description = std::string(name) + " says \"hi\"\n\x01 \xff\\";
      a.version = "v1";
      list.push_back(a);
    }
    catalog.publish(list);
    std::vector<store::CapabilityRecord> records;
    auto cap = [&](std::string name, bool enabled = true) -> store::CapabilityRecord& {
      store::CapabilityRecord c;
      c.name = std::move(name);
      c.enabled = enabled;
      records.push_back(c);
      return records.back();
    };
    cap("agents.invoke").tenant_allow_list = {"acme", "rich"};
    cap("agents.open");
    cap("agents.premium-only");
    cap("agents.switched-off", /*enabled=*/false);
    cap("agents.killed").killed = true;
    cap("agents.rich-only").tenant_allow_list = {"rich"};
    // agents.no-capability: missing, so denied
    caps.publish(records);
    api::AgentRoutesDeps deps{&guard, &catalog, &caps, nullptr};
    // The invoke route needs the identity ports (it fails closed without them); stand-ins here,
    // since this test is about which agents are visible, not what the runtime is told.
    deps.ports.identity_token = [](const auth::Principal&, std::string_view, std::string_view, std::string_view) {
      return std::string("identity");
    };
    deps.ports.call_refusal = [](const auth::Principal&, std::string_view) { return std::optional<std::string>(); };
    api::add_agent_routes(router, std::move(deps));
  }

  net::Response get(const std::string& target, const std::string& tenant, std::string method = "GET") {
    const std::string path = target.substr(0, target.find('?'));
    auto m = router.match(method, path);
    EXPECT_EQ(m.kind, net::RouteMatch::Kind::found) << path;
    auto req = request({"Bearer " + token(tenant, {"Agent.Invoke"})});
    req->method = method;
    if (method == "POST") req->body = R"({"input":1})";
    req->path = path;
    req->target = target;
    if (path.size() < target.size()) req->query = target.substr(path.size() + 1);
    req->route = m.route->pattern;
    req->params = m.params;
    return call(m.route->handler, req);
  }

  std::set<std::string> listed(const std::string& tenant) {
    auto r = get("/v1/agents", tenant);
    EXPECT_EQ(r.status, 200);
    std::set<std::string> names;
    const json::value body = json::parse(r.body);
    for (const auto& a : body.at("agents").as_array()) names.insert(std::string(a.at("name").as_string()));
    return names;
  }

  agents::AgentCatalog catalog;
  tenancy::Capabilities caps;
  net::Router router;
};

TEST_F(AgentAccessTest, ListingAndInvokingAgreeForEveryRuleThatHidesAnAgent) {
  const std::set<std::string> expected_acme{"open"};
  const std::set<std::string> expected_rich{"open", "premium-only", "rich-only"};
  EXPECT_EQ(listed("acme"), expected_acme);  // standard tier: not premium-only; not rich-only
  EXPECT_EQ(listed("rich"), expected_rich);
  EXPECT_TRUE(listed("quiet").empty()) << "agents.invoke is off for quiet";
  for (const std::string tenant : {"acme", "rich", "quiet"}) {
    const auto shown = listed(tenant);
    for (const std::string name : {"open", "premium-only", "switched-off", "killed", "rich-only", "no-capability", "absent"}) {
      const bool in_list = shown.count(name) > 0;
      auto one = get("/v1/agents/" + name, tenant);
      auto invoke = get("/v1/agents/" + name + "/invoke", tenant, "POST");
      EXPECT_EQ(one.status, in_list ? 200 : 404) << tenant << " " << name;
      EXPECT_EQ(invoke.forward.has_value(), in_list) << tenant << " " << name << ": listed and invocable disagree";
      if (!in_list) {
        EXPECT_EQ(invoke.status, 404) << tenant << " " << name;
        EXPECT_EQ(one.body.find(name), std::string::npos) << "a hidden agent must look like an absent one";
      }
    }
  }
}

TEST_F(AgentAccessTest, TheListPagesByNameAndItsTextIsValidJson) {
  auto page = [&](const std::string& query) {
    auto r = get("/v1/agents" + query, "rich");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();  // throws on invalid JSON or invalid UTF-8
  };
  auto first = page("?limit=2");
  ASSERT_EQ(first.at("agents").as_array().size(), 2u);
  const auto& open = first.at("agents").as_array()[0].as_object();
  EXPECT_EQ(open.at("name").as_string(), "open");
  EXPECT_EQ(open.at("description").as_string(), "open says \"hi\"\n\x01 \xEF\xBF\xBD\\");
  EXPECT_EQ(open.at("tierMinimum").as_string(), "basic");
  EXPECT_EQ(open.at("version").as_string(), "v1");
  ASSERT_TRUE(first.at("nextCursor").is_string());
  EXPECT_EQ(first.at("nextCursor").as_string(), "premium-only");
  auto rest = page("?limit=2&cursor=premium-only");
  ASSERT_EQ(rest.at("agents").as_array().size(), 1u);
  EXPECT_EQ(rest.at("agents").as_array()[0].at("name").as_string(), "rich-only");
  EXPECT_TRUE(rest.at("nextCursor").is_null());
  auto one = get("/v1/agents/rich-only", "rich");
  EXPECT_EQ(json::parse(one.body).at("description").as_string(), "rich-only says \"hi\"\n\x01 \xEF\xBF\xBD\\");
}

}  // namespace
}  // namespace pc::api

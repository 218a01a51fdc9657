#include "net/router.h"

#include <gtest/gtest.h>

namespace pc::net {
namespace {

Handler noop() {
  return [](std::shared_ptr<Request>, Responder r) { r(Response::json(200, "{}")); };
}

TEST(Router, ExactAndParameterisedRoutes) {
  Router r;
  r.add("GET", "/healthz", noop());
  r.add("POST", "/v1/agents/{name}/invoke", noop());
  r.add("GET", "/v1/agents/{name}", noop());

  auto m = r.match("GET", "/healthz");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/healthz");

  m = r.match("POST", "/v1/agents/echo/invoke");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/v1/agents/{name}/invoke");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "name");
  EXPECT_EQ(m.params[0].second, "echo");

  m = r.match("GET", "/v1/agents/echo");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/v1/agents/{name}");
}

TEST(Router, NotFoundCases) {
  Router r;
  r.add("GET", "/v1/agents/{name}", noop());
  EXPECT_EQ(r.match("GET", "/v1/agents").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(r.match("GET", "/v1/agents/").kind, RouteMatch::Kind::not_found);  // empty parameter
  EXPECT_EQ(r.match("GET", "/v1/agents/a/b").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(r.match("GET", "").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(r.match("GET", "v1/agents/x").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(r.match("GET", "/V1/agents/x").kind, RouteMatch::Kind::not_found);  // case-sensitive
}

TEST(Router, MethodNotAllowedListsAllowedMethods) {
  Router r;
  r.add("GET", "/v1/webhooks", noop());
  r.add("POST", "/v1/webhooks", noop());
  auto m = r.match("DELETE", "/v1/webhooks");
  EXPECT_EQ(m.kind, RouteMatch::Kind::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
  EXPECT_EQ(m.route, nullptr);
}

TEST(Router, HeadIsServedByGet) {
  Router r;
  r.add("GET", "/healthz", noop());
  EXPECT_EQ(r.match("HEAD", "/healthz").kind, RouteMatch::Kind::found);
}

TEST(Router, ParametersArePercentDecodedButCannotSmuggleSlashes) {
  Router r;
  r.add("GET", "/v1/sessions/{id}", noop());
  auto m = r.match("GET", "/v1/sessions/a%20b");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.params[0].second, "a b");
  EXPECT_EQ(r.match("GET", "/v1/sessions/a%2Fb").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(r.match("GET", "/v1/sessions/a%00b").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(r.match("GET", "/v1/sessions/a%zz").kind, RouteMatch::Kind::not_found);
  EXPECT_EQ(r.match("GET", "/v1/sessions/a%2").kind, RouteMatch::Kind::not_found);
}

TEST(Router, RejectsMalformedAndDuplicatePatterns) {
  Router r;
  EXPECT_THROW(r.add("GET", "healthz", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{b", noop()), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/x{b}", noop()), std::invalid_argument);
  r.add("GET", "/a", noop());
  EXPECT_THROW(r.add("GET", "/a", noop()), std::invalid_argument);
  EXPECT_NO_THROW(r.add("POST", "/a", noop()));
}

TEST(Router, ExactRouteWinsOverParameter) {
  Router r;
  r.add("GET", "/v1/agents/{name}", noop());
  r.add("GET", "/v1/agents/featured", noop());
  auto m = r.match("GET", "/v1/agents/featured");
  ASSERT_EQ(m.kind, RouteMatch::Kind::found);
  EXPECT_EQ(m.route->pattern, "/v1/agents/featured");
}

}  // namespace
}  // namespace pc::net

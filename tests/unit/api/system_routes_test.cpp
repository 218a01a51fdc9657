#include "api/system_routes.h"

#include <gtest/gtest.h>

#include <future>
#include <stdexcept>

#include "core/work_pool.h"

namespace pc::api {
namespace {

// Runs the handler the router picks for (method, path) and waits for its answer.
net::Response call(const net::Router& router, std::string_view path, std::string remote = "127.0.0.1") {
  auto m = router.match("GET", path);
  EXPECT_EQ(m.kind, net::RouteMatch::Kind::found);
  auto req = std::make_shared<net::Request>();
  req->method = "GET";
  req->path = std::string(path);
  req->remote_address = std::move(remote);
  req->request_id = "test-req";
  std::promise<net::Response> answered;
  auto done = answered.get_future();
  m.route->handler(req, net::Responder([&answered](net::Response&& r) { answered.set_value(std::move(r)); }));
  EXPECT_EQ(done.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  return done.get();
}

struct Fixture {
  core::WorkPool pool{"test", 1, 8};
  bool store_up = true;
  bool store_throws = false;
  bool metrics_public = true;
  net::Router router;
  Fixture() {
    add_system_routes(router, {[this] {
                                 if (store_throws) throw std::runtime_error("disk gone");
                                 return store_up;
                               },
                               &pool, [this] { return metrics_public; }});
  }
};

TEST(SystemRoutes, HealthzIsAlwaysOk) {
  Fixture f;
  f.store_up = false;
  auto r = call(f.router, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
}

TEST(SystemRoutes, ReadyzFollowsTheStore) {
  Fixture f;
  EXPECT_EQ(call(f.router, "/readyz").status, 200);
  f.store_up = false;
  auto down = call(f.router, "/readyz");
  EXPECT_EQ(down.status, 503);
  EXPECT_NE(down.body.find("\"not_ready\""), std::string::npos);
  EXPECT_NE(down.body.find("\"test-req\""), std::string::npos);
  f.store_throws = true;  // a failing check is "not ready", never a crash or a pass
  EXPECT_EQ(call(f.router, "/readyz").status, 503);
}

TEST(SystemRoutes, MetricsCanBeRestrictedToLoopback) {
  Fixture f;
  EXPECT_EQ(call(f.router, "/metrics", "10.1.2.3").status, 200);
  f.metrics_public = false;
  auto denied = call(f.router, "/metrics", "10.1.2.3");
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body.find("\"forbidden\""), std::string::npos);
  auto local = call(f.router, "/metrics", "127.0.0.1");
  EXPECT_EQ(local.status, 200);
  EXPECT_EQ(local.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(call(f.router, "/metrics", "::1").status, 200);
}

TEST(SystemRoutes, LoopbackDetection) {
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.8.9.10"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback("10.0.0.1"));
  EXPECT_FALSE(is_loopback("1127.0.0.1"));
  EXPECT_FALSE(is_loopback("::2"));
  EXPECT_FALSE(is_loopback(""));
}

}  // namespace
}  // namespace pc::api

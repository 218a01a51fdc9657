// The agent routes' view of AgentHealth: a runtime that is down (a real closed port, checked
// twice) → 503 agent_unavailable with Retry-After; up or unknown → no refusal; no checker → unknown.
#include "api/agent_availability.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/ports.h"

namespace pc::api {
namespace {

using pc::testing::closed_port;

TEST(AgentAvailability, ADownRuntimeIs503WithRetryAfterAndUnknownIsNotRefused) {
  agents::AgentEntry echo;
  echo.name = "echo";
  echo.host = "127.0.0.1";
  echo.port = closed_port();
  agents::AgentCatalog catalog;
  catalog.publish({echo});
  agents::AgentHealth::Options o;
  o.interval = std::chrono::milliseconds(2500);
  o.timeout = std::chrono::milliseconds(300);
  agents::AgentHealth health(catalog, o);

  EXPECT_EQ(agent_status(nullptr, echo), "unknown");
  EXPECT_FALSE(unavailable_answer(nullptr, echo, "r1"));
  EXPECT_EQ(agent_status(&health, echo), "unknown");
  EXPECT_FALSE(unavailable_answer(&health, echo, "r1")) << "no evidence yet: callers go through";

  health.check_now();
  health.check_now();
  EXPECT_EQ(agent_status(&health, echo), "unavailable");
  auto r = unavailable_answer(&health, echo, "r2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("\"agent_unavailable\""), std::string::npos);
  EXPECT_NE(r->body.find("\"r2\""), std::string::npos);
  ASSERT_EQ(r->headers.size(), 1u);
  EXPECT_EQ(r->headers[0].name, "Retry-After");
  EXPECT_EQ(r->headers[0].value, "3");
}

}  // namespace
}  // namespace pc::api

// Records of MCP tool calls (issue 10): every call audited (names and counts, never arguments or
// results) and stored with its arguments and result sealed under the tenant's key — on every
// store backend, and dropped with the tenant.
#include "mcp/tool_calls.h"

#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "crypto/aead.h"
#include "crypto/master_keyring.h"
#include "store/store.h"
#include "support/test_store.h"
#include "vault/data_keys.h"
#include "vault/vault_test_util.h"

namespace pc::mcp {
namespace {

class ToolCallLogTest : public pc::testing::BackendTest {};

ToolCall call(std::string tenant) {
  ToolCall c;
  c.call_id = new_tool_call_id();
  c.tenant_id = std::move(tenant);
  c.session_id = "sess-1";
  c.principal = "user-1";
  c.client = "client-1";
  c.request_id = "req-1";
  c.server = "alpha";
  c.tool = "lookup_customer";
  c.exposed_name = "lookup_customer";
  c.outcome = "succeeded";
  c.latency_ms = 12;
  c.redactions = {{"email", 2}};
  c.created_at = "2026-12-05T11:00:00.000Z";
  c.arguments = R"({"id":"secret-arg-42"})";
  c.result = R"({"content":[{"type":"text","text":"[REDACTED:email]"}]})";
  return c;
}

TEST_P(ToolCallLogTest, RecordsAreSealedAndAuditedWithoutContent) {
  crypto::MasterKeyring ring{vault::testing::master_key(1)};
  vault::DataKeys keys(store(), ring);
  audit::AuditLog audit(store());
  auto c = call("acme");
  {
    ToolCallLog log(store(), keys, &audit);
    ASSERT_TRUE(log.record(c));
    log.flush();
    audit.flush();
  }
  auto rows = store().list_mcp_tool_calls("acme", "", 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].server, "alpha");
  EXPECT_EQ(rows[0].tool, "lookup_customer");
  EXPECT_EQ(rows[0].outcome, "succeeded");
  EXPECT_EQ(rows[0].redactions, R"({"email":2})");
  EXPECT_FALSE(rows[0].content_sealed) << "listings never load content";
  EXPECT_TRUE(store().list_mcp_tool_calls("globex", "", 10).empty());

  auto found = store().find_mcp_tool_call(c.call_id);
  ASSERT_TRUE(found && found->content_sealed);
  EXPECT_EQ(found->content_sealed->find("secret-arg-42"), std::string::npos) << "never in the clear";
  auto [args, result] = open_tool_call_content(keys, "acme", c.call_id, *found->content_sealed);
  EXPECT_EQ(args, c.arguments);
  EXPECT_EQ(result, c.result);
  // Bound to its row and tenant.
  EXPECT_THROW(open_tool_call_content(keys, "acme", "mcp_other", *found->content_sealed), crypto::AeadError);
  EXPECT_THROW(open_tool_call_content(keys, "globex", c.call_id, *found->content_sealed), std::exception);

  store::AuditQuery q;
  q.tenant_id = "acme";
  auto events = store().query_audit(q);
  bool seen = false;
  for (const auto& e : events) {
    if (e.action != "mcp.tools/call") continue;
    seen = true;
    EXPECT_EQ(e.outcome, "success");
    EXPECT_NE(e.details.find("\"email\":2"), std::string::npos);
    EXPECT_EQ(e.details.find("secret-arg-42"), std::string::npos);
  }
  EXPECT_TRUE(seen);
}

TEST_P(ToolCallLogTest, PurgedWithTheTenant) {
  crypto::MasterKeyring ring{vault::testing::master_key(1)};
  vault::DataKeys keys(store(), ring);
  {
    ToolCallLog log(store(), keys, nullptr);
    log.record(call("acme"));
    log.flush();
  }
  ASSERT_EQ(store().list_mcp_tool_calls("acme", "", 10).size(), 1u);
  store().purge_tenant("acme");
  EXPECT_TRUE(store().list_mcp_tool_calls("acme", "", 10).empty());
}

PC_ALL_BACKENDS(ToolCallLogTest);

}  // namespace
}  // namespace pc::mcp

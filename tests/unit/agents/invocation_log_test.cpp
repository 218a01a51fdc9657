// The invocation log's queue (issue 8 item 15): bounded by bytes as well as by count, since
// every record carries its request body.
#include "agents/invocation_log.h"

#include <gtest/gtest.h>

#include <chrono>

#include "core/metrics.h"
#include "crypto/aead.h"
#include "crypto/associated_data.h"
#include "crypto/master_keyring.h"
#include "store/store.h"
#include "support/test_store.h"
#include "vault/data_keys.h"
#include "vault/vault_test_util.h"

namespace pc::agents {
namespace {

class InvocationLogTest : public pc::testing::BackendTest {};

Invocation invocation(std::size_t body_bytes) {
  Invocation inv;
  inv.invocation_id = new_invocation_id();
  inv.tenant_id = "acme";
  inv.agent = "echo";
  inv.agent_version = "1";
  inv.principal = "client:ci";
  inv.http_status = 200;
  inv.created_at = "2026-01-01T00:00:00.000Z";
  inv.input = std::string(body_bytes, 'x');
  return inv;
}

// Before: 65,536 records of any size could wait (1 MiB bodies: 64 GiB).
TEST_P(InvocationLogTest, TheQueueIsBoundedByBytesAndOverflowIsDroppedAndCounted) {
  crypto::MasterKeyring ring{vault::testing::master_key(1)};
  vault::DataKeys keys(store(), ring);
  auto& dropped = core::metrics().counter("portcullis_invocation_records_dropped_total", "").get();
  const double dropped_before = dropped.value();
  {
    InvocationLog::Options o;
    o.max_queue_bytes = 3 << 20;
    o.linger = std::chrono::seconds(2);  // nothing is written before the flush below
    InvocationLog log(store(), keys, o);
    EXPECT_TRUE(log.record(invocation(1 << 20)));
    EXPECT_TRUE(log.record(invocation(1 << 20)));
    EXPECT_FALSE(log.record(invocation(1 << 20))) << "three MiB bodies queued under a 3 MiB bound";
    EXPECT_TRUE(log.record(invocation(1000)));  // a small one still fits
    log.flush();
  }
  EXPECT_EQ(dropped.value() - dropped_before, 1);
  store::InvocationQuery q;
  q.tenant_id = "acme";
  q.limit = 10;
  EXPECT_EQ(store().list_invocations(q).size(), 3u);
}

// Issue 9: the record holds input and output sealed together (neither in plaintext), mode,
// status, error, and token counts only when the runtime reported them.
TEST_P(InvocationLogTest, ContentHoldsInputAndOutputSealedAndUnknownUsageStaysNull) {
  crypto::MasterKeyring ring{vault::testing::master_key(1)};
  vault::DataKeys keys(store(), ring);
  Invocation ok = invocation(0);
  ok.input = R"({"input":"secret question"})";
  ok.output = R"({"output":"secret answer"})";
  ok.mode = "stream";
  ok.input_tokens = 4;
  ok.output_tokens = 7;
  Invocation failed = invocation(0);
  failed.input = "in";
  failed.http_status = 504;
  failed.error = "upstream_timeout";
  Invocation gone = invocation(0);
  gone.http_status = 499;
  {
    InvocationLog log(store(), keys);
    ASSERT_TRUE(log.record(ok));
    ASSERT_TRUE(log.record(failed));
    ASSERT_TRUE(log.record(gone));
    log.flush();
  }
  auto r = store().find_invocation(ok.invocation_id);
  ASSERT_TRUE(r && r->content_sealed);
  EXPECT_EQ(r->content_sealed->find("secret"), std::string::npos) << "content is never stored in plaintext";
  auto content = open_invocation_content(keys, *r);
  EXPECT_EQ(content.input, ok.input);
  EXPECT_EQ(content.output, ok.output);
  EXPECT_EQ(r->mode, "stream");
  EXPECT_EQ(r->status, "succeeded");
  EXPECT_EQ(r->input_tokens, 4);
  EXPECT_EQ(r->output_tokens, 7);

  auto f = store().find_invocation(failed.invocation_id);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status, "failed");
  EXPECT_EQ(f->error, "upstream_timeout");
  EXPECT_FALSE(f->input_tokens);
  EXPECT_FALSE(f->output_tokens);
  EXPECT_EQ(open_invocation_content(keys, *f).output, "");
  EXPECT_EQ(store().find_invocation(gone.invocation_id)->status, "cancelled");

  // Bound to its row: the same sealed content under another invocation id does not open.
  store::InvocationRecord moved = *r;
  moved.invocation_id = failed.invocation_id;
  EXPECT_THROW(open_invocation_content(keys, moved), crypto::AeadError);
}

// A record written before issue 9 (input only, the old associated data) still opens.
TEST_P(InvocationLogTest, OldInputOnlyContentStillOpens) {
  crypto::MasterKeyring ring{vault::testing::master_key(1)};
  vault::DataKeys keys(store(), ring);
  store::InvocationRecord r;
  r.invocation_id = "inv_old";
  r.tenant_id = "acme";
  r.content_sealed = keys.seal("acme", vault::kInvocationClass,
                               crypto::row_aad("acme", "invocations", "inv_old", "content_sealed"), "old input");
  auto c = open_invocation_content(keys, r);
  EXPECT_EQ(c.input, "old input");
  EXPECT_EQ(c.output, "");
}

PC_ALL_BACKENDS(InvocationLogTest);

}  // namespace
}  // namespace pc::agents

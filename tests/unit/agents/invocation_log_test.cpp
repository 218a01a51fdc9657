// The invocation log's queue (issue 8 item 15): bounded by bytes as well as by count, since
// every record carries its request body.
#include "agents/invocation_log.h"

#include <gtest/gtest.h>

#include <chrono>

#include "core/metrics.h"
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

PC_ALL_BACKENDS(InvocationLogTest);

}  // namespace
}  // namespace pc::agents

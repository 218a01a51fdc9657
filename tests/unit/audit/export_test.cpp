#include "audit/export.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/audit_test_support.h"
#include "audit/chain.h"
#include "support/test_store.h"

namespace pc::audit {
namespace {

namespace json = boost::json;
using testing::all_records;

store::AuditRecord sample() {
  store::AuditRecord r;
  r.seq = 7;
  r.time = "2026-11-23T13:05:00.123Z";
  r.tenant_id = "acme";
  r.actor = "client:abc";
  r.action = "tenant.update";
  r.resource = "/v1/tenants/acme";
  r.outcome = "success";
  r.request_id = "req-7";
  r.details = R"({"tier":"premium"})";
  r.prev_hash = std::string(64, 'a');
  r.hash = std::string(64, 'b');
  return r;
}

json::object parse_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "more than one line: " << line;
  json::value v = json::parse(line);
  EXPECT_TRUE(v.is_object());
  return v.as_object();
}

TEST(AuditExport, LineHasTheDocumentedFieldsInOrder) {
  EXPECT_EQ(to_json_line(sample()),
            R"({"seq":7,"time":"2026-11-23T13:05:00.123Z","tenantId":"acme","actor":"client:abc",)"
            R"("action":"tenant.update","resource":"/v1/tenants/acme","outcome":"success","requestId":"req-7",)"
            R"("details":{"tier":"premium"},"prevHash":")" +
                std::string(64, 'a') + R"(","hash":")" + std::string(64, 'b') + "\"}\n");
}

TEST(AuditExport, EscapesFieldsAndKeepsOneLine) {
  store::AuditRecord r = sample();
  r.actor = "eve \"the\" \\ admin\nline two\ttab";
  r.resource = "/v1/\x01weird";
  r.details = R"({"note":"a\nb","nested":{"k":[1,2]}})";  // an escaped newline inside a string is fine
  const json::object o = parse_line(to_json_line(r));
  EXPECT_EQ(o.at("actor").as_string(), r.actor);
  EXPECT_EQ(o.at("resource").as_string(), r.resource);
  ASSERT_TRUE(o.at("details").is_object());
  EXPECT_EQ(o.at("details").at("note").as_string(), "a\nb");
  EXPECT_EQ(o.at("details").at("nested").at("k").as_array().size(), 2u);
}

TEST(AuditExport, DetailsThatAreNotAOneLineObjectBecomeAString) {
  for (const std::string details :
       {"not json", "[1,2]", "\"text\"", "{\n  \"pretty\": true\n}", "{\"a\":1} trailing"}) {
    store::AuditRecord r = sample();
    r.details = details;
    const json::object o = parse_line(to_json_line(r));
    ASSERT_TRUE(o.at("details").is_string()) << details;
    EXPECT_EQ(o.at("details").as_string(), details);
  }
}

class AuditExportTest : public pc::testing::BackendTest {};

TEST_P(AuditExportTest, OneTenantsEntriesInSeqOrderWithTheStoresHashes) {
  {
    AuditLog log(store());
    // 2,500 entries of acme (more than two export pages) between those of two other tenants.
    for (int i = 0; i < 2500; ++i) {
      Event e;
      e.tenant_id = "acme";
      e.actor = "client:a";
      e.action = "test.write";
      e.resource = "/v1/x/" + std::to_string(i);
      e.outcome = "success";
      e.request_id = "r" + std::to_string(i);
      e.details = R"({"i":)" + std::to_string(i) + "}";
      ASSERT_TRUE(log.record(e));
      e.tenant_id = i % 2 ? "demo" : "platform";
      ASSERT_TRUE(log.record(e));
    }
    log.flush();
  }
  std::map<std::int64_t, store::AuditRecord> stored;
  for (auto& r : all_records(store())) stored.emplace(r.seq, r);
  ASSERT_EQ(stored.size(), 5000u);

  std::vector<std::string> lines;
  export_ndjson(store(), "acme", [&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_EQ(lines.size(), 2500u);
  std::int64_t last_seq = 0;
  int i = 0;
  for (const std::string& line : lines) {
    const json::object o = parse_line(line);
    EXPECT_EQ(o.at("tenantId").as_string(), "acme");
    const std::int64_t seq = o.at("seq").to_number<std::int64_t>();
    EXPECT_GT(seq, last_seq) << "not in seq order";
    last_seq = seq;
    const store::AuditRecord& r = stored.at(seq);
    EXPECT_EQ(o.at("hash").as_string(), r.hash);
    EXPECT_EQ(o.at("prevHash").as_string(), r.prev_hash);
    EXPECT_EQ(o.at("resource").as_string(), "/v1/x/" + std::to_string(i));
    EXPECT_EQ(o.at("details").at("i").to_number<int>(), i);
    ++i;

    // The line alone is enough to recompute the entry's hash (details here is compact JSON,
    // which serializes back to the stored bytes).
    store::AuditRecord back;
    back.seq = seq;
    back.time = o.at("time").as_string().c_str();
    back.tenant_id = o.at("tenantId").as_string().c_str();
    back.actor = o.at("actor").as_string().c_str();
    back.action = o.at("action").as_string().c_str();
    back.resource = o.at("resource").as_string().c_str();
    back.outcome = o.at("outcome").as_string().c_str();
    back.request_id = o.at("requestId").as_string().c_str();
    back.details = json::serialize(o.at("details"));
    EXPECT_EQ(link_hash(back, o.at("prevHash").as_string().c_str()), r.hash);
  }

  std::vector<std::string> all;
  export_ndjson(store(), "", [&](std::string_view l) { all.emplace_back(l); });
  ASSERT_EQ(all.size(), 5000u);
  for (std::size_t k = 0; k < all.size(); ++k)
    EXPECT_EQ(parse_line(all[k]).at("seq").to_number<std::int64_t>(), static_cast<std::int64_t>(k + 1));

  int none = 0;
  export_ndjson(store(), "nobody", [&](std::string_view) { ++none; });
  EXPECT_EQ(none, 0);
}

TEST_P(AuditExportTest, ASinkThatThrowsStopsTheExport) {
  AuditLog log(store());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log.record_sync(Event{"acme", "a", "x", "r", "success", "q"}));
  int calls = 0;
  EXPECT_THROW(export_ndjson(store(), "acme",
                             [&](std::string_view) {
                               if (++calls == 2) throw std::runtime_error("client went away");
                             }),
               std::runtime_error);
  EXPECT_EQ(calls, 2);
}

PC_ALL_BACKENDS(AuditExportTest);

}  // namespace
}  // namespace pc::audit

#include "audit/chain.h"

#include <gtest/gtest.h>

#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace pc::audit {
namespace {

store::AuditRecord fixed_record() {
  store::AuditRecord r;
  r.seq = 42;
  r.time = "2026-11-23T13:05:00.123Z";
  r.tenant_id = "acme";
  r.actor = "client:abc";
  r.action = "tenant.create";
  r.resource = "/v1/tenants/acme";
  r.outcome = "success";
  r.request_id = "req-1";
  r.details = R"({"tier":"basic"})";
  return r;
}

const std::string kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The goldens were computed outside this code base, from the bytes spelled out below:
//   printf 'portcullis-audit-v1\n64:e3b0…b855,2:42,24:2026-11-23T13:05:00.123Z,4:acme,10:client:abc,
//           13:tenant.create,16:/v1/tenants/acme,7:success,5:req-1,16:{"tier":"basic"},' | openssl dgst -sha256
// so a change to the encoding or the hashing, which would orphan every stored log, fails here.
TEST(AuditChain, GoldenEncodingAndHash) {
  const store::AuditRecord r = fixed_record();
  EXPECT_EQ(link_encoding(r, kEmptySha),
            "portcullis-audit-v1\n64:" + kEmptySha +
                ",2:42,24:2026-11-23T13:05:00.123Z,4:acme,10:client:abc,13:tenant.create,"
                "16:/v1/tenants/acme,7:success,5:req-1,16:{\"tier\":\"basic\"},");
  EXPECT_EQ(link_hash(r, kEmptySha), "4f4c8daf0d4b8c8f991735499c396a2c13387a597c5590be451dbafa4e156b37");
}

// The first entry of a log: prev_hash "" and empty fields still take their place ("0:,").
TEST(AuditChain, GoldenFirstEntryWithEmptyFields) {
  store::AuditRecord r;
  r.seq = 1;
  r.time = "2026-01-01T00:00:00.000Z";
  r.tenant_id = "platform";
  r.actor = "system";
  r.details = "{}";
  EXPECT_EQ(link_hash(r, ""), "383862aaa572b7a82942ec72335561b5617e52fc3c5d332103fb3e86fb4b89f0");
}

TEST(AuditChain, StoredFieldsPrevHashAndHashAreNotPartOfTheInput) {
  store::AuditRecord a = fixed_record();
  store::AuditRecord b = fixed_record();
  b.prev_hash = "something else";
  b.hash = "whatever";
  // The prev_hash argument is what counts, not whatever the record carries.
  EXPECT_EQ(link_hash(a, kEmptySha), link_hash(b, kEmptySha));
}

TEST(AuditChain, EveryFieldChangesTheHash) {
  const std::string base = link_hash(fixed_record(), kEmptySha);
  const std::vector<std::pair<std::string, std::function<void(store::AuditRecord&)>>> edits = {
      {"seq", [](store::AuditRecord& r) { r.seq = 43; }},
      {"time", [](store::AuditRecord& r) { r.time = "2026-11-23T13:05:00.124Z"; }},
      {"tenant_id", [](store::AuditRecord& r) { r.tenant_id = "acmf"; }},
      {"actor", [](store::AuditRecord& r) { r.actor = "client:abd"; }},
      {"action", [](store::AuditRecord& r) { r.action = "tenant.delete"; }},
      {"resource", [](store::AuditRecord& r) { r.resource = "/v1/tenants/acmE"; }},
      {"outcome", [](store::AuditRecord& r) { r.outcome = "denied"; }},
      {"request_id", [](store::AuditRecord& r) { r.request_id = "req-2"; }},
      {"details", [](store::AuditRecord& r) { r.details = R"({"tier":"basiC"})"; }},
  };
  for (const auto& [name, edit] : edits) {
    store::AuditRecord r = fixed_record();
    edit(r);
    EXPECT_NE(link_hash(r, kEmptySha), base) << name << " is not covered by the hash";
  }
  std::string other_prev = kEmptySha;
  other_prev.back() = '4';
  EXPECT_NE(link_hash(fixed_record(), other_prev), base) << "prev_hash is not covered by the hash";
}

TEST(AuditChain, FieldBoundariesAreUnambiguous) {
  // Bytes moved from one field to the next: a plain concatenation would hash these alike.
  store::AuditRecord a = fixed_record(), b = fixed_record();
  a.tenant_id = "ab";
  a.actor = "c";
  b.tenant_id = "a";
  b.actor = "bc";
  EXPECT_NE(link_hash(a, ""), link_hash(b, ""));

  // Digits moved between seq and time.
  store::AuditRecord c = fixed_record(), d = fixed_record();
  c.seq = 1;
  c.time = "2x";
  d.seq = 12;
  d.time = "x";
  EXPECT_NE(link_hash(c, ""), link_hash(d, ""));

  // A field that itself looks like the encoding's delimiters: "x,1:y" + "" must not equal
  // "x" + "y" with the separator the encoding would write between them.
  store::AuditRecord e = fixed_record(), f = fixed_record();
  e.outcome = "x,5:req-1";
  e.request_id = "";
  f.outcome = "x";
  f.request_id = "req-1";
  EXPECT_NE(link_encoding(e, ""), link_encoding(f, ""));
  EXPECT_NE(link_hash(e, ""), link_hash(f, ""));

  // The same byte in prev_hash or in a field: ("ab", tenant "") against ("a", tenant "b").
  store::AuditRecord g = fixed_record(), h = fixed_record();
  g.tenant_id = "";
  h.tenant_id = "b";
  g.seq = h.seq = 0;
  EXPECT_NE(link_hash(g, "ab"), link_hash(h, "a"));
}

TEST(AuditChain, LinkSetsPrevHashAndAHexHash) {
  store::AuditRecord r = fixed_record();
  link(r, kEmptySha);
  EXPECT_EQ(r.prev_hash, kEmptySha);
  EXPECT_EQ(r.hash, link_hash(fixed_record(), kEmptySha));
  EXPECT_TRUE(std::regex_match(r.hash, std::regex("[0-9a-f]{64}"))) << r.hash;

  // Linking a record to its own prev_hash (the argument aliases the field) still hashes it.
  store::AuditRecord s = fixed_record();
  s.prev_hash = kEmptySha;
  link(s, s.prev_hash);
  EXPECT_EQ(s.hash, r.hash);
  EXPECT_EQ(s.prev_hash, kEmptySha);
}

TEST(AuditChain, SameInputSameHashAcrossThreads) {
  // The per-thread digest context must not leak state from one hash into the next.
  const std::string expected = link_hash(fixed_record(), kEmptySha);
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        store::AuditRecord r = fixed_record();
        r.seq = i;
        (void)link_hash(r, "x");
      }
      got[t] = link_hash(fixed_record(), kEmptySha);
    });
  for (auto& th : threads) th.join();
  for (const auto& g : got) EXPECT_EQ(g, expected);
}

}  // namespace
}  // namespace pc::audit

#include "audit/verify.h"

#include "audit/chain.h"

namespace pc::audit {
namespace {

constexpr std::size_t kPage = 2000;

VerifyResult broken(std::int64_t checked, std::int64_t seq, std::string reason) {
  return VerifyResult{false, checked, seq, std::move(reason)};
}

}  // namespace

VerifyResult verify(store::Store& store) {
  std::int64_t expected_seq = 1;
  std::string prev_hash;
  // What the first entry follows, for the message when its prev_hash is wrong.
  std::string origin = "the start of the log (empty)";
  if (auto anchor = store.audit_anchor()) {
    expected_seq = anchor->seq + 1;
    prev_hash = anchor->hash;
    origin = "the retention anchor (seq " + std::to_string(anchor->seq) + ")";
  }

  std::int64_t checked = 0;
  store::AuditQuery q;
  q.after_seq = expected_seq - 1;
  q.limit = kPage;
  for (;;) {
    std::vector<store::AuditRecord> page = store.query_audit(q);
    // Until an empty page rather than a short one: a backend may cap the page size below kPage.
    if (page.empty()) break;
    for (const store::AuditRecord& r : page) {
      if (r.seq != expected_seq) {
        // query_audit answers in seq order from after_seq, so a larger seq means the rows in
        // between are gone.
        return broken(checked, expected_seq,
                      "entry missing (seq " + std::to_string(expected_seq) + " expected, next present is seq " +
                          std::to_string(r.seq) + ")");
      }
      if (r.prev_hash != prev_hash) {
        return broken(checked, r.seq,
                      "prev_hash does not match the hash of " +
                          (checked == 0 ? origin : "seq " + std::to_string(r.seq - 1)));
      }
      if (link_hash(r, r.prev_hash) != r.hash)
        return broken(checked, r.seq, "hash does not match the entry's content");
      prev_hash = r.hash;
      ++expected_seq;
      ++checked;
    }
    q.after_seq = page.back().seq;
  }
  return VerifyResult{true, checked, 0, ""};
}

}  // namespace pc::audit

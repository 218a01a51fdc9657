// SqlStore: the audit log. Rows are only ever inserted and, by retention, deleted from the old
// end; nothing updates them. The last purged link is kept in `meta` as the anchor
// ("seq:hash") so that the chain stays verifiable, and so that a log emptied by a purge
// continues from it instead of restarting at seq 1.
#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kAnchorKey = "audit_anchor";

constexpr std::string_view kSelectAudit =
    "SELECT seq, time, tenant_id, actor, action, resource, outcome, request_id, details, prev_hash, hash "
    "FROM audit_log";

std::vector<AuditRecord> read_audit(Statement& q) {
  std::vector<AuditRecord> out;
  while (q.step()) {
    AuditRecord r;
    r.seq = q.column_int64(0);
    r.time = q.column_text(1);
    r.tenant_id = q.column_text(2);
    r.actor = q.column_text(3);
    r.action = q.column_text(4);
    r.resource = q.column_text(5);
    r.outcome = q.column_text(6);
    r.request_id = q.column_text(7);
    r.details = q.column_text(8);
    r.prev_hash = q.column_text(9);
    r.hash = q.column_text(10);
    out.push_back(std::move(r));
  }
  return out;
}

// "seq:hash" as written by purge_audit_before. A damaged anchor must stop writers rather than
// let them restart the chain at seq 1, which would look like a valid log with history removed.
AuditAnchor parse_anchor(const std::string& text) {
  auto colon = text.find(':');
  AuditAnchor a;
  if (colon != std::string::npos) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + colon, a.seq);
    if (ec == std::errc() && end == text.data() + colon && a.seq > 0) {
      a.hash = text.substr(colon + 1);
      return a;
    }
  }
  throw StoreError("audit anchor in meta is malformed: \"" + text + "\" (expected \"seq:hash\")");
}

std::optional<AuditAnchor> read_anchor(Db& db) {
  Statement q = db.prepare("SELECT value FROM meta WHERE key = ?1");
  q.bind_text(1, kAnchorKey);
  if (!q.step()) return std::nullopt;
  return parse_anchor(q.column_text(0));
}

// The link the next appended record follows: the newest row, else the anchor left by a purge
// that emptied the table, else the start of the chain.
AuditAnchor last_link(Db& db) {
  Statement q = db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  if (q.step()) return AuditAnchor{q.column_int64(0), q.column_text(1)};
  if (auto anchor = read_anchor(db)) return *anchor;
  return AuditAnchor{};
}

// LIKE treats % and _ as wildcards; the escape character must be escaped too.
std::string like_prefix(std::string_view prefix) {
  std::string out;
  out.reserve(prefix.size() + 1);
  for (char ch : prefix) {
    if (ch == '%' || ch == '_' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('%');
  return out;
}

constexpr std::size_t kRowsPerInsert = 256;

// The rows of the next INSERT when `left` rows remain: a full chunk, else on SQLite the largest
// power of two (cached statements), on PostgreSQL all of them (one round trip more per chunk
// would cost more than the statement's parse there).
std::size_t audit_chunk(std::size_t left, Db::Dialect dialect) {
  if (left >= kRowsPerInsert) return kRowsPerInsert;
  if (dialect == Db::Dialect::postgres) return left;
  std::size_t n = 1;
  while (n * 2 <= left) n *= 2;
  return n;
}

std::string insert_rows_sql(std::size_t rows) {
  std::string sql =
      "INSERT INTO audit_log(seq, time, tenant_id, actor, action, resource, outcome, request_id, details, "
      "prev_hash, hash) VALUES ";
  for (std::size_t i = 0; i < rows; ++i) {
    sql += i ? ", (" : "(";
    // Bare `?`s, numbered in order: SQLite's parsing of ?NNN is quadratic in the count.
    sql += "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";
    sql += ")";
  }
  return sql;
}

// The INSERT of `n` rows: built once per power of two up to kRowsPerInsert, else now.
std::string audit_insert_sql(std::size_t n) {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> t;
    for (std::size_t rows = 1; rows <= kRowsPerInsert; rows *= 2) t.push_back(insert_rows_sql(rows));
    return t;
  }();
  if ((n & (n - 1)) != 0) return insert_rows_sql(n);
  std::size_t i = 0;
  while ((std::size_t{1} << i) < n) ++i;
  return texts.at(i);
}

// Links `batch` after the last record and inserts it, inside the caller's transaction.
void append_in(Db& db, std::vector<AuditRecord>& linked, const Store::AuditLinker& link);

// The connection audited() lends to the store calls its change makes on its thread.
struct Ambient {
  const SqlStore* owner = nullptr;
  Db* db = nullptr;
};
thread_local Ambient ambient;

}  // namespace

SqlStore::Lease SqlStore::conn() {
  if (ambient.owner == this) return Lease(*ambient.db);
  return Lease(*source_);
}

void SqlStore::audited(AuditRecord& event, const AuditLinker& link, const std::function<void()>& change) {
  if (ambient.owner == this) throw StoreError("audited() called inside an audited change");
  std::vector<AuditRecord> one{std::move(event)};
  auto c = conn();
  try {
    Transaction tx(*c);
    {
      struct Lend {  // lent for the change only, whatever it throws
        explicit Lend(const SqlStore* s, Db* db) { ambient = Ambient{s, db}; }
        ~Lend() { ambient = Ambient{}; }
      } lend(this, &*c);
      change();
    }
    // After the change: the audit table's lock is taken last and held only to commit, so
    // appends from the writer thread wait for the commit, never for the change itself.
    append_in(*c, one, link);
    tx.commit();
  } catch (const StoreError& e) {
    event = std::move(one.front());
    event.seq = 0;
    event.prev_hash.clear();
    event.hash.clear();
    throw e.prefixed("audited change (" + event.action + "): ");
  } catch (...) {
    event = std::move(one.front());
    event.seq = 0;
    event.prev_hash.clear();
    event.hash.clear();
    throw;
  }
  event = std::move(one.front());
}

void SqlStore::append_audit(std::vector<AuditRecord>& batch, const AuditLinker& link) {
  if (batch.empty()) return;
  // Linked in place (copying every event's strings per batch showed up in profiles); if the
  // transaction fails, the links are cleared again so that the caller can retry the batch
  // rather than carry seqs and hashes that were never stored.
  std::vector<AuditRecord>& linked = batch;
  auto unlink = [&] {
    for (AuditRecord& r : linked) {
      r.seq = 0;
      r.prev_hash.clear();
      r.hash.clear();
    }
  };
  auto c = conn();
  try {
    // Immediate: the write lock is taken before the last link is read, so two writers (two
    // gateways on one SQLite file) cannot both read seq N and both insert N+1.
    Transaction tx(*c);
    append_in(*c, linked, link);
    tx.commit();
  } catch (const StoreError& e) {
    unlink();
    throw e.prefixed("append " + std::to_string(batch.size()) + " audit records: ");
  } catch (...) {
    unlink();
    throw;
  }
}

namespace {

void append_in(Db& db, std::vector<AuditRecord>& linked, const Store::AuditLinker& link) {
  Db* c = &db;
  {
    // PostgreSQL needs an explicit table lock for this read-then-insert (SQLite's BEGIN
    // IMMEDIATE already serialises writers).
    c->lock_for_write("audit_log");
    AuditAnchor prev = last_link(*c);
    for (AuditRecord& r : linked) {
      r.seq = prev.seq + 1;
      link(r, prev.hash);
      prev = AuditAnchor{r.seq, r.hash};
    }
    // Many rows per INSERT: one round trip per chunk instead of per row matters on PostgreSQL
    // (a network hop each), and saves statement steps on SQLite. 11 parameters a row, so a full
    // chunk stays far below both backends' parameter limits. Chunks hold 256 rows, the rest goes
    // in power-of-two chunks (a batch of 300: 256, 32, 8, 4): only nine distinct statements, so
    // the connection's statement cache (SqliteDb) keeps them all compiled instead of compiling a
    // new one for every batch size.
    for (std::size_t at = 0; at < linked.size();) {
      const std::size_t n = audit_chunk(linked.size() - at, c->dialect());
      // The rows' strings stay in `linked` until after the statement is gone: bound, not copied.
      Statement stmt = c->prepare(audit_insert_sql(n));
      Statement* ins = &stmt;
      for (std::size_t i = 0; i < n; ++i) {
        const AuditRecord& r = linked[at + i];
        const int b = static_cast<int>(i * 11);
        ins->bind_int64(b + 1, r.seq)
            .bind_text_kept(b + 2, r.time)
            .bind_text_kept(b + 3, r.tenant_id)
            .bind_text_kept(b + 4, r.actor)
            .bind_text_kept(b + 5, r.action)
            .bind_text_kept(b + 6, r.resource)
            .bind_text_kept(b + 7, r.outcome)
            .bind_text_kept(b + 8, r.request_id)
            .bind_text_kept(b + 9, r.details)
            .bind_text_kept(b + 10, r.prev_hash)
            .bind_text_kept(b + 11, r.hash);
      }
      ins->run();
      at += n;
    }
  }
}

}  // namespace

std::vector<AuditRecord> SqlStore::query_audit(const AuditQuery& q) {
  std::string sql(kSelectAudit);
  sql += " WHERE seq > ?1";
  int n = 1;
  auto cond = [&](std::string_view text) {
    sql += " AND ";
    sql += text;
  };
  auto param = [&]() { return "?" + std::to_string(++n); };
  if (!q.tenant_id.empty()) cond("tenant_id = " + param());
  if (!q.action_prefix.empty()) {
    // LIKE narrows; the substr comparison keeps the match case-sensitive, which SQLite's LIKE is
    // not (PostgreSQL's is), so both backends answer the same.
    std::string like = param();
    std::string exact = param();
    cond("action LIKE " + like + " ESCAPE '\\' AND substr(action, 1, length(" + exact + ")) = " + exact);
  }
  if (!q.actor.empty()) cond("actor = " + param());
  if (!q.since.empty()) cond("time >= " + param());
  if (!q.until.empty()) cond("time < " + param());
  sql += " ORDER BY seq LIMIT " + param();

  auto c = conn();
  Statement st = c->prepare(sql);
  int i = 1;
  st.bind_int64(i, q.after_seq);
  if (!q.tenant_id.empty()) st.bind_text(++i, q.tenant_id);
  if (!q.action_prefix.empty()) {
    st.bind_text(++i, like_prefix(q.action_prefix));
    st.bind_text(++i, q.action_prefix);
  }
  if (!q.actor.empty()) st.bind_text(++i, q.actor);
  if (!q.since.empty()) st.bind_text(++i, q.since);
  if (!q.until.empty()) st.bind_text(++i, q.until);
  st.bind_int64(++i, static_cast<std::int64_t>(q.limit));
  return read_audit(st);
}

std::int64_t SqlStore::purge_audit_before(std::string_view before) {
  auto c = conn();
  try {
    Transaction tx(*c);
    // No append may interleave between choosing the anchor and deleting up to it.
    c->lock_for_write("audit_log");
    Statement newest = c->prepare("SELECT seq, hash FROM audit_log WHERE time < ?1 ORDER BY seq DESC LIMIT 1");
    newest.bind_text(1, before);
    if (!newest.step()) return 0;
    AuditAnchor anchor{newest.column_int64(0), newest.column_text(1)};
    newest.reset();  // finished before the table it reads is written
    c->prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind_text(1, kAnchorKey)
        .bind_text(2, std::to_string(anchor.seq) + ":" + anchor.hash)
        .run();
    // By seq rather than by time: rows are appended in time order, and deleting a contiguous
    // prefix is what keeps the remaining chain verifiable from the anchor even if two writers'
    // clocks disagree slightly.
    c->prepare("DELETE FROM audit_log WHERE seq <= ?1").bind_int64(1, anchor.seq).run();
    std::int64_t removed = c->changes();
    tx.commit();
    return removed;
  } catch (const StoreError& e) {
    throw e.prefixed("purge audit records before " + std::string(before) + ": ");
  }
}

std::optional<AuditAnchor> SqlStore::audit_anchor() {
  auto c = conn();
  return read_anchor(*c);
}

}  // namespace pc::store

#include "store/pg_db.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>

namespace pc::store {
namespace {

// Type OIDs (pg_type.h is a server header): the ones we send or decode.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

StoreError::Kind kind_of(std::string_view sqlstate, bool connection_lost) {
  if (connection_lost) return StoreError::Kind::busy;
  if (sqlstate == "23505") return StoreError::Kind::duplicate;  // unique_violation
  if (sqlstate == "53100" || sqlstate == "53200") return StoreError::Kind::full;  // disk_full, out_of_memory
  if (sqlstate.starts_with("22")) return StoreError::Kind::invalid;  // data exception (bad encoding, ...)
  if (sqlstate == "40001" ||  // serialization_failure
      sqlstate == "40P01" ||  // deadlock_detected
      sqlstate == "55P03" ||  // lock_not_available (lock_timeout)
      sqlstate == "57014" ||  // query_canceled (statement_timeout, cancel)
      sqlstate == "53300" ||  // too_many_connections
      sqlstate.starts_with("08") ||  // connection exceptions
      sqlstate.starts_with("57P"))   // server shutting down or restarting
    return StoreError::Kind::busy;
  return StoreError::Kind::other;
}

std::string head(std::string_view sql) {
  return sql.size() > 100 ? std::string(sql.substr(0, 100)) + "..." : std::string(sql);
}

std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea in the server's default text form ("\x" then two hex digits per byte).
std::string decode_bytea(std::string_view text) {
  if (!text.starts_with("\\x")) throw StoreError("postgres: bytea value is not in hex format");
  std::string out;
  out.reserve((text.size() - 2) / 2);
  for (std::size_t i = 2; i + 1 < text.size(); i += 2) {
    int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) throw StoreError("postgres: bytea value has a bad hex digit");
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

// Receives NOTICEs and WARNINGs (dropped: libpq's default would print them to stderr) and the
// FATAL a server sends an idle connection just before closing it (shutdown, termination, idle
// timeout), which marks the connection as going away.
void on_notice(void* closing, const PGresult* notice) {
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity && (std::string_view(severity) == "FATAL" || std::string_view(severity) == "PANIC"))
    *static_cast<bool*>(closing) = true;
}

}  // namespace

// ---- placeholders and URLs ---------------------------------------------------------------

PgSql pg_placeholders(std::string_view sql) {
  PgSql out;
  out.text.reserve(sql.size() + 8);
  std::size_t i = 0;
  bool bare = false, numbered = false;
  auto copy_through = [&](std::size_t end) {  // copies sql[i, end) and moves i there
    end = std::min(end, sql.size());
    out.text.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    if (c == '\'' || c == '"') {
      // A doubled quote inside closes and reopens, which copies it through all the same.
      std::size_t close = sql.find(c, i + 1);
      copy_through(close == std::string_view::npos ? sql.size() : close + 1);
    } else if (c == '-' && next == '-') {
      std::size_t eol = sql.find('\n', i);
      copy_through(eol == std::string_view::npos ? sql.size() : eol + 1);
    } else if (c == '/' && next == '*') {
      std::size_t close = sql.find("*/", i + 2);
      copy_through(close == std::string_view::npos ? sql.size() : close + 2);
    } else if (c == '?') {
      std::size_t j = i + 1;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') ++j;
      int n = 0;
      if (j == i + 1) {
        // A bare `?` takes the next number, as in SQLite (used by long multi-row INSERTs, where
        // SQLite's parsing of ?NNN grows quadratically). Mixing both forms is refused.
        if (numbered) throw StoreError("postgres: ? and ?N placeholders mixed in \"" + head(sql) + "\"");
        bare = true;
        n = static_cast<int>(out.used.size()) + 1;
        if (n > 65535) throw StoreError("postgres: more than 65535 placeholders in \"" + head(sql) + "\"");
      } else {
        if (bare) throw StoreError("postgres: ? and ?N placeholders mixed in \"" + head(sql) + "\"");
        numbered = true;
        auto [end, ec] = std::from_chars(sql.data() + i + 1, sql.data() + j, n);
        if (ec != std::errc() || n < 1 || n > 65535)
          throw StoreError("postgres: placeholders must be ?1 ... ?65535 in \"" + head(sql) + "\"");
      }
      if (out.used.size() < static_cast<std::size_t>(n)) out.used.resize(static_cast<std::size_t>(n), false);
      out.used[static_cast<std::size_t>(n) - 1] = true;
      out.text.push_back('$');
      out.text.append(std::to_string(n));
      i = j;
    } else {
      out.text.push_back(c);
      ++i;
    }
  }
  return out;
}

std::string redact_pg_url(std::string_view url) {
  std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "postgres connection string";  // key=value form
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find('?'));
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view path = rest.substr(authority.size());
  std::size_t at = authority.rfind('@');
  std::string out(url.substr(0, scheme + 3));
  if (at != std::string_view::npos) {
    std::string_view user = authority.substr(0, at);
    out.append(user.substr(0, user.find(':'))).append("@");
    authority = authority.substr(at + 1);
  }
  out.append(authority).append(path);
  return out;
}

// ---- PgStatement -------------------------------------------------------------------------

class PgStatement final : public StatementImpl {
 public:
  PgStatement(PgDb& db, PgSql sql, std::string_view original)
      : db_(db), sql_(std::move(sql)), what_("statement \"" + head(original) + "\"") {
    values_.resize(sql_.used.size());
    binary_.resize(sql_.used.size(), 0);
    // A number the SQL never mentions still takes a slot; text keeps the server from asking
    // what type it has.
    for (std::size_t i = 0; i < sql_.used.size(); ++i) types_.push_back(sql_.used[i] ? 0 : kTextOid);
    reset_types_ = types_;
  }

  void bind_text(int index, std::string_view value) override {
    // Text parameters travel NUL-terminated (and PostgreSQL text cannot hold NUL anyway): refuse
    // rather than store a silently truncated value.
    if (value.find('\0') != std::string_view::npos)
      throw StoreError("postgres: bind parameter " + std::to_string(index) + " of " + what_ +
                       ": text with a NUL byte (bind it as a blob)");
    bind(index, std::string(value), 0, false);
  }
  void bind_int64(int index, std::int64_t value) override {
    bind(index, std::to_string(value), kInt8Oid, false);  // typed, so `?1 + 1` is not int4
  }
  void bind_blob(int index, std::string_view bytes) override { bind(index, std::string(bytes), kByteaOid, true); }
  void bind_null(int index) override { bind(index, std::nullopt, 0, false); }

  bool step() override {
    if (!result_ || done_) execute();
    if (++row_ < PQntuples(result_.get())) return true;
    done_ = true;
    return false;
  }

  void reset() override {
    result_.reset();
    done_ = false;
    std::fill(values_.begin(), values_.end(), std::nullopt);
    std::fill(binary_.begin(), binary_.end(), 0);
    types_ = reset_types_;
  }

  int column_count() const override { return result_ ? PQnfields(result_.get()) : 0; }
  bool column_is_null(int index) const override { return !has(index) || PQgetisnull(result_.get(), row_, index); }
  std::string column_text(int index) const override {
    if (column_is_null(index)) return {};
    std::string_view v(PQgetvalue(result_.get(), row_, index),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row_, index)));
    return PQftype(result_.get(), index) == kByteaOid ? decode_bytea(v) : std::string(v);
  }
  std::int64_t column_int64(int index) const override {
    if (column_is_null(index)) return 0;
    const char* v = PQgetvalue(result_.get(), row_, index);
    if (PQftype(result_.get(), index) == kBoolOid) return v[0] == 't' ? 1 : 0;
    std::int64_t n = 0;
    std::from_chars(v, v + PQgetlength(result_.get(), row_, index), n);  // like SQLite: not a number reads 0
    return n;
  }
  std::string column_blob(int index) const override { return column_text(index); }

 private:
  void bind(int index, std::optional<std::string> value, Oid type, bool binary) {
    if (index < 1 || static_cast<std::size_t>(index) > values_.size())
      throw StoreError("postgres: bind parameter " + std::to_string(index) + " of " + what_ + ": out of range");
    const auto i = static_cast<std::size_t>(index) - 1;
    values_[i] = std::move(value);
    types_[i] = sql_.used[i] ? type : kTextOid;
    binary_[i] = binary ? 1 : 0;
    result_.reset();  // a new bind takes effect on the next step, as in SQLite after a reset
    done_ = false;
  }

  void execute() {
    const std::size_t n = values_.size();
    std::vector<const char*> ptrs(n);
    std::vector<int> lengths(n);
    for (std::size_t i = 0; i < n; ++i) {
      ptrs[i] = values_[i] ? values_[i]->data() : nullptr;
      lengths[i] = values_[i] ? static_cast<int>(values_[i]->size()) : 0;
    }
    result_.reset(PQexecParams(db_.conn_, sql_.text.c_str(), static_cast<int>(n), types_.data(), ptrs.data(),
                               lengths.data(), binary_.data(), 0));
    row_ = -1;
    done_ = false;
    db_.check(result_.get(), what_);  // a failed result is freed with the statement, like a good one
  }

  bool has(int index) const {
    return result_ && row_ >= 0 && row_ < PQntuples(result_.get()) && index >= 0 && index < PQnfields(result_.get());
  }

  PgDb& db_;
  PgSql sql_;
  std::string what_;
  std::vector<std::optional<std::string>> values_;
  std::vector<Oid> types_, reset_types_;
  std::vector<int> binary_;
  Result result_;
  int row_ = -1;
  bool done_ = false;
};

// ---- PgDb --------------------------------------------------------------------------------

PgDb::PgDb(const std::string& url) : PgDb(url, Options{}) {}

PgDb::PgDb(const std::string& url, Options options) : name_(redact_pg_url(url)) {
  // With expand_dbname the URL's own settings override the ones before it in this list.
  const std::string timeout = std::to_string(options.connect_timeout_s);
  const char* keys[] = {"connect_timeout", "dbname", "fallback_application_name", "client_encoding", nullptr};
  const char* values[] = {timeout.c_str(), url.c_str(), "portcullis", "UTF8", nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = conn_ ? trimmed(PQerrorMessage(conn_)) : "out of memory";
    PQfinish(conn_);
    conn_ = nullptr;
    throw StoreError("postgres: cannot connect to " + name_ + ": " + msg, StoreError::Kind::busy);
  }
  PQsetNoticeReceiver(conn_, on_notice, &server_closing_);
  try {
    exec("SET lock_timeout = " + std::to_string(options.lock_timeout_ms));
  } catch (...) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw;
  }
}

PgDb::~PgDb() { PQfinish(conn_); }

void PgDb::check(pg_result* result, std::string_view what) {
  ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    std::string_view cmd = PQcmdStatus(result);
    if (cmd.starts_with("INSERT") || cmd.starts_with("UPDATE") || cmd.starts_with("DELETE")) {
      std::string_view n = PQcmdTuples(result);
      changes_ = 0;
      std::from_chars(n.data(), n.data() + n.size(), changes_);
    }
    return;
  }
  const bool lost = PQstatus(conn_) != CONNECTION_OK;
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  // The primary message only: DETAIL may quote a failing row, secrets included.
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = primary ? primary : trimmed(PQerrorMessage(conn_));
  if (msg.empty()) msg = lost ? "connection lost" : PQresStatus(status);
  if (state) msg += std::string(" (SQLSTATE ") + state + ")";
  throw StoreError("postgres: " + std::string(what) + ": " + msg, kind_of(state ? state : "", lost));
}

void PgDb::exec(std::string_view sql) {
  std::string text(sql);
  // check() frees a failed result only; a successful one is ours to free (statements keep theirs).
  Result result(PQexec(conn_, text.c_str()));
  check(result.get(), "exec \"" + head(sql) + "\"");
}

Statement PgDb::prepare(std::string_view sql) {
  return Statement(std::make_unique<PgStatement>(*this, pg_placeholders(sql), sql));
}

bool PgDb::in_transaction() const {
  PGTransactionStatusType s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

bool PgDb::usable() {
  // A server ending an idle connection sends a FATAL message, then closes the socket. Reading
  // what is pending (the socket is non-blocking and polled first, so this never waits) and
  // letting libpq parse it hands that message to on_notice, or shows the closed socket.
  for (int reads = 0; reads < 4 && PQstatus(conn_) == CONNECTION_OK && !server_closing_; ++reads) {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;  // nothing pending: alive as far as anyone can tell
    PQconsumeInput(conn_);
    PQisBusy(conn_);  // parses what was read
  }
  return PQstatus(conn_) == CONNECTION_OK && !server_closing_;
}

int PgDb::backend_pid() const { return PQbackendPID(conn_); }

void PgDb::lock_table(std::string_view table) {
  exec("LOCK TABLE " + std::string(table) + " IN EXCLUSIVE MODE");
}

void PgDb::begin(Transaction::Mode) { exec("BEGIN"); }

void PgDb::commit() {
  // After a failed statement the server answers COMMIT with a silent ROLLBACK: say so instead.
  if (PQtransactionStatus(conn_) == PQTRANS_INERROR)
    throw StoreError("postgres: commit: the transaction was aborted by an earlier error");
  try {
    exec("COMMIT");
  } catch (const StoreError& e) {
    // A refusal on a live connection (serialization failure, deferred constraint) rolled back.
    // A connection gone during COMMIT (or going: a FATAL answer is followed by the close) did
    // not say which way it went.
    if (usable()) throw;
    throw StoreError(std::string(e.what()) + " (the connection was lost during COMMIT: it may have committed)",
                     StoreError::OutcomeUnknown{});
  }
}

void PgDb::rollback() { exec("ROLLBACK"); }

}  // namespace pc::store

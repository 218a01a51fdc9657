#include "store/db.h"

#include <utility>

namespace pc::store {

// ---- Statement: forwards to the backend --------------------------------------------------

Statement::Statement(std::unique_ptr<StatementImpl> impl) : impl_(std::move(impl)) {}
Statement::~Statement() = default;
Statement::Statement(Statement&& other) noexcept = default;
Statement& Statement::operator=(Statement&& other) noexcept = default;

Statement& Statement::bind_text(int index, std::string_view value) {
  impl_->bind_text(index, value);
  return *this;
}

Statement& Statement::bind_text_kept(int index, std::string_view value) {
  impl_->bind_text_kept(index, value);
  return *this;
}

Statement& Statement::bind_int64(int index, std::int64_t value) {
  impl_->bind_int64(index, value);
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  impl_->bind_blob(index, bytes);
  return *this;
}

Statement& Statement::bind_null(int index) {
  impl_->bind_null(index);
  return *this;
}

bool Statement::step() { return impl_->step(); }

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() { impl_->reset(); }
int Statement::column_count() const { return impl_->column_count(); }
bool Statement::column_is_null(int index) const { return impl_->column_is_null(index); }
std::string Statement::column_text(int index) const { return impl_->column_text(index); }
std::int64_t Statement::column_int64(int index) const { return impl_->column_int64(index); }
std::string Statement::column_blob(int index) const { return impl_->column_blob(index); }

// ---- Db ----------------------------------------------------------------------------------

void Db::lock_for_write(std::string_view table) {
  // The name is spliced into SQL (LOCK TABLE takes no parameters): only plain identifiers.
  bool plain = !table.empty() && table.size() <= 63 && table.front() >= 'a' && table.front() <= 'z';
  for (char ch : table) plain = plain && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_');
  if (!plain) throw StoreError("lock_for_write: \"" + std::string(table) + "\" is not a plain table name");
  if (!in_transaction())
    throw StoreError("lock_for_write(" + std::string(table) + ") outside a transaction: the lock would end at once");
  lock_table(table);
}

// ---- Transaction -------------------------------------------------------------------------

Transaction::Transaction(Db& db, Mode mode) : db_(db), nested_(db.in_transaction()) {
  if (!nested_) db_.begin(mode);
}

Transaction::~Transaction() {
  // A nested one leaves the outcome to the outer transaction, which an exception unwinding
  // through here reaches as well.
  if (nested_ || done_ || !db_.in_transaction()) return;  // SQLite may already have rolled back on error
  try {
    db_.rollback();
  } catch (...) {
    // Nothing sensible to do in a destructor; the connection rolls back when closed anyway (and
    // a pooled PostgreSQL connection left in a transaction is dropped, not reused).
  }
}

void Transaction::commit() {
  if (!nested_) db_.commit();  // on failure (e.g. busy) the transaction stays open and ~Transaction rolls back
  done_ = true;
}

}  // namespace pc::store

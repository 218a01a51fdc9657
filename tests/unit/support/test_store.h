// The shared store test suite's backends. A test written as TEST_P on a fixture parameterised by
// Backend (BackendTest, or any ::testing::TestWithParam<Backend>) runs once per backend: SQLite
// always; PostgreSQL when PORTCULLIS_TEST_PG_URL names a server (scripts/test.sh always arranges
// one, through scripts/with-postgres.sh), each time on a fresh, empty database.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "store/pg_db.h"
#include "store/sqlite_db.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace pc::testing {

enum class Backend { sqlite, postgres };

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::sqlite ? "sqlite" : "postgres";
}

// The test server's URL (a maintenance database such as postgresql://postgres@127.0.0.1:PORT/postgres),
// or "" when this run has none.
inline std::string pg_test_url() {
  const char* url = std::getenv("PORTCULLIS_TEST_PG_URL");
  return url ? url : "";
}

// Every backend this run can test.
inline std::vector<Backend> test_backends() {
  std::vector<Backend> out{Backend::sqlite};
  if (!pg_test_url().empty()) out.push_back(Backend::postgres);
  return out;
}

// `url` naming database `name` instead of its own.
inline std::string with_database(const std::string& url, const std::string& name) {
  std::size_t authority = url.find("://");
  authority = authority == std::string::npos ? 0 : authority + 3;
  std::size_t query = url.find('?', authority);
  std::size_t path = url.find('/', authority);
  std::size_t end = std::min(path, query);
  return url.substr(0, end) + "/" + name + (query == std::string::npos ? "" : url.substr(query));
}

inline std::string random_hex(int bytes) {
  static const char* digits = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    out += digits[v >> 4];
    out += digits[v & 15];
  }
  return out;
}

// A fresh, empty database of one backend, removed when this goes: a file in a private temp dir,
// or a PostgreSQL database pc_test_<random hex> made through a maintenance connection to the
// test server and dropped WITH (FORCE) (connections still open to it are cut).
class TestDatabase {
 public:
  explicit TestDatabase(Backend backend) : backend_(backend) {
    if (backend == Backend::sqlite) {
      location_ = dir_.file("var/portcullis.db");
      return;
    }
    name_ = "pc_test_" + random_hex(8);
    store::PgDb(pg_test_url()).exec("CREATE DATABASE " + name_);
    location_ = with_database(pg_test_url(), name_);
  }
  ~TestDatabase() {
    if (name_.empty()) return;
    try {
      store::PgDb(pg_test_url()).exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot drop test database " << name_ << ": " << e.what();
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  Backend backend() const { return backend_; }
  // The SQLite file, or the PostgreSQL URL.
  const std::string& location() const { return location_; }
  // The PostgreSQL database's name ("" for SQLite).
  const std::string& name() const { return name_; }

  // A raw connection (no migration).
  std::unique_ptr<store::Db> connect() const {
    if (backend_ == Backend::sqlite) {
      std::filesystem::create_directories(std::filesystem::path(location_).parent_path());
      return std::make_unique<store::SqliteDb>(location_);
    }
    return std::make_unique<store::PgDb>(location_);
  }
  // A Store on this database, as a gateway opens it (migrating it first).
  std::unique_ptr<store::Store> open_store(std::size_t pool_size = 8) const {
    if (backend_ == Backend::sqlite) return store::Store::open_sqlite(location_);
    return store::Store::open_postgres(location_, pool_size);
  }

 private:
  Backend backend_;
  TempDir dir_{"pc-backend"};
  std::string name_;
  std::string location_;
};

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { store_ = db_.open_store(); }
  void TearDown() override { store_.reset(); }

  store::Store& store() { return *store_; }
  // A fresh store of the parameter's backend, on a new, empty database.
  std::unique_ptr<store::Store> open_store() {
    fresh_.push_back(std::make_unique<TestDatabase>(GetParam()));
    return fresh_.back()->open_store();
  }
  // Another Store on store()'s database, as a second gateway sharing it would open it.
  std::unique_ptr<store::Store> open_again() { return db_.open_store(); }
  // A raw connection to store()'s database, to stage what the Store API cannot.
  std::unique_ptr<store::Db> connect() { return db_.connect(); }
  const TestDatabase& database() const { return db_; }

 private:
  TestDatabase db_{GetParam()};
  std::vector<std::unique_ptr<TestDatabase>> fresh_;
  std::unique_ptr<store::Store> store_;  // last: closed before the databases go
};

}  // namespace pc::testing

// Runs every TEST_P of `fixture` (a BackendTest, or any TestWithParam<Backend>) on every backend.
#define PC_ALL_BACKENDS(fixture) \
  INSTANTIATE_TEST_SUITE_P(Backends, fixture, ::testing::ValuesIn(pc::testing::test_backends()), pc::testing::backend_name)

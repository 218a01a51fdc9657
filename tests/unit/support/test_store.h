// The shared store test suite's backends. A test written as TEST_P on BackendTest runs once per
// backend (SQLite always; PostgreSQL when PORTCULLIS_TEST_PG_URL names a server, which
// scripts/test.sh always arranges), each time on a fresh, empty, migrated store.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "store/store.h"
#include "support/temp_dir.h"

namespace pc::testing {

enum class Backend { sqlite, postgres };

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::sqlite ? "sqlite" : "postgres";
}

// Every backend this run can test.
inline std::vector<Backend> test_backends() { return {Backend::sqlite}; }

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { store_ = open_store(); }

  // A fresh store of the parameter's backend (a new SQLite file, or a new PostgreSQL database).
  std::unique_ptr<store::Store> open_store() {
    return store::Store::open_sqlite(dir_.file("var/portcullis-" + std::to_string(opened_++) + ".db"));
  }

  store::Store& store() { return *store_; }

 private:
  TempDir dir_{"pc-backend"};
  int opened_ = 0;
  std::unique_ptr<store::Store> store_;
};

}  // namespace pc::testing

// Runs every TEST_P of `fixture` (a BackendTest) on every backend.
#define PC_ALL_BACKENDS(fixture) \
  INSTANTIATE_TEST_SUITE_P(Backends, fixture, ::testing::ValuesIn(pc::testing::test_backends()), pc::testing::backend_name)

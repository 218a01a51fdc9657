// The audit log's write path: durable appends per second through AuditLog (bench/audit.sh
// compares the SQLite rate with the goal, >= 50,000/s), and the parts it is made of.
//
//   BM_AuditLog_SQLite/producers:N      N threads record() events (a request's audit call), the
//                                        writer group-commits them; each iteration ends with
//                                        flush(), so every counted event is durable. Wall time.
//   BM_StoreAppend_SQLite/batch:N        Store::append_audit alone, N linked events per
//                                        transaction: the store's share, without the queue.
//   BM_LinkHash                          audit::link_hash of a typical entry (encoding + SHA-256).
//   BM_RecordOnly                        AuditLog::record() alone, the caller's cost (the writer
//                                        runs behind it; the queue is drained between batches).
//
//   BM_AuditLog_PostgreSQL/producers:N  the same on PostgreSQL, registered when
//                                        PORTCULLIS_TEST_PG_URL is set (bench/audit.sh starts a
//                                        throwaway server for it).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>  // mkdtemp

#include "audit/audit_log.h"
#include "audit/chain.h"
#include "store/store.h"

namespace {

using namespace pc;

// A private directory for the database files, removed at exit.
class BenchDir {
 public:
  BenchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pc-audit-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~BenchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

BenchDir& bench_dir() {
  static BenchDir d;
  return d;
}

std::unique_ptr<store::Store> fresh_sqlite() {
  static int n = 0;
  return store::Store::open_sqlite(bench_dir().file("audit-" + std::to_string(n++) + ".db"));
}

// What the gateway records for an API call: about 200 bytes of fields.
audit::Event request_event(int producer, int i) {
  audit::Event e;
  e.tenant_id = "tenant-" + std::to_string(producer % 4);
  e.actor = "client:7f3a9c2e51d04b88";
  e.action = "http.POST /v1/agents/echo/invoke";
  e.resource = "/v1/agents/echo/invoke";
  e.outcome = "200";
  e.request_id = "4bf92f3577b34da6a3ce929d0e0e" + std::to_string(1000 + i % 9000);
  e.details = R"({"latencyMs":12,"agentVersion":"1.0.0"})";
  return e;
}

constexpr int kEventsPerIteration = 20000;

// N producer threads record kEventsPerIteration events per iteration into `store`'s log; the
// iteration ends when every one is durable.
void run_audit_log(benchmark::State& state, store::Store& store_ref) {
  const int producers = static_cast<int>(state.range(0));
  auto* store = &store_ref;
  audit::AuditLog log(*store);
  std::atomic<std::int64_t> ok{0}, failed{0}, refused{0};
  std::int64_t recorded = 0;
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
      threads.emplace_back([&, p] {
        for (int i = p; i < kEventsPerIteration; i += producers)
          if (!log.record(request_event(p, i), [&](bool d) { (d ? ok : failed)++; })) refused++;
      });
    for (auto& t : threads) t.join();
    log.flush();  // the iteration counts only once every event is durable
    recorded += kEventsPerIteration;
  }
  if (failed || refused || ok != recorded)
    state.SkipWithError(("not all durable: ok " + std::to_string(ok) + " failed " + std::to_string(failed) +
                         " refused " + std::to_string(refused))
                            .c_str());
  state.SetItemsProcessed(recorded);
}

void BM_AuditLog_SQLite(benchmark::State& state) {
  auto store = fresh_sqlite();
  run_audit_log(state, *store);
}
BENCHMARK(BM_AuditLog_SQLite)
    ->ArgName("producers")
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_StoreAppend_SQLite(benchmark::State& state) {
  const int batch_size = static_cast<int>(state.range(0));
  auto store = fresh_sqlite();
  std::vector<store::AuditRecord> batch;
  std::int64_t appended = 0;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (int i = 0; i < batch_size; ++i) {
      audit::Event e = request_event(0, i);
      store::AuditRecord r;
      r.time = "2026-11-23T13:05:00.123Z";
      r.tenant_id = e.tenant_id;
      r.actor = e.actor;
      r.action = e.action;
      r.resource = e.resource;
      r.outcome = e.outcome;
      r.request_id = e.request_id;
      r.details = e.details;
      batch.push_back(std::move(r));
    }
    state.ResumeTiming();
    store->append_audit(batch, audit::link);
    appended += batch_size;
  }
  state.SetItemsProcessed(appended);
}
BENCHMARK(BM_StoreAppend_SQLite)->ArgName("batch")->Arg(1)->Arg(64)->Arg(4096)->UseRealTime();

void BM_LinkHash(benchmark::State& state) {
  store::AuditRecord r;
  r.seq = 123456;
  r.time = "2026-11-23T13:05:00.123Z";
  audit::Event e = request_event(1, 1);
  r.tenant_id = e.tenant_id;
  r.actor = e.actor;
  r.action = e.action;
  r.resource = e.resource;
  r.outcome = e.outcome;
  r.request_id = e.request_id;
  r.details = e.details;
  const std::string prev(64, 'a');
  for (auto _ : state) benchmark::DoNotOptimize(audit::link_hash(r, prev));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LinkHash);

void BM_RecordOnly(benchmark::State& state) {
  auto store = fresh_sqlite();
  audit::AuditLog log(*store);
  int i = 0;
  for (auto _ : state) {
    if (!log.record(request_event(0, i))) state.SkipWithError("queue full");
    if (++i % 4096 == 0) {
      state.PauseTiming();
      log.flush();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
  log.flush();  // after the timed loop: not counted
}
BENCHMARK(BM_RecordOnly);

// The same on PostgreSQL (the server of PORTCULLIS_TEST_PG_URL, e.g. scripts/with-postgres.sh's
// throwaway one): each run appends to that database's audit_log.
void BM_AuditLog_PostgreSQL(benchmark::State& state) {
  auto store = store::Store::open_postgres(std::getenv("PORTCULLIS_TEST_PG_URL"), 8);
  run_audit_log(state, *store);
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* url = std::getenv("PORTCULLIS_TEST_PG_URL"); url != nullptr && *url != '\0')
    benchmark::RegisterBenchmark("BM_AuditLog_PostgreSQL", BM_AuditLog_PostgreSQL)
        ->ArgName("producers")
        ->Arg(1)
        ->Arg(8)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

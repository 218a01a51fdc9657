// Redaction throughput on one thread (bench/redaction.sh): Redactor::redact over 1 MiB of clean
// prose and over 1 MiB dense with PII (a value of a random kind every ~60 bytes), with the
// default detectors and with every built-in detector. Goal: >= 1 GB/s clean, >= 200 MB/s dense.
#include <benchmark/benchmark.h>

#include <string>

#include "mcp/pii_gen.h"
#include "mcp/redactor.h"

namespace {

using pc::mcp::Redactor;
using pc::mcp::testing::PiiGen;

constexpr std::size_t kSize = 1 << 20;

const std::string& clean_text() {
  static const std::string text = [] {
    PiiGen g(1);
    std::string s;
    while (s.size() < kSize) s += g.clean_words(50) + "\n";
    s.resize(kSize);
    return s;
  }();
  return text;
}

// Tool output shaped like a customer listing: every few words a value of one of the default kinds.
const std::string& dense_text() {
  static const std::string text = [] {
    PiiGen g(2);
    static const char* kinds[] = {"email", "phone", "credit_card", "iban", "us_ssn", "uk_nino", "aws_key", "jwt"};
    std::string s;
    while (s.size() < kSize) {
      s += g.clean_words(g.uniform(3, 8)) + " ";
      s += g.of_kind(kinds[g.uniform(0, 7)]) + " ";
    }
    s.resize(kSize);
    return s;
  }();
  return text;
}

pc::core::RedactionConfig all_kinds() {
  pc::core::RedactionConfig c;
  c.builtin = Redactor::builtin_kinds();
  return c;
}

void run(benchmark::State& state, const Redactor& r, const std::string& text) {
  Redactor::Counts counts;
  std::size_t changed = 0;
  for (auto _ : state) {
    auto out = r.redact(text, counts);
    changed += out ? 1 : 0;
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.size()));
  std::uint64_t spans = 0;
  for (auto c : counts) spans += c;
  state.counters["spans_per_MiB"] = state.iterations() ? double(spans) / double(state.iterations()) : 0;
}

void BM_Redact_Clean_Default(benchmark::State& state) {
  static const Redactor r(pc::core::RedactionConfig{});
  run(state, r, clean_text());
}
void BM_Redact_Dense_Default(benchmark::State& state) {
  static const Redactor r(pc::core::RedactionConfig{});
  run(state, r, dense_text());
}
void BM_Redact_Clean_AllKinds(benchmark::State& state) {
  static const Redactor r(all_kinds());
  run(state, r, clean_text());
}
void BM_Redact_Dense_AllKinds(benchmark::State& state) {
  static const Redactor r(all_kinds());
  run(state, r, dense_text());
}

BENCHMARK(BM_Redact_Clean_Default)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Redact_Dense_Default)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Redact_Clean_AllKinds)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Redact_Dense_AllKinds)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

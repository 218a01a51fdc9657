// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
// text exposition format 0.0.4. Updates are lock-free atomics; looking up a labelled child takes a
// shared lock, so hot paths look a child up once and keep the reference (children live as long
// as the registry and never move).
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pc::core {

class Counter {
 public:
  void inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // sorted, without +Inf
  void observe(double v);
  // Snapshot for rendering and tests: cumulative counts per bound (+Inf last), sum and count.
  std::vector<std::uint64_t> cumulative_counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (non-cumulative)
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Latency buckets in seconds, 0.5 ms to 10 s.
const std::vector<double>& default_latency_buckets();

class CounterFamily;
class GaugeFamily;
class HistogramFamily;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering the same name twice returns the same family (label names must match, else
  // std::invalid_argument). Names must match [a-zA-Z_:][a-zA-Z0-9_:]*.
  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  HistogramFamily& histogram(std::string name, std::string help, std::vector<std::string> label_names = {},
                             std::vector<double> buckets = default_latency_buckets());

  // Text exposition format: # HELP, # TYPE, then one line per child; label values escaped
  // (\\, \", \n); families in registration order, children in creation order.
  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class CounterFamily {
 public:
  virtual ~CounterFamily() = default;
  // Values in label-name order; a wrong count throws std::invalid_argument.
  virtual Counter& labels(std::initializer_list<std::string_view> values) = 0;
  Counter& get() { return labels({}); }
};
class GaugeFamily {
 public:
  virtual ~GaugeFamily() = default;
  virtual Gauge& labels(std::initializer_list<std::string_view> values) = 0;
  Gauge& get() { return labels({}); }
};
class HistogramFamily {
 public:
  virtual ~HistogramFamily() = default;
  virtual Histogram& labels(std::initializer_list<std::string_view> values) = 0;
  Histogram& get() { return labels({}); }
};

// The process-wide registry that /metrics renders.
Registry& metrics();

}  // namespace pc::core

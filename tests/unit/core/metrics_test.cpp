#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pc::core {
namespace {

TEST(MetricsRender, UnlabelledCounterRendersZeroBeforeUse) {
  Registry r;
  r.counter("jobs_total", "Jobs done.");
  EXPECT_EQ(r.render(),
            "# HELP jobs_total Jobs done.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total 0\n");
}

TEST(MetricsRender, CounterWithAndWithoutLabels) {
  Registry r;
  auto& plain = r.counter("a_total", "Plain.");
  plain.get().inc();
  plain.get().inc(2);
  auto& req = r.counter("req_total", "Requests.", {"method", "status"});
  req.labels({"GET", "200"}).inc(3);
  req.labels({"POST", "500"}).inc(0.5);
  req.labels({"GET", "200"}).inc();
  EXPECT_EQ(r.render(),
            "# HELP a_total Plain.\n"
            "# TYPE a_total counter\n"
            "a_total 3\n"
            "# HELP req_total Requests.\n"
            "# TYPE req_total counter\n"
            "req_total{method=\"GET\",status=\"200\"} 4\n"
            "req_total{method=\"POST\",status=\"500\"} 0.5\n");
}

TEST(MetricsRender, LabelledFamilyWithoutChildrenRendersHeaderOnly) {
  Registry r;
  r.counter("x_total", "X.", {"k"});
  EXPECT_EQ(r.render(), "# HELP x_total X.\n# TYPE x_total counter\n");
}

TEST(MetricsRender, GaugeWithAndWithoutLabels) {
  Registry r;
  auto& open = r.gauge("open", "Open connections.");
  open.get().inc(5);
  open.get().dec(2);
  auto& info = r.gauge("build_info", "Build.", {"version"});
  info.labels({"1.2.3"}).set(1);
  auto& temp = r.gauge("temp", "Temperature.", {"room"});
  temp.labels({"a"}).set(-1.25);
  temp.labels({"b"}).set(std::numeric_limits<double>::infinity());
  temp.labels({"c"}).set(-std::numeric_limits<double>::infinity());
  temp.labels({"d"}).set(std::numeric_limits<double>::quiet_NaN());
  temp.labels({"e"}).set(0.1 + 0.2);
  temp.labels({"f"}).set(1e6);
  temp.labels({"g"}).set(1e300);
  EXPECT_EQ(r.render(),
            "# HELP open Open connections.\n"
            "# TYPE open gauge\n"
            "open 3\n"
            "# HELP build_info Build.\n"
            "# TYPE build_info gauge\n"
            "build_info{version=\"1.2.3\"} 1\n"
            "# HELP temp Temperature.\n"
            "# TYPE temp gauge\n"
            "temp{room=\"a\"} -1.25\n"
            "temp{room=\"b\"} +Inf\n"
            "temp{room=\"c\"} -Inf\n"
            "temp{room=\"d\"} NaN\n"
            "temp{room=\"e\"} 0.30000000000000004\n"
            "temp{room=\"f\"} 1000000\n"
            "temp{room=\"g\"} 1e+300\n");
}

TEST(MetricsRender, HistogramWithoutLabels) {
  Registry r;
  auto& h = r.histogram("lat_seconds", "Latency.", {}, {0.0005, 1, 10});
  h.get().observe(0.0001);
  h.get().observe(0.5);
  h.get().observe(1);
  h.get().observe(100);
  EXPECT_EQ(r.render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"0.0005\"} 1\n"
            "lat_seconds_bucket{le=\"1\"} 3\n"
            "lat_seconds_bucket{le=\"10\"} 3\n"
            "lat_seconds_bucket{le=\"+Inf\"} 4\n"
            "lat_seconds_sum 101.5001\n"
            "lat_seconds_count 4\n");
}

TEST(MetricsRender, HistogramWithLabels) {
  Registry r;
  auto& h = r.histogram("d_seconds", "D.", {"route"}, {0.25, 2.5});
  h.labels({"/a"}).observe(0.25);
  h.labels({"/b"}).observe(3);
  EXPECT_EQ(r.render(),
            "# HELP d_seconds D.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{route=\"/a\",le=\"0.25\"} 1\n"
            "d_seconds_bucket{route=\"/a\",le=\"2.5\"} 1\n"
            "d_seconds_bucket{route=\"/a\",le=\"+Inf\"} 1\n"
            "d_seconds_sum{route=\"/a\"} 0.25\n"
            "d_seconds_count{route=\"/a\"} 1\n"
            "d_seconds_bucket{route=\"/b\",le=\"0.25\"} 0\n"
            "d_seconds_bucket{route=\"/b\",le=\"2.5\"} 0\n"
            "d_seconds_bucket{route=\"/b\",le=\"+Inf\"} 1\n"
            "d_seconds_sum{route=\"/b\"} 3\n"
            "d_seconds_count{route=\"/b\"} 1\n");
}

TEST(MetricsRender, DefaultBucketsFormatting) {
  Registry r;
  r.histogram("h", "H.");
  std::string out = r.render();
  for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                         "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"})
    EXPECT_NE(out.find(std::string("h_bucket{le=\"") + le + "\"} 0\n"), std::string::npos) << le;
  EXPECT_EQ(default_latency_buckets().size(), 14u);
}

TEST(MetricsRender, EscapesHelpAndLabelValues) {
  Registry r;
  auto& c = r.counter("esc_total", "Back\\slash \"quoted\"\nsecond line", {"v"});
  c.labels({"a\\b\"c\nd"}).inc();
  EXPECT_EQ(r.render(),
            "# HELP esc_total Back\\\\slash \"quoted\"\\nsecond line\n"
            "# TYPE esc_total counter\n"
            "esc_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsHistogram, BoundaryValuesGoInTheirBucket) {
  Histogram h({1, 2, 3});
  for (double v : {0.0, 1.0, 1.0000001, 2.0, 3.0, 3.5}) h.observe(v);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{2, 4, 5, 6}));
  EXPECT_EQ(h.count(), 6u);
  EXPECT_DOUBLE_EQ(h.sum(), 10.5000001);
}

TEST(MetricsHistogram, NaNLandsInInfBucket) {
  Histogram h({1});
  h.observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{0, 1}));
  EXPECT_TRUE(std::isnan(h.sum()));
}

TEST(MetricsHistogram, NoBoundsIsJustInf) {
  Histogram h({});
  h.observe(-5);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{1}));
}

TEST(MetricsHistogram, RejectsBadBounds) {
  EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, std::numeric_limits<double>::quiet_NaN()}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
  EXPECT_THROW(Histogram({-std::numeric_limits<double>::infinity(), 1}), std::invalid_argument);
  Registry r;
  EXPECT_THROW(r.histogram("h", "H.", {"k"}, {3, 2}), std::invalid_argument);
}

TEST(MetricsRegistry, ReRegistrationReturnsSameFamily) {
  Registry r;
  auto& a = r.counter("c_total", "C.", {"x"});
  auto& b = r.counter("c_total", "Other help is ignored.", {"x"});
  EXPECT_EQ(&a, &b);
  auto& g1 = r.gauge("g", "G.");
  EXPECT_EQ(&g1, &r.gauge("g", "G."));
  EXPECT_EQ(&g1.get(), &r.gauge("g", "G.").get());
  auto& h1 = r.histogram("h", "H.", {"r"});
  EXPECT_EQ(&h1, &r.histogram("h", "H.", {"r"}));
  a.labels({"1"}).inc();
  EXPECT_EQ(r.render(),
            "# HELP c_total C.\n# TYPE c_total counter\nc_total{x=\"1\"} 1\n"
            "# HELP g G.\n# TYPE g gauge\ng 0\n"
            "# HELP h H.\n# TYPE h histogram\n");
}

TEST(MetricsRegistry, ChildrenAreStable) {
  Registry r;
  auto& f = r.counter("s_total", "S.", {"k"});
  Counter& first = f.labels({"0"});
  for (int i = 1; i < 1000; ++i) f.labels({std::to_string(i)}).inc();
  EXPECT_EQ(&first, &f.labels({"0"}));
  // Label sets that would collide under naive joining stay distinct.
  auto& two = r.counter("t_total", "T.", {"a", "b"});
  EXPECT_NE(&two.labels({"a,", "b"}), &two.labels({"a", ",b"}));
  EXPECT_NE(&two.labels({"", "ab"}), &two.labels({"ab", ""}));
}

TEST(MetricsRegistry, MismatchedReRegistrationThrows) {
  Registry r;
  r.counter("m", "M.", {"a"});
  EXPECT_THROW(r.gauge("m", "M.", {"a"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("m", "M.", {"a"}), std::invalid_argument);
  EXPECT_THROW(r.counter("m", "M.", {"b"}), std::invalid_argument);
  EXPECT_THROW(r.counter("m", "M.", {"a", "b"}), std::invalid_argument);
  EXPECT_THROW(r.counter("m", "M."), std::invalid_argument);
  r.histogram("h", "H.", {}, {1, 2});
  EXPECT_THROW(r.histogram("h", "H.", {}, {1, 3}), std::invalid_argument);
}

TEST(MetricsRegistry, InvalidNamesThrow) {
  Registry r;
  for (const char* bad : {"", "1abc", "a-b", "a b", "é", "a.b"})
    EXPECT_THROW(r.counter(bad, "x"), std::invalid_argument) << bad;
  for (const char* good : {"a", "_a", ":a", "a:b_c9", "A"}) EXPECT_NO_THROW(r.counter(good, "x"));
  for (const char* bad : {"", "1a", "a:b", "a-b", "__reserved"})
    EXPECT_THROW(r.gauge("g", "x", {bad}), std::invalid_argument) << bad;
  EXPECT_THROW(r.gauge("g", "x", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "x", {"le"}), std::invalid_argument);
  EXPECT_NO_THROW(r.counter("le_ok", "x", {"le"}));  // only histograms reserve "le"
  // Failed registrations leave nothing behind.
  EXPECT_EQ(r.render().find("# HELP g "), std::string::npos);
}

TEST(MetricsRegistry, WrongLabelCountThrows) {
  Registry r;
  auto& c = r.counter("c", "C.", {"a", "b"});
  EXPECT_THROW(c.labels({"x"}), std::invalid_argument);
  EXPECT_THROW(c.labels({"x", "y", "z"}), std::invalid_argument);
  EXPECT_THROW(c.get(), std::invalid_argument);
  EXPECT_THROW(r.gauge("g", "G.").labels({"x"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "H.", {"k"}).get(), std::invalid_argument);
}

TEST(MetricsRegistry, GlobalRegistryIsSingleton) { EXPECT_EQ(&metrics(), &metrics()); }

TEST(MetricsConcurrency, ConcurrentIncrementsAndChildCreation) {
  Registry r;
  auto& fam = r.counter("conc_total", "C.", {"k"});
  auto& hist = r.histogram("conc_seconds", "H.", {"k"}, {1, 2});
  constexpr int kThreads = 8, kIters = 20000, kKeys = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIters; ++i) {
        fam.labels({"shared"}).inc();
        // Every thread races to create the same kKeys children.
        std::string key = std::to_string((i + t) % kKeys);
        fam.labels({key}).inc();
        hist.labels({key}).observe(i % 3);  // 0, 1, 2: all integers, so the sum stays exact
        if (i % 1000 == 0) (void)r.render();
      }
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(fam.labels({"shared"}).value(), kThreads * kIters);
  double per_key_total = 0;
  std::uint64_t hist_total = 0;
  double hist_sum = 0;
  for (int k = 0; k < kKeys; ++k) {
    per_key_total += fam.labels({std::to_string(k)}).value();
    Histogram& h = hist.labels({std::to_string(k)});
    EXPECT_EQ(h.count(), h.cumulative_counts().back());
    hist_total += h.count();
    hist_sum += h.sum();
  }
  EXPECT_EQ(per_key_total, kThreads * kIters);
  EXPECT_EQ(hist_total, std::uint64_t{kThreads * kIters});
  // Per thread: kIters/3 (rounded) each of 0, 1, 2.
  double expected_sum = 0;
  for (int i = 0; i < kIters; ++i) expected_sum += i % 3;
  EXPECT_EQ(hist_sum, kThreads * expected_sum);
  // Exactly one child per distinct key, plus "shared".
  std::string out = r.render();
  std::size_t lines = 0;
  for (std::size_t p = 0; (p = out.find("\nconc_total{", p)) != std::string::npos; ++p) ++lines;
  EXPECT_EQ(lines, kKeys + 1u);
}

}  // namespace
}  // namespace pc::core

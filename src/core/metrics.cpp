#include "core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace pc::core {
namespace {

// Prometheus requires strictly increasing finite bounds; +Inf is implicit.
void check_bounds(const std::vector<double>& bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) throw std::invalid_argument("histogram bound is not finite");
    if (i > 0 && !(bounds[i - 1] < bounds[i]))
      throw std::invalid_argument("histogram bounds are not strictly increasing");
  }
}

bool is_name_char(char c, bool first, bool colon_ok) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (colon_ok && c == ':') return true;
  return alpha || (!first && c >= '0' && c <= '9');
}

bool is_valid_name(std::string_view s, bool colon_ok) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!is_name_char(s[i], i == 0, colon_ok)) return false;
  return true;
}

void check_names(const std::string& name, const std::vector<std::string>& label_names,
                 bool histogram) {
  if (!is_valid_name(name, true)) throw std::invalid_argument("invalid metric name: " + name);
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    const std::string& l = label_names[i];
    // "__" is reserved for Prometheus internals; "le" would clash with the bucket label.
    if (!is_valid_name(l, false) || l.starts_with("__") || (histogram && l == "le"))
      throw std::invalid_argument("invalid label name for " + name + ": " + l);
    if (std::find(label_names.begin(), label_names.begin() + i, l) != label_names.begin() + i)
      throw std::invalid_argument("duplicate label name for " + name + ": " + l);
  }
}

// Integral values print as integers (counters read 1000000, not 1e+06); everything else uses
// the shortest round-trip form in %g style, which is what the Go client emits.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[40];
  std::to_chars_result r;
  if (v == std::trunc(v) && std::fabs(v) < 0x1p53)
    r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
  else
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  out.append(buf, r.ptr);
}

void append_count(std::string& out, std::uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void append_escaped(std::string& out, std::string_view s, bool escape_quote) {
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && escape_quote) out += "\\\"";
    else out += c;
  }
}

// `{a="x",b="y",le="0.5"}`, or nothing at all when there are no labels.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view le = {}) {
  if (names.empty() && le.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], true);
    out += '"';
  }
  if (!le.empty()) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

struct FamilyBase {
  FamilyBase(std::string n, std::string h, const char* t, std::vector<std::string> l,
             std::vector<double> b)
      : name(std::move(n)), help(std::move(h)), type(t), label_names(std::move(l)),
        buckets(std::move(b)) {}
  virtual ~FamilyBase() = default;
  virtual void render_children(std::string& out) const = 0;

  const std::string name;
  const std::string help;
  const char* const type;
  const std::vector<std::string> label_names;
  const std::vector<double> buckets;  // histograms only
};

template <class Metric>
struct Child {
  template <class... Args>
  explicit Child(std::vector<std::string> v, Args&&... args)
      : values(std::move(v)), metric(std::forward<Args>(args)...) {}
  std::vector<std::string> values;
  Metric metric;
};

template <class Interface, class Metric>
class Family final : public Interface, public FamilyBase {
 public:
  using FamilyBase::FamilyBase;

  Metric& labels(std::initializer_list<std::string_view> values) override {
    if (values.size() != label_names.size())
      throw std::invalid_argument("wrong number of label values for " + name);
    // Length-prefixed so that no choice of values can make two label sets collide.
    std::string key;
    for (std::string_view v : values) {
      key += std::to_string(v.size());
      key += ':';
      key += v;
    }
    {
      std::shared_lock lock(mu_);
      if (auto it = index_.find(key); it != index_.end()) return it->second->metric;
    }
    std::unique_lock lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) return it->second->metric;  // lost the race
    Child<Metric>& c = add_child(std::vector<std::string>(values.begin(), values.end()));
    index_.emplace(std::move(key), &c);
    return c.metric;
  }

  void render_children(std::string& out) const override {
    std::shared_lock lock(mu_);
    for (const Child<Metric>& c : children_) render_child(out, c);
  }

 private:
  Child<Metric>& add_child(std::vector<std::string> values) {
    // std::deque never moves existing elements on emplace_back: returned references stay valid.
    if constexpr (std::is_same_v<Metric, Histogram>)
      return children_.emplace_back(std::move(values), buckets);
    else
      return children_.emplace_back(std::move(values));
  }

  void render_child(std::string& out, const Child<Metric>& c) const {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      std::vector<std::uint64_t> counts = c.metric.cumulative_counts();
      std::string le;
      for (std::size_t i = 0; i <= buckets.size(); ++i) {
        le.clear();
        if (i < buckets.size()) append_number(le, buckets[i]);
        else le = "+Inf";
        out += name;
        out += "_bucket";
        append_labels(out, label_names, c.values, le);
        out += ' ';
        append_count(out, counts[i]);
        out += '\n';
      }
      out += name;
      out += "_sum";
      append_labels(out, label_names, c.values);
      out += ' ';
      append_number(out, c.metric.sum());
      out += '\n';
      // _count is taken from the +Inf bucket rather than count(): the two are separate atomics,
      // and scrapers expect them to agree within one exposition.
      out += name;
      out += "_count";
      append_labels(out, label_names, c.values);
      out += ' ';
      append_count(out, counts.back());
      out += '\n';
    } else {
      out += name;
      append_labels(out, label_names, c.values);
      out += ' ';
      append_number(out, c.metric.value());
      out += '\n';
    }
  }

  mutable std::shared_mutex mu_;
  std::deque<Child<Metric>> children_;                       // creation order, for rendering
  std::unordered_map<std::string, Child<Metric>*> index_;    // joined label values -> child
};

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  check_bounds(bounds_);
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) {
  // First bound with v <= le; NaN satisfies none and lands in +Inf, as in the Go client.
  auto it = std::partition_point(bounds_.begin(), bounds_.end(), [v](double b) { return !(v <= b); });
  buckets_[it - bounds_.begin()].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

const std::vector<double>& default_latency_buckets() {
  static const std::vector<double> buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                           0.1,    0.25,  0.5,    1,     2.5,   5,    10};
  return buckets;
}

struct Registry::Impl {
  mutable std::shared_mutex mu;
  std::vector<std::unique_ptr<FamilyBase>> families;  // registration order

  template <class Interface, class Metric>
  Interface& add(const char* type, std::string name, std::string help,
                 std::vector<std::string> label_names, std::vector<double> buckets) {
    bool histogram = std::is_same_v<Metric, Histogram>;
    check_names(name, label_names, histogram);
    if (histogram) check_bounds(buckets);

    std::unique_lock lock(mu);
    for (auto& f : families) {
      if (f->name != name) continue;
      // Same name must mean the same metric; the first help text wins.
      if (f->type != std::string_view(type) || f->label_names != label_names ||
          f->buckets != buckets)
        throw std::invalid_argument("metric " + name + " already registered differently");
      return dynamic_cast<Interface&>(*f);
    }
    auto fam = std::make_unique<Family<Interface, Metric>>(std::move(name), std::move(help), type,
                                                           std::move(label_names),
                                                           std::move(buckets));
    // An unlabelled family has exactly one child; create it now so it renders before first use.
    if (fam->label_names.empty()) fam->labels({});
    Interface& ref = *fam;
    families.push_back(std::move(fam));
    return ref;
  }
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
  return impl_->add<CounterFamily, Counter>("counter", std::move(name), std::move(help),
                                            std::move(label_names), {});
}

GaugeFamily& Registry::gauge(std::string name, std::string help,
                             std::vector<std::string> label_names) {
  return impl_->add<GaugeFamily, Gauge>("gauge", std::move(name), std::move(help),
                                        std::move(label_names), {});
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> buckets) {
  return impl_->add<HistogramFamily, Histogram>("histogram", std::move(name), std::move(help),
                                                std::move(label_names), std::move(buckets));
}

std::string Registry::render() const {
  std::string out;
  std::shared_lock lock(impl_->mu);
  for (const auto& f : impl_->families) {
    out += "# HELP ";
    out += f->name;
    out += ' ';
    append_escaped(out, f->help, false);
    out += "\n# TYPE ";
    out += f->name;
    out += ' ';
    out += f->type;
    out += '\n';
    f->render_children(out);
  }
  return out;
}

Registry& metrics() {
  static Registry registry;
  return registry;
}

}  // namespace pc::core

#include "cluster/shared_quota.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster/redis_client.h"
#include "cluster/redis_script.h"

namespace pc::cluster {
namespace {

// KEYS[1] = the counter; ARGV = increment (0: only read), the writer's view (the floor), TTL
// seconds. Returns the total. The floor repairs a counter Redis lost (to the maximum of the views
// that write it, so repairs by several nodes do not add up).
constexpr const char* kScript = R"lua(
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
local floor = tonumber(ARGV[2])
if v < floor then
  redis.call('SET', KEYS[1], ARGV[2])
  v = floor
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return v
)lua";

const std::string& script_sha1() {
  static const std::string s = sha1_hex(RedisSharedQuota::script());
  return s;
}

constexpr std::string_view kMeterName[] = {"invocations", "tool_calls"};

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct RedisSharedQuota::Impl : std::enable_shared_from_this<Impl> {
  // One counter (tenant, meter) as this node sees it, for the day it was last used.
  struct Key {
    std::mutex mu;
    std::int64_t day = -1;
    std::string redis_key;         // of `day`
    std::uint64_t confirmed = 0;   // the cluster's total in the last answer
    std::uint64_t unsent = 0;      // admitted here, not sent yet
    std::uint64_t in_flight = 0;   // sent, not answered
    std::uint64_t floor = 0;       // the highest view this node reported: the counter is kept at least there
    bool busy = false;             // an update in flight
    std::int64_t last_refresh_ns = 0;
  };
  // What goes out after a key's lock is released.
  struct Update {
    std::string tenant;
    std::int64_t day;
    tenancy::Meter meter;
    std::vector<std::string> args;
  };

  RedisClient& client;
  std::function<std::size_t()> nodes;
  Options o;
  std::shared_mutex meter_mu;  // guards `meter` against the destructor
  tenancy::QuotaMeter* meter;

  std::shared_mutex mu;
  std::array<std::unordered_map<std::string, std::unique_ptr<Key>, Hash, std::equal_to<>>, 2> keys;

  Impl(RedisClient& c, tenancy::QuotaMeter& m, std::function<std::size_t()> n, Options opt)
      : client(c), nodes(std::move(n)), o(std::move(opt)), meter(&m) {}

  Key& key(std::string_view tenant, tenancy::Meter m) {
    auto& map = keys[static_cast<std::size_t>(m)];
    {
      std::shared_lock lock(mu);
      if (auto it = map.find(tenant); it != map.end()) return *it->second;
    }
    std::unique_lock lock(mu);
    auto [it, inserted] = map.try_emplace(std::string(tenant), nullptr);
    if (inserted) it->second = std::make_unique<Key>();
    return *it->second;
  }

  // k locked; called from take/refresh, while the meter (the caller) is alive.
  void roll(Key& k, std::string_view tenant, std::int64_t day, tenancy::Meter m) {
    if (k.day == day) return;
    // A day's key is named once per day; an update of the old day still in flight is ignored.
    k.day = day;
    k.confirmed = k.unsent = k.in_flight = k.floor = 0;
    k.busy = false;
    k.last_refresh_ns = 0;
    k.redis_key = o.key_prefix + meter->day_label(day) + ":" + std::string(tenant) + ":" +
                  std::string(kMeterName[static_cast<std::size_t>(m)]);
  }

  // k locked: the next update if none is in flight (everything unsent goes out at once).
  std::optional<Update> next(Key& k, std::string_view tenant, tenancy::Meter m, bool read_only) {
    if (k.busy || (!k.unsent && !read_only)) return std::nullopt;
    k.busy = true;
    k.in_flight = k.unsent;
    k.unsent = 0;
    return Update{std::string(tenant), k.day, m,
                  {"1", k.redis_key, std::to_string(k.in_flight), std::to_string(k.floor),
                   std::to_string(o.ttl.count())}};
  }

  void send(Update u) {
    auto self = shared_from_this();
    auto args = std::move(u.args);
    run_script(client, script(), script_sha1(), std::move(args),
               [self, tenant = std::move(u.tenant), day = u.day, m = u.meter](RedisReply r) {
                 self->answered(tenant, day, m, r);
               });
  }

  void answered(const std::string& tenant, std::int64_t day, tenancy::Meter m, const RedisReply& r) {
    Key& k = key(tenant, m);
    std::optional<Update> more;
    std::optional<std::uint64_t> view;
    {
      std::lock_guard lock(k.mu);
      if (k.day != day) return;  // the day rolled over meanwhile
      k.busy = false;
      k.in_flight = 0;
      if (r.ok() && r.value.type == RespValue::Type::integer && r.value.integer >= 0) {
        k.confirmed = std::max(k.confirmed, static_cast<std::uint64_t>(r.value.integer));
        view = k.confirmed + k.unsent;
        more = next(k, tenant, m, false);
      } else {
        // Down or failing: these counts reach the others through the store; the next update
        // after recovery repairs the counter from the view, which holds them.
        k.unsent = 0;
      }
    }
    if (view) {
      std::shared_lock lock(meter_mu);
      if (meter) meter->raise_view(tenant, day, m, *view);
    }
    if (more) send(std::move(*more));
  }
};

const std::string& RedisSharedQuota::script() {
  static const std::string s = kScript;
  return s;
}

RedisSharedQuota::RedisSharedQuota(RedisClient& client, tenancy::QuotaMeter& meter, std::function<std::size_t()> nodes,
                                   Options o)
    : impl_(std::make_shared<Impl>(client, meter, std::move(nodes), std::move(o))) {}

RedisSharedQuota::~RedisSharedQuota() {
  std::unique_lock lock(impl_->meter_mu);
  impl_->meter = nullptr;
}

bool RedisSharedQuota::take(std::string_view tenant, std::int64_t day, tenancy::Meter meter, std::uint64_t view,
                            std::uint64_t limit, std::uint32_t n) {
  Impl& i = *impl_;
  if (!i.client.up()) return true;  // Redis down: the node's own view decides, as without Redis
  Impl::Key& k = i.key(tenant, meter);
  std::optional<Impl::Update> u;
  {
    std::lock_guard lock(k.mu);
    i.roll(k, tenant, day, meter);
    const std::uint64_t mine = k.unsent + k.in_flight;
    if (limit > 0 && mine > 0) {
      // Near the limit, no more than this node's share of what is left before it hears back.
      const std::uint64_t count = std::max(k.confirmed, view > mine ? view - mine : 0);
      const std::uint64_t left = limit > count ? limit - count : 0;
      // Half of an even split: the others' counts of the last round trip are not in `count` yet.
      const std::uint64_t share = std::max<std::uint64_t>(1, left / (2 * std::max<std::size_t>(1, i.nodes())));
      if (mine + n > share) return false;
    }
    k.unsent += n;
    k.floor = std::max(k.floor, view + n);
    u = i.next(k, tenant, meter, false);
  }
  if (u) i.send(std::move(*u));
  return true;
}

void RedisSharedQuota::refresh(std::string_view tenant, std::int64_t day, tenancy::Meter meter, std::uint64_t view) {
  Impl& i = *impl_;
  if (!i.client.up()) return;
  Impl::Key& k = i.key(tenant, meter);
  std::optional<Impl::Update> u;
  {
    std::lock_guard lock(k.mu);
    i.roll(k, tenant, day, meter);
    const std::int64_t now = steady_ns();
    if (now - k.last_refresh_ns < std::chrono::nanoseconds(i.o.refresh_interval).count()) return;
    k.last_refresh_ns = now;
    k.floor = std::max(k.floor, view);
    u = i.next(k, tenant, meter, true);
  }
  if (u) i.send(std::move(*u));
}

}  // namespace pc::cluster

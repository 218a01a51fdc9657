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
#include "crypto/random.h"

namespace pc::cluster {
namespace {

// KEYS[1] = the counter, KEYS[2] = the reservations (field: node, value "calls:until_ms").
// ARGV = [1] calls admitted since the last update (0: only ask), [2] the writer's view (the
// floor), [3] TTL seconds, [4] node, [5] limit (0: unlimited, no reservation), [6] nodes,
// [7] what the node has not spent of its reservation, [8] the reservation's life in ms.
// Returns {total, the node's reservation, what is left unreserved after it}. The floor repairs a
// counter Redis lost (to the maximum of the views that write it, so repairs by several nodes do
// not add up). A reservation is at most what the counter and the others' live reservations leave,
// so together they never pass the limit.
constexpr const char* kScript = R"lua(
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
local floor = tonumber(ARGV[2])
if v < floor then
  redis.call('SET', KEYS[1], ARGV[2])
  v = floor
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
local limit = tonumber(ARGV[5])
if limit <= 0 then return {v, 0, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local others = 0
local held = redis.call('HGETALL', KEYS[2])
for i = 1, #held, 2 do
  if held[i] ~= ARGV[4] then
    local calls, till = string.match(held[i + 1], '^(%d+):(%d+)$')
    if calls and tonumber(till) > now then
      others = others + tonumber(calls)
    else
      redis.call('HDEL', KEYS[2], held[i])
    end
  end
end
local left = limit - v - others
local mine = 0
if left > 0 then
  local share = math.max(1, math.floor(left / (2 * tonumber(ARGV[6]))))
  mine = math.min(math.max(tonumber(ARGV[7]), share), left)
  redis.call('HSET', KEYS[2], ARGV[4], string.format('%d:%d', mine, now + tonumber(ARGV[8])))
  redis.call('EXPIRE', KEYS[2], ARGV[3])
else
  redis.call('HDEL', KEYS[2], ARGV[4])
end
return {v, mine, math.max(0, left - mine)}
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

constexpr std::uint64_t kMaxCredit = 64;  // more is not needed to ride out a round trip

std::int64_t ns(std::chrono::milliseconds d) { return std::chrono::nanoseconds(d).count(); }

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
    std::string redis_key;        // of `day`
    std::uint64_t confirmed = 0;  // the cluster's total in the last answer
    std::uint64_t unsent = 0;     // admitted here, not sent yet
    std::uint64_t floor = 0;      // the highest view this node reported: the counter is kept at least there
    std::uint64_t limit = 0;      // of the last call
    // This node's reservation: what it may still admit, valid until `spend_by_ns`; `drawn` of it
    // since the update in flight was sent (the answer's reservation covers those).
    std::uint64_t reserved = 0, drawn = 0;
    std::int64_t spend_by_ns = 0;
    bool heard = false;                 // an answer came this day
    std::uint64_t unreserved = 0;       // what the last answer left to the others
    std::uint64_t credited = 0;         // calls admitted without a reservation, awaiting an answer
    bool busy = false;                  // an update in flight, sent at `sent_ns`
    std::int64_t sent_ns = 0;
    std::int64_t last_ask_ns = 0;       // the last update sent with nothing to report
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
      : client(c), nodes(std::move(n)), o(std::move(opt)), meter(&m) {
    if (o.node_id.empty()) o.node_id = crypto::random_hex(8);
  }

  std::size_t node_count() const { return std::max<std::size_t>(1, nodes()); }

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
    k.confirmed = k.unsent = k.floor = k.reserved = k.drawn = k.unreserved = 0;
    k.spend_by_ns = k.sent_ns = k.last_ask_ns = 0;
    k.credited = 0;
    k.heard = k.busy = false;
    k.redis_key = o.key_prefix + meter->day_label(day) + ":" + std::string(tenant) + ":" +
                  std::string(kMeterName[static_cast<std::size_t>(m)]);
  }

  // k locked: what this node may still admit from its reservation at `now`.
  static std::uint64_t reservation(Key& k, std::int64_t now) {
    if (now >= k.spend_by_ns) k.reserved = 0;  // lapsed here before it lapses in Redis
    return k.reserved;
  }

  // k locked: how many calls this node may admit without a reservation before it hears back. Only
  // when it has none yet (its first calls of the day) or it lapsed (idle), not when it is spent;
  // a twentieth of an even split of what it knows to be left, so that even were every node's
  // knowledge stale at once, the credit would pass the quota by 5 % at most (or one call each).
  std::uint64_t credit(const Key& k, std::uint64_t view, std::uint64_t limit, std::int64_t now) const {
    if (k.heard && now < k.spend_by_ns) return 0;
    const std::uint64_t room = k.heard ? k.unreserved : (limit > view ? limit - view : 0);
    if (k.heard && room < node_count()) return 0;
    return std::clamp<std::uint64_t>(room / (20 * node_count()), 1, kMaxCredit);
  }

  // k locked: the next update if none is in flight and there is something to report, or `ask`
  // (everything unsent goes out at once, with what is left of the reservation).
  std::optional<Update> next(Key& k, std::string_view tenant, tenancy::Meter m, bool ask, std::int64_t now) {
    if (k.busy || (!k.unsent && !ask)) return std::nullopt;
    if (ask) k.last_ask_ns = now;
    k.busy = true;
    k.sent_ns = now;
    k.drawn = 0;
    const std::uint64_t report = k.unsent;
    k.unsent = 0;
    return Update{std::string(tenant), k.day, m,
                  {"2", k.redis_key, k.redis_key + ":held", std::to_string(report), std::to_string(k.floor),
                   std::to_string(o.ttl.count()), o.node_id, std::to_string(k.limit), std::to_string(node_count()),
                   std::to_string(reservation(k, now)), std::to_string(o.held_for.count())}};
  }

  void send(Update u) {
    auto self = shared_from_this();
    auto args = std::move(u.args);
    run_script(client, script(), script_sha1(), std::move(args),
               [self, tenant = std::move(u.tenant), day = u.day, m = u.meter](RedisReply r) {
                 self->answered(tenant, day, m, r);
               });
  }

  static bool answer_ok(const RedisReply& r) {
    if (!r.ok() || r.value.type != RespValue::Type::array || r.value.elements.size() != 3) return false;
    for (const auto& e : r.value.elements)
      if (e.type != RespValue::Type::integer || e.integer < 0) return false;
    return true;
  }

  void answered(const std::string& tenant, std::int64_t day, tenancy::Meter m, const RedisReply& r) {
    Key& k = key(tenant, m);
    std::optional<Update> more;
    std::optional<std::uint64_t> view;
    {
      std::lock_guard lock(k.mu);
      if (k.day != day) return;  // the day rolled over meanwhile
      k.busy = false;
      k.credited = 0;
      if (answer_ok(r)) {
        const auto& e = r.value.elements;
        k.confirmed = std::max(k.confirmed, static_cast<std::uint64_t>(e[0].integer));
        // The reservation covers what was drawn since the update went out.
        const auto granted = static_cast<std::uint64_t>(e[1].integer);
        k.reserved = granted > k.drawn ? granted - k.drawn : 0;
        k.spend_by_ns = k.sent_ns + ns(o.spend_within);
        k.unreserved = static_cast<std::uint64_t>(e[2].integer);
        k.heard = true;
        view = k.confirmed + k.unsent;
        more = next(k, tenant, m, false, steady_ns());
      } else {
        // Down or failing: what was in flight reaches the others through the store (the next
        // update after recovery repairs the counter from the view, which holds it); what was
        // admitted since goes with the next update.
        k.reserved = 0;
      }
      k.drawn = 0;
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
  bool admitted = true;
  {
    std::lock_guard lock(k.mu);
    i.roll(k, tenant, day, meter);
    k.limit = limit;
    const std::int64_t now = steady_ns();
    if (limit == 0) {
      // Unlimited: counted only.
    } else if (Impl::reservation(k, now) >= n) {
      k.reserved -= n;
      if (k.busy) k.drawn += n;
    } else if (k.busy && now - k.sent_ns > ns(i.o.stall)) {
      // Redis answers slowly: the view decides meanwhile, as when it is down.
    } else if (const std::uint64_t c = i.credit(k, view, limit, now); k.credited + n <= c) {
      k.credited += n;
    } else {
      admitted = false;
    }
    if (admitted) {
      k.unsent += n;
      k.floor = std::max(k.floor, view + n);
    }
    // Refused: ask for a reservation, at most every refresh_interval once the last ask came back.
    const bool ask = !admitted && now - k.last_ask_ns >= ns(i.o.refresh_interval);
    u = i.next(k, tenant, meter, ask, now);
  }
  if (u) i.send(std::move(*u));
  return admitted;
}

void RedisSharedQuota::refresh(std::string_view tenant, std::int64_t day, tenancy::Meter meter, std::uint64_t view,
                               std::uint64_t limit) {
  Impl& i = *impl_;
  if (!i.client.up()) return;
  Impl::Key& k = i.key(tenant, meter);
  std::optional<Impl::Update> u;
  {
    std::lock_guard lock(k.mu);
    i.roll(k, tenant, day, meter);
    k.limit = limit;
    const std::int64_t now = steady_ns();
    if (now - k.last_ask_ns < ns(i.o.refresh_interval)) return;
    k.floor = std::max(k.floor, view);
    u = i.next(k, tenant, meter, true, now);
  }
  if (u) i.send(std::move(*u));
}

}  // namespace pc::cluster

#include "cluster/redis_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <future>
#include <optional>
#include <thread>
#include <tuple>

#include "core/log.h"
#include "core/metrics.h"
#include "core/thread_priority.h"
#include "net/detail/tls_client.h"  // the proxy's TLS client rules (trust anchors, peer identity)

namespace pc::cluster {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// How often the watchdog looks at the oldest reply awaited and at idleness.
constexpr auto kWatchTick = std::chrono::milliseconds(100);

RedisReply failed(std::string why) {
  RedisReply r;
  r.failure = std::move(why);
  return r;
}

}  // namespace

struct RedisClient::Impl {
  explicit Impl(Options opt)
      : o(std::move(opt)),
        retry_timer(ioc),
        up_gauge(core::metrics()
                     .gauge("portcullis_redis_up", "1 while the Redis connection is up (cluster.redis.url)",
                            {"connection"})
                     .labels({o.name})),
        disconnects(core::metrics()
                        .counter("portcullis_redis_disconnects_total",
                                 "Times a Redis connection that was up went down", {"connection"})
                        .labels({o.name})) {
    up_gauge.set(0);
    if (o.url.tls) {
      tls_ctx.emplace(asio::ssl::context::tls_client);
      tls_error = net::detail::configure_client_tls(*tls_ctx, o.ca_file);
    }
  }

  // One connection attempt's state; the coroutines and timers working on it hold it.
  struct Conn {
    explicit Conn(asio::io_context& ioc) : sock(ioc), resolver(ioc), timer(ioc) {}
    tcp::socket sock;
    tcp::resolver resolver;
    asio::steady_timer timer;  // the handshake deadline, then the watchdog's tick
    std::optional<asio::ssl::stream<tcp::socket&>> tls;
    RespReader reader;
    bool closed = false;
    std::string why;  // why it was closed by us (timeout, protocol error)
  };

  Options o;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  asio::steady_timer retry_timer;
  std::optional<asio::ssl::context> tls_ctx;
  std::string tls_error;
  core::Gauge& up_gauge;
  core::Counter& disconnects;
  std::atomic<bool> is_up{false};
  std::atomic<bool> stopped{false};

  // Below: the client's thread only.
  enum class Health { unknown, up, down } health = Health::unknown;
  bool stopping = false;
  std::shared_ptr<Conn> conn;     // the connection in service; null while down
  std::shared_ptr<Conn> attempt;  // the connection being made (stop() closes it)
  std::deque<std::pair<std::string, Done>> outbox;               // encoded, not written yet
  std::deque<std::pair<Done, Clock::time_point>> inflight;        // written, reply awaited
  bool writing = false;
  Clock::time_point last_io = Clock::now();

  void set_health(bool up, const std::string& why) {
    const Health next = up ? Health::up : Health::down;
    if (health == next) return;
    const bool was_up = health == Health::up;
    health = next;
    if (!up) is_up = false;  // down at once; up only after the log line and on_health ran
    up_gauge.set(up ? 1 : 0);
    if (up) {
      log::info("redis: connected", {{"connection", o.name}, {"redis", o.url.describe()}});
    } else {
      if (was_up) disconnects.inc();
      log::warn("redis: unavailable; retrying with backoff",
                {{"connection", o.name}, {"redis", o.url.describe()}, {"error", why}});
    }
    if (o.on_health) o.on_health(up);
    if (up) is_up = true;
  }

  void close(const std::shared_ptr<Conn>& c, const std::string& why) {
    if (c->closed) return;
    c->closed = true;
    if (c->why.empty()) c->why = why;
    boost::system::error_code ignored;
    c->resolver.cancel();
    c->timer.cancel();
    c->sock.close(ignored);
  }

  void fail_all(const std::string& why) {
    auto out = std::move(outbox);
    auto in = std::move(inflight);
    outbox.clear();
    inflight.clear();
    for (auto& [bytes, done] : out)
      if (done) done(failed(why));
    for (auto& [done, at] : in)
      if (done) done(failed(why));
  }

  asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some(Conn& c, char* buf, std::size_t n) {
    if (c.tls) co_return co_await c.tls->async_read_some(asio::buffer(buf, n), use_tuple);
    co_return co_await c.sock.async_read_some(asio::buffer(buf, n), use_tuple);
  }
  asio::awaitable<boost::system::error_code> write_all(Conn& c, const std::string& bytes) {
    if (c.tls) {
      auto [ec, n] = co_await asio::async_write(*c.tls, asio::buffer(bytes), use_tuple);
      co_return ec;
    }
    auto [ec, n] = co_await asio::async_write(c.sock, asio::buffer(bytes), use_tuple);
    co_return ec;
  }

  // One command during the handshake (nothing else is in flight yet).
  asio::awaitable<std::optional<RespValue>> roundtrip(Conn& c, const std::vector<std::string>& args, std::string& why) {
    std::string bytes;
    encode_command(bytes, args);
    if (auto ec = co_await write_all(c, bytes)) {
      why = ec.message();
      co_return std::nullopt;
    }
    co_return co_await read_reply(c, why);
  }
  asio::awaitable<std::optional<RespValue>> read_reply(Conn& c, std::string& why) {
    std::array<char, 4096> buf;
    for (;;) {
      if (auto v = c.reader.next()) co_return v;
      if (c.reader.failed()) {
        why = "protocol error: " + c.reader.error();
        co_return std::nullopt;
      }
      auto [ec, n] = co_await read_some(c, buf.data(), buf.size());
      if (ec) {
        why = ec.message();
        co_return std::nullopt;
      }
      c.reader.feed(buf.data(), n);
    }
  }

  // TCP, TLS, AUTH, SELECT, SUBSCRIBE under one deadline. "" when the connection is ready.
  asio::awaitable<std::string> handshake(std::shared_ptr<Conn> c) {
    if (!tls_error.empty()) co_return tls_error;
    c->timer.expires_after(o.connect_timeout);
    c->timer.async_wait([this, c](boost::system::error_code ec) {
      if (!ec) close(c, "no connection within " + std::to_string(o.connect_timeout.count()) + " ms");
    });
    std::string why = co_await handshake_steps(*c);
    c->timer.cancel();
    if (!c->why.empty()) co_return c->why;  // the deadline closed it
    co_return why;
  }
  asio::awaitable<std::string> handshake_steps(Conn& c) {
    auto [rec, endpoints] = co_await c.resolver.async_resolve(o.url.host, std::to_string(o.url.port), use_tuple);
    if (rec) co_return "cannot resolve " + o.url.host + ": " + rec.message();
    auto [cec, ep] = co_await asio::async_connect(c.sock, endpoints, use_tuple);
    if (cec) co_return "cannot connect: " + cec.message();
    boost::system::error_code ignored;
    c.sock.set_option(tcp::no_delay(true), ignored);
    if (tls_ctx) {
      c.tls.emplace(c.sock, *tls_ctx);
      if (!net::detail::bind_peer_identity(c.tls->native_handle(), o.url.host, o.url.host_is_literal))
        co_return "cannot set up TLS peer verification";
      auto [hec] = co_await c.tls->async_handshake(asio::ssl::stream_base::client, use_tuple);
      if (hec) {
        std::string cert = net::detail::certificate_refusal(c.tls->native_handle());
        co_return "TLS handshake failed: " + (cert.empty() ? hec.message() : "certificate refused: " + cert);
      }
    }
    std::string why;
    if (!o.url.password.empty()) {
      std::vector<std::string> auth{std::string("AUTH")};
      if (!o.url.user.empty()) auth.push_back(o.url.user);
      auth.push_back(o.url.password);
      auto r = co_await roundtrip(c, auth, why);
      if (!r) co_return why;
      if (!r->is("OK")) co_return "AUTH refused: " + r->str;
    }
    if (o.url.db != 0) {
      std::vector<std::string> select{std::string("SELECT"), std::to_string(o.url.db)};
      auto r = co_await roundtrip(c, select, why);
      if (!r) co_return why;
      if (!r->is("OK")) co_return "SELECT refused: " + r->str;
    }
    if (!o.channels.empty()) {
      std::vector<std::string> sub{std::string("SUBSCRIBE")};
      sub.insert(sub.end(), o.channels.begin(), o.channels.end());
      std::string bytes;
      encode_command(bytes, sub);
      if (auto ec = co_await write_all(c, bytes)) co_return ec.message();
      for (std::size_t i = 0; i < o.channels.size(); ++i) {
        auto r = co_await read_reply(c, why);
        if (!r) co_return why;
        if (r->is_error()) co_return "SUBSCRIBE refused: " + r->str;
      }
    } else {
      // A server that does not answer PING is not one we can use (and AUTH may be off but
      // required: NOAUTH shows here, at connect, not on the first real command).
      std::vector<std::string> ping{std::string("PING")};
      auto r = co_await roundtrip(c, ping, why);
      if (!r) co_return why;
      if (r->is_error()) co_return "PING refused: " + r->str;
    }
    co_return std::string();
  }

  void deliver(RespValue v) {
    last_io = Clock::now();
    if (!o.channels.empty() && v.type == RespValue::Type::array && v.elements.size() == 3 &&
        v.elements[0].is("message")) {
      if (o.on_message) o.on_message(v.elements[1].str, v.elements[2].str);
      return;
    }
    if (inflight.empty()) return;  // nothing asked for it (cannot happen with a sane server)
    Done done = std::move(inflight.front().first);
    inflight.pop_front();
    RedisReply r;
    r.value = std::move(v);
    if (done) done(std::move(r));
  }

  asio::awaitable<std::string> read_loop(std::shared_ptr<Conn> c) {
    std::vector<char> buf(16384);  // a vector: GCC 12 cannot keep a plain array in a coroutine frame
    for (;;) {
      auto [ec, n] = co_await read_some(*c, buf.data(), buf.size());
      if (ec) co_return c->why.empty() ? ec.message() : c->why;
      if (!c->reader.feed(buf.data(), n)) co_return "protocol error: " + c->reader.error();
      while (auto v = c->reader.next()) deliver(std::move(*v));
      if (c->reader.failed()) co_return "protocol error: " + c->reader.error();
    }
  }

  // Drops a connection whose oldest awaited reply is late; PINGs an idle one.
  asio::awaitable<void> watch(std::shared_ptr<Conn> c) {
    while (!c->closed) {
      c->timer.expires_after(kWatchTick);
      auto [ec] = co_await c->timer.async_wait(use_tuple);
      if (c->closed) break;
      const auto now = Clock::now();
      if (!inflight.empty() && now - inflight.front().second > o.command_timeout) {
        close(c, "no reply within " + std::to_string(o.command_timeout.count()) + " ms");
        break;
      }
      if (inflight.empty() && outbox.empty() && now - last_io >= o.ping_interval) {
        last_io = now;
        enqueue({std::string("PING")}, nullptr);
      }
    }
  }

  asio::awaitable<void> write_loop(std::shared_ptr<Conn> c) {
    while (!outbox.empty() && c == conn && !c->closed) {
      std::string batch;
      const auto now = Clock::now();
      for (auto& [bytes, done] : outbox) {
        batch += bytes;
        inflight.emplace_back(std::move(done), now);
      }
      outbox.clear();
      if (auto ec = co_await write_all(*c, batch)) {
        close(c, "write failed: " + ec.message());
        break;
      }
    }
    writing = false;
  }

  void flush() {
    if (writing || !conn || outbox.empty()) return;
    writing = true;
    asio::co_spawn(ioc, write_loop(conn), asio::detached);
  }

  void enqueue(const std::vector<std::string>& args, Done done) {
    if (stopping) {
      if (done) done(failed("stopped"));
      return;
    }
    if (!conn) {
      if (done) done(failed("redis unavailable"));
      return;
    }
    std::string bytes;
    encode_command(bytes, args);
    outbox.emplace_back(std::move(bytes), std::move(done));
    flush();
  }

  asio::awaitable<void> run() {
    auto backoff = o.backoff_initial;
    while (!stopping) {
      auto c = std::make_shared<Conn>(ioc);
      attempt = c;
      std::string why = co_await handshake(c);
      attempt.reset();
      if (stopping) {
        close(c, "stopped");
        break;
      }
      if (why.empty()) {
        conn = c;
        last_io = Clock::now();
        set_health(true, "");
        backoff = o.backoff_initial;
        asio::co_spawn(ioc, watch(c), asio::detached);
        // Whole replies the handshake's last read carried beyond its own were asked for by
        // nobody: drop them now, or the first command would take one as its answer.
        while (c->reader.next()) {
        }
        flush();
        why = co_await read_loop(c);
        conn.reset();
        close(c, why);
        // Down before the waiting callers hear of it: one who sees the failure must not still
        // see up() == true (the health change runs again below; it is idempotent).
        if (!stopping) set_health(false, why);
        fail_all("connection lost: " + why);
      } else {
        close(c, why);
      }
      if (stopping) break;
      set_health(false, why);
      retry_timer.expires_after(backoff);
      co_await retry_timer.async_wait(use_tuple);
      backoff = std::min(backoff * 2, o.backoff_max);
    }
  }
};

RedisClient::RedisClient(Options options) : impl_(std::make_shared<Impl>(std::move(options))) {}

RedisClient::~RedisClient() { stop(); }

void RedisClient::start() {
  Impl& i = *impl_;
  if (i.thread.joinable() || i.stopped) return;
  i.work.emplace(i.ioc.get_executor());
  asio::co_spawn(i.ioc, i.run(), asio::detached);
  i.thread = std::thread([&i] {
    core::name_this_thread("redis");
    i.ioc.run();
  });
}

void RedisClient::stop() {
  Impl& i = *impl_;
  if (i.stopped.exchange(true)) return;
  if (!i.thread.joinable()) return;
  asio::post(i.ioc, [&i] {
    i.stopping = true;
    i.retry_timer.cancel();
    if (i.conn) i.close(i.conn, "stopped");
    if (i.attempt) i.close(i.attempt, "stopped");
    i.fail_all("stopped");
    i.work.reset();
  });
  i.thread.join();
}

void RedisClient::command(std::vector<std::string> args, Done done) {
  Impl& i = *impl_;
  if (i.stopped || !i.thread.joinable()) {
    if (done) done(failed("stopped"));
    return;
  }
  asio::post(i.ioc, [&i, args = std::move(args), done = std::move(done)]() mutable {
    i.enqueue(args, std::move(done));
  });
}

RedisReply RedisClient::call(std::vector<std::string> args) {
  auto p = std::make_shared<std::promise<RedisReply>>();
  auto f = p->get_future();
  command(std::move(args), [p](RedisReply r) { p->set_value(std::move(r)); });
  const auto limit = impl_->o.connect_timeout + impl_->o.command_timeout + std::chrono::seconds(2);
  if (f.wait_for(limit) != std::future_status::ready) return failed("no answer in time");
  return f.get();
}

bool RedisClient::up() const { return impl_->is_up; }
const RedisClient::Options& RedisClient::options() const { return impl_->o; }

}  // namespace pc::cluster

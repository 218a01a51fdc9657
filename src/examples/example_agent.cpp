#include "examples/example_agent.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <thread>

#include "core/log.h"

namespace pc::examples {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);

std::int64_t clamp_int(const json::object& o, std::string_view key, std::int64_t def, std::int64_t lo, std::int64_t hi) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_int64()) return def;
  return std::clamp<std::int64_t>(it->value().as_int64(), lo, hi);
}

template <typename Res>
asio::awaitable<bool> send(beast::tcp_stream& s, Res& res) {
  auto [ec, n] = co_await http::async_write(s, res, tok);
  co_return !ec;
}

http::response<http::string_body> json_response(http::status st, const json::value& v, bool keep_alive) {
  http::response<http::string_body> res{st, 11};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = json::serialize(v);
  res.prepare_payload();
  return res;
}

asio::awaitable<bool> invocations(beast::tcp_stream& s, http::request<http::string_body>& req) {
  bool keep = req.keep_alive();
  json::error_code jec;
  json::value body = json::parse(req.body(), jec);
  if (jec || !body.is_object()) {
    auto res = json_response(http::status::bad_request, {{"error", "body must be a JSON object"}}, keep);
    co_return co_await send(s, res) && keep;
  }
  auto& o = body.as_object();
  auto delay = clamp_int(o, "delay_ms", 0, 0, 60000);
  if (delay > 0) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(delay));
    co_await t.async_wait(tok);
  }
  bool stream = (o.contains("stream") && o.at("stream") == true) ||
                req[http::field::accept].find("text/event-stream") != std::string_view::npos;
  if (!stream) {
    json::object headers;
    for (const auto& f : req) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      headers[name] = f.value();
    }
    json::value input = o.contains("input") ? o.at("input") : json::value(nullptr);
    auto words = static_cast<std::int64_t>(req.body().size() / 4 + 1);
    auto res = json_response(http::status::ok,
                             {{"output", {{"echo", input}}},
                              {"usage", {{"inputTokens", words}, {"outputTokens", words}}},
                              {"headers", headers}},
                             keep);
    co_return co_await send(s, res) && keep;
  }

  auto chunks = clamp_int(o, "chunks", 3, 1, 1000);
  auto interval = clamp_int(o, "interval_ms", 100, 0, 10000);
  http::response<http::empty_body> head{http::status::ok, 11};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.keep_alive(keep);
  head.chunked(true);
  http::response_serializer<http::empty_body> sr{head};
  auto [hec, hn] = co_await http::async_write_header(s, sr, tok);
  if (hec) co_return false;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (std::int64_t i = 0; i < chunks; ++i) {
    if (i > 0 && interval > 0) {
      timer.expires_after(std::chrono::milliseconds(interval));
      co_await timer.async_wait(tok);
    }
    std::string ev = "data: {\"index\":" + std::to_string(i) + ",\"text\":\"chunk " + std::to_string(i) + "\"}\n\n";
    auto [ec, n] = co_await asio::async_write(s, http::make_chunk(asio::buffer(ev)), tok);
    if (ec) co_return false;
  }
  std::string done = "event: done\ndata: {}\n\n";
  auto [ec1, n1] = co_await asio::async_write(s, http::make_chunk(asio::buffer(done)), tok);
  if (ec1) co_return false;
  auto [ec2, n2] = co_await asio::async_write(s, http::make_chunk_last(), tok);
  co_return !ec2 && keep;
}

asio::awaitable<void> session(beast::tcp_stream s) {
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(8 * 1024 * 1024);
    s.expires_after(std::chrono::seconds(120));
    auto [ec, n] = co_await http::async_read(s, buf, parser, tok);
    if (ec) break;
    s.expires_never();
    auto& req = parser.get();
    bool keep;
    if (req.method() == http::verb::get && req.target() == "/ping") {
      auto res = json_response(http::status::ok, {{"status", "Healthy"}}, req.keep_alive());
      keep = co_await send(s, res) && req.keep_alive();
    } else if (req.method() == http::verb::post && req.target() == "/invocations") {
      keep = co_await invocations(s, req);
    } else {
      auto res = json_response(http::status::not_found, {{"error", "not found"}}, req.keep_alive());
      keep = co_await send(s, res) && req.keep_alive();
    }
    if (!keep) break;
  }
  beast::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> accept_loop(tcp::acceptor& a) {
  for (;;) {
    auto [ec, sock] = co_await a.async_accept(tok);
    if (ec) {
      if (!a.is_open()) co_return;
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(a.get_executor(), session(beast::tcp_stream(std::move(sock))), asio::detached);
  }
}

}  // namespace

struct ExampleAgent::Impl {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
};

ExampleAgent::ExampleAgent(const std::string& listen) : impl_(std::make_unique<Impl>()) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("example agent: listen must be host:port");
  tcp::endpoint ep{asio::ip::make_address(listen.substr(0, colon)),
                   static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  asio::co_spawn(impl_->ioc, accept_loop(impl_->acceptor), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

ExampleAgent::~ExampleAgent() { stop(); }

std::string ExampleAgent::address() const {
  auto ep = impl_->acceptor.local_endpoint();
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

void ExampleAgent::stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    impl_->ioc.stop();
  });
  impl_->thread.join();
}

}  // namespace pc::examples

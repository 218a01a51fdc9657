// Listeners, worker threads, connection admission, live settings and draining.
#include "net/server.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cctype>
#include <stdexcept>

#include "core/log.h"
#include "net/detail/response_stream.h"
#include "net/detail/server_state.h"

namespace pc::net {

using namespace detail;
using std::chrono::milliseconds;

Metrics& Metrics::get() {
  static Metrics m{
      core::metrics().counter("portcullis_http_requests_total", "HTTP requests answered, by route, method and status",
                              {"route", "method", "status"}),
      core::metrics().histogram("portcullis_http_request_duration_seconds",
                                "Time from the first request byte to the end of the response", {"route"}),
      core::metrics().gauge("portcullis_http_connections_open", "Client connections open now").get(),
      core::metrics().counter("portcullis_http_connections_rejected_total",
                              "Client connections refused, by reason", {"reason"}),
      core::metrics().counter("portcullis_upstream_requests_total", "Requests forwarded upstream, by outcome",
                              {"upstream", "outcome"}),
      core::metrics().counter("portcullis_upstream_errors_total", "Upstream failures, by kind",
                              {"upstream", "kind"}),
      core::metrics().histogram("portcullis_upstream_duration_seconds",
                                "Time from forwarding a request to the end of the upstream response", {"upstream"}),
  };
  return m;
}

struct Server::Impl {
  core::ServerConfig config;
  Shared shared;
  std::string bound;
};

namespace {

std::shared_ptr<const Settings> make_settings(const core::Config& c) {
  auto s = std::make_shared<Settings>();
  s->limits = c.server.limits;
  s->upstream = c.server.upstream;
  s->access_log = c.log.access;
  s->edge = std::make_shared<const EdgeRules>(c.server);  // edge (issue 12)
  return s;
}

tcp::endpoint parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("server.listen: expected host:port, got " + listen);
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  int port = std::stoi(listen.substr(colon + 1));
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    asio::io_context tmp;
    tcp::resolver r(tmp);
    auto results = r.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) throw std::runtime_error("server.listen: cannot resolve " + host);
    return results.begin()->endpoint();
  }
  return {addr, static_cast<unsigned short>(port)};
}

// "address already in use": the system's message without Boost's source location, lower case
// to read as the second half of one line.
std::string bind_error(const std::string& listen, const beast::error_code& ec) {
  std::string why = ec.message();
  if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
  return "listen " + listen + ": " + why;
}

// SO_REUSEPORT lets any socket of the same user join a port whose sockets all have it set, so
// a second gateway on our port would bind without an error and share our connections. A probe
// bound WITHOUT it fails when anybody holds the port, whatever options they used. It also picks
// the port when 0 was asked for. It is closed before the workers bind, so two gateways started
// within the same few microseconds could still both pass it; the check is for the operator's
// mistake of starting a second one, not for a race between two.
tcp::endpoint probe_port(const tcp::endpoint& ep, const std::string& listen) {
  asio::io_context tmp;
  Acceptor probe(tmp.get_executor());
  beast::error_code ec;
  probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);  // TIME_WAIT leftovers are fine
  if (!ec) probe.bind(ep, ec);
  if (ec) throw std::runtime_error(bind_error(listen, ec));
  tcp::endpoint bound = probe.local_endpoint(ec);
  if (ec) throw std::runtime_error(bind_error(listen, ec));
  return bound;
}

void open_acceptor(Acceptor& a, const tcp::endpoint& ep, const std::string& listen) {
  beast::error_code ec;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  // Each worker has its own listening socket on the same port; the kernel spreads new
  // connections across them, so accepting never contends on a shared queue.
  if (!ec) a.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(bind_error(listen, ec));
}

// Over the connection limit: say so in the error shape and close, without reading anything.
void refuse(Socket& s, std::string_view message = "too many connections; try again later") {
  auto id = new_request_id();
  auto body = error_body("overloaded", message, id);
  std::string msg = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    "Retry-After: 1\r\nX-Request-Id: " + id + "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body;
  beast::error_code ec;
  s.non_blocking(true, ec);
  s.write_some(asio::buffer(msg), ec);
  s.shutdown(tcp::socket::shutdown_both, ec);
  s.close(ec);
}

Task<> accept_loop(Worker& w) {
  Shared& sh = *w.shared;
  auto& m = Metrics::get();
  for (;;) {
    auto [ec, socket] = co_await w.acceptor->async_accept(use_task);
    if (ec) {
      if (ec == asio::error::operation_aborted || !w.acceptor->is_open()) co_return;
      // Out of file descriptors and the like: back off briefly instead of spinning.
      log::warn("accept failed", {{"error", ec.message()}});
      Timer t(w.ioc.get_executor(), milliseconds(50));
      co_await t.async_wait(use_task);
      continue;
    }
    auto settings = sh.settings.load(std::memory_order_relaxed);
    if (sh.open.load(std::memory_order_relaxed) >= settings->limits.max_connections) {
      m.rejected.labels({"max_connections"}).inc();
      refuse(socket);
      continue;
    }
    beast::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    auto remote_ep = socket.remote_endpoint(opt_ec);
    std::string remote = opt_ec ? "" : remote_ep.address().to_string();
    // open connections per peer address.
    std::string edge_key;
    if (!sh.edge->admit_connection(remote, *settings->edge, edge_key)) {
      m.rejected.labels({"connections_per_ip"}).inc();
      refuse(socket, "too many connections from this address; try again later");
      continue;
    }
    sh.open.fetch_add(1, std::memory_order_relaxed);
    m.open.inc();
    auto done = [&sh, &m, edge_key = std::move(edge_key)](std::exception_ptr e) {
      if (!edge_key.empty()) sh.edge->release_connection(edge_key);  // edge (issue 12)
      sh.open.fetch_sub(1, std::memory_order_relaxed);
      m.open.dec();
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("connection failed", {{"error", ex.what()}});
        }
      }
    };
    if (sh.tls)
      asio::co_spawn(w.ioc, serve_tls(w, std::move(socket), std::move(remote)), done);
    else
      asio::co_spawn(w.ioc, serve_plain(w, std::move(socket), std::move(remote)), done);
  }
}

void make_tls(Shared& sh, const core::TlsConfig& tls) {
  sh.tls.emplace(asio::ssl::context::tls_server);
  auto& ctx = *sh.tls;
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                  asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  beast::error_code ec;
  ctx.use_certificate_chain_file(tls.cert_file, ec);
  if (ec) throw std::runtime_error("server.tls.cert_file: " + ec.message());
  ctx.use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("server.tls.key_file: " + ec.message());
}

}  // namespace

Server::Server(const core::Config& config, std::shared_ptr<const Router> router) : impl_(std::make_unique<Impl>()) {
  impl_->config = config.server;
  impl_->shared.router = std::move(router);
  impl_->shared.settings.store(make_settings(config));
  impl_->shared.edge = std::make_unique<EdgeGuard>(config.server.edge.max_tracked_ips);  // edge (issue 12)
}

Server::~Server() {
  if (!impl_->shared.workers.empty()) shutdown(milliseconds(0));
}

void Server::listen() {
  auto& sh = impl_->shared;
  if (!sh.workers.empty()) return;
  if (impl_->config.tls.enabled()) make_tls(sh, impl_->config.tls);
  unsigned n = impl_->config.threads ? impl_->config.threads : std::max(1u, std::thread::hardware_concurrency());
  const std::string& listen = impl_->config.listen;
  // Port 0 picks a port once (the probe's); every worker joins that same port.
  auto ep = probe_port(parse_listen(listen), listen);
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->shared = &sh;
    w->acceptor.emplace(w->ioc.get_executor());
    open_acceptor(*w->acceptor, ep, listen);
    workers.push_back(std::move(w));
  }
  sh.workers = std::move(workers);
  auto local = sh.workers.front()->acceptor->local_endpoint();
  impl_->bound = (local.address().is_v6() ? "[" + local.address().to_string() + "]" : local.address().to_string()) +
                 ":" + std::to_string(local.port());
}

void Server::start() {
  listen();
  auto& sh = impl_->shared;
  register_running(&sh);
  for (auto& w : sh.workers) {
    if (w->thread.joinable()) continue;
    asio::co_spawn(w->ioc, accept_loop(*w), asio::detached);
    w->thread = std::thread([wp = w.get()] {
      t_current_worker = wp;
      auto guard = asio::make_work_guard(wp->ioc);
      wp->ioc.run();
    });
  }
}

std::string Server::address() const { return impl_->bound; }

void Server::apply(const core::Config& config) { impl_->shared.settings.store(make_settings(config)); }

void Server::drain(milliseconds drain) {
  auto& sh = impl_->shared;
  if (sh.workers.empty() || sh.draining.exchange(true)) return;
  // Stop accepting and close connections that sit between requests; busy ones close after
  // their current response. A streamed response has no end of its own (an MCP GET stream stays
  // open as long as its client wants): it is ended now, what was queued still sent.
  for (auto& w : sh.workers)
    asio::post(w->ioc, [wp = w.get()] {
      beast::error_code ec;
      wp->acceptor->close(ec);
      for (auto* c : wp->connections) {
        if (c->idle) c->tcp->socket().close(ec);
        else if (c->stream) c->stream->close();  // net (issue 10)
      }
    });
  auto deadline = std::chrono::steady_clock::now() + drain;
  while (sh.open.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(10));
  if (sh.open.load() > 0)
    log::warn("drain deadline passed; closing remaining connections", {{"open", static_cast<std::int64_t>(sh.open.load())}});
  // Close what is left; the event loops keep running, so answers still on their way from other
  // threads (work pool jobs, audit callbacks) land in a live io_context and are dropped there.
  for (auto& w : sh.workers)
    asio::post(w->ioc, [wp = w.get()] {
      beast::error_code ec;
      wp->acceptor->close(ec);
      for (auto* c : wp->connections) c->tcp->socket().close(ec);
    });
}

void Server::stop() {
  auto& sh = impl_->shared;
  if (sh.workers.empty()) return;
  unregister_running(&sh);
  drain(milliseconds(0));
  for (auto& w : sh.workers) {
    asio::post(w->ioc, [wp = w.get()] {
      beast::error_code ec;
      for (auto* c : wp->connections) c->tcp->socket().close(ec);
      wp->pool.clear();
      wp->ioc.stop();
    });
  }
  for (auto& w : sh.workers)
    if (w->thread.joinable()) w->thread.join();
  sh.workers.clear();
}

void Server::shutdown(milliseconds drain_for) {
  drain(drain_for);
  stop();
}

}  // namespace pc::net

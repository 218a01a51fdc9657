// Private to src/net: the Asio/Beast types every network file shares. Concrete executor types
// (not any_io_executor) because type-erased executor copies showed up as a large share of a
// proxy's profile. Never include this from a header outside src/net/detail.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace pc::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
using TcpStream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using TlsStream = beast::ssl_stream<TcpStream>;

template <typename T = void>
using Task = asio::awaitable<T, Executor>;

// Completion token: coroutine-style, errors returned as a tuple instead of thrown.
inline constexpr auto use_task = asio::as_tuple(asio::use_awaitable_t<Executor>{});

inline TcpStream& tcp_layer(TcpStream& s) { return s; }
inline TcpStream& tcp_layer(TlsStream& s) { return s.next_layer(); }

}  // namespace pc::net::detail

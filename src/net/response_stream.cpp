// A response the handler keeps writing after it was handed over (net::ResponseStream, issue 10):
// the producer side (any thread) and the connection side (the connection's I/O thread).
//
// The producer appends under a mutex and posts at most one wakeup at a time to the connection's
// event loop; it never touches the socket. The connection swaps the queued bytes out, frames them
// as one chunk and writes them, then waits on a timer that a wakeup, the heartbeat, the client
// hanging up (ClientWatch) or a drain cuts short. An idle stream is one suspended coroutine, one
// timer, one pending read-readiness wait and this small state: no thread, no buffer.
#include "net/detail/response_stream.h"

#include <array>
#include <boost/asio/write.hpp>
#include <cstdio>

#include "core/log.h"
#include "net/detail/client_watch.h"
#include "net/detail/server_state.h"
#include "net/detail/sse.h"

namespace pc::net {

// ---- the producer's side

void ResponseStream::State::notify_locked() {
  if (!ex || wake_posted) return;
  wake_posted = true;
  detail::asio::post(*ex, [self = shared_from_this()] {
    bool cut;
    {
      std::lock_guard lock(self->mu);
      self->wake_posted = false;
      cut = self->cut_off;
    }
    // A write may be stuck behind a client that does not read: cut off means now, not when the
    // write timeout passes.
    if (cut && self->tcp) self->tcp->cancel();
    if (self->wake) self->wake->cancel();
  });
}

void ResponseStream::State::finish() {
  std::function<void()> fn;
  std::vector<std::shared_ptr<const void>> release;  // dropped unlocked
  {
    std::lock_guard lock(mu);
    ended = true;
    if (finished) return;
    finished = true;
    std::string().swap(pending);
    unsent = 0;
    ex.reset();
    fn = std::move(on_closed);
    release.swap(held);
  }
  release.clear();
  if (!fn) return;
  try {
    fn();
  } catch (const std::exception& e) {
    log::error("a response stream's on_closed callback failed", {{"error", e.what()}});
  }
}

ResponseStream::ResponseStream() : ResponseStream(Options{}) {}
ResponseStream::ResponseStream(Options o) : state_(std::make_shared<State>(o)) {}
ResponseStream::~ResponseStream() = default;

bool ResponseStream::write(std::string bytes) {
  std::lock_guard lock(state_->mu);
  State& st = *state_;
  if (st.ended) return false;
  if (bytes.empty()) return true;
  // Behind means bytes still unsent: one write larger than the limit to a client that has taken
  // everything so far is not a slow client, so it is let through.
  if (st.unsent > 0 && st.unsent + bytes.size() > st.opts.max_queued_bytes) {
    st.cut_off = true;
    st.ended = true;
    std::string().swap(st.pending);
    st.notify_locked();
    return false;
  }
  st.unsent += bytes.size();
  if (st.pending.empty()) st.pending = std::move(bytes);
  else st.pending += bytes;
  st.notify_locked();
  return true;
}

void ResponseStream::State::close() {
  std::lock_guard lock(mu);
  if (ended) return;
  close_asked = true;
  ended = true;
  notify_locked();
}

void ResponseStream::close() { state_->close(); }

bool ResponseStream::closed() const {
  std::lock_guard lock(state_->mu);
  return state_->ended;
}

void ResponseStream::hold_until_closed(std::shared_ptr<const void> token) {
  {
    std::lock_guard lock(state_->mu);
    if (!state_->finished) {
      state_->held.push_back(std::move(token));
      return;
    }
  }
  token.reset();
}

void ResponseStream::on_closed(std::function<void()> fn) {
  {
    std::lock_guard lock(state_->mu);
    if (!state_->finished) {
      state_->on_closed = std::move(fn);
      return;
    }
  }
  if (fn) fn();
}

}  // namespace pc::net

// ---- the connection's side

namespace pc::net::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool has_header(const Response& res, std::string_view name) {
  for (const auto& h : res.headers)
    if (iequals(h.name, name)) return true;
  return false;
}

void append_chunk_size(std::string& out, std::size_t n) {
  char hex[2 * sizeof(std::size_t) + 3];
  const int len = std::snprintf(hex, sizeof hex, "%zx\r\n", n);
  out.append(hex, static_cast<std::size_t>(len));
}

// The stream's head: the fields write_response would send, the framing, and for an event stream
// what keeps caches and buffering reverse proxies (nginx's X-Accel-Buffering) from holding
// events back. HTTP/1.0 has no chunked coding: its body ends when the connection closes.
std::string stream_head(const Request& req, const Response& res, bool keep_alive, bool chunked, bool sse) {
  std::string head = response_head(req, res, keep_alive);
  if (sse && !has_header(res, "Cache-Control")) head += "Cache-Control: no-cache\r\n";
  if (sse && !has_header(res, "X-Accel-Buffering")) head += "X-Accel-Buffering: no\r\n";
  if (chunked) head += "Transfer-Encoding: chunked\r\n";
  head += "\r\n";
  return head;
}

// Undoes the attachment however the coroutine ends, including its frame being destroyed with a
// stopped io_context: the producer must never post to a connection that is gone. Touches no
// socket (at destruction the socket may be gone already).
struct Detach {
  std::shared_ptr<ResponseStream::State> st;
  ConnTrack& track;
  ~Detach() {
    track.stream = nullptr;
    st->wake = nullptr;
    st->tcp = nullptr;
    st->finish();  // also forgets the executor, under the lock
  }
};

}  // namespace

template <typename Stream>
Task<bool> send_stream(Stream& s, const Request& req, Response& res, bool keep_alive, const Settings& settings,
                       ConnTrack& track, bool draining) {
  std::shared_ptr<ResponseStream::State> st = res.stream->state();
  const milliseconds write_timeout(settings.limits.idle_timeout_ms);
  const bool bodiless = res.status < 200 || res.status == 204 || res.status == 304;
  if (!res.body.empty() || res.forward || bodiless) {
    // A handler bug: say so in the log, end the stream (its producer sees write() fail and
    // on_closed run) and answer 500 rather than guess which half was meant.
    log::error("a streamed response also set a body or a forward, or has a status without content",
               {{"request_id", req.request_id}, {"status", res.status}});
    st->finish();
    res = error_response(500, "internal", "internal error", req.request_id);
    const bool ok = co_await write_response(s, req, res, keep_alive, write_timeout);
    co_return ok && keep_alive;
  }

  const bool chunked = req.version >= 11;
  if (!chunked) keep_alive = false;
  const bool sse = is_event_stream(res.content_type);
  std::string out = stream_head(req, res, keep_alive, chunked, sse);
  if (req.method == "HEAD") {
    st->finish();
    tcp_layer(s).expires_after(write_timeout);
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(out), use_task);
    tcp_layer(s).expires_never();
    co_return !ec && keep_alive;
  }

  const auto ex = co_await asio::this_coro::executor;
  Timer wake(ex, Timer::time_point::max());
  auto watch = std::make_shared<ClientWatch>(tcp_layer(s).socket());
  watch->wake = &wake;
  bool over;  // a stream that already ended (handed to a second response): head, then the end
  {
    std::lock_guard lock(st->mu);
    over = st->finished;
    if (!over) st->ex = ex;
  }
  st->wake = &wake;
  st->tcp = &tcp_layer(s);
  track.stream = st.get();
  Detach detach{st, track};  // after `wake`: destroyed before it
  // A drain that began while the handler ran has passed this connection by: end the stream now.
  if (draining) res.stream->close();
  watch->arm();

  // Only between events, and only for an event stream: a comment is SSE syntax, and inside an
  // event it would become part of it.
  const milliseconds beat = sse ? st->opts.heartbeat : milliseconds(0);
  EventBoundary boundary;
  std::string data, tail;
  auto last_write = Clock::now();
  bool clean = false;
  for (;;) {
    bool closing, cut;
    {
      std::lock_guard lock(st->mu);
      data.swap(st->pending);
      closing = st->close_asked || over;
      cut = st->cut_off;
    }
    if (cut || watch->gone) break;
    // `closing` was read under the same lock that took the queue: nothing can follow it.
    tail.clear();
    if (!data.empty()) {
      if (sse) boundary.feed(data.data(), data.size());
      if (chunked) {
        append_chunk_size(out, data.size());
        tail = "\r\n";
      }
    }
    if (closing && chunked) tail += "0\r\n\r\n";
    if (out.empty() && data.empty() && tail.empty()) {
      if (closing) {  // HTTP/1.0: the close ends the body
        clean = true;
        break;
      }
      wake.expires_at(beat.count() > 0 ? last_write + beat : Timer::time_point::max());
      auto [ec] = co_await wake.async_wait(use_task);
      if (!ec && beat.count() > 0 && boundary.at_boundary()) out = chunked ? kKeepAliveChunk : kKeepAlive;
      else if (!ec) last_write = Clock::now();  // mid-event: the next beat is a period later
      continue;
    }
    const std::array<asio::const_buffer, 3> bufs{asio::buffer(out), asio::buffer(data), asio::buffer(tail)};
    tcp_layer(s).expires_after(write_timeout);
    auto [ec, n] = co_await asio::async_write(s, bufs, use_task);
    tcp_layer(s).expires_never();
    if (ec) break;
    last_write = Clock::now();
    {
      std::lock_guard lock(st->mu);
      st->unsent -= std::min(st->unsent, data.size());
    }
    // An idle stream keeps no buffer: a large event's memory goes back as soon as it is sent.
    out.clear();
    data.clear();
    if (out.capacity() > 4096) std::string().swap(out);
    if (data.capacity() > 4096) std::string().swap(data);
    if (closing) {
      clean = true;
      break;
    }
  }
  watch->finish();
  bool cut;
  {
    std::lock_guard lock(st->mu);
    cut = st->cut_off;
  }
  if (cut)
    log::warn("streamed response cut off: the client fell too far behind",
              {{"request_id", req.request_id}, {"max_queued_bytes", static_cast<std::int64_t>(st->opts.max_queued_bytes)}});
  else if (!clean)
    log::info("client went away from a streamed response", {{"request_id", req.request_id}});
  co_return clean && keep_alive;
}

template Task<bool> send_stream<TcpStream>(TcpStream&, const Request&, Response&, bool, const Settings&, ConnTrack&,
                                           bool);
template Task<bool> send_stream<TlsStream>(TlsStream&, const Request&, Response&, bool, const Settings&, ConnTrack&,
                                           bool);

}  // namespace pc::net::detail

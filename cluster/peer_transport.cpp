#include "cluster/peer_transport.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <cerrno>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "common/assert.hpp"
#include "common/prng.hpp"

namespace seatd::cluster {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using frame_bytes = std::vector<std::uint8_t>;

constexpr std::size_t read_chunk_bytes = 64u << 10;

// Fresh, unpredictable bytes from the kernel: a handshake nonce or the backoff's seed.
template <std::size_t N>
std::array<std::uint8_t, N> random_bytes() {
  std::array<std::uint8_t, N> bytes{};
  std::size_t have = 0;
  while (have < N) {
    const ssize_t got = ::getrandom(bytes.data() + have, N - have, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    have += static_cast<std::size_t>(got);
  }
  return bytes;
}

std::string peer_label(const std::string& name) {
  return "peer=\"" + name + "\"";
}

std::string describe(const error_code& ec) {
  return ec == asio::error::eof ? std::string("closed by the other end") : ec.message();
}

// Writes frames one batch at a time, in order, with a deadline per batch. Owned by one
// connection; all calls on the transport's thread.
struct frame_writes {
  std::deque<frame_bytes> queue;
  bool writing = false;
};

}  // namespace

struct outbound;
struct inbound;

struct peer_transport::impl : std::enable_shared_from_this<peer_transport::impl> {
  impl(peer_transport_config c, peer_frame_handler h, common::metrics_registry& m);

  void accept();
  void log_inbound_failure(const std::string& what);
  // A member as logs and metric labels show it: its name, or its id when it has none.
  std::string name_of(raft::node_id id) const {
    const auto found = config.names.find(id);
    return found == config.names.end() ? std::to_string(id) : found->second;
  }

  peer_transport_config config;
  peer_frame_handler handler;
  asio::io_context io;  // first, so that it outlives the sockets below
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<bool> stopping{false};
  bool started = false;
  std::map<raft::node_id, std::shared_ptr<outbound>> out;  // fixed after construction
  std::map<raft::node_id, std::weak_ptr<inbound>> in;      // the transport's thread only
  std::vector<std::weak_ptr<inbound>> pending;             // not yet proven
  std::size_t handshaking = 0;
  common::splitmix64 jitter{0};
  std::chrono::steady_clock::time_point last_inbound_log{};
  std::uint64_t unlogged_inbound_failures = 0;

  common::counter& accept_failures;
  common::counter& refused_busy;
};

// Our connection to one member: dialled, authenticated, then written to.
struct outbound : std::enable_shared_from_this<outbound> {
  outbound(peer_transport::impl& o, raft::node_id peer_id, common::host_port addr,
           common::metrics_registry& m)
      : owner(o),
        id(peer_id),
        address(std::move(addr)),
        socket(o.io),
        resolver(o.io),
        timer(o.io),
        reader(peer::handshake_frame_bytes_max),
        backoff(o.config.reconnect_min),
        connected_gauge(m.gauge_for("seatd_peer_connected",
                                    "1 while this node's connection to the peer is "
                                    "authenticated",
                                    peer_label(o.name_of(peer_id)))),
        sent_frames(m.counter_for("seatd_peer_sent_frames_total", "Frames written to the peer",
                                  peer_label(o.name_of(peer_id)))),
        sent_bytes(m.counter_for("seatd_peer_sent_bytes_total", "Bytes written to the peer",
                                 peer_label(o.name_of(peer_id)))),
        dropped_disconnected(
            m.counter_for("seatd_peer_dropped_frames_total",
                          "Frames not sent: the peer was not connected, or its queue was full",
                          peer_label(o.name_of(peer_id)) + ",reason=\"disconnected\"")),
        dropped_full(m.counter_for("seatd_peer_dropped_frames_total", "",
                                   peer_label(o.name_of(peer_id)) + ",reason=\"queue_full\"")),
        connect_failures(m.counter_for("seatd_peer_connect_failures_total",
                                       "Connections to the peer that failed or ended",
                                       peer_label(o.name_of(peer_id)))),
        received_frames(m.counter_for("seatd_peer_received_frames_total",
                                      "Frames received from the peer",
                                      peer_label(o.name_of(peer_id)))) {}

  void dial();
  void on_connected();
  void read();
  void on_frames(std::vector<peer::frame> frames);
  void flush();
  void fail(const std::string& why);

  peer_transport::impl& owner;
  const raft::node_id id;
  common::host_port address;  // fixed once the transport starts
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer timer;  // the handshake's and the write's deadline, the backoff
  std::uint64_t generation = 0;
  std::optional<peer::connector_handshake> handshake;
  peer::frame_reader reader;
  std::array<std::uint8_t, 256> read_buffer{};  // the acceptor sends only its handshake
  std::chrono::milliseconds backoff;
  bool socket_ready = false;  // connected: frames may be written (the handshake's first)

  // Shared with send() on other threads.
  mutable std::mutex mutex;
  bool authenticated = false;
  bool receiving = false;  // the peer's connection to us (for status())
  std::deque<frame_bytes> queue;
  std::size_t queued_bytes = 0;
  bool flush_posted = false;
  bool writing = false;
  std::string last_error;
  bool logged_failure = false;

  common::gauge& connected_gauge;
  common::counter& sent_frames;
  common::counter& sent_bytes;
  common::counter& dropped_disconnected;
  common::counter& dropped_full;
  common::counter& connect_failures;
  common::counter& received_frames;
};

// A connection a peer dialled to us: handshake, then frames to the handler.
struct inbound : std::enable_shared_from_this<inbound> {
  inbound(peer_transport::impl& o, tcp::socket s)
      : owner(o),
        socket(std::move(s)),
        deadline(o.io),
        handshake(o.config.identity, random_bytes<16>()) {}

  void start();
  void read();
  void on_frames(std::vector<peer::frame> frames);
  void write(std::vector<frame_bytes> frames, bool then_close);
  void close(const std::string& why, bool failure);

  peer_transport::impl& owner;
  tcp::socket socket;
  asio::steady_timer deadline;
  peer::acceptor_handshake handshake;
  peer::frame_reader reader;
  std::vector<std::uint8_t> read_buffer = std::vector<std::uint8_t>(read_chunk_bytes);
  raft::node_id peer = raft::no_node;  // once proven
  bool closed = false;
  bool refusing = false;
  std::string remote;
};

peer_transport::impl::impl(peer_transport_config c, peer_frame_handler h,
                           common::metrics_registry& m)
    : config(std::move(c)),
      handler(std::move(h)),
      accept_failures(m.counter_for("seatd_peer_refused_connections_total",
                                    "Inbound peer connections closed before or after their "
                                    "handshake: wrong secret, shape or member, garbled or "
                                    "oversized frames, timeouts",
                                    "reason=\"handshake_or_frames\"")),
      refused_busy(m.counter_for("seatd_peer_refused_connections_total", "",
                                 "reason=\"too_many_handshaking\"")) {
  const auto seed = random_bytes<8>();
  std::uint64_t s = 0;
  for (const auto b : seed)
    s = (s << 8) | b;
  jitter = common::splitmix64(s);
  // The handshake admits identity.members; each of them but this node needs an address.
  for (const raft::node_id id : config.identity.members) {
    if (id == config.identity.self) continue;
    const auto address = config.members.find(id);
    if (address == config.members.end())
      throw std::invalid_argument("peer transport: no address for member " + std::to_string(id));
    out.emplace(id, std::make_shared<outbound>(*this, id, address->second, m));
  }
  if (out.size() != config.members.size() - config.members.count(config.identity.self))
    throw std::invalid_argument("peer transport: an address for a node that is not a member");
}

void peer_transport::impl::log_inbound_failure(const std::string& what) {
  // A scanner or a misconfigured node can fail handshakes in a loop: one line a second.
  const auto now = std::chrono::steady_clock::now();
  if (now - last_inbound_log < std::chrono::seconds(1)) {
    ++unlogged_inbound_failures;
    return;
  }
  spdlog::warn("msg=\"peer connection refused\" reason=\"{}\" suppressed_since_last={}", what,
               unlogged_inbound_failures);
  last_inbound_log = now;
  unlogged_inbound_failures = 0;
}

void peer_transport::impl::accept() {
  acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || self->stopping) return;
    if (!ec) {
      std::erase_if(self->pending, [](const auto& weak) { return weak.expired(); });
      if (self->handshaking >= self->config.handshaking_max) {
        self->refused_busy.add();
        self->log_inbound_failure("too many connections in their handshake");
        error_code ignored;
        socket.close(ignored);
      } else {
        auto connection = std::make_shared<inbound>(*self, std::move(socket));
        self->pending.push_back(connection);
        connection->start();
      }
    }
    self->accept();
  });
}

// ---- outbound -----------------------------------------------------------------------------

void outbound::dial() {
  if (owner.stopping) return;
  const std::uint64_t gen = ++generation;
  resolver.async_resolve(
      address.host, std::to_string(address.port),
      [self = shared_from_this(), gen](error_code ec, const tcp::resolver::results_type& found) {
        if (gen != self->generation) return;
        if (ec) return self->fail("cannot resolve " + self->address.host + ": " + ec.message());
        asio::async_connect(self->socket, found,
                            [self, gen](error_code connect_ec, const tcp::endpoint&) {
                              if (gen != self->generation) return;
                              if (connect_ec) return self->fail("connect: " + connect_ec.message());
                              self->on_connected();
                            });
      });
  timer.expires_after(owner.config.handshake_timeout);
  timer.async_wait([self = shared_from_this(), gen](error_code ec) {
    if (!ec && gen == self->generation && !self->authenticated)
      self->fail("no authenticated connection within the handshake deadline");
  });
}

void outbound::on_connected() {
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  reader = peer::frame_reader(peer::handshake_frame_bytes_max);
  handshake.emplace(owner.config.identity, id, random_bytes<16>());
  socket_ready = true;
  {
    std::lock_guard lock(mutex);
    for (auto& f : handshake->start().send) {
      queued_bytes += f.size();
      queue.push_back(std::move(f));
    }
  }
  flush();
  read();
}

void outbound::read() {
  const std::uint64_t gen = generation;
  socket.async_read_some(
      asio::buffer(read_buffer), [self = shared_from_this(), gen](error_code ec, std::size_t n) {
        if (gen != self->generation) return;
        if (ec) return self->fail("read: " + describe(ec));
        auto frames = self->reader.feed(std::span<const std::uint8_t>(self->read_buffer.data(), n));
        if (!frames) return self->fail("garbled reply: " + frames.error());
        self->on_frames(std::move(frames.value()));
        if (gen == self->generation) self->read();
      });
}

void outbound::on_frames(std::vector<peer::frame> frames) {
  for (const auto& f : frames) {
    bool was_authenticated = false;
    {
      std::lock_guard lock(mutex);
      was_authenticated = authenticated;
    }
    if (was_authenticated) return fail("a frame from the acceptor after the handshake");
    auto step = handshake->on_frame(f);
    if (step.state == peer::handshake_state::failed) return fail(step.error);
    if (step.state != peer::handshake_state::authenticated) continue;
    timer.cancel();
    backoff = owner.config.reconnect_min;
    {
      std::lock_guard lock(mutex);
      // The proof goes first; frames queued before now were dropped (not connected).
      for (auto it = step.send.rbegin(); it != step.send.rend(); ++it) {
        queued_bytes += it->size();
        queue.push_front(std::move(*it));
      }
      authenticated = true;
      last_error.clear();
      logged_failure = false;
    }
    connected_gauge.set(1);
    spdlog::info("msg=\"peer connected\" peer={} address={}:{}", owner.name_of(id), address.host,
                 address.port);
    flush();
  }
}

void outbound::flush() {
  auto batch = std::make_shared<std::vector<frame_bytes>>();
  std::size_t bytes = 0;
  {
    std::lock_guard lock(mutex);
    flush_posted = false;
    if (writing || !socket_ready || queue.empty()) return;
    writing = true;
    while (!queue.empty() && bytes < read_chunk_bytes * 16) {
      bytes += queue.front().size();
      batch->push_back(std::move(queue.front()));
      queue.pop_front();
    }
  }
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(batch->size());
  for (const auto& f : *batch)
    buffers.push_back(asio::buffer(f));
  const std::uint64_t gen = generation;
  bool deadline = false;
  {
    std::lock_guard lock(mutex);
    deadline = authenticated;  // before that, the handshake's deadline runs
  }
  if (deadline) {
    timer.expires_after(owner.config.write_timeout);
    timer.async_wait([self = shared_from_this(), gen](error_code ec) {
      if (!ec && gen == self->generation) self->fail("the peer did not read within the deadline");
    });
  }
  asio::async_write(
      socket, buffers,
      [self = shared_from_this(), gen, batch, bytes, deadline](error_code ec, std::size_t) {
        if (gen != self->generation) return;
        if (deadline) self->timer.cancel();
        if (ec) return self->fail("write: " + describe(ec));
        self->sent_frames.add(batch->size());
        self->sent_bytes.add(bytes);
        {
          std::lock_guard lock(self->mutex);
          self->writing = false;
          self->queued_bytes -= std::min(self->queued_bytes, bytes);
        }
        self->flush();
      });
}

void outbound::fail(const std::string& why) {
  ++generation;  // every pending handler of this connection is now stale
  error_code ignored;
  socket.close(ignored);
  resolver.cancel();
  timer.cancel();
  socket_ready = false;
  bool log = false;
  {
    std::lock_guard lock(mutex);
    log = authenticated || !logged_failure || why != last_error;
    dropped_disconnected.add(queue.size());
    queue.clear();
    queued_bytes = 0;
    writing = false;
    authenticated = false;
    last_error = why;
    logged_failure = true;
  }
  connected_gauge.set(0);
  if (owner.stopping) return;
  connect_failures.add();
  // Logged when something changed, not on every retry of the same failure.
  if (log)
    spdlog::warn("msg=\"peer connection failed\" peer={} address={}:{} reason=\"{}\"",
                 owner.name_of(id), address.host, address.port, why);
  const auto jittered = backoff / 2 + std::chrono::milliseconds(owner.jitter.below(
                                          static_cast<std::uint64_t>(backoff.count()) / 2 + 1));
  backoff = std::min(backoff * 2, owner.config.reconnect_max);
  const std::uint64_t gen = generation;
  timer.expires_after(jittered);
  timer.async_wait([self = shared_from_this(), gen](error_code ec) {
    if (!ec && gen == self->generation) self->dial();
  });
}

// ---- inbound ------------------------------------------------------------------------------

void inbound::start() {
  ++owner.handshaking;
  error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  remote = ec ? std::string("?")
              : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  socket.set_option(tcp::no_delay(true), ec);
  deadline.expires_after(owner.config.handshake_timeout);
  deadline.async_wait([self = shared_from_this()](error_code timer_ec) {
    if (!timer_ec && self->peer == raft::no_node) self->close("handshake deadline passed", true);
  });
  read();
}

void inbound::read() {
  if (closed || refusing) return;
  socket.async_read_some(
      asio::buffer(read_buffer), [self = shared_from_this()](error_code ec, std::size_t n) {
        if (self->closed) return;
        if (ec) return self->close("read: " + describe(ec), self->peer == raft::no_node);
        auto frames = self->reader.feed(std::span<const std::uint8_t>(self->read_buffer.data(), n));
        if (!frames) return self->close("garbled: " + frames.error(), true);
        self->on_frames(std::move(frames.value()));
        self->read();
      });
}

void inbound::on_frames(std::vector<peer::frame> frames) {
  for (auto& f : frames) {
    if (closed) return;
    if (peer != raft::no_node) {
      if (!peer::after_handshake(f.kind))
        return close(
            std::string("a ") + peer::frame_kind_name(f.kind) + " frame after the handshake", true);
      owner.out.at(peer)->received_frames.add();
      owner.handler(peer, std::move(f));
      continue;
    }
    auto step = handshake.on_frame(f);
    if (step.state == peer::handshake_state::failed) {
      owner.log_inbound_failure(step.error + " (from " + remote + ")");
      owner.accept_failures.add();
      refusing = true;  // read no further: answer (if there is an answer) and close
      write(std::move(step.send), true);
      return;
    }
    write(std::move(step.send), false);
    if (step.state != peer::handshake_state::authenticated) continue;
    peer = step.peer;
    --owner.handshaking;
    deadline.cancel();
    reader.set_limit(peer::frame_bytes_max);
    // One connection per peer: a newer one (the peer restarted) replaces the old.
    if (auto previous = owner.in[peer].lock())
      previous->close("replaced by a newer connection", false);
    owner.in[peer] = shared_from_this();
    {
      auto& o = *owner.out.at(peer);
      std::lock_guard lock(o.mutex);
      o.receiving = true;
    }
    spdlog::info("msg=\"peer accepted\" peer={} from={}", owner.name_of(peer), remote);
  }
}

void inbound::write(std::vector<frame_bytes> frames, bool then_close) {
  if (frames.empty()) {
    if (then_close) close("handshake failed", false);
    return;
  }
  auto held = std::make_shared<std::vector<frame_bytes>>(std::move(frames));
  std::vector<asio::const_buffer> buffers;
  for (const auto& f : *held)
    buffers.push_back(asio::buffer(f));
  // Handshake frames are a few dozen bytes: the socket buffer takes them at once, and the
  // handshake deadline bounds a caller that never reads.
  asio::async_write(socket, buffers,
                    [self = shared_from_this(), held, then_close](error_code ec, std::size_t) {
                      if (self->closed) return;
                      if (ec) return self->close("write: " + describe(ec), false);
                      if (then_close) self->close("handshake failed", false);
                    });
}

void inbound::close(const std::string& why, bool failure) {
  if (closed) return;
  closed = true;
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  deadline.cancel();
  if (peer == raft::no_node) {
    --owner.handshaking;
    if (failure) {
      owner.accept_failures.add();
      owner.log_inbound_failure(why + " (from " + remote + ")");
    }
    return;
  }
  if (failure) owner.accept_failures.add();
  auto it = owner.in.find(peer);
  if (it != owner.in.end() && it->second.lock().get() == this) {
    owner.in.erase(it);
    auto& o = *owner.out.at(peer);
    std::lock_guard lock(o.mutex);
    o.receiving = false;
  }
  if (!owner.stopping) {
    spdlog::warn("msg=\"peer connection from {} ended\" peer={} reason=\"{}\"", remote,
                 owner.name_of(peer), why);
    if (owner.config.on_peer_lost) owner.config.on_peer_lost(peer);
  }
}

// ---- the facade ---------------------------------------------------------------------------

peer_transport::peer_transport(peer_transport_config config, peer_frame_handler handler,
                               common::metrics_registry& metrics)
    : impl_(std::make_shared<impl>(std::move(config), std::move(handler), metrics)) {
  const tcp::endpoint endpoint(asio::ip::make_address(impl_->config.listen.host),
                               impl_->config.listen.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
}

peer_transport::~peer_transport() {
  stop();
}

std::uint16_t peer_transport::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void peer_transport::set_address(raft::node_id member, common::host_port address) {
  SEATD_ASSERT(!impl_->started, "set_address after start");
  impl_->out.at(member)->address = std::move(address);
}

void peer_transport::start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->accept();
  for (auto& [id, o] : impl_->out)
    o->dial();
  impl_->thread = std::thread([impl = impl_] {
    pthread_setname_np(pthread_self(), "seatd-peers");
    impl->io.run();
  });
}

void peer_transport::stop() {
  if (!impl_->started || impl_->stopping.exchange(true)) return;
  asio::post(impl_->io, [impl = impl_] {
    error_code ignored;
    impl->acceptor.close(ignored);
    for (auto& [id, o] : impl->out)
      o->fail("stopping");
    for (auto& weak : impl->pending)
      if (auto c = weak.lock()) c->close("stopping", false);
    for (auto& [id, weak] : impl->in)
      if (auto c = weak.lock()) c->close("stopping", false);
  });
  impl_->thread.join();
}

bool peer_transport::send(raft::node_id to, peer::frame_kind kind,
                          std::span<const std::uint8_t> body) {
  const auto it = impl_->out.find(to);
  if (it == impl_->out.end()) return false;
  outbound& o = *it->second;
  frame_bytes frame = peer::encode_frame(kind, body);
  std::lock_guard lock(o.mutex);
  if (!o.authenticated) {
    o.dropped_disconnected.add();
    return false;
  }
  if (o.queued_bytes + frame.size() > impl_->config.queue_bytes_max) {
    o.dropped_full.add();
    return false;
  }
  o.queued_bytes += frame.size();
  o.queue.push_back(std::move(frame));
  if (!o.flush_posted) {
    o.flush_posted = true;
    asio::post(impl_->io, [self = it->second] { self->flush(); });
  }
  return true;
}

bool peer_transport::sending_to(raft::node_id member) const {
  const auto found = impl_->out.find(member);
  if (found == impl_->out.end()) return false;
  std::lock_guard lock(found->second->mutex);
  return found->second->authenticated;
}

std::vector<peer_status> peer_transport::status() const {
  std::vector<peer_status> all;
  for (const auto& [id, o] : impl_->out) {
    std::lock_guard lock(o->mutex);
    all.push_back(peer_status{id, o->address.host + ":" + std::to_string(o->address.port),
                              o->authenticated, o->receiving, o->last_error, o->queued_bytes});
  }
  return all;
}

}  // namespace seatd::cluster

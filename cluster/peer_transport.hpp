#pragma once
// The peer transport: authenticated TCP connections between seatd nodes (Asio), a thin shell
// around cluster/peer_codec.hpp and cluster/peer_handshake.hpp.
//
// Each node dials every other member once and sends on that connection only; it receives on
// the connections the others dial to it. So every ordered pair of nodes has one connection,
// frames between them arrive in the order sent, and nothing needs to decide which of two
// simultaneous dials wins. A connection carries frames only after both ends have proven the
// cluster secret; a peer is known by the id it proved, never by its address.
//
// Raft tolerates lost messages, so the transport never blocks its caller: send() queues a
// frame for a connected peer, within a byte bound per peer, and drops it otherwise, counting
// why. A broken connection is dialled again with exponential backoff and jitter.
//
// Limits, each tested: 4 KiB frames and a deadline until the handshake ends, then 16 MiB
// frames; a cap on connections still in their handshake; a write deadline, so a peer that
// stops reading is disconnected rather than buffered for; one inbound connection per peer
// (a newer one, after a restart, replaces it). Frames arrive on the transport's own thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/peer_handshake.hpp"
#include "common/host_port.hpp"
#include "common/metrics.hpp"

namespace seatd::cluster {

struct peer_transport_config {
  peer::handshake_identity identity;
  common::host_port listen;                            // port 0: any free port
  std::map<raft::node_id, common::host_port> members;  // the others' peer addresses
  std::map<raft::node_id, std::string> names;          // for logs and metric labels (else the id)
  std::size_t queue_bytes_max = 64u << 20;             // per peer, frames waiting to be written
  std::size_t handshaking_max = 64;                    // inbound connections not yet proven
  std::chrono::milliseconds handshake_timeout{5'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2'000};
  // Called on the transport's thread when a member's authenticated connection to this node
  // ends (it stopped, crashed or was cut off): whatever it still owed on that connection
  // will not come.
  std::function<void(raft::node_id)> on_peer_lost;
};

// A frame from a proven peer: called on the transport's thread, in the order the peer sent.
using peer_frame_handler = std::function<void(raft::node_id from, peer::frame)>;

struct peer_status {
  raft::node_id id = raft::no_node;
  std::string address;
  bool sending = false;    // our connection to it is authenticated
  bool receiving = false;  // its connection to us is authenticated
  std::string last_error;  // why the last connection to it failed or ended, if one did
  std::size_t queued_bytes = 0;
};

class peer_transport {
 public:
  // Binds the listener (throws std::system_error if it cannot: a startup error).
  peer_transport(peer_transport_config config, peer_frame_handler handler,
                 common::metrics_registry& metrics);
  ~peer_transport();  // stop()
  peer_transport(const peer_transport&) = delete;
  peer_transport& operator=(const peer_transport&) = delete;

  std::uint16_t port() const;  // the bound peer port
  // Before start(): where a member listens, when it was not known at construction (nodes
  // that bind port 0 and learn each other's ports, as the tests do).
  void set_address(raft::node_id member, common::host_port address);
  void start();  // the transport's thread: accepts and dials
  void stop();   // closes every connection and joins the thread; idempotent

  // Any thread. False when the frame was dropped: the peer is not connected, unknown, or
  // its queue is full.
  bool send(raft::node_id to, peer::frame_kind kind, std::span<const std::uint8_t> body);

  std::vector<peer_status> status() const;  // any thread
  // Our connection to the member is authenticated (sends can reach it). Any thread.
  bool sending_to(raft::node_id member) const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace seatd::cluster

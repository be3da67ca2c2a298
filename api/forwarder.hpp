#pragma once
// Forwarding a gateway request to the leader of its event's shard over the peer link, and
// serving what other nodes forward here. A shell: it sends peer frames (forward_request,
// forward_response in cluster/peer_codec.hpp), keeps the requests waiting for their answer,
// and reports a failure for one whose leader cannot be reached or does not answer in time
// (the router answers it 503), so a forwarded request never hangs. The leader's answer is
// relayed unchanged.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cluster/peer_codec.hpp"
#include "common/http_server.hpp"
#include "common/metrics.hpp"

namespace boost::asio {
class io_context;
}

namespace seatd::api {

class forwarder {
 public:
  // Sends a frame to a peer; false when it was dropped (not connected, queue full).
  using send_fn = std::function<bool(cluster::raft::node_id to, cluster::peer::frame_kind kind,
                                     std::span<const std::uint8_t> body)>;
  using answer_fn = std::function<void(common::http_answer)>;
  // Why no answer came from the leader; called instead of the answer_fn, once. `sent`: the
  // request may have reached the leader (when not, nothing changed).
  using failure_fn = std::function<void(const std::string& why, bool sent)>;

  forwarder(boost::asio::io_context& io, send_fn send, std::chrono::milliseconds timeout,
            common::metrics_registry& metrics);
  ~forwarder();
  forwarder(const forwarder&) = delete;
  forwarder& operator=(const forwarder&) = delete;

  // Sends the request to `leader`; `done` gets the leader's answer, or `failed` is told why
  // none will come (it could not be sent, no answer within the timeout, the node stops).
  // Exactly one of them runs, once. Any thread.
  void forward(cluster::raft::node_id leader, const common::http_request& request, answer_fn done,
               failure_fn failed);
  // The member's connection to this node ended: the requests forwarded to it will get no
  // answer on it; each fails now (its outcome unknown) rather than at its timeout.
  void peer_lost(cluster::raft::node_id member);
  // Runs `run` after `delay` on the io_context's threads (not at all if it stops first).
  void after(std::chrono::milliseconds delay, std::function<void()> run);
  // A forward_response frame from `from` (the transport's thread).
  void on_response(cluster::raft::node_id from, std::span<const std::uint8_t> body);
  // A forward_request frame from `from`: served by `serve` (the router), its answer sent
  // back to `from`.
  void on_request(cluster::raft::node_id from, std::span<const std::uint8_t> body,
                  const common::request_handler& serve);

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace seatd::api

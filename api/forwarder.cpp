#include "api/forwarder.hpp"

#include <utility>  // before Boost.Asio under C++20 (docs/decisions/0001)
// clang-format off
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
// clang-format on
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace seatd::api {
namespace {

namespace peer = cluster::peer;

}  // namespace

struct forwarder::impl : std::enable_shared_from_this<forwarder::impl> {
  struct waiting {
    cluster::raft::node_id to = cluster::raft::no_node;
    answer_fn done;
    failure_fn failed;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  impl(boost::asio::io_context& context, send_fn sender, std::chrono::milliseconds limit,
       common::metrics_registry& m)
      : io(context),
        send(std::move(sender)),
        timeout(limit),
        answered(m.counter_for("seatd_forwarded_requests_total",
                               "Requests forwarded to their shard's leader, by outcome",
                               "outcome=\"answered\"")),
        unreachable(m.counter_for("seatd_forwarded_requests_total", "", "outcome=\"unreachable\"")),
        timed_out(m.counter_for("seatd_forwarded_requests_total", "", "outcome=\"timeout\"")),
        lost(m.counter_for("seatd_forwarded_requests_total", "", "outcome=\"lost\"")),
        served(m.counter_for("seatd_forwarded_served_total",
                             "Requests other nodes forwarded here, served")),
        dropped(m.counter_for("seatd_forwarded_dropped_total",
                              "Forward frames that did not decode, or answered nothing waiting")) {}

  // Takes the waiting request `id` out, if it is still there (an answer and a timeout race).
  std::optional<waiting> take(std::uint64_t id, cluster::raft::node_id from) {
    std::lock_guard lock(mutex);
    const auto found = pending.find(id);
    if (found == pending.end() || (from != cluster::raft::no_node && found->second.to != from))
      return std::nullopt;
    waiting w = std::move(found->second);
    if (w.timer) w.timer->cancel();
    pending.erase(found);
    return w;
  }

  boost::asio::io_context& io;
  send_fn send;
  std::chrono::milliseconds timeout;
  std::mutex mutex;
  std::unordered_map<std::uint64_t, waiting> pending;
  std::uint64_t next_id = 1;
  common::counter& answered;
  common::counter& unreachable;
  common::counter& timed_out;
  common::counter& lost;
  common::counter& served;
  common::counter& dropped;
};

forwarder::forwarder(boost::asio::io_context& io, send_fn send, std::chrono::milliseconds timeout,
                     common::metrics_registry& metrics)
    : impl_(std::make_shared<impl>(io, std::move(send), timeout, metrics)) {}

forwarder::~forwarder() {
  // Whatever still waits is answered now: the node is stopping.
  std::unordered_map<std::uint64_t, impl::waiting> left;
  {
    std::lock_guard lock(impl_->mutex);
    left.swap(impl_->pending);
  }
  for (auto& [id, w] : left) {
    if (w.timer) w.timer->cancel();
    w.failed("the node is stopping; the outcome is unknown", true);
  }
}

void forwarder::forward(cluster::raft::node_id leader, const common::http_request& request,
                        answer_fn done, failure_fn failed) {
  peer::forward_request m{0,
                          request.method,
                          request.target,
                          request.authorization,
                          request.request_id,
                          request.content_type,
                          request.customer_id,
                          request.idempotency_key,
                          request.body};
  auto timer = std::make_unique<boost::asio::steady_timer>(impl_->io, impl_->timeout);
  boost::asio::steady_timer* armed = timer.get();
  {
    std::lock_guard lock(impl_->mutex);
    m.id = impl_->next_id++;
    impl_->pending.emplace(
        m.id, impl::waiting{leader, std::move(done), std::move(failed), std::move(timer)});
    // Armed under the lock, so that an answer cannot take (and free) the timer first.
    armed->async_wait(
        [weak = std::weak_ptr<impl>(impl_), id = m.id](const boost::system::error_code& ec) {
          if (ec) return;
          auto self = weak.lock();
          if (!self) return;
          if (auto late = self->take(id, cluster::raft::no_node)) {
            self->timed_out.add();
            late->failed("the shard's leader did not answer in time; the outcome is unknown", true);
          }
        });
  }
  if (!impl_->send(leader, peer::frame_kind::forward_request, peer::encode(m))) {
    if (auto refused = impl_->take(m.id, cluster::raft::no_node)) {
      impl_->unreachable.add();
      refused->failed("the shard's leader is not reachable from this node; retry", false);
    }
  }
}

void forwarder::peer_lost(cluster::raft::node_id member) {
  std::vector<impl::waiting> orphans;
  {
    std::lock_guard lock(impl_->mutex);
    for (auto it = impl_->pending.begin(); it != impl_->pending.end();) {
      if (it->second.to != member) {
        ++it;
        continue;
      }
      orphans.push_back(std::move(it->second));
      it = impl_->pending.erase(it);
    }
  }
  for (auto& w : orphans) {
    if (w.timer) w.timer->cancel();
    impl_->lost.add();
    w.failed("the shard's leader went away before it answered; the outcome is unknown", true);
  }
}

void forwarder::after(std::chrono::milliseconds delay, std::function<void()> run) {
  auto timer = std::make_shared<boost::asio::steady_timer>(impl_->io, delay);
  timer->async_wait([timer, run = std::move(run)](const boost::system::error_code& ec) {
    if (!ec) run();
  });
}

void forwarder::on_response(cluster::raft::node_id from, std::span<const std::uint8_t> body) {
  auto m = peer::decode_forward_response(body);
  auto waiting = m ? impl_->take(m.value().id, from) : std::nullopt;
  if (!waiting) {
    impl_->dropped.add();
    return;
  }
  impl_->answered.add();
  common::http_answer a;
  a.status = m.value().status;
  a.content_type = std::move(m.value().content_type);
  a.headers = std::move(m.value().headers);
  a.body = std::move(m.value().body);
  waiting->done(std::move(a));
}

void forwarder::on_request(cluster::raft::node_id from, std::span<const std::uint8_t> body,
                           const common::request_handler& serve) {
  auto m = peer::decode_forward_request(body);
  if (!m) {
    impl_->dropped.add();
    return;
  }
  impl_->served.add();
  peer::forward_request& f = m.value();
  common::http_request request;
  request.method = std::move(f.method);
  request.target = std::move(f.target);
  request.body = std::move(f.body);
  request.authorization = std::move(f.authorization);
  request.request_id = std::move(f.request_id);
  request.content_type = std::move(f.content_type);
  request.customer_id = std::move(f.customer_id);
  request.idempotency_key = std::move(f.idempotency_key);
  request.forwarded = true;
  serve(std::move(request), [send = impl_->send, from, id = f.id](common::http_answer a) {
    const peer::forward_response answer{id, static_cast<std::uint16_t>(a.status),
                                        std::move(a.content_type), std::move(a.headers),
                                        std::move(a.body)};
    send(from, peer::frame_kind::forward_response, peer::encode(answer));
  });
}

}  // namespace seatd::api

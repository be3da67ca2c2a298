#include "cluster/outbox_queue.hpp"

#include <algorithm>

namespace seatd::cluster {

void outbox_queue::add(storage::outbox_record record, std::int64_t now_us) {
  const std::uint64_t ticket = next_ticket_++;
  slots_.emplace(ticket, slot{std::move(record), now_us, state::waiting});
  waiting_.push_back(ticket);
}

std::vector<outbox_queue::sendable> outbox_queue::take(std::size_t in_flight_max,
                                                       std::int64_t now_us) {
  if (!failed_.empty()) {
    // Nothing goes out while a failure is pending: once everything in flight has reported,
    // the failed records (all older than anything waiting) go back in front, in order.
    if (in_flight_ > 0) return {};
    std::sort(failed_.begin(), failed_.end());
    for (auto it = failed_.rbegin(); it != failed_.rend(); ++it) {
      slots_.at(*it).at = state::waiting;
      waiting_.push_front(*it);
    }
    failed_.clear();
    const auto doublings = std::min<std::uint64_t>(failures_in_a_row_ - 1, 20);
    resume_at_us_ = now_us + std::min(backoff_max_us, backoff_min_us << doublings);
  }
  if (now_us < resume_at_us_) return {};
  std::vector<sendable> out;
  while (in_flight_ < in_flight_max && !waiting_.empty()) {
    const std::uint64_t ticket = waiting_.front();
    waiting_.pop_front();
    slot& s = slots_.at(ticket);
    s.at = state::in_flight;
    ++in_flight_;
    out.push_back({ticket, &s.record});
  }
  return out;
}

std::optional<outbox_queue::delivery> outbox_queue::delivered(std::uint64_t ticket,
                                                              std::int64_t now_us) {
  const auto it = slots_.find(ticket);
  if (it == slots_.end() || it->second.at != state::in_flight) return std::nullopt;
  delivery d{{it->second.record.event_id, it->second.record.seq}, now_us - it->second.added_us};
  slots_.erase(it);
  --in_flight_;
  // A success while failures wait to be resent does not end the run of failures.
  if (failed_.empty()) failures_in_a_row_ = 0;
  return d;
}

void outbox_queue::failed(std::uint64_t ticket, std::int64_t /*now_us*/) {
  const auto it = slots_.find(ticket);
  if (it == slots_.end() || it->second.at != state::in_flight) return;
  it->second.at = state::failed;
  --in_flight_;
  failed_.push_back(ticket);
  ++failures_in_a_row_;
}

std::optional<std::int64_t> outbox_queue::oldest_added_us() const {
  if (slots_.empty()) return std::nullopt;
  return slots_.begin()->second.added_us;
}

}  // namespace seatd::cluster

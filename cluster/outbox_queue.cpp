#include "cluster/outbox_queue.hpp"

#include <algorithm>

namespace seatd::cluster {

void outbox_queue::add(storage::outbox_record record, std::int64_t now_us) {
  const std::uint64_t ticket = next_ticket_++;
  by_event_[record.event_id].push_back(ticket);
  slots_.emplace(ticket, slot{std::move(record), now_us, state::waiting});
  waiting_.insert(ticket);
}

std::vector<outbox_queue::sendable> outbox_queue::take(std::size_t in_flight_max,
                                                       std::int64_t now_us) {
  if (!first_failed_.empty()) {
    // Nothing goes out while a failure is pending. Once everything in flight has reported,
    // each failed record and every later record of its event (delivered or not) wait again;
    // tickets are in commit order, so they go out before anything newer.
    if (in_flight_ > 0) return {};
    for (const auto& [event_id, first] : first_failed_)
      for (const std::uint64_t ticket : by_event_.at(event_id)) {
        slot& s = slots_.at(ticket);
        if (ticket < first || s.at == state::waiting) continue;
        s.at = state::waiting;
        waiting_.insert(ticket);
      }
    first_failed_.clear();
    const auto doublings = std::min<std::uint64_t>(failures_in_a_row_ - 1, 20);
    resume_at_us_ = now_us + std::min(backoff_max_us, backoff_min_us << doublings);
  }
  if (now_us < resume_at_us_) return {};
  std::vector<sendable> out;
  while (in_flight_ < in_flight_max && !waiting_.empty()) {
    const std::uint64_t ticket = *waiting_.begin();
    waiting_.erase(waiting_.begin());
    slot& s = slots_.at(ticket);
    s.at = state::in_flight;
    ++in_flight_;
    out.push_back({ticket, &s.record});
  }
  return out;
}

std::vector<outbox_queue::delivery> outbox_queue::delivered(std::uint64_t ticket,
                                                            std::int64_t now_us) {
  const auto it = slots_.find(ticket);
  if (it == slots_.end() || it->second.at != state::in_flight) return {};
  it->second.at = state::delivered;
  --in_flight_;
  // A success while a failed round waits to be resent does not end the run of failures.
  if (first_failed_.empty()) failures_in_a_row_ = 0;
  // Settle the event's delivered prefix (a failed record stops it: what follows is resent).
  std::vector<delivery> settled;
  const auto event = by_event_.find(it->second.record.event_id);
  auto& tickets = event->second;
  while (!tickets.empty()) {
    const auto front = slots_.find(tickets.front());
    if (front->second.at != state::delivered) break;
    const auto& r = front->second.record;
    settled.push_back({{r.event_id, r.seq}, now_us - front->second.added_us});
    slots_.erase(front);
    tickets.pop_front();
  }
  if (tickets.empty()) by_event_.erase(event);
  return settled;
}

void outbox_queue::failed(std::uint64_t ticket) {
  const auto it = slots_.find(ticket);
  if (it == slots_.end() || it->second.at != state::in_flight) return;
  it->second.at = state::failed;
  --in_flight_;
  if (first_failed_.empty()) ++failures_in_a_row_;  // rounds, not records
  const auto [first, fresh] = first_failed_.emplace(it->second.record.event_id, ticket);
  if (!fresh) first->second = std::min(first->second, ticket);
}

void outbox_queue::abandon_in_flight() {
  std::vector<std::uint64_t> in_flight;
  for (const auto& [ticket, s] : slots_)
    if (s.at == state::in_flight) in_flight.push_back(ticket);
  for (const auto ticket : in_flight)
    failed(ticket);
}

std::size_t outbox_queue::drop_events(const std::function<bool(const std::string&)>& which) {
  std::size_t dropped = 0;
  for (auto event = by_event_.begin(); event != by_event_.end();) {
    if (!which(event->first)) {
      ++event;
      continue;
    }
    for (const std::uint64_t ticket : event->second) {
      const auto it = slots_.find(ticket);
      if (it->second.at == state::in_flight) --in_flight_;
      waiting_.erase(ticket);
      slots_.erase(it);
      ++dropped;
    }
    first_failed_.erase(event->first);
    event = by_event_.erase(event);
  }
  return dropped;
}

std::optional<std::int64_t> outbox_queue::oldest_added_us() const {
  if (slots_.empty()) return std::nullopt;
  return slots_.begin()->second.added_us;
}

}  // namespace seatd::cluster

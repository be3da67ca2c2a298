#pragma once
// Idempotency keys of one event: key -> the request's fingerprint and what the first
// answer was, kept for a retention window measured in command stamps (never a clock) and
// bounded in count (the oldest key goes first when full). Part of the replicated state, so
// a replay answers the same after failover and restart.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seatd::actors {

// Enough to rebuild the first answer: which hold it was about (a confirm's and a cancel's:
// the reservation's hold; none for block and unblock), the expiry it showed, and for block
// and unblock the state each seat of the answer had (a seat_state per byte, answer order).
struct idempotency_outcome {
  enum class kind : std::uint8_t {
    hold = 1,
    confirm = 2,
    extend = 3,
    release = 4,
    cancel = 5,
    block = 6,
    unblock = 7
  };
  static constexpr std::uint8_t kind_max = 7;
  kind op = kind::hold;
  std::uint32_t hold = 0;
  std::int64_t expires_at_ms = 0;
  std::string seat_states{};
  bool operator==(const idempotency_outcome&) const = default;
  // The keys whose answer shows a hold: they keep it from being forgotten while they last.
  bool pins_hold() const { return op == kind::hold || op == kind::extend || op == kind::release; }
};

class idempotency_ledger {
 public:
  enum class verdict { fresh, replay, reused };
  struct lookup {
    verdict answer;
    idempotency_outcome outcome;
  };
  struct entry {
    std::uint64_t fingerprint;
    std::int64_t stamp_ms;
    idempotency_outcome outcome;
  };

  idempotency_ledger(std::int64_t retention_ms, std::size_t keys_max)
      : retention_ms_(retention_ms), keys_max_(keys_max) {}
  // order_ points into by_key_'s nodes: a copy rebuilds it over its own nodes (a member-wise
  // copy would point into the original). Moving keeps the nodes where they are.
  idempotency_ledger(const idempotency_ledger& other);
  idempotency_ledger& operator=(const idempotency_ledger& other);
  idempotency_ledger(idempotency_ledger&&) = default;
  idempotency_ledger& operator=(idempotency_ledger&&) = default;

  lookup check(std::string_view key, std::uint64_t fingerprint) const;
  // Stamps must not decrease (the event machine clamps its clock). Returns the outcome of
  // the oldest key when it had to be forgotten early to make room.
  std::optional<idempotency_outcome> remember(std::string key, std::uint64_t fingerprint,
                                              std::int64_t stamp_ms, idempotency_outcome outcome);
  // Forgets keys whose retention has passed at now_ms; returns their outcomes.
  std::vector<idempotency_outcome> forget_expired(std::int64_t now_ms);

  std::size_t size() const { return by_key_.size(); }
  // When the oldest key is forgotten by time; nullopt without keys.
  std::optional<std::int64_t> next_forget_ms() const {
    if (order_.empty()) return std::nullopt;
    return order_.front()->second.stamp_ms + retention_ms_;
  }
  std::uint64_t evicted_early() const { return evicted_early_; }
  std::size_t memory_bytes() const;

  // Oldest first, for snapshots.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (const auto* node : order_)
      visit(node->first, node->second);
  }

 private:
  using map = std::unordered_map<std::string, entry>;
  idempotency_outcome forget_oldest();

  std::int64_t retention_ms_;
  std::size_t keys_max_;
  map by_key_;
  std::deque<const map::value_type*> order_;  // node pointers survive rehashing
  std::uint64_t evicted_early_ = 0;
};

}  // namespace seatd::actors

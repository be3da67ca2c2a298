#include "actors/idempotency_ledger.hpp"

#include "common/assert.hpp"

namespace seatd::actors {

idempotency_ledger::idempotency_ledger(const idempotency_ledger& other)
    : retention_ms_(other.retention_ms_),
      keys_max_(other.keys_max_),
      by_key_(other.by_key_),
      evicted_early_(other.evicted_early_) {
  for (const auto* node : other.order_)
    order_.push_back(&*by_key_.find(node->first));
}

idempotency_ledger& idempotency_ledger::operator=(const idempotency_ledger& other) {
  if (this != &other) *this = idempotency_ledger(other);
  return *this;
}

idempotency_ledger::lookup idempotency_ledger::check(std::string_view key,
                                                     std::uint64_t fingerprint) const {
  const auto it = by_key_.find(std::string(key));
  if (it == by_key_.end()) return {verdict::fresh, {}};
  if (it->second.fingerprint != fingerprint) return {verdict::reused, it->second.outcome};
  return {verdict::replay, it->second.outcome};
}

std::optional<idempotency_outcome> idempotency_ledger::remember(std::string key,
                                                                std::uint64_t fingerprint,
                                                                std::int64_t stamp_ms,
                                                                idempotency_outcome outcome) {
  SEATD_ASSERT(order_.empty() || order_.back()->second.stamp_ms <= stamp_ms,
               "stamps went backwards");
  SEATD_ASSERT(keys_max_ > 0, "idempotency ledger without room");
  std::optional<idempotency_outcome> evicted;
  if (by_key_.size() >= keys_max_) {
    evicted = forget_oldest();
    ++evicted_early_;
  }
  const auto [it, inserted] =
      by_key_.emplace(std::move(key), entry{fingerprint, stamp_ms, outcome});
  SEATD_ASSERT(inserted, "idempotency key remembered twice");
  order_.push_back(&*it);
  return evicted;
}

std::vector<idempotency_outcome> idempotency_ledger::forget_expired(std::int64_t now_ms) {
  std::vector<idempotency_outcome> forgotten;
  while (!order_.empty() && order_.front()->second.stamp_ms + retention_ms_ <= now_ms)
    forgotten.push_back(forget_oldest());
  return forgotten;
}

idempotency_outcome idempotency_ledger::forget_oldest() {
  const auto it = by_key_.find(order_.front()->first);
  SEATD_ASSERT(it != by_key_.end(), "idempotency order names a missing key");
  const idempotency_outcome outcome = it->second.outcome;
  order_.pop_front();
  by_key_.erase(it);
  return outcome;
}

std::size_t idempotency_ledger::memory_bytes() const {
  std::size_t bytes = by_key_.bucket_count() * sizeof(void*) + order_.size() * sizeof(void*);
  for (const auto& [key, value] : by_key_)
    bytes +=
        sizeof(map::value_type) + 2 * sizeof(void*) +
        (key.capacity() > 15 ? key.capacity() + 1 : 0) +
        (value.outcome.seat_states.capacity() > 15 ? value.outcome.seat_states.capacity() + 1 : 0);
  return bytes;
}

}  // namespace seatd::actors

#include "actors/customer_ledger.hpp"

#include "common/assert.hpp"
#include "common/checksum.hpp"

namespace seatd::actors {

std::uint64_t customer_ledger::hash(std::string_view id) {
  return common::fnv1a64(id);
}

std::size_t customer_ledger::probe(std::string_view id) const {
  const std::size_t mask = slots_.size() - 1;
  std::size_t slot = static_cast<std::size_t>(hash(id)) & mask;
  while (slots_[slot] != 0 && this->id(slots_[slot] - 1) != id)
    slot = (slot + 1) & mask;
  return slot;
}

std::optional<customer_ledger::customer> customer_ledger::find(std::string_view id) const {
  if (slots_.empty()) return std::nullopt;
  const std::uint32_t value = slots_[probe(id)];
  if (value == 0) return std::nullopt;
  return value - 1;
}

customer_ledger::customer customer_ledger::intern(std::string_view id) {
  if (auto found = find(id)) return *found;
  if ((entries_.size() + 1) * 2 > slots_.size()) grow();
  const auto c = static_cast<customer>(entries_.size());
  entries_.push_back(
      {static_cast<std::uint32_t>(ids_.size()), static_cast<std::uint32_t>(id.size()), 0});
  ids_.append(id);
  slots_[probe(id)] = c + 1;
  return c;
}

std::string_view customer_ledger::id(customer c) const {
  const entry& e = entries_[c];
  return std::string_view(ids_).substr(e.id_at, e.id_length);
}

void customer_ledger::add_seats(customer c, std::uint32_t count) {
  entries_[c].seats += count;
}

void customer_ledger::remove_seats(customer c, std::uint32_t count) {
  SEATD_ASSERT(entries_[c].seats >= count, "customer seat count would go negative");
  entries_[c].seats -= count;
}

void customer_ledger::grow() {
  slots_.assign(slots_.empty() ? 16 : slots_.size() * 2, 0);
  for (std::uint32_t c = 0; c < entries_.size(); ++c)
    slots_[probe(id(c))] = c + 1;
}

std::size_t customer_ledger::memory_bytes() const {
  return ids_.capacity() + entries_.capacity() * sizeof(entry) +
         slots_.capacity() * sizeof(std::uint32_t);
}

}  // namespace seatd::actors

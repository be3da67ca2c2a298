#include "actors/customer_ledger.hpp"

#include "common/assert.hpp"
#include "common/checksum.hpp"

namespace seatd::actors {
namespace {

constexpr std::size_t compact_above_bytes = 4096;  // garbage tolerated before compacting

}  // namespace

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

void customer_ledger::index(customer c) {
  if ((live_count() + 1) * 2 > slots_.size()) grow();
  slots_[probe(id(c))] = c + 1;
}

// Linear probing's deletion: empty the slot, then move back every later entry of the run
// whose home is not between the hole and itself, so that lookups never stop early.
void customer_ledger::unindex(customer c) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = probe(id(c));
  SEATD_ASSERT(slots_[hole] == c + 1, "removing a customer the index does not have");
  slots_[hole] = 0;
  for (std::size_t next = (hole + 1) & mask; slots_[next] != 0; next = (next + 1) & mask) {
    const std::size_t home = static_cast<std::size_t>(hash(id(slots_[next] - 1))) & mask;
    const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (stays) continue;
    slots_[hole] = slots_[next];
    slots_[next] = 0;
    hole = next;
  }
}

customer_ledger::customer customer_ledger::acquire(std::string_view id) {
  if (auto found = find(id)) {
    ++entries_[*found].holds;
    return *found;
  }
  customer c;
  if (!free_.empty()) {
    c = *free_.begin();
    free_.erase(free_.begin());
  } else {
    c = static_cast<customer>(entries_.size());
    entries_.push_back({});
  }
  entries_[c] = {static_cast<std::uint32_t>(ids_.size()), static_cast<std::uint32_t>(id.size()), 0,
                 1};
  ids_.append(id);
  index(c);
  return c;
}

void customer_ledger::release(customer c) {
  entry& e = entries_[c];
  SEATD_ASSERT(e.holds > 0, "releasing a customer no hold names");
  if (--e.holds > 0) return;
  SEATD_ASSERT(e.seats == 0, "removing a customer who still holds or owns seats");
  unindex(c);
  garbage_bytes_ += e.id_length;
  e = {0, 0, 0, 0};
  free_.insert(c);
  if (garbage_bytes_ > compact_above_bytes && garbage_bytes_ * 2 > ids_.size()) compact_ids();
}

void customer_ledger::compact_ids() {
  std::string kept;
  kept.reserve(ids_.size() - garbage_bytes_);
  for (entry& e : entries_) {
    if (e.holds == 0) continue;
    const std::string_view id = std::string_view(ids_).substr(e.id_at, e.id_length);
    e.id_at = static_cast<std::uint32_t>(kept.size());
    kept.append(id);
  }
  ids_ = std::move(kept);
  garbage_bytes_ = 0;
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
    if (entries_[c].holds > 0) slots_[probe(id(c))] = c + 1;
}

std::vector<customer_ledger::image> customer_ledger::images() const {
  std::vector<image> out;
  out.reserve(entries_.size());
  for (std::uint32_t c = 0; c < entries_.size(); ++c)
    out.push_back({std::string(id(c)), entries_[c].seats, entries_[c].holds});
  return out;
}

bool customer_ledger::restore(const std::vector<image>& images) {
  *this = customer_ledger();
  for (std::uint32_t c = 0; c < images.size(); ++c) {
    const image& in = images[c];
    if (in.holds == 0) {
      if (!in.id.empty() || in.seats != 0) return false;
      entries_.push_back({0, 0, 0, 0});
      free_.insert(c);
      continue;
    }
    if (in.id.empty() || find(in.id)) return false;
    entries_.push_back({static_cast<std::uint32_t>(ids_.size()),
                        static_cast<std::uint32_t>(in.id.size()), in.seats, in.holds});
    ids_.append(in.id);
    index(c);
  }
  return true;
}

std::size_t customer_ledger::memory_bytes() const {
  return ids_.capacity() + entries_.capacity() * sizeof(entry) +
         slots_.capacity() * sizeof(std::uint32_t) + free_.size() * 40;  // a set node, roughly
}

}  // namespace seatd::actors

#pragma once
// Interned customer ids of one event and how many seats and GA places each holds or has
// bought, for the per-customer limit. Compact on purpose (an id's bytes once, in an arena,
// plus an open-addressing index), because a sold-out stadium has one entry per buyer.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seatd::actors {

class customer_ledger {
 public:
  using customer = std::uint32_t;

  std::optional<customer> find(std::string_view id) const;
  customer intern(std::string_view id);  // finds or adds
  std::string_view id(customer c) const;
  std::uint32_t seats(customer c) const { return entries_[c].seats; }
  void add_seats(customer c, std::uint32_t count);
  void remove_seats(customer c, std::uint32_t count);

  std::size_t size() const { return entries_.size(); }
  std::size_t memory_bytes() const;

 private:
  struct entry {
    std::uint32_t id_at;
    std::uint32_t id_length;
    std::uint32_t seats;
  };
  static std::uint64_t hash(std::string_view id);
  std::size_t probe(std::string_view id) const;  // the slot holding id, or the empty slot for it
  void grow();

  std::string ids_;
  std::vector<entry> entries_;
  std::vector<std::uint32_t> slots_;  // 0: empty; else entry index + 1. Power of two, <= half full.
};

}  // namespace seatd::actors

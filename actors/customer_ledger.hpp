#pragma once
// Interned customer ids of one event, how many seats and GA places each holds or has bought
// (for the per-customer limit), and how many hold records name each one. Compact on purpose
// (an id's bytes once, in an arena, plus an open-addressing index), because a sold-out
// stadium has one entry per buyer; and bounded: a customer no hold record names any more is
// removed, its number reused (the lowest free one first, so that replicas agree), and the
// arena compacted once half of it is garbage.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace seatd::actors {

class customer_ledger {
 public:
  using customer = std::uint32_t;

  // One numbered entry as a snapshot keeps it (a free number has an empty id).
  struct image {
    std::string id;
    std::uint32_t seats = 0;
    std::uint32_t holds = 0;
  };

  std::optional<customer> find(std::string_view id) const;
  // Finds or adds the customer and counts one more hold record naming it.
  customer acquire(std::string_view id);
  // One hold record fewer names the customer; at none it is removed (it must own no seats).
  void release(customer c);
  std::string_view id(customer c) const;
  std::uint32_t seats(customer c) const { return entries_[c].seats; }
  std::uint32_t holds(customer c) const { return entries_[c].holds; }
  bool live(customer c) const { return c < entries_.size() && entries_[c].holds > 0; }
  void add_seats(customer c, std::uint32_t count);
  void remove_seats(customer c, std::uint32_t count);

  std::size_t size() const { return entries_.size(); }  // numbers in use or free
  std::size_t live_count() const { return entries_.size() - free_.size(); }
  std::size_t memory_bytes() const;

  std::vector<image> images() const;
  // Rebuilds the ledger from images (numbers as given). False when two live entries share
  // an id, an id is empty while referenced, or a free number owns seats.
  bool restore(const std::vector<image>& images);

 private:
  struct entry {
    std::uint32_t id_at;
    std::uint32_t id_length;
    std::uint32_t seats;
    std::uint32_t holds;  // 0: free
  };
  static std::uint64_t hash(std::string_view id);
  std::size_t probe(std::string_view id) const;  // the slot holding id, or the empty slot for it
  void index(customer c);
  void unindex(customer c);
  void grow();
  void compact_ids();

  std::string ids_;
  std::size_t garbage_bytes_ = 0;  // in ids_, of removed customers
  std::vector<entry> entries_;
  std::set<customer> free_;
  std::vector<std::uint32_t> slots_;  // 0: empty; else entry index + 1. Power of two, <= half full.
};

}  // namespace seatd::actors

#pragma once
// The state of every seat of one event (one byte each) and the summaries that make
// best-available fast: per row and per section, which lengths of runs of available seats
// exist, so a search skips every row that cannot fit the block (or cannot fit it without
// stranding a seat) without looking at its seats.
// Pure: no clock, no I/O. Only event_machine changes it.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "actors/event_layout.hpp"

namespace seatd::actors {

enum class seat_state : std::uint8_t { available = 0, held = 1, sold = 2, blocked = 3 };
inline constexpr std::size_t seat_state_count = 4;
std::string_view seat_state_name(seat_state state);

struct state_counts {
  std::uint32_t by_state[seat_state_count] = {};
  std::uint32_t operator[](seat_state s) const { return by_state[static_cast<std::size_t>(s)]; }
  bool operator==(const state_counts&) const = default;
};

struct best_available_query {
  std::uint32_t count = 1;
  std::optional<std::uint16_t> category;
  std::optional<std::uint32_t> section;
  bool adjacent = true;
};

class seat_map {
 public:
  explicit seat_map(std::shared_ptr<const event_layout> layout);

  seat_state state(seat_index seat) const { return states_[seat]; }
  void set(std::span<const seat_index> seats, seat_state to);

  // API.md's best available: lowest section, then row, then closest to the row's centre;
  // with adjacent, one block in one row, and a block that strands a single seat only when
  // no other block fits anywhere. Empty when nothing fits. Never changes the map.
  std::vector<seat_index> find_best(const best_available_query& query) const;

  const state_counts& counts() const { return counts_; }
  const state_counts& category_counts(std::uint16_t category) const {
    return by_category_[category];
  }
  const state_counts& section_counts(std::uint32_t section) const { return by_section_[section]; }

  std::size_t memory_bytes() const;

 private:
  // Bit L-1 is set when a run of exactly L free seats exists (L < 32); bit 31 for L >= 32.
  using run_mask = std::uint32_t;
  static run_mask runs_that_fit(std::uint32_t count, bool avoid_stranding);

  void refresh_row(std::uint32_t row);
  void refresh_section(std::uint32_t section);
  std::optional<seat_index> best_block_in_row(std::uint32_t row, std::uint32_t count,
                                              bool avoid_stranding) const;
  std::vector<seat_index> find_block(const best_available_query& query, bool avoid_stranding) const;
  std::vector<seat_index> find_scattered(const best_available_query& query) const;

  std::shared_ptr<const event_layout> layout_;
  std::vector<seat_state> states_;
  std::vector<run_mask> row_runs_;
  std::vector<std::uint16_t> row_available_;
  std::vector<run_mask> section_runs_;  // union of its rows' masks
  state_counts counts_;
  std::vector<state_counts> by_category_;
  std::vector<state_counts> by_section_;
};

}  // namespace seatd::actors

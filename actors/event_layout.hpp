#pragma once
// The validated, indexed, immutable layout of one event: seats get dense indices in layout
// order (section order, then row order, then the row's physical order), so per-seat state
// is a flat array. Shared read-only by the seat map, the event machine and snapshots.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/event_spec.hpp"
#include "actors/inventory_errc.hpp"

namespace seatd::actors {

struct layout_limits {
  std::uint32_t categories_max = 256;
  std::uint32_t sections_max = 1000;
  std::uint32_t rows_per_section_max = 1000;
  std::uint32_t seats_per_row_max = 1000;
  std::uint32_t seats_per_event_max = 200'000;
  std::uint32_t ga_areas_max = 100;
  std::uint32_t ga_capacity_max = 1'000'000;
  std::uint32_t name_length_max = 256;
  std::int64_t price_minor_max = 1'000'000'000'000'000;  // 10^15 minor units
  std::uint32_t max_seats_per_customer_max = 10'000;
  std::uint32_t hold_ttl_s_max = 7 * 24 * 3600;  // keeps hold lifetimes within uint32 ms
};

struct row_layout {
  std::string id;
  std::uint32_t section = 0;
  std::uint16_t category = 0;
  std::uint16_t seat_count = 0;
  seat_index first_seat = 0;
  std::uint32_t index_in_section = 0;
  // Labelled rows: positions sorted by label, for lookup. Empty: labels are "1".."seat_count".
  std::vector<std::uint16_t> label_order;
};

struct section_layout {
  std::string id;
  std::uint32_t first_row = 0;
  std::uint32_t row_count = 0;
};

// Seats [first, end) in layout order: one section's, or the event's.
struct seat_range {
  seat_index first = 0;
  seat_index end = 0;
  std::uint32_t size() const { return end - first; }
  bool contains(seat_index seat) const { return seat >= first && seat < end; }
  bool operator==(const seat_range&) const = default;
};

struct ga_layout {
  std::string id;
  std::uint32_t capacity = 0;
  std::uint16_t category = 0;
};

class event_layout {
 public:
  // Validates the spec (every error names the field and says why) and builds the indexes.
  static result<std::shared_ptr<const event_layout>> build(event_spec spec,
                                                           const layout_limits& limits = {});

  const event_spec& spec() const { return spec_; }
  const std::string& currency() const { return spec_.categories.front().currency; }
  std::uint32_t seat_count() const { return seat_count_; }
  std::uint64_t ga_capacity_total() const { return ga_capacity_total_; }

  const std::vector<section_layout>& sections() const { return sections_; }
  const std::vector<row_layout>& rows() const { return rows_; }
  const std::vector<ga_layout>& ga_areas() const { return ga_areas_; }
  const std::vector<category_spec>& categories() const { return spec_.categories; }

  // Binary search over the rows' first seats: no per-seat table.
  std::uint32_t row_of(seat_index seat) const;
  std::uint16_t category_of(seat_index seat) const { return rows_[row_of(seat)].category; }
  std::int64_t price_of(seat_index seat) const {
    return spec_.categories[category_of(seat)].price_minor;
  }

  // "A-1-17" <-> index. find_seat returns nullopt for ids the event does not have.
  std::optional<seat_index> find_seat(std::string_view seat_id) const;
  std::string seat_id(seat_index seat) const;

  std::optional<std::uint32_t> find_section(std::string_view id) const;
  // A section's seats (its rows are consecutive), or every seat of the event without one.
  seat_range seats_of(std::optional<std::uint32_t> section) const;
  std::optional<std::uint16_t> find_category(std::string_view id) const;
  std::optional<std::uint16_t> find_ga_area(std::string_view id) const;

  // Heap bytes held by the indexes (not the spec's strings), for memory accounting.
  std::size_t index_bytes() const;

 private:
  event_layout() = default;
  std::string_view label(const row_layout& row, std::uint16_t position, std::string& scratch) const;
  // The labels live once, in the spec.
  const std::vector<std::string>& labels_of(const row_layout& row) const {
    return spec_.sections[row.section].rows[row.index_in_section].labels;
  }

  event_spec spec_;
  std::vector<section_layout> sections_;
  std::vector<row_layout> rows_;
  std::vector<ga_layout> ga_areas_;
  std::uint32_t seat_count_ = 0;
  std::unordered_map<std::string, std::uint32_t> row_by_key_;  // "section-row" -> row
  std::uint64_t ga_capacity_total_ = 0;
};

}  // namespace seatd::actors

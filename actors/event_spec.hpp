#pragma once
// The definition of an event as a gateway sends it (PUT /v1/events/{id}), as plain data.
// Nothing here is validated; event_layout::build() validates it and builds the indexes.

#include <cstdint>
#include <string>
#include <vector>

namespace seatd::actors {

struct category_spec {
  std::string id;
  std::int64_t price_minor = 0;
  std::string currency;
  bool operator==(const category_spec&) const = default;
};

// A row's seats are either a count N (labels "1".."N") or explicit labels in physical
// order: exactly one of seat_count (> 0) and labels (non-empty) is set.
struct row_spec {
  std::string id;
  std::uint32_t seat_count = 0;
  std::vector<std::string> labels;
  std::string category;
  bool operator==(const row_spec&) const = default;
};

struct section_spec {
  std::string id;
  std::vector<row_spec> rows;
  bool operator==(const section_spec&) const = default;
};

struct ga_area_spec {
  std::string id;
  std::uint32_t capacity = 0;
  std::string category;
  bool operator==(const ga_area_spec&) const = default;
};

struct event_spec {
  std::string name;
  std::int64_t starts_at_ms = 0;
  std::vector<category_spec> categories;
  std::vector<section_spec> sections;
  std::vector<ga_area_spec> ga_areas;
  std::uint32_t max_seats_per_customer = 0;  // 0: no limit
  std::uint32_t default_hold_ttl_s = 600;
  std::uint32_t max_hold_ttl_s = 1800;
  bool operator==(const event_spec&) const = default;
};

}  // namespace seatd::actors

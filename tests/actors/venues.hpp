#pragma once
// Event specs shared by tests and benchmarks.

#include <string>

#include "actors/event_machine.hpp"

namespace seatd::test {

// sections x rows x seats, one category "STD" at 100000 KRW: the benchmark venue of
// docs/WORKLOAD.md is flash_venue(50, 20, 50).
inline actors::event_spec flash_venue(int sections, int rows, int seats) {
  actors::event_spec spec;
  spec.name = "Flash";
  spec.starts_at_ms = 1'800'000'000'000;
  spec.categories = {{"STD", 100000, "KRW"}};
  for (int s = 1; s <= sections; ++s) {
    actors::section_spec section{std::to_string(s), {}};
    for (int r = 1; r <= rows; ++r)
      section.rows.push_back({std::to_string(r), static_cast<std::uint32_t>(seats), {}, "STD"});
    spec.sections.push_back(section);
  }
  return spec;
}

// The example of API.md: section A with a counted VIP row and a labelled R row, and a
// GA floor.
inline actors::event_spec concert(std::uint32_t max_per_customer = 4, std::uint32_t floor = 5000) {
  actors::event_spec spec;
  spec.name = "Seoul Concert Day 1";
  spec.starts_at_ms = 1'803'895'200'000;
  spec.categories = {{"VIP", 220000, "KRW"}, {"R", 165000, "KRW"}, {"GA", 99000, "KRW"}};
  spec.sections = {{"A", {{"1", 50, {}, "VIP"}, {"2", 0, {"1", "2", "3", "5"}, "R"}}}};
  spec.ga_areas = {{"FLOOR", floor, "GA"}};
  spec.max_seats_per_customer = max_per_customer;
  return spec;
}

inline constexpr std::int64_t t0 = 1'790'000'000'000;  // 2026-09-21, an arbitrary start

// A distinct id secret for each n (tests need ids that differ, not ones that are secret).
inline actors::id_secret secret_of(std::uint64_t n) {
  return {static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(n >> 32),
          static_cast<std::uint32_t>(n * 0x9E3779B9u)};
}

inline actors::event_machine make_machine(actors::event_spec spec, std::uint64_t salt = 0xC0FFEE) {
  auto created = actors::event_machine::create("ev1", std::move(spec), t0, salt);
  if (!created) throw std::runtime_error("test venue invalid: " + created.error().message);
  return std::move(created).value();
}

}  // namespace seatd::test

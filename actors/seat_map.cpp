#include "actors/seat_map.hpp"

#include <algorithm>
#include <limits>

namespace seatd::actors {

std::string_view seat_state_name(seat_state state) {
  switch (state) {
    case seat_state::available:
      return "available";
    case seat_state::held:
      return "held";
    case seat_state::sold:
      return "sold";
    case seat_state::blocked:
      return "blocked";
  }
  SEATD_ASSERT(false, "unknown seat state");
  return {};
}

seat_map::seat_map(std::shared_ptr<const event_layout> layout)
    : layout_(std::move(layout)),
      states_(layout_->seat_count(), seat_state::available),
      row_runs_(layout_->rows().size()),
      row_available_(layout_->rows().size()),
      section_runs_(layout_->sections().size()),
      by_category_(layout_->categories().size()),
      by_section_(layout_->sections().size()) {
  counts_.by_state[0] = layout_->seat_count();
  for (std::uint32_t r = 0; r < layout_->rows().size(); ++r) {
    const row_layout& row = layout_->rows()[r];
    refresh_row(r);
    by_category_[row.category].by_state[0] += row.seat_count;
    by_section_[row.section].by_state[0] += row.seat_count;
  }
  for (std::uint32_t s = 0; s < layout_->sections().size(); ++s)
    refresh_section(s);
}

void seat_map::set(std::span<const seat_index> seats, seat_state to) {
  const auto to_index = static_cast<std::size_t>(to);
  std::uint32_t last_row = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> touched_rows;
  for (seat_index seat : seats) {
    SEATD_ASSERT(seat < states_.size(), "seat index out of range");
    const auto from_index = static_cast<std::size_t>(states_[seat]);
    if (from_index == to_index) continue;
    const std::uint32_t row = layout_->row_of(seat);
    const row_layout& row_info = layout_->rows()[row];
    counts_.by_state[from_index]--;
    counts_.by_state[to_index]++;
    by_category_[row_info.category].by_state[from_index]--;
    by_category_[row_info.category].by_state[to_index]++;
    by_section_[row_info.section].by_state[from_index]--;
    by_section_[row_info.section].by_state[to_index]++;
    states_[seat] = to;
    if (row != last_row) touched_rows.push_back(row);
    last_row = row;
  }
  std::sort(touched_rows.begin(), touched_rows.end());
  touched_rows.erase(std::unique(touched_rows.begin(), touched_rows.end()), touched_rows.end());
  // Every touched row first: a section's summary is the union of its rows'.
  for (std::uint32_t row : touched_rows)
    refresh_row(row);
  std::uint32_t last_section = std::numeric_limits<std::uint32_t>::max();
  for (std::uint32_t row : touched_rows) {
    const std::uint32_t section = layout_->rows()[row].section;
    if (section != last_section) refresh_section(section);
    last_section = section;
  }
}

namespace {
std::uint32_t run_bit(std::uint32_t length) {
  return 1u << (std::min(length, 32u) - 1);
}
// Runs of at least `length` seats.
std::uint32_t runs_at_least(std::uint32_t length) {
  return length >= 32 ? 1u << 31 : ~0u << (length - 1);
}
}  // namespace

// A block of `count` fits a run of L >= count; it fits without stranding a seat when
// L == count or L >= count + 2. Bit 31 (runs of 32 or more) is always kept when it might
// fit, and the row scan decides.
seat_map::run_mask seat_map::runs_that_fit(std::uint32_t count, bool avoid_stranding) {
  if (!avoid_stranding) return runs_at_least(count);
  return runs_at_least(count + 2) | run_bit(count);
}

void seat_map::refresh_row(std::uint32_t row) {
  const row_layout& info = layout_->rows()[row];
  run_mask runs = 0;
  std::uint32_t run = 0;
  std::uint16_t available = 0;
  for (seat_index s = info.first_seat; s < info.first_seat + info.seat_count; ++s) {
    if (states_[s] == seat_state::available) {
      ++run;
      ++available;
    } else {
      if (run > 0) runs |= run_bit(run);
      run = 0;
    }
  }
  if (run > 0) runs |= run_bit(run);
  row_runs_[row] = runs;
  row_available_[row] = available;
}

void seat_map::refresh_section(std::uint32_t section) {
  const section_layout& info = layout_->sections()[section];
  run_mask runs = 0;
  for (std::uint32_t r = info.first_row; r < info.first_row + info.row_count; ++r)
    runs |= row_runs_[r];
  section_runs_[section] = runs;
}

std::vector<seat_index> seat_map::find_best(const best_available_query& query) const {
  SEATD_ASSERT(query.count >= 1, "best available of zero seats");
  if (!query.adjacent) return find_scattered(query);
  auto block = find_block(query, /*avoid_stranding=*/true);
  if (block.empty()) block = find_block(query, /*avoid_stranding=*/false);
  return block;
}

std::vector<seat_index> seat_map::find_block(const best_available_query& query,
                                             bool avoid_stranding) const {
  const auto& sections = layout_->sections();
  const std::uint32_t first = query.section.value_or(0);
  const std::uint32_t last =
      query.section ? *query.section + 1 : static_cast<std::uint32_t>(sections.size());
  const run_mask fits = runs_that_fit(query.count, avoid_stranding);
  for (std::uint32_t s = first; s < last; ++s) {
    if ((section_runs_[s] & fits) == 0) continue;
    for (std::uint32_t r = sections[s].first_row; r < sections[s].first_row + sections[s].row_count;
         ++r) {
      if ((row_runs_[r] & fits) == 0) continue;
      if (query.category && layout_->rows()[r].category != *query.category) continue;
      if (const auto start = best_block_in_row(r, query.count, avoid_stranding)) {
        std::vector<seat_index> seats(query.count);
        for (std::uint32_t i = 0; i < query.count; ++i)
          seats[i] = *start + i;
        return seats;
      }
    }
  }
  return {};
}

std::optional<seat_index> seat_map::best_block_in_row(std::uint32_t row, std::uint32_t count,
                                                      bool avoid_stranding) const {
  const row_layout& info = layout_->rows()[row];
  const auto n = static_cast<std::int64_t>(info.seat_count);
  const auto k = static_cast<std::int64_t>(count);
  std::optional<seat_index> best;
  std::int64_t best_distance = std::numeric_limits<std::int64_t>::max();
  std::int64_t position = 0;
  while (position < n) {
    if (states_[info.first_seat + static_cast<seat_index>(position)] != seat_state::available) {
      ++position;
      continue;
    }
    const std::int64_t run_begin = position;
    while (position < n &&
           states_[info.first_seat + static_cast<seat_index>(position)] == seat_state::available)
      ++position;
    const std::int64_t run_end = position;
    for (std::int64_t start = run_begin; start + k <= run_end; ++start) {
      if (avoid_stranding && (start - run_begin == 1 || run_end - (start + k) == 1)) continue;
      // Twice the distance between the block's centre and the row's centre, in seats.
      const std::int64_t distance = std::abs(2 * start + k - n);
      if (distance < best_distance) {
        best_distance = distance;
        best = info.first_seat + static_cast<seat_index>(start);
      }
    }
  }
  return best;
}

std::vector<seat_index> seat_map::find_scattered(const best_available_query& query) const {
  const auto& sections = layout_->sections();
  const std::uint32_t first = query.section.value_or(0);
  const std::uint32_t last =
      query.section ? *query.section + 1 : static_cast<std::uint32_t>(sections.size());
  std::vector<seat_index> chosen;
  std::vector<seat_index> row_seats;
  for (std::uint32_t s = first; s < last; ++s) {
    for (std::uint32_t r = sections[s].first_row; r < sections[s].first_row + sections[s].row_count;
         ++r) {
      const row_layout& info = layout_->rows()[r];
      if (row_available_[r] == 0) continue;
      if (query.category && info.category != *query.category) continue;
      row_seats.clear();
      for (seat_index seat = info.first_seat; seat < info.first_seat + info.seat_count; ++seat)
        if (states_[seat] == seat_state::available) row_seats.push_back(seat);
      const auto n = static_cast<std::int64_t>(info.seat_count);
      auto distance = [&](seat_index seat) {
        return std::abs(2 * static_cast<std::int64_t>(seat - info.first_seat) + 1 - n);
      };
      std::stable_sort(row_seats.begin(), row_seats.end(),
                       [&](seat_index a, seat_index b) { return distance(a) < distance(b); });
      for (seat_index seat : row_seats) {
        chosen.push_back(seat);
        if (chosen.size() == query.count) return chosen;
      }
    }
  }
  return {};
}

std::size_t seat_map::memory_bytes() const {
  return states_.capacity() * sizeof(seat_state) +
         (row_runs_.capacity() + section_runs_.capacity()) * sizeof(run_mask) +
         row_available_.capacity() * sizeof(std::uint16_t) +
         (by_category_.capacity() + by_section_.capacity()) * sizeof(state_counts);
}

}  // namespace seatd::actors

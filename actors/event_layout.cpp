#include "actors/event_layout.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "common/identifier.hpp"

namespace seatd::actors {
namespace {

bool is_currency(std::string_view text) {
  return text.size() == 3 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string at(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

// Parses a label of a counted row: "1".."count", no sign, no leading zero.
std::optional<std::uint16_t> counted_position(std::string_view label, std::uint16_t count) {
  if (label.empty() || label.size() > 5 || label.front() == '0') return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(label.data(), label.data() + label.size(), value);
  if (ec != std::errc{} || end != label.data() + label.size()) return std::nullopt;
  if (value < 1 || value > count) return std::nullopt;
  return static_cast<std::uint16_t>(value - 1);
}

}  // namespace

result<std::shared_ptr<const event_layout>> event_layout::build(event_spec spec,
                                                                const layout_limits& limits) {
  std::shared_ptr<event_layout> layout(new event_layout());
  auto invalid = [](std::string message) {
    return fail(errc::invalid_request, std::move(message));
  };

  if (spec.name.empty() || spec.name.size() > limits.name_length_max)
    return invalid("name: must be 1 to " + std::to_string(limits.name_length_max) + " bytes");
  if (spec.categories.empty() || spec.categories.size() > limits.categories_max)
    return invalid("categories: must have 1 to " + std::to_string(limits.categories_max) +
                   " entries");
  if (spec.max_hold_ttl_s < 1 || spec.max_hold_ttl_s > limits.hold_ttl_s_max)
    return invalid("max_hold_ttl_s: must be 1 to " + std::to_string(limits.hold_ttl_s_max));
  if (spec.default_hold_ttl_s < 1 || spec.default_hold_ttl_s > spec.max_hold_ttl_s)
    return invalid("default_hold_ttl_s: must be 1 to max_hold_ttl_s (" +
                   std::to_string(spec.max_hold_ttl_s) + ")");
  if (spec.max_seats_per_customer > limits.max_seats_per_customer_max)
    return invalid("max_seats_per_customer: must be 0 to " +
                   std::to_string(limits.max_seats_per_customer_max));

  std::unordered_set<std::string_view> category_ids;
  for (std::size_t i = 0; i < spec.categories.size(); ++i) {
    const auto& category = spec.categories[i];
    const std::string path = at("categories", i);
    if (!common::is_identifier(category.id))
      return invalid(path + ".id: must be 1 to 64 of [A-Za-z0-9._:-]");
    if (!category_ids.insert(category.id).second)
      return invalid(path + ".id: duplicate category \"" + category.id + "\"");
    if (category.price_minor < 0 || category.price_minor > limits.price_minor_max)
      return invalid(path + ".price_minor: must be 0 to " + std::to_string(limits.price_minor_max));
    if (!is_currency(category.currency))
      return invalid(path + ".currency: must be an ISO 4217 code such as \"KRW\"");
    if (category.currency != spec.categories.front().currency)
      return invalid(path + ".currency: all categories of an event share one currency");
  }
  auto category_index = [&](std::string_view id) -> std::optional<std::uint16_t> {
    for (std::size_t i = 0; i < spec.categories.size(); ++i)
      if (spec.categories[i].id == id) return static_cast<std::uint16_t>(i);
    return std::nullopt;
  };

  if (spec.sections.size() > limits.sections_max)
    return invalid("sections: at most " + std::to_string(limits.sections_max) + " sections");
  std::unordered_set<std::string_view> section_ids;
  std::uint64_t seats_total = 0;
  for (std::size_t s = 0; s < spec.sections.size(); ++s) {
    const auto& section = spec.sections[s];
    const std::string path = at("sections", s);
    if (!common::is_seat_part(section.id))
      return invalid(path + ".id: must be 1 to 16 of [A-Za-z0-9._:]");
    if (!section_ids.insert(section.id).second)
      return invalid(path + ".id: duplicate section \"" + section.id + "\"");
    if (section.rows.empty() || section.rows.size() > limits.rows_per_section_max)
      return invalid(path + ".rows: must have 1 to " + std::to_string(limits.rows_per_section_max) +
                     " rows");
    layout->sections_.push_back({section.id, static_cast<std::uint32_t>(layout->rows_.size()),
                                 static_cast<std::uint32_t>(section.rows.size())});
    std::unordered_set<std::string_view> row_ids;
    for (std::size_t r = 0; r < section.rows.size(); ++r) {
      const auto& row = section.rows[r];
      const std::string row_path = path + at(".rows", r);
      if (!common::is_seat_part(row.id))
        return invalid(row_path + ".id: must be 1 to 16 of [A-Za-z0-9._:]");
      if (!row_ids.insert(row.id).second)
        return invalid(row_path + ".id: duplicate row \"" + row.id + "\"");
      const auto category = category_index(row.category);
      if (!category)
        return invalid(row_path + ".category: unknown category \"" + row.category + "\"");
      const bool labelled = !row.labels.empty();
      if (labelled == (row.seat_count > 0))
        return invalid(row_path +
                       ".seats: must be a count of at least 1 or a non-empty list of labels");
      const std::size_t count = labelled ? row.labels.size() : row.seat_count;
      if (count > limits.seats_per_row_max)
        return invalid(row_path + ".seats: at most " + std::to_string(limits.seats_per_row_max) +
                       " seats per row");
      if (labelled) {
        std::unordered_set<std::string_view> labels;
        for (std::size_t l = 0; l < row.labels.size(); ++l) {
          if (!common::is_seat_part(row.labels[l]))
            return invalid(row_path + at(".seats", l) + ": must be 1 to 16 of [A-Za-z0-9._:]");
          if (!labels.insert(row.labels[l]).second)
            return invalid(row_path + at(".seats", l) + ": duplicate seat label \"" +
                           row.labels[l] + "\"");
        }
      }
      seats_total += count;
      if (seats_total > limits.seats_per_event_max)
        return invalid("sections: at most " + std::to_string(limits.seats_per_event_max) +
                       " seats per event");
      row_layout built;
      built.id = row.id;
      built.section = static_cast<std::uint32_t>(s);
      built.category = *category;
      built.seat_count = static_cast<std::uint16_t>(count);
      built.first_seat = static_cast<seat_index>(seats_total - count);
      built.index_in_section = static_cast<std::uint32_t>(r);
      if (labelled) {
        built.label_order.resize(count);
        for (std::size_t l = 0; l < count; ++l)
          built.label_order[l] = static_cast<std::uint16_t>(l);
        std::sort(built.label_order.begin(), built.label_order.end(),
                  [&](std::uint16_t a, std::uint16_t b) { return row.labels[a] < row.labels[b]; });
      }
      layout->row_by_key_.emplace(section.id + "-" + row.id,
                                  static_cast<std::uint32_t>(layout->rows_.size()));
      layout->rows_.push_back(std::move(built));
    }
  }
  layout->seat_count_ = static_cast<std::uint32_t>(seats_total);

  if (spec.ga_areas.size() > limits.ga_areas_max)
    return invalid("ga_areas: at most " + std::to_string(limits.ga_areas_max) + " areas");
  std::unordered_set<std::string_view> area_ids;
  for (std::size_t g = 0; g < spec.ga_areas.size(); ++g) {
    const auto& area = spec.ga_areas[g];
    const std::string path = at("ga_areas", g);
    if (!common::is_identifier(area.id))
      return invalid(path + ".id: must be 1 to 64 of [A-Za-z0-9._:-]");
    if (!area_ids.insert(area.id).second)
      return invalid(path + ".id: duplicate area \"" + area.id + "\"");
    if (area.capacity < 1 || area.capacity > limits.ga_capacity_max)
      return invalid(path + ".capacity: must be 1 to " + std::to_string(limits.ga_capacity_max));
    const auto category = category_index(area.category);
    if (!category) return invalid(path + ".category: unknown category \"" + area.category + "\"");
    layout->ga_areas_.push_back({area.id, area.capacity, *category});
    layout->ga_capacity_total_ += area.capacity;
  }
  if (seats_total == 0 && spec.ga_areas.empty())
    return invalid("sections: an event needs at least one seat or one ga_areas entry");

  layout->spec_ = std::move(spec);
  return std::shared_ptr<const event_layout>(std::move(layout));
}

std::uint32_t event_layout::row_of(seat_index seat) const {
  SEATD_ASSERT(seat < seat_count_, "seat index out of range");
  const auto next =
      std::upper_bound(rows_.begin(), rows_.end(), seat,
                       [](seat_index s, const row_layout& row) { return s < row.first_seat; });
  return static_cast<std::uint32_t>(next - rows_.begin() - 1);
}

std::optional<seat_index> event_layout::find_seat(std::string_view seat_id) const {
  const auto last_dash = seat_id.rfind('-');
  if (last_dash == std::string_view::npos) return std::nullopt;
  const auto it = row_by_key_.find(std::string(seat_id.substr(0, last_dash)));
  if (it == row_by_key_.end()) return std::nullopt;
  const row_layout& row = rows_[it->second];
  const std::string_view label = seat_id.substr(last_dash + 1);
  if (row.label_order.empty()) {
    const auto position = counted_position(label, row.seat_count);
    if (!position) return std::nullopt;
    return row.first_seat + *position;
  }
  const auto& labels = labels_of(row);
  const auto found =
      std::lower_bound(row.label_order.begin(), row.label_order.end(), label,
                       [&](std::uint16_t p, std::string_view l) { return labels[p] < l; });
  if (found == row.label_order.end() || labels[*found] != label) return std::nullopt;
  return row.first_seat + *found;
}

std::string event_layout::seat_id(seat_index seat) const {
  const row_layout& row = rows_[row_of(seat)];
  const auto position = static_cast<std::uint16_t>(seat - row.first_seat);
  std::string scratch;
  const std::string_view label_text = label(row, position, scratch);
  std::string id;
  id.reserve(sections_[row.section].id.size() + row.id.size() + label_text.size() + 2);
  id.append(sections_[row.section].id).append("-").append(row.id).append("-").append(label_text);
  return id;
}

std::string_view event_layout::label(const row_layout& row, std::uint16_t position,
                                     std::string& scratch) const {
  if (!row.label_order.empty()) return labels_of(row)[position];
  scratch = std::to_string(position + 1);
  return scratch;
}

std::optional<std::uint32_t> event_layout::find_section(std::string_view id) const {
  for (std::size_t i = 0; i < sections_.size(); ++i)
    if (sections_[i].id == id) return static_cast<std::uint32_t>(i);
  return std::nullopt;
}

seat_range event_layout::seats_of(std::optional<std::uint32_t> section) const {
  if (!section) return {0, seat_count_};
  SEATD_ASSERT(*section < sections_.size(), "section index out of range");
  const section_layout& s = sections_[*section];
  const row_layout& last_row = rows_[s.first_row + s.row_count - 1];
  return {rows_[s.first_row].first_seat, last_row.first_seat + last_row.seat_count};
}

std::optional<std::uint16_t> event_layout::find_category(std::string_view id) const {
  for (std::size_t i = 0; i < spec_.categories.size(); ++i)
    if (spec_.categories[i].id == id) return static_cast<std::uint16_t>(i);
  return std::nullopt;
}

std::optional<std::uint16_t> event_layout::find_ga_area(std::string_view id) const {
  for (std::size_t i = 0; i < ga_areas_.size(); ++i)
    if (ga_areas_[i].id == id) return static_cast<std::uint16_t>(i);
  return std::nullopt;
}

std::size_t event_layout::index_bytes() const {
  std::size_t bytes = sections_.capacity() * sizeof(section_layout) +
                      rows_.capacity() * sizeof(row_layout) +
                      ga_areas_.capacity() * sizeof(ga_layout);
  for (const auto& row : rows_)
    bytes += row.label_order.capacity() * sizeof(std::uint16_t);
  // unordered_map: one node (key, value, next pointer, cached hash) per row plus buckets.
  bytes += row_by_key_.size() * (sizeof(std::string) + sizeof(std::uint32_t) + 2 * sizeof(void*)) +
           row_by_key_.bucket_count() * sizeof(void*);
  return bytes;
}

}  // namespace seatd::actors

#include "api/tools/seatctl_render.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

namespace seatd::tools {

namespace {

// The member, or null when absent. A reference, so that a loop over it (items() above all)
// never outlives a temporary, as it would over json::value()'s copy.
const json& member(const json& object, const char* key) {
  static const json absent;
  if (!object.is_object()) return absent;
  const auto found = object.find(key);
  return found == object.end() ? absent : *found;
}

std::string text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "-";
  return value.dump();
}

std::string count(const json& counts, const char* key) {
  return text(member(counts, key));
}

std::string table_row(const std::string& name, const json& counts) {
  char line[160];
  std::snprintf(line, sizeof line, "  %-20s %10s %10s %10s %10s\n", name.c_str(),
                count(counts, "available").c_str(), count(counts, "held").c_str(),
                count(counts, "sold").c_str(), count(counts, "blocked").c_str());
  return line;
}

std::string joined(const json& list) {
  std::string out;
  for (const auto& item : list)
    out += (out.empty() ? "" : " ") + text(item);
  return out;
}

// What a hold or reservation covers: its seats, or its GA places.
std::string covered(const json& sale) {
  const json& ga = member(sale, "ga");
  if (ga.is_object())
    return text(member(ga, "count")) + " GA places in " + text(member(ga, "area"));
  return joined(member(sale, "seats"));
}

std::string money(const json& sale) {
  return text(member(sale, "total_minor")) + " " + text(member(sale, "currency")) +
         " (minor units)";
}

}  // namespace

std::string render_event_created(const json& answer, unsigned status) {
  const std::string id = text(member(answer, "event_id"));
  if (status == 200)
    return "event " + id + " exists with this definition already: nothing changed\n";
  return "created event " + id + ": " + text(member(answer, "seats_total")) + " seats, " +
         text(member(answer, "ga_capacity_total")) + " GA places\n";
}

std::string render_event_counts(const json& event) {
  std::string out = "event " + text(member(event, "event_id")) + " \"" +
                    text(member(event, "name")) + "\", starts " + text(member(event, "starts_at")) +
                    "\n";
  char header[160];
  std::snprintf(header, sizeof header, "  %-20s %10s %10s %10s %10s\n", "", "available", "held",
                "sold", "blocked");
  out += header;
  out += table_row("all seats", member(event, "counts"));
  for (const auto& [id, counts] : member(event, "by_category").items())
    out += table_row("category " + id, counts);
  for (const auto& [id, counts] : member(event, "by_section").items())
    out += table_row("section " + id, counts);
  for (const auto& [id, area] : member(event, "ga").items())
    out += "  GA " + id + ": capacity " + count(area, "capacity") + ", held " +
           count(area, "held") + ", sold " + count(area, "sold") + "\n";
  return out;
}

std::string render_seat_map(const json& answer) {
  std::string out;
  std::string section, row, line;
  std::vector<std::pair<std::string, std::string>> rows;  // of the current section
  auto flush_section = [&] {
    if (!line.empty()) rows.emplace_back(row, line);
    if (rows.empty()) return;
    std::size_t width = 0;
    for (const auto& r : rows)
      width = std::max(width, r.first.size());
    out += "section " + section + "\n";
    for (const auto& [id, seats] : rows)
      out += "  row " + std::string(width - id.size(), ' ') + id + "  " + seats + "\n";
    rows.clear();
    line.clear();
  };
  for (const auto& seat : member(answer, "seats")) {
    // Seat ids are {section}-{row}-{label}, and none of the three holds a '-' (API.md).
    const std::string id = text(member(seat, "id"));
    const auto first = id.find('-'), second = id.find('-', first + 1);
    const std::string seat_section = id.substr(0, first);
    const std::string seat_row = id.substr(first + 1, second - first - 1);
    if (seat_section != section) {
      flush_section();
      section = seat_section;
      row = seat_row;
    } else if (seat_row != row) {
      rows.emplace_back(row, line);
      line.clear();
      row = seat_row;
    }
    const std::string state = text(member(seat, "state"));
    line += state == "available" ? '.'
            : state == "held"    ? 'h'
            : state == "sold"    ? '#'
            : state == "blocked" ? 'x'
                                 : '?';
  }
  flush_section();
  if (out.empty()) return "no seats\n";
  return out + "('.' available, 'h' held, '#' sold, 'x' blocked)\n";
}

std::string render_hold(const json& hold, const std::string& verb) {
  std::string out = verb + " " + text(member(hold, "hold_id")) + " for " +
                    text(member(hold, "customer_id")) + ": " + covered(hold) + ", " + money(hold);
  if (hold.value("status", "active") == "active")
    out += ", expires " + text(member(hold, "expires_at"));
  return out + "\n";
}

std::string render_reservation(const json& reservation, unsigned status) {
  const std::string id = text(member(reservation, "reservation_id"));
  if (reservation.value("status", "") == "cancelled")
    return "cancelled " + id + ": " + covered(reservation) + " back on sale\n";
  return "confirmed " + id + " (hold " + text(member(reservation, "hold_id")) + ") for " +
         text(member(reservation, "customer_id")) + ": " + covered(reservation) + ", " +
         money(reservation) + ", payment " + text(member(reservation, "payment_ref")) +
         (status == 200 ? " (already confirmed with this payment)" : "") + "\n";
}

std::string render_seat_states(const json& answer, const std::string& verb) {
  const json& seats = member(answer, "seats");
  std::string ids;
  for (const auto& seat : seats)
    ids += " " + text(member(seat, "id"));
  return verb + " " + std::to_string(seats.size()) + " seats of " +
         text(member(answer, "event_id")) + ":" + ids + "\n";
}

std::string render_cluster(const json& cluster) {
  std::string out = "answered by node " + text(member(cluster, "node_id")) + "; " +
                    text(member(cluster, "events")) + " events\n";
  for (const auto& node : member(cluster, "nodes"))
    out += "  node " + text(member(node, "id")) + "  " + text(member(node, "state")) + "\n";
  out += "  shard  leader      term  commit_index  replicas\n";
  for (const auto& shard : member(cluster, "shards")) {
    char line[200];
    std::snprintf(line, sizeof line, "  %5s  %-10s %5s  %12s  %s\n",
                  text(member(shard, "id")).c_str(), text(member(shard, "leader")).c_str(),
                  text(member(shard, "term")).c_str(), text(member(shard, "commit_index")).c_str(),
                  joined(member(shard, "replicas")).c_str());
    out += line;
  }
  return out;
}

}  // namespace seatd::tools

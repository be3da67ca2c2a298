#pragma once
// seatctl's human output: one short line per answer, a table for an event's counts, a
// terminal seat map per row (as sim/core_demo.cpp draws it). Pure functions of the API's JSON
// answers, so they can be tested without a server; --json bypasses them.

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace seatd::tools {

// Ordered: tables and --json keep the order the server gave (sections in layout order).
using json = nlohmann::ordered_json;

std::string render_event_created(const json& answer, unsigned status);
std::string render_event_counts(const json& event);
// One block per section: "  row 1  ..hh##x.." ('.' available, 'h' held, '#' sold, 'x'
// blocked), rows and seats in layout order.
std::string render_seat_map(const json& seats);
std::string render_hold(const json& hold, const std::string& verb);
std::string render_reservation(const json& reservation, unsigned status);
std::string render_seat_states(const json& answer, const std::string& verb);
std::string render_cluster(const json& cluster);

}  // namespace seatd::tools

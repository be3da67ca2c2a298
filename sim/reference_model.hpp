#pragma once
// The auditor of event_machine: a model of one event written from docs/API.md that says what
// each command must answer and what state follows. It shares only vocabulary types with the
// machine, none of its logic, and favours obviously-correct over fast (maps, whole scans).
//
// Readings of API.md that the text leaves open, chosen here:
// - A key already seen answers its replay or 409 idempotency_key_reused before anything
//   else is checked (the Idempotency section answers unconditionally); a malformed key
//   is 400 invalid_request first.
// - An id that is empty or has a character outside [A-Za-z0-9._:-] is a "bad identifier"
//   (400 invalid_request, before 404 and unknown_seat), and so is a seat id that is not
//   three 1..16 character parts joined by '-'; a well-formed id that names nothing is
//   unknown (404, or unknown_seat for seats).
// - A hold is expired from the instant now >= expires_at; keys are forgotten once
//   24 hours have fully passed.
// - payment_ref: 1 to 128 printable ASCII characters; cancel reason: at most 256
//   printable ASCII characters; GA count: 1 to 50, like seat counts.
// - Block replies list each requested seat once with its state, in any order;
//   unblocking a seat that is not blocked leaves it as it is.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

// Only for the vocabulary types declared there (commands, views, event_spec, errc,
// seat_state): the model calls nothing of the machine, the layout or the seat map.
#include "actors/event_machine.hpp"

namespace seatd::sim {

// API.md's numbers and identifier grammar, as the model reads them.
namespace contract {
inline constexpr std::int64_t ms_per_s = 1000;
inline constexpr std::int64_t day_ms = 24 * 3600 * ms_per_s;  // idempotency keys' lifetime
inline constexpr std::size_t per_hold_max = 50;  // 1 to 50 seat ids, best_available count
inline constexpr std::size_t per_block_max = 10'000;
inline constexpr std::size_t payment_ref_max = 128;
inline constexpr std::size_t reason_max = 256;

// "Basics": 1 to 64 characters of [A-Za-z0-9._:-].
bool is_identifier(const std::string& text);
// A seat id is {section}-{row}-{label}, each part 1 to 16 characters of the identifier
// alphabet without '-'. Anything else is malformed (400 invalid_request); a well-formed id
// that names no seat of the event is unknown (400 unknown_seat).
bool is_malformed_seat_id(const std::string& id);
bool is_printable(const std::string& text);
}  // namespace contract

struct model_row {
  std::size_t section = 0;
  std::size_t category = 0;
  std::vector<std::size_t> seats;  // layout indices, in physical order
};

struct model_hold {
  std::string id;
  std::string customer;
  std::vector<std::size_t> seats;  // ascending layout indices
  std::optional<std::size_t> ga_area;
  std::uint32_t ga_count = 0;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  std::string status;  // active, expired, released, confirmed, cancelled (reads "confirmed")
  std::string reservation_id;
};

struct model_reservation {
  std::string id;
  std::string hold_id;
  std::string payment_ref;
  std::int64_t confirmed_ms = 0;
  std::int64_t cancelled_ms = 0;
  bool cancelled = false;
};

struct model_key {
  bool for_confirm = false;
  std::uint64_t fingerprint = 0;
  std::int64_t stamp_ms = 0;
  actors::hold_view hold_answer;
  actors::reservation_view confirm_answer;
};

// What the model says a command answers.
struct expectation {
  std::optional<actors::errc> error;
  std::vector<std::string> unknown_seats;  // sorted
  std::vector<std::size_t> unavailable;    // sorted
  std::uint32_t limit = 0;
  std::uint32_t current = 0;
  std::uint32_t expired_first = 0;  // holds the command's own clock advance expired

  std::optional<actors::hold_view> hold;  // hold, extend, release
  bool new_hold = false;
  std::optional<actors::reservation_view> reservation;  // confirm, cancel
  bool new_reservation = false;
  bool created = false;    // confirm: 201
  bool publishes = false;  // a new record on the reservation stream
  bool replay = false;     // answered from an idempotency key
  std::string note;        // what kind of success or failure this was, for a coverage tally
  std::optional<std::vector<actors::seat_view>> seats;  // block
  std::optional<std::uint32_t> holds_expired;           // expire
};

// One event. apply() answers a command and changes the state as the contract says; a
// successful hold or confirm then waits for adopt_hold / adopt_reservation with the id the
// machine chose (ids carry a random nonce the contract does not fix).
struct reference_model {
  actors::event_spec spec;
  std::int64_t clock = 0;

  // The layout, in layout order: sections, rows, physical order.
  std::vector<model_row> rows;
  std::vector<std::string> seat_ids;
  std::vector<std::size_t> seat_row;
  std::map<std::string, std::size_t> seat_by_id;

  // The state.
  std::vector<actors::seat_state> state;
  std::map<std::string, model_hold> holds;
  std::vector<std::string> hold_ids;  // creation order
  std::map<std::string, model_reservation> reservations;
  std::vector<std::string> reservation_ids;  // creation order
  std::map<std::string, model_key> keys;
  std::set<std::string> customers;  // everyone who ever held
  std::uint64_t expired_total = 0;
  std::size_t expired_on_the_instant = 0;    // holds expired with the clock exactly at expires_at
  std::size_t forgotten_on_the_instant = 0;  // keys forgotten exactly 24 hours after their use

  // A successful hold or confirm waits for the machine's id.
  std::optional<model_hold> pending_hold;
  std::optional<model_reservation> pending_reservation;
  std::string pending_key;
  std::uint64_t pending_fingerprint = 0;

  reference_model(actors::event_spec s, std::int64_t now_ms);

  // ---- commands
  expectation apply(const actors::command& command, std::int64_t now_ms);
  void adopt_hold(const std::string& id);
  void adopt_reservation(const std::string& id);

  // ---- definitions and derived quantities, recomputed from the holds every time
  std::optional<std::size_t> category_index(const std::string& id) const;
  std::optional<std::size_t> section_index(const std::string& id) const;
  std::optional<std::size_t> area_index(const std::string& id) const;
  std::int64_t seat_price(std::size_t seat) const;
  std::int64_t total_of(const model_hold& h) const;
  bool available(std::size_t seat) const { return state[seat] == actors::seat_state::available; }
  static bool is_live(const model_hold& h);          // active or confirmed: counts for limits
  static std::uint32_t places(const model_hold& h);  // seats and GA places
  // Held and sold (not cancelled) seats and GA places of one customer.
  std::uint32_t customer_total(const std::string& customer) const;
  // The same for every customer who ever held (0 for those who hold nothing now).
  std::map<std::string, std::uint32_t> customer_totals() const;
  std::uint32_t ga_places(std::size_t area, const std::string& status) const;
  std::uint32_t active_holds() const;

  // ---- views
  static actors::hold_status status_of(const std::string& status);
  actors::hold_view view(const model_hold& h) const;
  actors::reservation_view view(const model_reservation& r) const;
  // Every row as "section-row (category): states", '.' free, 'h' held, 's' sold, 'b' blocked.
  std::string rows_picture() const;

 private:
  std::uint32_t advance(std::int64_t now_ms);

  bool row_matches(std::size_t r, std::optional<std::size_t> category,
                   std::optional<std::size_t> section) const;
  bool strands(const std::vector<std::size_t>& block) const;
  std::vector<std::size_t> best_block(std::size_t count, std::optional<std::size_t> category,
                                      std::optional<std::size_t> section) const;
  std::vector<std::size_t> best_scattered(std::size_t count, std::optional<std::size_t> category,
                                          std::optional<std::size_t> section) const;

  std::optional<actors::errc> resolve(const std::vector<std::string>& ids, std::size_t max,
                                      expectation& e, std::vector<std::size_t>& seats) const;
  std::optional<actors::errc> find_hold(const std::string& id, model_hold*& found);
  expectation hold(const actors::hold_command& c, std::int64_t now_ms);
  expectation extend(const actors::extend_command& c, std::int64_t now_ms);
  expectation release(const actors::release_command& c, std::int64_t now_ms);
  expectation confirm(const actors::confirm_command& c, std::int64_t now_ms);
  expectation cancel(const actors::cancel_command& c, std::int64_t now_ms);
  expectation block(const actors::block_command& c, std::int64_t now_ms);
};

}  // namespace seatd::sim

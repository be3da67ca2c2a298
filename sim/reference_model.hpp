#pragma once
// The auditor of event_machine: a model of one event written from docs/API.md that says what
// each command must answer and what state follows. It shares only vocabulary types with the
// machine, none of its logic, and favours obviously-correct over fast (maps, whole scans).
//
// Readings of API.md that the text leaves open, chosen here:
// - A key already seen answers its replay or 409 idempotency_key_reused before anything
//   else is checked (the Idempotency section answers unconditionally); a malformed key
//   is 400 invalid_request first. This holds for every mutation (hold, extend, release,
//   confirm, cancel, block, unblock): a key first used for one kind of request is 409 for
//   another, and a replay is the first answer's body (the hold's expiry and status then).
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
//
// And of the rules seatd adds (ids, the acting customer, retention; see event_machine.hpp):
// - Ids are "h<index>-<secret>" and "r<salt>-<index>-<secret>": the secret is the command's
//   96 bits as 24 lowercase hex digits (its three words in order), the salt the event's as
//   16, the index decimal without leading zeros. A hold takes the lowest index a forgotten
//   hold left, else the next new one; reservations count up from 0. Any other spelling
//   (another secret, 8 hex digits, another index) names nothing: 404.
// - The acting customer, when given, must be an identifier (400 after the id's own check,
//   before any 404); when it is not the owner (a reservation's owner is its hold's
//   customer) the answer is the 404 of an unknown id, message included. Checks run in the
//   machine's order: extend: ttl_s, id, actor, 404, state; release: id, actor, 404, state;
//   confirm: key, payment_ref, id, actor, 404, repeat rules, state; cancel: reason, id,
//   actor, 404, already cancelled.
// - A released hold ended at the release's stamp, an expired one at its expires_at. Once
//   the clock reaches ended + the event's hold retention, the hold is forgotten (404 with
//   "no hold "ID" in this event (a released or expired hold is kept N s)", N the retention
//   in whole seconds), unless a key of a hold request still names it: then it goes when
//   that key goes (24 hours on, or evicted early when the event keeps keys_max keys and a
//   new one comes; the oldest goes first, after the new hold took its index). Within one
//   clock move: holds expire, holds past their retention go, then keys past 24 hours (and
//   the holds only they kept). Confirmed and cancelled holds stay.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
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
  std::uint32_t index = 0;  // the id's index
  std::string customer;
  std::vector<std::size_t> seats;  // ascending layout indices
  std::optional<std::size_t> ga_area;
  std::uint32_t ga_count = 0;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  std::string status;  // active, expired, released, confirmed, cancelled (reads "confirmed")
  std::string reservation_id;
  std::int64_t ended_ms = 0;  // released or expired: when it ended
  bool kept_by_key = false;   // its retention ended while a key named it
};

struct model_reservation {
  std::string id;
  std::string hold_id;
  std::string payment_ref;
  std::int64_t confirmed_ms = 0;
  std::int64_t cancelled_ms = 0;
  bool cancelled = false;
};

// The first answer a key gave, never changed afterwards (shared by copies of the model).
struct model_answer {
  actors::hold_view hold;                // hold, extend, release
  actors::reservation_view reservation;  // confirm, cancel
  std::vector<actors::seat_view> seats;  // block, unblock
};

struct model_key {
  // The request it was first used for: hold, confirm, extend, release, cancel, block, unblock.
  std::string op;
  std::uint64_t fingerprint = 0;
  std::int64_t stamp_ms = 0;
  std::uint64_t order = 0;  // when it was remembered: the oldest is evicted first
  std::shared_ptr<const model_answer> answer;
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
  std::string message;     // the failure's message, where the rules fix it
  std::optional<std::vector<actors::seat_view>> seats;  // block
  std::optional<std::uint32_t> holds_expired;           // expire
};

// One event. apply() answers a command and changes the state as the contract says; the ids
// of new holds and reservations follow from the command's secret (see the readings above).
struct reference_model {
  static constexpr std::int64_t default_hold_retention_ms = 3600 * contract::ms_per_s;
  static constexpr std::size_t default_keys_max = 1'000'000;

  actors::event_spec spec;
  std::uint64_t id_salt = 0;
  std::int64_t hold_retention_ms = default_hold_retention_ms;
  std::size_t keys_max = default_keys_max;  // idempotency keys kept at most
  std::int64_t clock = 0;

  // The layout, in layout order: sections, rows, physical order.
  std::vector<model_row> rows;
  std::vector<std::string> seat_ids;
  std::vector<std::size_t> seat_row;
  std::map<std::string, std::size_t> seat_by_id;

  // The state.
  std::vector<actors::seat_state> state;
  std::map<std::string, model_hold> holds;  // the holds kept (not forgotten)
  std::vector<std::string> hold_ids;        // every hold ever made, creation order
  std::set<std::string> forgotten;          // holds forgotten after their retention
  std::set<std::uint32_t> free_indices;     // the indices forgotten holds left
  std::uint32_t indices = 0;                // hold indices ever used
  std::map<std::string, model_reservation> reservations;
  std::vector<std::string> reservation_ids;  // creation order
  std::map<std::string, model_key> keys;
  std::uint64_t keys_remembered = 0;
  std::set<std::string> customers;  // everyone who ever held
  std::uint64_t expired_total = 0;
  // No hold expires, no ended hold reaches its retention and no key its 24 hours before this
  // (a lower bound, lowered by every change that can make something due sooner): the time
  // step scans nothing before it, which keeps long runs linear.
  std::int64_t next_due_ms = std::numeric_limits<std::int64_t>::min();
  std::size_t expired_on_the_instant = 0;    // holds expired with the clock exactly at expires_at
  std::size_t forgotten_on_the_instant = 0;  // keys forgotten exactly 24 hours after their use
  // How often the retention rules came into play, by name, for the coverage tally.
  std::map<std::string, std::size_t> happenings;

  reference_model(actors::event_spec s, std::int64_t now_ms, std::uint64_t salt,
                  std::int64_t retention_ms = default_hold_retention_ms,
                  std::size_t max_keys = default_keys_max);

  // Lowers next_due_ms to `at_ms`.
  void due_at(std::int64_t at_ms) { next_due_ms = std::min(next_due_ms, at_ms); }

  // ---- commands
  expectation apply(const actors::command& command, std::int64_t now_ms);
  // The Idempotency section, before any other check of a command that carries a key: a
  // malformed key fails (400), a key seen for another request fails (409), and a key seen for
  // this request answers the first answer (replay). False: go on (no key, or a new one).
  bool answered_by_key(const std::string& key, std::uint64_t fingerprint, const std::string& op,
                       expectation& e) const;
  // Remembers a successful keyed command's answer.
  void remember_answer(const std::string& key, std::uint64_t fingerprint, const std::string& op,
                       const expectation& e);

  // ---- reads (GET of a hold or a reservation, with the acting customer or without)
  expectation read_hold(const std::string& id, const std::string& acting) const;
  expectation read_reservation(const std::string& id, const std::string& acting) const;

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
  // Released or expired, and ended + the retention has come: kept only by a key.
  bool past_retention(const model_hold& h) const;
  // Whether a key of a hold request names the hold.
  bool named_by_key(const std::string& hold_id) const;

  // ---- views
  static actors::hold_status status_of(const std::string& status);
  actors::hold_view view(const model_hold& h) const;
  actors::reservation_view view(const model_reservation& r) const;
  // Every row as "section-row (category): states", '.' free, 'h' held, 's' sold, 'b' blocked.
  std::string rows_picture() const;

 private:
  std::uint32_t advance(std::int64_t now_ms);
  // Forgets every hold past its retention that no key names.
  void forget_due();
  void forget(const std::string& hold_id);
  // Remembers a key; when keys_max are kept, the oldest is forgotten first.
  void remember(const std::string& key, model_key k);
  std::string new_hold_id(std::uint32_t index, const actors::id_secret& secret) const;
  std::string new_reservation_id(std::size_t index, const actors::id_secret& secret) const;

  bool row_matches(std::size_t r, std::optional<std::size_t> category,
                   std::optional<std::size_t> section) const;
  bool strands(const std::vector<std::size_t>& block) const;
  std::vector<std::size_t> best_block(std::size_t count, std::optional<std::size_t> category,
                                      std::optional<std::size_t> section) const;
  std::vector<std::size_t> best_scattered(std::size_t count, std::optional<std::size_t> category,
                                          std::optional<std::size_t> section) const;

  std::optional<actors::errc> resolve(const std::vector<std::string>& ids, std::size_t max,
                                      expectation& e, std::vector<std::size_t>& seats) const;
  // 400 for a malformed id or actor, 404 for an unknown id or another customer's: then null,
  // and e says which.
  const model_hold* find_hold(const std::string& id, const std::string& acting,
                              expectation& e) const;
  const model_reservation* find_reservation(const std::string& id, const std::string& acting,
                                            expectation& e) const;
  expectation hold(const actors::hold_command& c, std::int64_t now_ms);
  expectation extend(const actors::extend_command& c, std::int64_t now_ms);
  expectation release(const actors::release_command& c, std::int64_t now_ms);
  expectation confirm(const actors::confirm_command& c, std::int64_t now_ms);
  expectation cancel(const actors::cancel_command& c, std::int64_t now_ms);
  expectation block(const actors::block_command& c, std::int64_t now_ms);
};

}  // namespace seatd::sim

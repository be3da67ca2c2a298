#pragma once
// The inventory of one event as a deterministic state machine: commands (each stamped with
// its time by the caller: later, the shard leader's stamp on the log entry) go in, values
// come out. A failed command changes nothing. No clocks, threads, sockets or files: the
// same commands with the same stamps give the same state on any machine.
//
// Every command first advances the machine's clock to its stamp (never backwards) and
// expires the holds due by then, so expiry depends only on stamps; expire_command does
// only that, for a timer to free seats when no other traffic comes.
//
// The reservation stream: each confirm and cancel is a record numbered by the event's
// stream seq (1, 2, ...). The machine keeps the records not yet acknowledged as delivered
// (stream_pending()), so that whichever replica leads the event next publishes exactly what
// is left; stream_ack_command (logged like any command) says every record up to a seq was
// delivered.

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "actors/customer_ledger.hpp"
#include "actors/event_layout.hpp"
#include "actors/idempotency_ledger.hpp"
#include "actors/seat_map.hpp"

namespace seatd::actors {

struct machine_limits {
  std::uint32_t seats_per_hold_max = 50;
  std::uint32_t seats_per_block_max = 10'000;
  std::uint32_t payment_ref_length_max = 128;
  std::uint32_t cancel_reason_length_max = 256;
  std::int64_t idempotency_retention_ms = std::int64_t{24} * 3600 * 1000;
  std::uint32_t idempotency_keys_max = 1'000'000;
  std::int64_t hold_retention_ms_max = std::int64_t{30} * 24 * 3600 * 1000;
  layout_limits layout;
};

// ---- commands -------------------------------------------------------------------------

// The secret part of a new hold's or reservation's id: 96 bits the caller draws from a
// cryptographically secure source and writes into the log entry, so replay makes the same
// id and nobody can predict another customer's.
using id_secret = std::array<std::uint32_t, 3>;

struct explicit_seats {
  std::vector<std::string> seats;
  bool operator==(const explicit_seats&) const = default;
};
struct best_available {
  std::uint32_t count = 1;
  std::string category;  // empty: any
  std::string section;   // empty: any
  bool adjacent = true;
  bool operator==(const best_available&) const = default;
};
struct ga_places {
  std::string area;
  std::uint32_t count = 1;
  bool operator==(const ga_places&) const = default;
};
using hold_selector = std::variant<explicit_seats, best_available, ga_places>;

struct hold_command {
  std::string customer_id;
  std::optional<std::uint32_t> ttl_s;  // default: the event's default_hold_ttl_s
  hold_selector selector;
  std::string idempotency_key;            // empty: none
  std::uint64_t request_fingerprint = 0;  // of method, path and body; compared on key reuse
  id_secret secret{};                     // of the new hold's id, chosen by the caller
  bool operator==(const hold_command&) const = default;
};
// The commands on an existing hold or reservation may name the customer acting: when it is
// not the owner, the answer is the same 404 as for an id that does not exist.
struct extend_command {
  std::string hold_id;
  std::uint32_t ttl_s = 0;
  std::string acting_customer{};  // empty: not given
  std::string idempotency_key{};  // as hold_command's
  std::uint64_t request_fingerprint = 0;
  bool operator==(const extend_command&) const = default;
};
struct release_command {
  std::string hold_id;
  std::string acting_customer{};
  std::string idempotency_key{};
  std::uint64_t request_fingerprint = 0;
  bool operator==(const release_command&) const = default;
};
struct confirm_command {
  std::string hold_id;
  std::string payment_ref;
  std::string idempotency_key;
  std::uint64_t request_fingerprint = 0;
  id_secret secret{};  // of the new reservation's id
  std::string acting_customer{};
  bool operator==(const confirm_command&) const = default;
};
struct cancel_command {
  std::string reservation_id;
  std::string reason;
  std::string acting_customer{};
  std::string idempotency_key{};
  std::uint64_t request_fingerprint = 0;
  bool operator==(const cancel_command&) const = default;
};
struct block_command {
  std::vector<std::string> seats;
  bool block = true;  // false: unblock
  std::string idempotency_key{};
  std::uint64_t request_fingerprint = 0;
  bool operator==(const block_command&) const = default;
};
struct expire_command {
  bool operator==(const expire_command&) const = default;
};
// Every stream record up to `seq` was delivered (by the event's leader, to Kafka).
struct stream_ack_command {
  std::uint64_t seq = 0;
  bool operator==(const stream_ack_command&) const = default;
};

using command = std::variant<hold_command, extend_command, release_command, confirm_command,
                             cancel_command, block_command, expire_command, stream_ack_command>;

// ---- answers --------------------------------------------------------------------------

enum class hold_status : std::uint8_t { active, expired, released, confirmed, cancelled };
// The API's hold status: a cancelled reservation's hold still reads "confirmed".
std::string_view hold_status_name(hold_status status);

struct ga_view {
  std::string area;
  std::uint32_t count = 0;
  bool operator==(const ga_view&) const = default;
};

struct hold_view {
  std::string hold_id;
  std::string customer_id;
  std::vector<std::string> seats;  // layout order
  std::optional<ga_view> ga;
  std::int64_t created_at_ms = 0;
  std::int64_t expires_at_ms = 0;
  std::int64_t total_minor = 0;
  std::string currency;
  hold_status status = hold_status::active;
  std::string reservation_id;  // set once confirmed
  bool operator==(const hold_view&) const = default;
};

struct reservation_view {
  std::string reservation_id;
  std::string customer_id;
  std::string hold_id;
  std::vector<std::string> seats;
  std::optional<ga_view> ga;
  std::int64_t total_minor = 0;
  std::string currency;
  std::string payment_ref;
  bool cancelled = false;
  std::int64_t confirmed_at_ms = 0;
  std::int64_t cancelled_at_ms = 0;  // when cancelled
  bool operator==(const reservation_view&) const = default;
};

struct confirm_reply {
  reservation_view reservation;
  bool created = false;          // 201 (created, or replayed by idempotency key) vs 200
  std::uint64_t stream_seq = 0;  // the record's seq for the reservation stream; 0: none
};
struct cancel_reply {
  reservation_view reservation;
  std::uint64_t stream_seq = 0;
};
struct seat_view {
  std::string id;
  seat_state state = seat_state::available;
  bool operator==(const seat_view&) const = default;
};
// One page of a seat map (GET .../seats): consecutive seats of a section, or of the event,
// in layout order.
struct seat_page {
  seat_index first = 0;  // the index of seats[0]; where the page would start when empty
  std::vector<seat_view> seats;
  bool more = false;  // the section (or event) has seats after the page's last
};
struct expire_reply {
  std::uint32_t holds_expired = 0;
};
struct stream_ack_reply {
  std::uint64_t acked = 0;  // every record up to here is delivered
};
// A stream record not yet acknowledged: the reservation as that confirm or cancel left it.
struct stream_item {
  std::uint64_t seq = 0;
  reservation_view reservation;
  bool operator==(const stream_item&) const = default;
};

using command_reply = std::variant<hold_view, confirm_reply, cancel_reply, std::vector<seat_view>,
                                   expire_reply, stream_ack_reply>;

struct ga_counts {
  std::uint32_t capacity = 0;
  std::uint32_t held = 0;
  std::uint32_t sold = 0;
  bool operator==(const ga_counts&) const = default;
};

// ---- the machine ----------------------------------------------------------------------

class event_machine {
 public:
  static constexpr std::int64_t default_hold_retention_ms = 3600 * 1000;

  // id_salt: a random number chosen by the caller once per event; it makes reservation
  // ids unique across events. hold_retention_ms: how long a released or expired hold stays
  // readable before it is forgotten (part of the event's state, so every replica forgets
  // at the same command).
  static result<event_machine> create(std::string event_id, event_spec spec, std::int64_t now_ms,
                                      std::uint64_t id_salt,
                                      std::int64_t hold_retention_ms = default_hold_retention_ms,
                                      const machine_limits& limits = {});

  // Mutations. now_ms is the command's stamp.
  result<hold_view> hold(const hold_command& c, std::int64_t now_ms);
  result<hold_view> extend(const extend_command& c, std::int64_t now_ms);
  result<hold_view> release(const release_command& c, std::int64_t now_ms);
  result<confirm_reply> confirm(const confirm_command& c, std::int64_t now_ms);
  result<cancel_reply> cancel(const cancel_command& c, std::int64_t now_ms);
  result<std::vector<seat_view>> block(const block_command& c, std::int64_t now_ms);
  expire_reply expire(std::int64_t now_ms);
  // An ack at or below stream_acked() changes nothing; one beyond stream_seq() is refused.
  result<stream_ack_reply> stream_ack(const stream_ack_command& c, std::int64_t now_ms);
  result<command_reply> apply(const command& c, std::int64_t now_ms);

  // Queries (never change state).
  const std::string& event_id() const { return event_id_; }
  const event_layout& layout() const { return *layout_; }
  bool same_definition(const event_spec& spec) const { return layout_->spec() == spec; }
  std::int64_t created_at_ms() const { return created_at_ms_; }
  std::int64_t clock_ms() const { return clock_ms_; }
  const seat_map& seats() const { return seats_; }
  ga_counts ga(std::uint16_t area) const;
  // acting_customer: when given and not the owner, not found (as for an unknown id).
  result<hold_view> find_hold(std::string_view hold_id,
                              std::string_view acting_customer = {}) const;
  result<reservation_view> find_reservation(std::string_view reservation_id,
                                            std::string_view acting_customer = {}) const;
  // Every seat of the section (or of the event), in layout order.
  std::vector<seat_view> seat_views(std::optional<std::uint32_t> section) const;
  // At most `limit` of them, from seat index `from` on: a `from` before the section starts at
  // its first seat, one at or past its end gives an empty page. Its cost is the page's: no
  // other seat is looked at.
  seat_page seat_views(std::optional<std::uint32_t> section, seat_index from,
                       std::uint32_t limit) const;
  std::uint32_t active_holds() const { return active_holds_; }
  std::int64_t hold_retention_ms() const { return hold_retention_ms_; }
  // Hold records kept: active, confirmed, and ended within the retention (or pinned by a key).
  std::size_t holds_kept() const { return holds_.size() - free_holds_.size(); }
  // The earliest time a hold may expire (possibly earlier than any real expiry: stale
  // queue entries are dropped lazily), for a timer to wake up at.
  std::optional<std::int64_t> next_expiry_ms() const {
    if (expiries_.empty()) return std::nullopt;
    return expiries_.top().at_ms;
  }
  // The earliest time the clock alone changes anything: a hold expires, an ended hold is
  // forgotten, or an idempotency key is. A timer set for it keeps a quiet event's memory
  // bounded too. Possibly early (stale expiry entries), never late.
  std::optional<std::int64_t> next_time_change_ms() const;
  std::uint64_t holds_expired_total() const { return holds_expired_total_; }
  // Idempotency keys remembered now (they are forgotten 24 hours on, by command stamps).
  std::size_t idempotency_keys() const { return idempotency_.size(); }
  // How many things time has changed so far, for a caller that must log every such change:
  // expiries, forgotten holds and forgotten keys each only ever add to it.
  std::uint64_t time_changes() const {
    return holds_expired_total_ + holds_forgotten_total_ + keys_forgotten_total_;
  }
  std::uint64_t stream_seq() const { return stream_seq_; }
  // Every record up to here was acknowledged as delivered; the rest are stream_pending().
  std::uint64_t stream_acked() const { return stream_seq_ - stream_pending_.size(); }
  // The records after stream_acked(), in seq order, each as its confirm or cancel made it
  // (a confirm's record of a reservation cancelled since reads as not cancelled).
  std::vector<stream_item> stream_pending() const;
  std::uint32_t customer_seats(std::string_view customer_id) const;

  // Recomputes every derived quantity from the holds and compares: empty when consistent,
  // else what is wrong. Used by tests and after decoding a snapshot.
  std::string check_invariants() const;
  // Heap bytes of the whole state, by part (see docs/BENCHMARKS.md).
  struct memory_report {
    std::size_t layout_index = 0, seat_map = 0, holds = 0, reservations = 0, seat_lists = 0,
                texts = 0, customers = 0, expiry_queue = 0, idempotency = 0, retention = 0,
                stream = 0;
    std::size_t total() const;
  };
  memory_report memory() const;

 private:
  friend struct snapshot_codec;
  static constexpr std::uint32_t none = 0xFFFFFFFFu;
  static constexpr std::uint8_t no_ga = 0xFF;

  // hold_record::flags
  static constexpr std::uint8_t flag_free = 1;     // the slot holds no hold (a forgotten one)
  static constexpr std::uint8_t flag_keyed = 2;    // an idempotency key names the hold
  static constexpr std::uint8_t flag_overdue = 4;  // ended, retention over, waits for its key
  struct hold_record {
    std::int64_t created_at_ms;
    std::uint32_t lifetime_ms;  // expires_at - created_at: at most max_hold_ttl_s
    std::uint32_t customer;
    std::uint32_t seats_at;     // first of seat_count entries in seat_lists_
    std::uint32_t reservation;  // index into reservations_, or none
    id_secret secret;
    std::uint32_t ended_after_ms;  // released or expired at: created_at + this
    std::uint8_t seat_count;
    std::uint8_t ga_count;
    std::uint8_t ga_area;  // no_ga for seated holds
    hold_status status;
    std::uint8_t flags;
    std::int64_t expires_at_ms() const { return created_at_ms + lifetime_ms; }
    std::int64_t ended_at_ms() const { return created_at_ms + ended_after_ms; }
  };
  static_assert(sizeof(hold_record) == 48, "hold records are kept compact on purpose");
  struct reservation_record {
    std::int64_t cancelled_at_ms;  // 0: live
    std::uint32_t hold;
    id_secret secret;
    std::uint32_t confirmed_after_ms;  // confirmed_at - hold created_at
    std::uint32_t payment_ref_at;      // in texts_
    std::uint32_t payment_ref_length;
  };
  struct expiry {
    std::int64_t at_ms;
    std::uint32_t hold;
    bool operator>(const expiry& o) const {
      return at_ms != o.at_ms ? at_ms > o.at_ms : hold > o.hold;
    }
  };

  event_machine(std::string event_id, std::shared_ptr<const event_layout> layout,
                std::int64_t now_ms, std::uint64_t id_salt, std::int64_t hold_retention_ms,
                const machine_limits& limits);

  std::uint32_t advance(std::int64_t now_ms);  // returns holds expired
  void end_hold(std::uint32_t hold, hold_status to);
  // Forgets an ended hold: its slot, seat list and customer reference go back for reuse.
  void forget_hold(std::uint32_t hold);
  // A key of a hold is forgotten: the hold may be forgotten too, if its retention is over.
  void unpin(const idempotency_outcome& outcome);
  void remember_key(const std::string& key, std::uint64_t fingerprint, idempotency_outcome outcome);
  // A hold as a keyed request first answered it: its expiry then, and the status it had.
  hold_view hold_as_answered(const idempotency_outcome& first, hold_status status) const;
  std::uint32_t new_hold_slot();
  void compact_seat_lists();
  std::string check_slot(std::uint32_t hold, bool keyed, std::size_t& free_slots) const;
  std::span<const seat_index> hold_seats(const hold_record& h) const;
  std::int64_t hold_total_minor(const hold_record& h) const;
  std::string hold_id(std::uint32_t hold) const;
  std::string reservation_id(std::uint32_t reservation) const;
  std::optional<std::uint32_t> parse_hold_id(std::string_view id) const;
  std::optional<std::uint32_t> parse_reservation_id(std::string_view id) const;
  hold_view view_hold(std::uint32_t hold) const;
  reservation_view view_reservation(std::uint32_t reservation) const;
  result<std::vector<seat_index>> resolve_seats(const std::vector<std::string>& ids,
                                                std::uint32_t max) const;
  // The verdict on a request's idempotency key: a failure (bad or reused key), the first
  // answer's outcome to replay, or nullopt to go on (no key, or a fresh one).
  result<std::optional<idempotency_outcome>> check_key(const std::string& key,
                                                       std::uint64_t fingerprint,
                                                       idempotency_outcome::kind op) const;
  // Malformed ids are invalid_request (400), well-formed but unknown ones not found (404),
  // and so are ids of another customer's hold or reservation when the actor is named.
  result<std::uint32_t> find_hold_index(std::string_view id, std::string_view acting) const;
  result<std::uint32_t> find_reservation_index(std::string_view id, std::string_view acting) const;
  common::failure_of<failure> hold_not_found(std::string_view id) const;
  // The failure for acting on a hold that is no longer active.
  static common::failure_of<failure> hold_ended(hold_status status);

  std::string event_id_;
  std::shared_ptr<const event_layout> layout_;
  machine_limits limits_;
  std::int64_t created_at_ms_;
  std::uint64_t id_salt_;
  std::int64_t hold_retention_ms_;
  std::int64_t clock_ms_;
  seat_map seats_;
  std::vector<std::uint32_t> ga_held_;
  std::vector<std::uint32_t> ga_sold_;
  std::vector<hold_record> holds_;
  std::vector<reservation_record> reservations_;
  std::vector<seat_index> seat_lists_;
  std::string texts_;  // payment refs, appended
  customer_ledger customers_;
  std::priority_queue<expiry, std::vector<expiry>, std::greater<>> expiries_;
  // Ended holds by when their retention is over (at_ms).
  std::priority_queue<expiry, std::vector<expiry>, std::greater<>> retention_;
  std::set<std::uint32_t> free_holds_;  // forgotten slots, reused lowest first
  std::size_t seat_list_garbage_ = 0;   // entries of seat_lists_ no hold uses
  idempotency_ledger idempotency_;
  // How many keys show each hold (pins_hold()); flag_keyed is set exactly for these.
  std::unordered_map<std::uint32_t, std::uint32_t> hold_pins_;
  std::uint32_t active_holds_ = 0;
  std::uint64_t holds_expired_total_ = 0;
  std::uint64_t holds_forgotten_total_ = 0;  // not state: counts since this process built it
  std::uint64_t keys_forgotten_total_ = 0;
  std::uint64_t stream_seq_ = 0;
  // The unacknowledged records, seqs stream_acked()+1 .. stream_seq_: each a reservation
  // index, with stream_cancel_bit set for a cancel's record.
  static constexpr std::uint32_t stream_cancel_bit = 0x80000000u;
  std::deque<std::uint32_t> stream_pending_;
};

}  // namespace seatd::actors

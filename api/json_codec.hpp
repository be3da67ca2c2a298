#pragma once
// JSON <-> inventory values for the gateway API (docs/API.md). Pure functions:
// parsers turn request bodies into commands or a ready 400 answer naming the field; the
// renderers produce the exact bodies API.md specifies. nlohmann_json stays inside the .cpp
// so that this header is cheap to include.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/event_machine.hpp"

namespace seatd::api {

// A complete answer: status and JSON body.
struct response {
  unsigned status = 200;
  std::string body;
  bool operator==(const response&) const = default;
};

template <class T>
using parsed = common::result<T, response>;

// {"error": code, "message": message}
response error_response(unsigned status, std::string_view code, std::string_view message);
// The status and body of an inventory failure: the errc's API status and code, plus its
// details ("seats" for unknown_seat, "unavailable" for seats_unavailable, "limit" and
// "current" for customer_limit_exceeded). Seat indices are named through the layout.
response failure_response(const actors::failure& failure, const actors::event_layout& layout);
unsigned http_status(actors::errc code);

// ---- request bodies: malformed JSON, wrong types, missing or unknown fields, bad
// identifiers, duplicates and out-of-range numbers give 400 invalid_request. -------------
// Bodies nested deeper than 64 levels and objects with a repeated key are refused too.

// Shapes, types and identifier grammar only: lengths, duplicate ids, currencies, references
// and limits are event_layout::build's (the machine's create), which names fields alike.
parsed<actors::event_spec> parse_event_spec(std::string_view body);
// Commands without secret and request_fingerprint (the server sets them). hold, extend,
// confirm, cancel, block and unblock take an optional "idempotency_key" (release's comes in
// the Idempotency-Key header only). extend, confirm, cancel and release (DELETE, whose body
// is empty, "{}" or only this) take an optional "customer_id": the customer acting (an
// extension; see docs/API.md).
parsed<actors::hold_command> parse_hold(std::string_view body);
parsed<actors::extend_command> parse_extend(std::string_view body, std::string hold_id);
parsed<actors::confirm_command> parse_confirm(std::string_view body, std::string hold_id);
// The reason is optional, so an empty body is accepted as a cancel without one.
parsed<actors::cancel_command> parse_cancel(std::string_view body, std::string reservation_id);
parsed<actors::block_command> parse_block(std::string_view body, bool block);
// DELETE .../holds/{id} takes no body: empty or "{}" is accepted.
parsed<actors::release_command> parse_release(std::string_view body, std::string hold_id);

// ---- answers -----------------------------------------------------------------------------

// PUT /v1/events/{id}: {"event_id", "seats_total", "ga_capacity_total", "created_at"}
std::string render_event_created(const actors::event_machine& machine);
// GET /v1/events/{id}: definition summary and live counts; extensions: "blocked" per
// category and section, "currency", the customer and TTL limits, "created_at".
std::string render_event(const actors::event_machine& machine);
// ---- GET /v1/events/{id}/seats: the seat map, a page at a time ------------------------------
// (docs/decisions/0010-paginated-seat-map.md)

// A page holds at most this many seats; a request without `limit` gets this many.
inline constexpr std::uint32_t seats_per_page_max = 10'000;
inline constexpr std::uint32_t seats_per_page_default = 10'000;

// Where the previous page ended: its last seat, bound to the event and the section (or the
// whole event) it was a page of. On the wire (`next`, `after`): 16 lower-case hex digits, the
// seat's index then `check`. Opaque to clients, valid for as long as the event exists (a
// layout never changes).
struct seat_cursor {
  actors::seat_index after = 0;
  std::uint32_t check = 0;
  bool operator==(const seat_cursor&) const = default;
};
std::string seat_cursor_text(const seat_cursor& cursor);
// The cursor of seat `after` of a page of `section` (nullopt: of the whole event).
seat_cursor make_seat_cursor(const actors::event_machine& machine,
                             std::optional<std::uint32_t> section, actors::seat_index after);

// The query of GET .../seats. Other parameters than these three are ignored.
struct seat_query {
  std::optional<std::string> section;
  std::uint32_t limit = seats_per_page_default;
  std::optional<seat_cursor> after;
  bool operator==(const seat_query&) const = default;
};
// What can be checked without the event (API.md's error order puts it before 404): 400
// invalid_request naming the parameter for one given twice, a `limit` that is not an integer
// from 1 to seats_per_page_max, a `section` outside the section id grammar, an `after` that
// is not 16 lower-case hex digits. Values are taken as sent (no percent-decoding).
parsed<seat_query> parse_seat_query(std::string_view query);

// {"seats": [{"id", "state", "category"}], "next": cursor | null}: up to `limit` seats of the
// section (or of the event) in layout order, after the cursor's seat (else from the first),
// and the cursor of the page's last seat while more follow (an extension), null on the last
// page. Written straight from the machine's page of views: nothing of the rest of the event
// is built. 400 invalid_request naming `section` for a section the event does not have, or
// `after` for a cursor that is not of this event and this section (or whole-event) listing.
response render_seats(const actors::event_machine& machine, const seat_query& query);
// Holds: POST answers without "status"; GET, extend and DELETE answers with it (and, as an
// extension, "reservation_id" once the hold is confirmed).
std::string render_hold(std::string_view event_id, const actors::hold_view& hold, bool with_status);
std::string render_reservation(std::string_view event_id, const actors::reservation_view& r);
// block / unblock: {"event_id", "seats": [{"id", "state"}]}
std::string render_seat_states(std::string_view event_id,
                               const std::vector<actors::seat_view>& seats);

// GET /v1/cluster: the cluster as the answering node knows it (API.md, "Operations").
struct cluster_view {
  struct node_state {
    std::string id;
    std::string state;  // "up", "recovering" (this node), or "unreachable"
  };
  struct shard_state {
    std::uint32_t id = 0;
    std::vector<std::string> replicas;
    std::string leader;  // empty: none known (null)
    std::uint64_t term = 0;
    std::uint64_t commit_index = 0;
    // On the shard's leader: each other replica's match index (the last entry known
    // replicated there); empty elsewhere, and then not rendered.
    std::vector<std::pair<std::string, std::uint64_t>> match_index;
  };
  // Where one event lives (?event=ID).
  struct event_placement {
    std::string id;
    std::uint32_t shard = 0;
    std::string leader;  // empty: none known (null)
  };
  std::string node_id;  // extension: the answering node
  std::vector<node_state> nodes;
  std::vector<shard_state> shards;
  std::uint64_t events = 0;  // extension: events hosted by the answering node
  std::optional<event_placement> event;
};
// {"node_id", "nodes": [{"id", "state"}], "shards": [{"id", "replicas", "leader", "term",
// "commit_index"}], "events"} and, when asked for, "event": {"id", "shard", "leader"}.
std::string render_cluster(const cluster_view& view);

}  // namespace seatd::api

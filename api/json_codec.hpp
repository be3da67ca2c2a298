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
// hold_command without secret and request_fingerprint (the server sets them). extend,
// confirm, cancel and release (DELETE, whose body is empty, "{}" or only this) take an
// optional "customer_id": the customer acting (an extension; see docs/API.md).
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
// GET /v1/events/{id}/seats[?section=]: {"seats": [{"id", "state", "category"}]}
std::string render_seats(const actors::event_machine& machine,
                         std::optional<std::uint32_t> section);
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
    std::string state;  // "up" or "recovering"
  };
  struct shard_state {
    std::uint32_t id = 0;
    std::vector<std::string> replicas;
    std::string leader;
    std::uint64_t term = 0;
    std::uint64_t commit_index = 0;
  };
  // Where one event lives (?event=ID).
  struct event_placement {
    std::string id;
    std::uint32_t shard = 0;
    std::string leader;
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

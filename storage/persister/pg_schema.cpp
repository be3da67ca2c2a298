#include "storage/persister/pg_schema.hpp"

#include <array>

namespace seatd::storage::persister {
namespace {

// reservations: one row per reservation, the whole reservation as its last applied record
// says (a cancel keeps "seats"). reservation_seats: the seats of confirmed, not cancelled
// reservations; its primary key is what refuses a double sale. stream_positions: the last
// seq applied per event (API.md's dedupe rule). double_sale_conflicts: every seat a confirm
// could not take because another reservation held it.
constexpr std::string_view initial_schema = R"sql(
CREATE TABLE reservations (
  reservation_id text PRIMARY KEY,
  event_id text NOT NULL,
  customer_id text NOT NULL,
  hold_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
  seats text[] NOT NULL,
  ga_area text,
  ga_count bigint CHECK (ga_count > 0),
  total_minor bigint NOT NULL CHECK (total_minor >= 0),
  currency text NOT NULL,
  payment_ref text NOT NULL,
  confirmed_at timestamptz,
  cancelled_at timestamptz,
  last_seq bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((ga_area IS NULL) = (ga_count IS NULL)),
  CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
  CHECK (status = 'cancelled' OR confirmed_at IS NOT NULL)
);
CREATE INDEX reservations_event_id ON reservations (event_id);

CREATE TABLE reservation_seats (
  event_id text NOT NULL,
  seat_id text NOT NULL,
  reservation_id text NOT NULL REFERENCES reservations (reservation_id),
  PRIMARY KEY (event_id, seat_id)
);
CREATE INDEX reservation_seats_reservation_id ON reservation_seats (reservation_id);

CREATE TABLE stream_positions (
  event_id text PRIMARY KEY,
  last_seq bigint NOT NULL CHECK (last_seq >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE double_sale_conflicts (
  id bigserial PRIMARY KEY,
  event_id text NOT NULL,
  seat_id text NOT NULL,
  reservation_id text NOT NULL,
  holder_reservation_id text NOT NULL,
  seq bigint NOT NULL,
  detected_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX double_sale_conflicts_event_seat ON double_sale_conflicts (event_id, seat_id);
)sql";

constexpr std::array<migration, 1> all{{
    {1, "reservations, reservation_seats, stream_positions, double_sale_conflicts", initial_schema},
}};

}  // namespace

std::span<const migration> migrations() {
  return all;
}

}  // namespace seatd::storage::persister

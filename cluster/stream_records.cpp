#include "cluster/stream_records.hpp"

#include <string>

namespace seatd::cluster {

storage::stream_record stream_record_of(std::string_view event_id, std::uint64_t seq,
                                        const actors::reservation_view& reservation) {
  const actors::reservation_view& r = reservation;
  storage::stream_record out;
  out.type = r.cancelled ? storage::record_type::cancelled : storage::record_type::confirmed;
  out.event_id = std::string(event_id);
  out.seq = seq;
  out.prev_seq = seq - 1;
  out.reservation_id = r.reservation_id;
  out.customer_id = r.customer_id;
  out.hold_id = r.hold_id;
  out.seats = r.seats;
  if (r.ga) out.ga = storage::ga_places{r.ga->area, r.ga->count};
  out.total_minor = r.total_minor;
  out.currency = r.currency;
  out.payment_ref = r.payment_ref;
  out.at_ms = r.cancelled ? r.cancelled_at_ms : r.confirmed_at_ms;
  out.confirmed_at_ms = r.confirmed_at_ms;
  if (r.cancelled) out.cancelled_at_ms = r.cancelled_at_ms;
  return out;
}

}  // namespace seatd::cluster

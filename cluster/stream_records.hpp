#pragma once
// The reservation stream's record of a committed confirm or cancel, built from the event
// machine's reservation: the one place where the inventory's types meet the stream's
// (storage/stream_record.hpp), so that the record's render and parse need no actors types.

#include <cstdint>
#include <string_view>

#include "actors/event_machine.hpp"
#include "storage/stream_record.hpp"

namespace seatd::cluster {

// The whole reservation, "at" the time of this change, and both extensions seatd always
// sends: "confirmed_at" (cancels too) and prev_seq = seq - 1 (the machine numbers an event's
// records 1, 2, ... without gaps).
storage::stream_record stream_record_of(std::string_view event_id, std::uint64_t seq,
                                        const actors::reservation_view& reservation);

}  // namespace seatd::cluster

// libFuzzer target: a shard's whole state as a leader sends it to a replica that lacks it
// (cluster/raft_shards.hpp, encode_snapshot_data). Any bytes either decode into parts or are
// refused; decoded parts encode to bytes that decode to the same parts; restoring them into a
// shard machine either succeeds with machines that pass their own invariant checks or fails
// with a message, never a crash: a replica checks this before its Raft core sees the snapshot.

#include <cstddef>
#include <cstdint>
#include <span>

#include "actors/shard_machine.hpp"
#include "cluster/raft_shards.hpp"
#include "common/assert.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace seatd;
  const auto parts = cluster::decode_snapshot_data(std::span<const std::uint8_t>(data, size));
  if (!parts) return 0;
  const auto again = cluster::decode_snapshot_data(cluster::encode_snapshot_data(*parts));
  SEATD_ASSERT(again.has_value() && *again == *parts, "snapshot data does not round-trip");
  actors::shard_machine machine(0);
  const auto restored = machine.restore(*parts);
  if (!restored) {
    SEATD_ASSERT(!restored.error().empty(), "a refused restore without a message");
    return 0;
  }
  machine.for_each([](const actors::event_machine& m) {
    SEATD_ASSERT(m.check_invariants().empty(), "a restored event is inconsistent");
  });
  return 0;
}

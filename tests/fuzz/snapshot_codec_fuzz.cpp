// libFuzzer target: event snapshots. Any bytes either decode into a machine that passes its
// own invariant check or are refused without a crash; a decoded machine encodes to bytes
// that decode and encode to the same bytes again.
//
// A checksum stops almost every mutation at the header, so when the first byte is odd the
// rest of the input gets a correct length and CRC-32C first: the fuzzer then reaches the
// body's decoder, which must hold even against a hostile edit with a valid checksum.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "actors/snapshot_codec.hpp"
#include "common/assert.hpp"
#include "common/checksum.hpp"

namespace {

constexpr std::size_t header_bytes = 8 + 2 + 4 + 4;  // magic, version, length, crc

void put_u32(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i)
    bytes[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace seatd::actors;
  if (size == 0) return 0;
  std::vector<std::uint8_t> input(data + 1, data + size);
  if ((data[0] & 1) != 0 && input.size() >= header_bytes) {
    const std::span<const std::uint8_t> payload(input.data() + header_bytes,
                                                input.size() - header_bytes);
    put_u32(input, 10, static_cast<std::uint32_t>(payload.size()));
    put_u32(input, 14, seatd::common::crc32c(payload));
  }
  auto decoded = snapshot_codec::decode(input);
  if (!decoded) return 0;
  SEATD_ASSERT(decoded.value().check_invariants().empty(), "a decoded snapshot is inconsistent");
  const auto bytes = snapshot_codec::encode(decoded.value());
  auto again = snapshot_codec::decode(bytes);
  SEATD_ASSERT(again.ok(), "an encoded snapshot does not decode");
  SEATD_ASSERT(snapshot_codec::encode(again.value()) == bytes,
               "a snapshot changed in a round trip");
  return 0;
}

// libFuzzer target: the log's command codec. Any bytes either decode or are refused without
// a crash; what decodes encodes to bytes that decode to the same command again.

#include <cstddef>
#include <cstdint>

#include "actors/command_codec.hpp"
#include "common/assert.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace seatd::actors;
  auto decoded = decode_command({data, size});
  if (!decoded) return 0;
  const auto bytes = encode_command(decoded.value());
  auto again = decode_command(bytes);
  SEATD_ASSERT(again.ok(), "an encoded command does not decode");
  SEATD_ASSERT(again.value() == decoded.value(), "a command changed in a round trip");
  SEATD_ASSERT(encode_command(again.value()) == bytes, "encoding is not deterministic");
  return 0;
}

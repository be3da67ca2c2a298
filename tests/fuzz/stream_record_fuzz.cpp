// libFuzzer target: one record of the reservation stream (storage/stream_record.hpp), as
// seat-persister reads it from Kafka. Any bytes parse or are refused with a message; nothing
// crashes or throws; and whatever parses renders and parses back to the same record, so that
// what the persister applies is what seatd would have sent.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/assert.hpp"
#include "storage/stream_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace seatd::storage;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_stream_record(text);
  if (!parsed) {
    SEATD_ASSERT(!parsed.error().message.empty(), "a refused record without a message");
    return 0;
  }
  const std::string rendered = render_stream_record(parsed.value());
  const auto again = parse_stream_record(rendered);
  SEATD_ASSERT(again.ok(), "a parsed record renders to text that does not parse");
  SEATD_ASSERT(again.value() == parsed.value(), "a record does not survive render and parse");
  SEATD_ASSERT(render_stream_record(again.value()) == rendered, "rendering is not stable");
  return 0;
}

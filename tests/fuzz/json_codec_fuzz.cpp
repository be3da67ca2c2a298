// libFuzzer target: the gateway API's request parsers. The first byte picks the parser, the
// rest is the body. Any body is parsed or refused with a 400 whose body names what is wrong;
// nothing crashes, hangs or throws.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/json_codec.hpp"
#include "common/assert.hpp"

namespace {

template <class T>
void check(const seatd::api::parsed<T>& parsed) {
  if (parsed.ok()) return;
  SEATD_ASSERT(parsed.error().status == 400 || parsed.error().status == 413,
               "a refused body is not a 400");
  SEATD_ASSERT(!parsed.error().body.empty(), "a refusal without a body");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace seatd::api;
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      check(parse_event_spec(body));
      break;
    case 1:
      check(parse_hold(body));
      break;
    case 2:
      check(parse_extend(body, "h1-000000000000000000000000"));
      break;
    case 3:
      check(parse_confirm(body, "h1-000000000000000000000000"));
      break;
    case 4:
      check(parse_cancel(body, "r1-1-00000000"));
      break;
    case 5:
      check(parse_block(body, data[0] % 2 == 0));
      break;
    default:
      check(parse_release(body, "h1-000000000000000000000000"));
      break;
  }
  return 0;
}

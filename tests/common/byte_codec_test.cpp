#include "common/byte_codec.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "common/checksum.hpp"
#include "common/identifier.hpp"

using namespace seatd::common;

TEST_CASE("byte_codec: values round-trip", "[unit][common]") {
  byte_writer w;
  w.u8(7);
  w.u16(0xBEEF);
  w.u32(0xDEADBEEF);
  w.u64(0x0123456789ABCDEFull);
  w.i64(-42);
  for (std::uint64_t v : {0ull, 127ull, 128ull, 300ull, ~0ull})
    w.varint(v);
  w.string("seat A-1-1");
  const auto bytes = w.take();

  byte_reader r(bytes);
  CHECK(r.u8() == 7);
  CHECK(r.u16() == 0xBEEF);
  CHECK(r.u32() == 0xDEADBEEF);
  CHECK(r.u64() == 0x0123456789ABCDEFull);
  CHECK(r.i64() == -42);
  for (std::uint64_t v : {0ull, 127ull, 128ull, 300ull, ~0ull})
    CHECK(r.varint() == v);
  CHECK(r.string(64) == "seat A-1-1");
  CHECK(r.ok());
  CHECK(r.at_end());
}

TEST_CASE("byte_codec: a reader never reads past its input", "[unit][common]") {
  byte_writer w;
  w.string("hello");
  auto bytes = w.take();
  SECTION("truncated string") {
    bytes.pop_back();
    byte_reader r(bytes);
    CHECK(r.string(64).empty());
    CHECK_FALSE(r.ok());
  }
  SECTION("string longer than allowed") {
    byte_reader r(bytes);
    CHECK(r.string(4).empty());
    CHECK_FALSE(r.ok());
  }
  SECTION("failure is sticky") {
    byte_reader r(std::span<const std::uint8_t>(bytes).first(1));
    CHECK(r.u32() == 0);
    CHECK_FALSE(r.ok());
    CHECK(r.u8() == 0);
    CHECK_FALSE(r.ok());
  }
  SECTION("a count the input cannot hold is refused") {
    byte_writer counts;
    counts.varint(1'000'000);
    const auto count_bytes = counts.take();
    byte_reader r(count_bytes);
    CHECK(r.count(10'000'000, 4) == 0);
    CHECK_FALSE(r.ok());
  }
  SECTION("an overlong varint is refused") {
    const std::vector<std::uint8_t> endless(11, 0xFF);
    byte_reader r(endless);
    r.varint();
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("checksum: CRC-32C matches the standard check value", "[unit][common]") {
  const std::string text = "123456789";
  const std::span bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  CHECK(crc32c(bytes) == 0xE3069283u);
  CHECK(crc32c(bytes.subspan(4), crc32c(bytes.first(4))) == 0xE3069283u);
}

TEST_CASE("identifier: the API's identifier grammar", "[unit][common]") {
  CHECK(is_identifier("a"));
  CHECK(is_identifier("evt_2027.seoul:day-1"));
  CHECK(is_identifier(std::string(64, 'x')));
  CHECK_FALSE(is_identifier(""));
  CHECK_FALSE(is_identifier(std::string(65, 'x')));
  CHECK_FALSE(is_identifier("has space"));
  CHECK_FALSE(is_identifier("slash/no"));
  CHECK_FALSE(is_identifier("caf\xC3\xA9"));
  CHECK(is_seat_part("A1.b_c:d"));
  CHECK_FALSE(is_seat_part("A-1"));
  CHECK_FALSE(is_seat_part(std::string(17, 'x')));
  CHECK_FALSE(is_seat_part(""));
}

#include "actors/command_codec.hpp"

#include <catch2/catch.hpp>

#include "actors/venues.hpp"
#include "common/prng.hpp"

using namespace seatd::actors;

namespace {

std::vector<log_command> one_of_each() {
  hold_command seats;
  seats.customer_id = "c1";
  seats.ttl_s = 0;  // an explicit 0 differs from "no ttl": it must survive the trip
  seats.selector = explicit_seats{{"A-1-1", "A-1-2"}};
  seats.idempotency_key = "k1";
  seats.request_fingerprint = 0xFEEDFACECAFEBEEFull;
  seats.secret = {0xDEADBEEF, 0x01234567, 0x89ABCDEF};
  hold_command best;
  best.customer_id = "c2";
  best.selector = best_available{4, "VIP", "A", false};
  hold_command ga;
  ga.customer_id = "c3";
  ga.ttl_s = 1800;
  ga.selector = ga_places{"FLOOR", 2};
  // The acting customer is on some commands and off others, so both survive.
  return {create_command{seatd::test::concert(), 42, 90'000},
          seats,
          best,
          ga,
          extend_command{"h1-000000010000000000000000", 300, "c1"},
          extend_command{"h1-000000010000000000000000", 300, "", "ke", 11},
          release_command{"h1-000000010000000000000000"},
          release_command{"h1-000000010000000000000000", "c1"},
          release_command{"h1-000000010000000000000000", "c1", "kr", 12},
          confirm_command{"h1-000000010000000000000000", "pay_1", "k2", 7, {9, 8, 7}, "c2"},
          confirm_command{"h1-000000010000000000000000", "pay_1", "", 0, {1, 2, 3}},
          cancel_command{"r00-1-2", "refund", "c3"},
          cancel_command{"r00-1-2", "", "", "kc", 13},
          block_command{{"A-1-3"}, false},
          block_command{{"A-1-3", "A-1-4"}, true, "kb", 14},
          expire_command{},
          stream_ack_command{0},
          stream_ack_command{1ull << 40}};
}

}  // namespace

TEST_CASE("command_codec: every command survives the trip", "[unit][codec]") {
  for (const auto& command : one_of_each()) {
    const auto bytes = encode_command(command);
    auto decoded = decode_command(bytes);
    REQUIRE(decoded.ok());
    CHECK(decoded.value() == command);
    CHECK(encode_command(decoded.value()) == bytes);
  }
}

TEST_CASE("command_codec: damaged payloads are refused, never crash", "[unit][codec]") {
  seatd::common::splitmix64 random(7);
  for (const auto& command : one_of_each()) {
    const auto bytes = encode_command(command);
    for (std::size_t n = 0; n < bytes.size(); ++n)
      REQUIRE_FALSE(decode_command(std::span(bytes).first(n)).ok());
    auto longer = bytes;
    longer.push_back(0);
    CHECK(decode_command(longer).error() == "command: trailing bytes");
    for (int round = 0; round < 300; ++round) {
      auto mutated = bytes;
      mutated[random.below(mutated.size())] = static_cast<std::uint8_t>(random.next());
      (void)decode_command(mutated);  // must not crash or trip a sanitizer; may decode
    }
  }
  // Version 1 is the format before 96-bit id secrets: a log of it cannot be read.
  CHECK(decode_command(std::vector<std::uint8_t>{1, 1}).error() ==
        "command: format version 1 (this build reads 2 to 3)");
  CHECK(decode_command(std::vector<std::uint8_t>{4, 1}).error() ==
        "command: format version 4 (this build reads 2 to 3)");
  CHECK(decode_command(std::vector<std::uint8_t>{3, 99}).error() == "command: unknown kind");
}

TEST_CASE("command_codec: a format-2 log still reads, its commands without keys", "[unit][codec]") {
  // A release and a block as format 2 wrote them: no key and fingerprint at the end.
  seatd::common::byte_writer release;
  release.u8(2);
  release.u8(4);
  release.string("h1-000000010000000000000000");
  release.string("c1");
  auto decoded = decode_command(release.take());
  REQUIRE(decoded.ok());
  CHECK(decoded.value() == log_command{release_command{"h1-000000010000000000000000", "c1"}});
  seatd::common::byte_writer block;
  block.u8(2);
  block.u8(7);
  block.varint(1);
  block.string("A-1-3");
  block.u8(1);
  decoded = decode_command(block.take());
  REQUIRE(decoded.ok());
  CHECK(decoded.value() == log_command{block_command{{"A-1-3"}, true}});
  // The stream ack came with format 3.
  CHECK(decode_command(std::vector<std::uint8_t>{2, 9, 1}).error() == "command: unknown kind");
}

TEST_CASE("command_codec: machine_command unwraps all but create", "[unit][codec]") {
  CHECK_FALSE(machine_command(create_command{}).has_value());
  const auto unwrapped = machine_command(release_command{"h0-000000000000000000000000"});
  REQUIRE(unwrapped.has_value());
  CHECK(std::get<release_command>(*unwrapped).hold_id == "h0-000000000000000000000000");
}

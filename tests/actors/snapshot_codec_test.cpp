#include "actors/snapshot_codec.hpp"

#include <catch2/catch.hpp>

#include "actors/venues.hpp"
#include "common/checksum.hpp"
#include "common/prng.hpp"

using namespace seatd::actors;
using seatd::test::concert;
using seatd::test::make_machine;
using seatd::test::t0;

namespace {

// A machine with one of everything: active, expired, released, confirmed and cancelled
// holds, GA, blocked seats and idempotency keys.
event_machine busy_machine() {
  auto m = make_machine(concert(0, 20));
  auto hold = [&](std::vector<std::string> seats, std::uint32_t nonce, std::uint32_t ttl_s = 600) {
    hold_command c;
    c.customer_id = "c" + std::to_string(nonce % 3);
    c.selector = explicit_seats{std::move(seats)};
    c.secret = {nonce, 0, 0};
    c.ttl_s = ttl_s;
    c.idempotency_key = "idem-" + std::to_string(nonce);
    c.request_fingerprint = nonce * 31u;
    return m.hold(c, t0 + nonce).value().hold_id;
  };
  hold({"A-1-1", "A-1-2"}, 1);
  hold({"A-1-3"}, 2, 5);  // expires
  const auto released = hold({"A-1-4"}, 3);
  const auto confirmed = hold({"A-1-5", "A-2-5"}, 4);
  const auto cancelled = hold({"A-1-6"}, 5);
  REQUIRE(m.release({released}, t0 + 10).ok());
  REQUIRE(m.confirm({confirmed, "pay-4", "ck-4", 99, 0x44}, t0 + 11).ok());
  const auto rid =
      m.confirm({cancelled, "pay-5", "", 0, 0x55}, t0 + 12).value().reservation.reservation_id;
  REQUIRE(m.cancel({rid, "refund"}, t0 + 13).ok());
  hold_command ga;
  ga.customer_id = "g1";
  ga.selector = ga_places{"FLOOR", 4};
  ga.secret = {6, 0, 0};
  const auto ga_hold = m.hold(ga, t0 + 14).value().hold_id;
  REQUIRE(m.confirm({ga_hold, "pay-6", "", 0, 0x66}, t0 + 15).ok());
  ga.secret = {7, 0, 0};
  REQUIRE(m.hold(ga, t0 + 16).ok());
  REQUIRE(m.block({{"A-1-40", "A-1-41"}, true}, t0 + 17).ok());
  m.expire(t0 + 10'000);
  REQUIRE(m.check_invariants().empty());
  return m;
}

std::vector<std::uint8_t> with_fixed_checksum(std::vector<std::uint8_t> bytes) {
  const std::uint32_t crc = seatd::common::crc32c(std::span(bytes).subspan(18));
  for (int i = 0; i < 4; ++i)
    bytes[14 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (8 * i));
  return bytes;
}

}  // namespace

TEST_CASE("snapshot_codec: a snapshot decodes to the same state", "[unit][snapshot]") {
  event_machine m = busy_machine();
  const auto bytes = snapshot_codec::encode(m);
  auto decoded = snapshot_codec::decode(bytes);
  REQUIRE(decoded.ok());
  CHECK(snapshot_codec::encode(decoded.value()) == bytes);
  CHECK(decoded->seats().counts() == m.seats().counts());
  CHECK(decoded->active_holds() == m.active_holds());
  CHECK(decoded->ga(0) == m.ga(0));
  CHECK(decoded->stream_seq() == m.stream_seq());
  CHECK(decoded->find_hold("h0-000000010000000000000000").value() ==
        m.find_hold("h0-000000010000000000000000").value());
}

TEST_CASE("snapshot_codec: decoded and original machines stay identical", "[unit][snapshot]") {
  event_machine original = busy_machine();
  event_machine copy = snapshot_codec::decode(snapshot_codec::encode(original)).value();
  // The copy has rebuilt its expiry queue: both must expire the same holds at the same time.
  for (event_machine* m : {&original, &copy}) {
    hold_command c;
    c.customer_id = "late";
    c.selector = best_available{3, "", "", true};
    c.secret = {42, 0, 0};
    REQUIRE(m->hold(c, t0 + 20'000).ok());
    m->expire(t0 + 20'000 + 600'000);
    // The replayed idempotent confirm answers the same on both.
    confirm_command again{"h3-000000040000000000000000", "pay-4", "ck-4", 99, 0};
    REQUIRE(m->confirm(again, t0 + 700'000).value().created);
  }
  CHECK(snapshot_codec::encode(original) == snapshot_codec::encode(copy));
  CHECK(original.active_holds() == 0);
}

TEST_CASE("snapshot_codec: damaged snapshots are refused, never crash", "[unit][snapshot]") {
  const auto bytes = snapshot_codec::encode(busy_machine());
  auto refused = [](std::span<const std::uint8_t> b) { return !snapshot_codec::decode(b).ok(); };

  SECTION("every truncation") {
    for (std::size_t n = 0; n < bytes.size(); n += 1)
      REQUIRE(refused(std::span(bytes).first(n)));
  }
  SECTION("every single bit flip") {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      auto flipped = bytes;
      flipped[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
      REQUIRE(refused(flipped));
    }
  }
  SECTION("wrong version and trailing bytes") {
    auto other = bytes;
    other[8] = 2;  // a snapshot of the format before the unacknowledged stream records
    CHECK(snapshot_codec::decode(other).error() ==
          "snapshot: unsupported version 2 (this build reads 3)");
    other[8] = 4;
    CHECK(snapshot_codec::decode(other).error() ==
          "snapshot: unsupported version 4 (this build reads 3)");
    other = bytes;
    other.push_back(0);
    CHECK(snapshot_codec::decode(other).error() == "snapshot: length does not match");
  }
  SECTION("unacknowledged stream records that do not match the reservations") {
    // The snapshot ends with the four records (three confirms, one cancel) as u32s.
    const std::size_t last = bytes.size() - 4;
    REQUIRE(bytes[last - 13] == 4);
    auto set_last = [&](std::uint32_t value) {
      auto changed = bytes;
      for (std::size_t i = 0; i < 4; ++i)
        changed[last + i] = static_cast<std::uint8_t>(value >> (8 * i));
      return snapshot_codec::decode(with_fixed_checksum(changed));
    };
    CHECK(set_last(2).ok());  // another reservation: consistent, if not this history
    CHECK(set_last(99).error() ==
          "snapshot: inconsistent: unacknowledged stream record of an unknown reservation");
    CHECK(set_last(0x80000000u).error() ==  // reservation 0 was never cancelled
          "snapshot: inconsistent: unacknowledged cancel record of a live reservation");
    auto more = bytes;
    more[last - 13] = 5;
    more.insert(more.end(), {0, 0, 0, 0});
    std::uint32_t length = 0;  // the payload's, after the magic and version
    for (std::size_t i = 0; i < 4; ++i)
      length |= std::uint32_t{more[10 + i]} << (8 * i);
    length += 4;
    for (std::size_t i = 0; i < 4; ++i)
      more[10 + i] = static_cast<std::uint8_t>(length >> (8 * i));
    CHECK(snapshot_codec::decode(with_fixed_checksum(more)).error() ==
          "snapshot: inconsistent: more unacknowledged records than records");
  }
  SECTION("garbage with a valid checksum is caught by validation") {
    seatd::common::splitmix64 random(2026);
    int accepted = 0;
    for (int round = 0; round < 3000; ++round) {
      auto mutated = bytes;
      const auto edits = 1 + random.below(4);
      for (std::uint64_t e = 0; e < edits; ++e) {
        const auto at = 18 + random.below(mutated.size() - 18);
        mutated[at] = static_cast<std::uint8_t>(random.next());
      }
      auto decoded = snapshot_codec::decode(with_fixed_checksum(mutated));
      // Some edits land in free-form bytes (an id secret, a payment ref) and still decode; what
      // decodes must be a consistent machine.
      if (decoded.ok()) {
        ++accepted;
        REQUIRE(decoded->check_invariants().empty());
      }
    }
    CHECK(accepted < 3000);
  }
}

// event_host: every decision the owner of an event makes, as values (no actor, no log).

#include "actors/event_host.hpp"

#include <catch2/catch.hpp>

#include "actors/command_codec.hpp"
#include "actors/snapshot_codec.hpp"
#include "actors/venues.hpp"

using namespace seatd;
using namespace seatd::actors;

namespace {

const id_secret secret_bits = test::secret_of(0xABCDEF0012345678ull);

event_host make_host() {
  return event_host(3, test::make_machine(test::flash_venue(1, 1, 10)));
}

hold_command hold_of(std::vector<std::string> seats, std::uint32_t ttl_s = 60) {
  hold_command c;
  c.customer_id = "c";
  c.selector = explicit_seats{std::move(seats)};
  c.ttl_s = ttl_s;
  return c;
}

log_command decoded(const proposal& entry) {
  auto command = decode_command(entry.payload);
  REQUIRE(command.ok());
  return std::move(command).value();
}

}  // namespace

TEST_CASE("event_host: a successful command becomes an entry stamped with the time applied",
          "[unit][host]") {
  event_host host = make_host();
  const auto ready = host.on_command(hold_of({"1-1-1"}), test::t0 + 5, secret_bits, true);
  REQUIRE(ready.reply);
  REQUIRE(ready.reply->ok());
  REQUIRE(ready.entry);
  CHECK(ready.entry->shard == 3);
  CHECK(ready.entry->event_id == "ev1");
  CHECK(ready.entry->stamp_ms == test::t0 + 5);
  const auto logged = decoded(*ready.entry);
  REQUIRE(std::holds_alternative<hold_command>(logged));
  // The secret part of the new hold's id is in the entry, so replay makes the same id.
  CHECK(std::get<hold_command>(logged).secret == secret_bits);
  CHECK_FALSE(ready.overloaded);
}

TEST_CASE("event_host: the secret given chooses the new id, and is its only source",
          "[unit][host]") {
  event_host a = make_host(), b = make_host();
  const auto from_a = a.on_command(hold_of({"1-1-1"}), test::t0, test::secret_of(1), true);
  const auto from_b = b.on_command(hold_of({"1-1-1"}), test::t0, test::secret_of(2), true);
  const auto again = make_host().on_command(hold_of({"1-1-1"}), test::t0, test::secret_of(1), true);
  const auto id = [](const event_ready& r) {
    return std::get<hold_view>(r.reply->value()).hold_id;
  };
  CHECK(id(from_a) != id(from_b));
  CHECK(id(from_a) == id(again));
}

TEST_CASE("event_host: a failed command changes nothing and logs nothing", "[unit][host]") {
  event_host host = make_host();
  REQUIRE(host.on_command(hold_of({"1-1-1"}), test::t0, secret_bits, true).entry);
  const auto before = snapshot_codec::encode(host.machine());
  const auto refused =
      host.on_command(hold_of({"1-1-1", "1-1-2"}), test::t0 + 1, test::secret_of(7), true);
  REQUIRE(refused.reply);
  CHECK(refused.reply->error().code == errc::seats_unavailable);
  CHECK_FALSE(refused.entry);  // its answer waits for the shard's barrier instead
  CHECK(snapshot_codec::encode(host.machine()) != before);  // only the clock moved...
  event_host replayed = make_host();
  REQUIRE(replayed.on_command(hold_of({"1-1-1"}), test::t0, secret_bits, true).entry);
  CHECK(host.machine().seats().counts() == replayed.machine().seats().counts());  // ...no seat
}

TEST_CASE("event_host: a full log answers overloaded and applies nothing", "[unit][host]") {
  event_host host = make_host();
  const auto before = snapshot_codec::encode(host.machine());
  const auto refused = host.on_command(hold_of({"1-1-1"}), test::t0 + 9, secret_bits, false);
  CHECK(refused.overloaded);
  CHECK_FALSE(refused.reply);
  CHECK_FALSE(refused.entry);
  CHECK_FALSE(refused.timer_delay_ms);
  CHECK(snapshot_codec::encode(host.machine()) == before);  // not even the clock moved
}

TEST_CASE("event_host: the stamp never goes behind the machine's clock when the wall clock does",
          "[unit][host]") {
  event_host host = make_host();
  REQUIRE(host.on_command(hold_of({"1-1-1"}), test::t0 + 1000, test::secret_of(1), true).entry);
  const auto ready = host.on_command(hold_of({"1-1-2"}), test::t0 + 10, test::secret_of(2), true);
  REQUIRE(ready.entry);
  CHECK(ready.entry->stamp_ms == test::t0 + 1000);
}

TEST_CASE("event_host: a failed command that expired holds logs the expiry at its stamp",
          "[unit][host]") {
  event_host host = make_host();
  REQUIRE(host.on_command(hold_of({"1-1-1"}, 1), test::t0, test::secret_of(1), true)
              .entry);  // expires t0+1000
  const auto refused =
      host.on_command(hold_of({"1-1-99"}), test::t0 + 1000, test::secret_of(2), true);
  CHECK(refused.reply->error().code == errc::unknown_seat);
  CHECK(refused.holds_expired == 1);
  REQUIRE(refused.entry);
  CHECK(std::holds_alternative<expire_command>(decoded(*refused.entry)));
  CHECK(refused.entry->stamp_ms == test::t0 + 1000);
  // Without an expiry, a failure logs nothing.
  CHECK_FALSE(
      host.on_command(hold_of({"1-1-99"}), test::t0 + 2000, test::secret_of(3), true).entry);
}

TEST_CASE("event_host: a failed command that forgot idempotency keys logs that at its stamp",
          "[unit][host]") {
  constexpr std::int64_t day_ms = std::int64_t{24} * 3600 * 1000;
  event_host host = make_host();
  hold_command keyed = hold_of({"1-1-1"}, 60);
  keyed.idempotency_key = "k1";
  keyed.request_fingerprint = 77;
  REQUIRE(host.on_command(keyed, test::t0, test::secret_of(1), true).entry);
  REQUIRE(host.on_timer(test::t0 + 60'000).entry);  // the hold expires: logged
  CHECK(host.machine().idempotency_keys() == 1);
  const auto refused =
      host.on_command(hold_of({"1-1-99"}), test::t0 + day_ms + 1, test::secret_of(2), true);
  CHECK(refused.reply->error().code == errc::unknown_seat);
  CHECK(refused.holds_expired == 0);
  CHECK(host.machine().idempotency_keys() == 0);  // k1 is forgotten...
  REQUIRE(refused.entry);                         // ...and that is logged
  CHECK(std::holds_alternative<expire_command>(decoded(*refused.entry)));
  CHECK(refused.entry->stamp_ms == test::t0 + day_ms + 1);
  CHECK_FALSE(
      host.on_command(hold_of({"1-1-99"}), test::t0 + day_ms + 2, test::secret_of(3), true).entry);
}

TEST_CASE("event_host: the expiry timer is armed for the earliest expiry, once", "[unit][host]") {
  event_host host = make_host();
  CHECK_FALSE(host.on_start(test::t0).timer_delay_ms);  // nothing to expire
  const auto first = host.on_command(hold_of({"1-1-1"}, 10), test::t0, test::secret_of(1), true);
  CHECK(first.timer_delay_ms == 10'001);  // one past the expiry
  // A later expiry keeps the armed timer; an earlier one arms a new one.
  CHECK_FALSE(host.on_command(hold_of({"1-1-2"}, 20), test::t0 + 1, test::secret_of(2), true)
                  .timer_delay_ms);
  CHECK(host.on_command(hold_of({"1-1-3"}, 5), test::t0 + 2, test::secret_of(3), true)
            .timer_delay_ms == 5'001);
}

TEST_CASE("event_host: a timer frees the holds due and logs that, early, it re-arms only",
          "[unit][host]") {
  event_host host = make_host();
  REQUIRE(host.on_command(hold_of({"1-1-1"}, 1), test::t0, test::secret_of(1), true).entry);
  REQUIRE(host.on_command(hold_of({"1-1-2"}, 5), test::t0, test::secret_of(2), true).entry);
  const auto early = host.on_timer(test::t0 + 999);
  CHECK_FALSE(early.entry);
  CHECK(early.holds_expired == 0);
  CHECK(early.timer_delay_ms == 2);  // re-armed for t0+1000
  const auto due = host.on_timer(test::t0 + 1000);
  CHECK(due.holds_expired == 1);
  REQUIRE(due.entry);
  CHECK(due.entry->stamp_ms == test::t0 + 1000);
  CHECK(std::holds_alternative<expire_command>(decoded(*due.entry)));
  CHECK(due.timer_delay_ms == 4'001);  // the second hold, at t0+5000
  CHECK(host.machine().seats().counts()[seat_state::held] == 1);
}

TEST_CASE("event_host: on start, the timer is armed for holds a restart brought back",
          "[unit][host]") {
  event_host before = make_host();
  REQUIRE(before.on_command(hold_of({"1-1-1"}, 3), test::t0, test::secret_of(1), true).entry);
  event_host restarted(3, before.machine());  // a copy, as a node starts from its log
  CHECK(restarted.on_start(test::t0 + 10'000).timer_delay_ms == 1);  // overdue: at once
}

TEST_CASE("event_host: create gives the machine and the entry that makes it again",
          "[unit][host]") {
  auto created = event_host::create(5, "ev9", test::concert(), test::t0, 0x5A17);
  REQUIRE(created.ok());
  const proposal& entry = created.value().entry;
  CHECK(entry.shard == 5);
  CHECK(entry.event_id == "ev9");
  CHECK(entry.stamp_ms == test::t0);
  const auto logged = decoded(entry);
  REQUIRE(std::holds_alternative<create_command>(logged));
  CHECK(std::get<create_command>(logged).id_salt == 0x5A17);
  CHECK(std::get<create_command>(logged).spec == test::concert());
  CHECK(created.value().machine.event_id() == "ev9");

  actors::event_spec bad = test::concert();
  bad.categories.clear();
  auto refused = event_host::create(5, "ev9", bad, test::t0, 1);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == errc::invalid_request);
}

TEST_CASE("event_host: the timer also fires to forget ended holds, and logs what it forgot",
          "[unit][host]") {
  auto created = event_host::create(3, "ev1", test::flash_venue(1, 1, 10), test::t0, 7, 1000);
  REQUIRE(created.ok());
  event_host host(3, std::move(created.value().machine));
  const auto held = host.on_command(hold_of({"1-1-1"}, 600), test::t0, test::secret_of(1), true);
  CHECK(held.timer_delay_ms == 600'001);  // the hold's expiry
  const std::string id = std::get<hold_view>(held.reply->value()).hold_id;
  // Released at t0+10, kept 1 s: the timer moves earlier, to the forgetting.
  const auto released = host.on_command(release_command{id}, test::t0 + 10, {}, true);
  REQUIRE(released.entry);
  CHECK(released.timer_delay_ms == 1'001);
  const auto fired = host.on_timer(test::t0 + 1010);
  CHECK(fired.holds_expired == 0);
  REQUIRE(fired.entry);  // the forgetting is logged: a restart must not bring the hold back
  CHECK(std::holds_alternative<expire_command>(decoded(*fired.entry)));
  CHECK(host.machine().find_hold(id).error().code == errc::hold_not_found);
  CHECK(host.machine().holds_kept() == 0);
}

TEST_CASE("event_host: a failed command that forgot ended holds logs that at its stamp",
          "[unit][host]") {
  auto created = event_host::create(3, "ev1", test::flash_venue(1, 1, 10), test::t0, 7, 1000);
  REQUIRE(created.ok());
  event_host host(3, std::move(created.value().machine));
  const auto held = host.on_command(hold_of({"1-1-1"}, 600), test::t0, test::secret_of(1), true);
  const std::string id = std::get<hold_view>(held.reply->value()).hold_id;
  REQUIRE(host.on_command(release_command{id}, test::t0, {}, true).entry);
  const auto refused =
      host.on_command(hold_of({"1-1-99"}), test::t0 + 1000, test::secret_of(2), true);
  CHECK(refused.reply->error().code == errc::unknown_seat);
  REQUIRE(refused.entry);
  CHECK(std::holds_alternative<expire_command>(decoded(*refused.entry)));
  CHECK(host.machine().holds_kept() == 0);
}

TEST_CASE("event_host: only a hold or a confirm needs a secret drawn for it", "[unit][host]") {
  CHECK(event_host::needs_secret(hold_of({"1-1-1"})));
  CHECK(event_host::needs_secret(confirm_command{"h0-000000000000000000000000", "pay", "", 0, {}}));
  CHECK_FALSE(event_host::needs_secret(release_command{"h0-000000000000000000000000"}));
  CHECK_FALSE(event_host::needs_secret(extend_command{"h0-000000000000000000000000", 5}));
  CHECK_FALSE(event_host::needs_secret(cancel_command{"r0-0-0", "", ""}));
  CHECK_FALSE(event_host::needs_secret(block_command{{"1-1-1"}, true}));
  CHECK_FALSE(event_host::needs_secret(expire_command{}));
}

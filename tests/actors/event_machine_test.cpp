#include "actors/event_machine.hpp"

#include <catch2/catch.hpp>

#include "actors/snapshot_codec.hpp"
#include "actors/venues.hpp"

using namespace seatd::actors;
using seatd::test::concert;
using seatd::test::make_machine;
using seatd::test::t0;

namespace {

hold_command seats_for(std::string customer, std::vector<std::string> seats,
                       std::uint32_t nonce = 1) {
  hold_command c;
  c.customer_id = std::move(customer);
  c.selector = explicit_seats{std::move(seats)};
  c.secret = {nonce, 0, 0};
  return c;
}

hold_command ga_for(std::string customer, std::uint32_t count) {
  hold_command c;
  c.customer_id = std::move(customer);
  c.selector = ga_places{"FLOOR", count};
  c.secret = {7, 0, 0};
  return c;
}

confirm_command pay(const std::string& hold_id, std::string ref = "pay_1") {
  confirm_command c;
  c.hold_id = hold_id;
  c.payment_ref = std::move(ref);
  c.secret = {0xABCD, 0, 0};
  return c;
}

template <class T>
errc code_of(const result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().code;
}

// Runs a command that must fail and checks that it changed nothing (byte-equal snapshots).
template <class Run>
errc fails_cleanly(event_machine& m, std::int64_t now, Run run) {
  m.expire(now);
  const auto before = snapshot_codec::encode(m);
  const errc code = run();
  CHECK(snapshot_codec::encode(m) == before);
  return code;
}

}  // namespace

TEST_CASE("event_machine: create validates the event id and the spec", "[unit][inventory]") {
  CHECK(event_machine::create("bad id", concert(), t0, 1).error().code == errc::invalid_request);
  event_spec spec = concert();
  spec.categories.clear();
  CHECK(event_machine::create("ev", spec, t0, 1).error().code == errc::invalid_request);
  auto m = make_machine(concert());
  CHECK(m.same_definition(concert()));
  CHECK_FALSE(m.same_definition(concert(5)));
}

TEST_CASE("event_machine: hold explicit seats, all or nothing", "[unit][inventory]") {
  auto m = make_machine(concert());
  auto held = m.hold(seats_for("c1", {"A-1-2", "A-1-1"}), t0 + 1000);
  REQUIRE(held.ok());
  CHECK(held->seats == std::vector<std::string>{"A-1-1", "A-1-2"});
  CHECK(held->customer_id == "c1");
  CHECK(held->expires_at_ms == t0 + 1000 + 600'000);  // default TTL
  CHECK(held->total_minor == 440000);
  CHECK(held->currency == "KRW");
  CHECK(held->status == hold_status::active);
  CHECK(held->hold_id == "h0-000000010000000000000000");
  CHECK(m.seats().state(0) == seat_state::held);
  CHECK(m.active_holds() == 1);
  CHECK(m.customer_seats("c1") == 2);

  // A second hold that overlaps fails whole, naming the taken seat, and changes nothing.
  auto conflict = m.hold(seats_for("c2", {"A-1-3", "A-1-2"}), t0 + 2000);
  REQUIRE(code_of(conflict) == errc::seats_unavailable);
  CHECK(conflict.error().unavailable == std::vector<seat_index>{1});
  CHECK(m.seats().state(2) == seat_state::available);
  CHECK(m.customer_seats("c2") == 0);
  CHECK(m.check_invariants().empty());
}

TEST_CASE("event_machine: hold errors come in the API's order", "[unit][inventory]") {
  auto m = make_machine(concert(2));
  const std::int64_t now = t0 + 10;
  auto hold_is = [&](hold_command c) {
    return fails_cleanly(m, now, [&] { return code_of(m.hold(c, now)); });
  };

  CHECK(hold_is(seats_for("c1", {})) == errc::invalid_request);
  CHECK(hold_is(seats_for("c1", {"A-1-1", "A-1-1"})) == errc::invalid_request);
  std::vector<std::string> too_many;
  for (int i = 1; i <= 51; ++i)
    too_many.push_back("A-1-" + std::to_string(i));
  CHECK(hold_is(seats_for("c1", too_many)) == errc::invalid_request);
  CHECK(hold_is(seats_for("bad customer", {"A-1-1"})) == errc::invalid_request);
  auto ttl = seats_for("c1", {"A-1-1"});
  ttl.ttl_s = 1801;
  CHECK(hold_is(ttl) == errc::invalid_request);
  ttl.ttl_s = 0;
  CHECK(hold_is(ttl) == errc::invalid_request);

  CHECK(hold_is(seats_for("c1", {"A-1-1", "A 1 1"})) == errc::invalid_request);
  CHECK(hold_is(seats_for("c1", {"A-1"})) == errc::invalid_request);
  auto unknown = m.hold(seats_for("c1", {"A-1-1", "Z-9-9", "A-2-4"}), now);
  REQUIRE(code_of(unknown) == errc::unknown_seat);
  CHECK(unknown.error().unknown_seats == std::vector<std::string>{"Z-9-9", "A-2-4"});

  // The limit (422) is checked before availability (409).
  REQUIRE(m.hold(seats_for("c1", {"A-1-1", "A-1-2"}), now).ok());
  auto over = m.hold(seats_for("c1", {"A-1-1"}), now);
  REQUIRE(code_of(over) == errc::customer_limit_exceeded);
  CHECK(over.error().limit == 2);
  CHECK(over.error().current == 2);
  CHECK(hold_is(ga_for("c1", 1)) == errc::customer_limit_exceeded);

  hold_command best;
  best.customer_id = "c2";
  best.selector = best_available{2, "NOPE", "", true};
  CHECK(hold_is(best) == errc::invalid_request);
  best.selector = best_available{2, "", "B", true};
  CHECK(hold_is(best) == errc::invalid_request);
  best.selector = best_available{0, "", "", true};
  CHECK(hold_is(best) == errc::invalid_request);
  hold_command ga = ga_for("c2", 1);
  ga.selector = ga_places{"BALCONY", 1};
  CHECK(hold_is(ga) == errc::invalid_request);
  CHECK(hold_is(ga_for("c2", 51)) == errc::invalid_request);
}

TEST_CASE("event_machine: best available holds the best block", "[unit][inventory]") {
  auto m = make_machine(concert(0));
  hold_command c;
  c.customer_id = "c1";
  c.selector = best_available{4, "VIP", "A", true};
  auto held = m.hold(c, t0);
  REQUIRE(held.ok());
  CHECK(held->seats == std::vector<std::string>{"A-1-24", "A-1-25", "A-1-26", "A-1-27"});
  c.selector = best_available{4, "R", "", true};  // R row has labels 1,2,3,5: four in a row
  auto r = m.hold(c, t0);
  REQUIRE(r.ok());
  CHECK(r->seats == std::vector<std::string>{"A-2-1", "A-2-2", "A-2-3", "A-2-5"});
  CHECK(r->total_minor == 4 * 165000);
  c.selector = best_available{1, "R", "", true};
  CHECK(fails_cleanly(m, t0, [&] { return code_of(m.hold(c, t0)); }) == errc::no_seats_match);
}

TEST_CASE("event_machine: GA places never oversell", "[unit][inventory]") {
  auto m = make_machine(concert(0, 5));
  auto first = m.hold(ga_for("c1", 3), t0);
  REQUIRE(first.ok());
  CHECK(first->ga == ga_view{"FLOOR", 3});
  CHECK(first->seats.empty());
  CHECK(first->total_minor == 3 * 99000);
  CHECK(m.ga(0) == ga_counts{5, 3, 0});
  CHECK(fails_cleanly(m, t0, [&] { return code_of(m.hold(ga_for("c2", 3), t0)); }) ==
        errc::ga_sold_out);
  REQUIRE(m.confirm(pay(first->hold_id), t0 + 1).ok());
  CHECK(m.ga(0) == ga_counts{5, 0, 3});
  REQUIRE(m.hold(ga_for("c2", 2), t0 + 2).ok());
  CHECK(m.ga(0) == ga_counts{5, 2, 3});
  CHECK(code_of(m.hold(ga_for("c3", 1), t0 + 3)) == errc::ga_sold_out);
  CHECK(m.check_invariants().empty());
}

TEST_CASE("event_machine: holds expire by stamps, with or without an expire command",
          "[unit][inventory]") {
  auto m = make_machine(concert());
  auto c = seats_for("c1", {"A-1-1"});
  c.ttl_s = 10;
  const std::string id = m.hold(c, t0).value().hold_id;
  CHECK(m.expire(t0 + 9'999).holds_expired == 0);
  CHECK(m.seats().state(0) == seat_state::held);
  CHECK(m.expire(t0 + 10'000).holds_expired == 1);
  CHECK(m.seats().state(0) == seat_state::available);
  CHECK(m.find_hold(id)->status == hold_status::expired);
  CHECK(m.customer_seats("c1") == 0);
  CHECK(m.holds_expired_total() == 1);

  // Without an expire command, the next command at a later stamp expires first.
  c.secret = {2, 0, 0};
  const std::string second = m.hold(c, t0 + 20'000).value().hold_id;
  CHECK(code_of(m.confirm(pay(second), t0 + 30'000)) == errc::hold_expired);
  CHECK(m.seats().state(0) == seat_state::available);
  CHECK(code_of(m.release({second}, t0 + 30'000)) == errc::hold_expired);
  CHECK(code_of(m.extend({second, 5}, t0 + 30'000)) == errc::hold_expired);
}

TEST_CASE("event_machine: the clock never goes backwards", "[unit][inventory]") {
  auto m = make_machine(concert());
  auto c = seats_for("c1", {"A-1-1"});
  c.ttl_s = 10;
  const std::string id = m.hold(c, t0 + 5'000).value().hold_id;
  // A stale stamp (an old leader's clock) is read as the machine's current time.
  auto again = m.hold(seats_for("c2", {"A-1-2"}, 3), t0);
  REQUIRE(again.ok());
  CHECK(again->created_at_ms == t0 + 5'000);
  CHECK(m.clock_ms() == t0 + 5'000);
  CHECK(m.find_hold(id)->status == hold_status::active);
}

TEST_CASE("event_machine: extend moves expiry, capped from creation", "[unit][inventory]") {
  auto m = make_machine(concert());
  auto c = seats_for("c1", {"A-1-1"});
  c.ttl_s = 60;
  const std::string id = m.hold(c, t0).value().hold_id;
  auto extended = m.extend({id, 300}, t0 + 30'000);
  REQUIRE(extended.ok());
  CHECK(extended->expires_at_ms == t0 + 330'000);
  extended = m.extend({id, 1800}, t0 + 300'000);
  REQUIRE(extended.ok());
  CHECK(extended->expires_at_ms == t0 + 1'800'000);  // max_hold_ttl_s after creation
  // The old expiry passing does nothing now.
  CHECK(m.expire(t0 + 1'799'999).holds_expired == 0);
  CHECK(m.expire(t0 + 1'800'000).holds_expired == 1);

  CHECK(code_of(m.extend({id, 0}, t0 + 1'800'001)) == errc::invalid_request);
  CHECK(code_of(m.extend({id, 1801}, t0 + 1'800'001)) == errc::invalid_request);
  CHECK(code_of(m.extend({"h99-000000010000000000000000", 10}, t0 + 1'800'001)) ==
        errc::hold_not_found);
  const std::string released =
      m.hold(seats_for("c1", {"A-1-2"}, 5), t0 + 1'800'002).value().hold_id;
  REQUIRE(m.release({released}, t0 + 1'800'003).ok());
  CHECK(code_of(m.extend({released, 10}, t0 + 1'800'004)) == errc::hold_released);
  const std::string confirmed =
      m.hold(seats_for("c1", {"A-1-3"}, 6), t0 + 1'800'005).value().hold_id;
  REQUIRE(m.confirm(pay(confirmed), t0 + 1'800'006).ok());
  CHECK(code_of(m.extend({confirmed, 10}, t0 + 1'800'007)) == errc::hold_already_confirmed);
}

TEST_CASE("event_machine: release frees seats and may be repeated", "[unit][inventory]") {
  auto m = make_machine(concert());
  const std::string id = m.hold(seats_for("c1", {"A-1-1", "A-1-2"}), t0).value().hold_id;
  auto released = m.release({id}, t0 + 1);
  REQUIRE(released.ok());
  CHECK(released->status == hold_status::released);
  CHECK(m.seats().state(0) == seat_state::available);
  CHECK(m.customer_seats("c1") == 0);
  auto again = m.release({id}, t0 + 2);
  REQUIRE(again.ok());
  CHECK(again->status == hold_status::released);
  CHECK(code_of(m.release({"h5-000000010000000000000000"}, t0 + 3)) == errc::hold_not_found);
  CHECK(code_of(m.release({"nonsense"}, t0 + 3)) == errc::hold_not_found);
  CHECK(code_of(m.release({"h0 00000001"}, t0 + 3)) == errc::invalid_request);  // malformed: 400
  CHECK(code_of(m.release({""}, t0 + 3)) == errc::invalid_request);
  CHECK(code_of(m.release({"h0-000000020000000000000000"}, t0 + 3)) ==
        errc::hold_not_found);  // wrong nonce
  CHECK(code_of(m.confirm(pay(id), t0 + 4)) == errc::hold_released);
  const std::string confirmed = m.hold(seats_for("c1", {"A-1-1"}, 9), t0 + 5).value().hold_id;
  REQUIRE(m.confirm(pay(confirmed), t0 + 6).ok());
  CHECK(code_of(m.release({confirmed}, t0 + 7)) == errc::hold_already_confirmed);
}

TEST_CASE("event_machine: confirm makes a reservation, and repeats follow the API",
          "[unit][inventory]") {
  auto m = make_machine(concert());
  const std::string id = m.hold(seats_for("c1", {"A-1-1", "A-1-2"}), t0).value().hold_id;
  auto confirmed = m.confirm(pay(id, "pay_123"), t0 + 5'000);
  REQUIRE(confirmed.ok());
  const reservation_view& r = confirmed->reservation;
  CHECK(confirmed->created);
  CHECK(confirmed->stream_seq == 1);
  CHECK(r.reservation_id == "r0000000000c0ffee-0-0000abcd0000000000000000");
  CHECK(r.hold_id == id);
  CHECK(r.customer_id == "c1");
  CHECK(r.seats == std::vector<std::string>{"A-1-1", "A-1-2"});
  CHECK(r.payment_ref == "pay_123");
  CHECK(r.total_minor == 440000);
  CHECK(r.confirmed_at_ms == t0 + 5'000);
  CHECK_FALSE(r.cancelled);
  CHECK(m.seats().state(0) == seat_state::sold);
  CHECK(m.active_holds() == 0);
  CHECK(m.customer_seats("c1") == 2);
  CHECK(m.find_hold(id)->status == hold_status::confirmed);
  CHECK(m.find_hold(id)->reservation_id == r.reservation_id);
  CHECK(m.find_reservation(r.reservation_id).value() == r);

  // Without a key, the same payment_ref answers 200 with the same reservation.
  auto same = m.confirm(pay(id, "pay_123"), t0 + 6'000);
  REQUIRE(same.ok());
  CHECK_FALSE(same->created);
  CHECK(same->stream_seq == 0);
  CHECK(same->reservation == r);
  CHECK(code_of(m.confirm(pay(id, "pay_other"), t0 + 6'000)) == errc::hold_already_confirmed);
  auto keyed = pay(id, "pay_123");
  keyed.idempotency_key = "k-new";
  CHECK(code_of(m.confirm(keyed, t0 + 6'000)) == errc::hold_already_confirmed);
  CHECK(code_of(m.confirm(pay("h42-000000010000000000000000"), t0 + 6'000)) ==
        errc::hold_not_found);
  auto bad_ref = pay(id, "");
  CHECK(code_of(m.confirm(bad_ref, t0 + 6'000)) == errc::invalid_request);
  bad_ref.payment_ref = std::string(129, 'p');
  CHECK(code_of(m.confirm(bad_ref, t0 + 6'000)) == errc::invalid_request);
  CHECK(m.stream_seq() == 1);
}

TEST_CASE("event_machine: cancel puts seats back on sale once", "[unit][inventory]") {
  auto m = make_machine(concert(2));
  const std::string id = m.hold(seats_for("c1", {"A-1-1", "A-1-2"}), t0).value().hold_id;
  const std::string rid = m.confirm(pay(id), t0 + 1).value().reservation.reservation_id;
  CHECK(code_of(m.hold(seats_for("c1", {"A-1-3"}, 4), t0 + 2)) == errc::customer_limit_exceeded);
  auto cancelled = m.cancel({rid, "refund"}, t0 + 10);
  REQUIRE(cancelled.ok());
  CHECK(cancelled->reservation.cancelled);
  CHECK(cancelled->reservation.cancelled_at_ms == t0 + 10);
  CHECK(cancelled->stream_seq == 2);
  CHECK(m.seats().state(0) == seat_state::available);
  CHECK(m.customer_seats("c1") == 0);
  CHECK(m.find_reservation(rid)->cancelled);
  CHECK(m.find_hold(id)->status == hold_status::cancelled);
  CHECK(hold_status_name(m.find_hold(id)->status) == "confirmed");
  CHECK(code_of(m.cancel({rid, "again"}, t0 + 11)) == errc::reservation_already_cancelled);
  CHECK(code_of(m.cancel({"r0000000000c0ffee-7-0000abcd0000000000000000", ""}, t0 + 11)) ==
        errc::reservation_not_found);
  CHECK(code_of(m.cancel({"r0000000000c0ffef-0-0000abcd0000000000000000", ""}, t0 + 11)) ==
        errc::reservation_not_found);
  CHECK(code_of(m.cancel({rid, std::string(257, 'x')}, t0 + 11)) == errc::invalid_request);
  // The cancelled seats sell again, and the customer may buy again.
  REQUIRE(m.hold(seats_for("c1", {"A-1-1", "A-1-3"}, 8), t0 + 12).ok());
  CHECK(m.check_invariants().empty());
}

TEST_CASE("event_machine: idempotency keys replay the first answer", "[unit][inventory]") {
  auto m = make_machine(concert(0));
  auto c = seats_for("c1", {"A-1-1"});
  c.idempotency_key = "key-1";
  c.request_fingerprint = 111;
  const hold_view first = m.hold(c, t0).value();
  // Same key, same request: same answer, no second hold, even after the hold changed.
  REQUIRE(m.extend({first.hold_id, 900}, t0 + 100).ok());
  c.secret = {99, 0, 0};
  auto replay = m.hold(c, t0 + 200);
  REQUIRE(replay.ok());
  CHECK(replay.value() == first);
  CHECK(m.active_holds() == 1);
  // Same key, another request.
  c.request_fingerprint = 222;
  CHECK(code_of(m.hold(c, t0 + 300)) == errc::idempotency_key_reused);

  confirm_command pay_once = pay(first.hold_id, "pay_9");
  pay_once.idempotency_key = "key-2";
  pay_once.request_fingerprint = 333;
  const confirm_reply confirmed = m.confirm(pay_once, t0 + 400).value();
  REQUIRE(m.cancel({confirmed.reservation.reservation_id, ""}, t0 + 500).ok());
  auto again = m.confirm(pay_once, t0 + 600);
  REQUIRE(again.ok());
  CHECK(again->created);
  CHECK(again->stream_seq == 0);
  CHECK(again->reservation == confirmed.reservation);  // as first answered: not cancelled
  // A hold's key used on a confirm is a different request.
  pay_once.idempotency_key = "key-1";
  CHECK(code_of(m.confirm(pay_once, t0 + 700)) == errc::idempotency_key_reused);

  // Failed requests are not remembered: the key may be retried.
  auto failing = seats_for("c2", {"A-1-2"}, 5);
  failing.idempotency_key = "key-3";
  failing.request_fingerprint = 444;
  REQUIRE(m.hold(seats_for("c3", {"A-1-2"}, 6), t0 + 800).ok());
  CHECK(code_of(m.hold(failing, t0 + 900)) == errc::seats_unavailable);  // c3 holds A-1-2
  failing.selector = explicit_seats{{"A-1-3"}};
  CHECK(m.hold(failing, t0 + 1000).ok());
}

TEST_CASE("event_machine: idempotency keys are forgotten after the retention",
          "[unit][inventory]") {
  auto m = make_machine(concert(0));
  auto c = seats_for("c1", {"A-1-1"});
  c.idempotency_key = "key";
  c.request_fingerprint = 1;
  REQUIRE(m.hold(c, t0).ok());
  c.request_fingerprint = 2;
  c.selector = explicit_seats{{"A-1-2"}};
  CHECK(code_of(m.hold(c, t0 + 24 * 3600 * 1000 - 1)) == errc::idempotency_key_reused);
  CHECK(m.hold(c, t0 + 24 * 3600 * 1000).ok());
}

TEST_CASE("event_machine: the idempotency ledger is bounded", "[unit][inventory]") {
  machine_limits limits;
  limits.idempotency_keys_max = 3;
  auto m = event_machine::create("ev", concert(0), t0, 5, event_machine::default_hold_retention_ms,
                                 limits)
               .value();
  for (int i = 0; i < 5; ++i) {
    auto c = seats_for("c", {"A-1-" + std::to_string(i + 1)}, static_cast<std::uint32_t>(i));
    c.idempotency_key = "k" + std::to_string(i);
    REQUIRE(m.hold(c, t0 + i).ok());
  }
  CHECK(m.memory().idempotency > 0);
  // k0 and k1 were evicted, so reusing k0 for another request is no longer detected.
  auto c = seats_for("c", {"A-1-9"}, 9);
  c.idempotency_key = "k0";
  c.request_fingerprint = 77;
  CHECK(m.hold(c, t0 + 10).ok());
  c.idempotency_key = "k4";
  CHECK(code_of(m.hold(c, t0 + 11)) == errc::idempotency_key_reused);
}

TEST_CASE("event_machine: block and unblock, all or nothing", "[unit][inventory]") {
  auto m = make_machine(concert());
  auto blocked = m.block({{"A-1-1", "A-1-2"}, true}, t0);
  REQUIRE(blocked.ok());
  CHECK(blocked.value() ==
        std::vector<seat_view>{{"A-1-1", seat_state::blocked}, {"A-1-2", seat_state::blocked}});
  CHECK(code_of(m.hold(seats_for("c1", {"A-1-1"}), t0)) == errc::seats_unavailable);
  REQUIRE(m.block({{"A-1-1"}, true}, t0).ok());  // blocking again is fine
  REQUIRE(m.hold(seats_for("c1", {"A-1-3"}), t0).ok());
  auto taken = m.block({{"A-1-4", "A-1-3"}, true}, t0);
  REQUIRE(code_of(taken) == errc::seats_unavailable);
  CHECK(taken.error().unavailable == std::vector<seat_index>{2});
  CHECK(m.seats().state(3) == seat_state::available);
  CHECK(code_of(m.block({{"A-1-4", "Q-1-1"}, true}, t0)) == errc::unknown_seat);
  CHECK(code_of(m.block({{}, true}, t0)) == errc::invalid_request);
  CHECK(code_of(m.block({{"A-1-4", "A-1-4"}, true}, t0)) == errc::invalid_request);

  auto unblocked = m.block({{"A-1-1", "A-1-3", "A-1-5"}, false}, t0);
  REQUIRE(unblocked.ok());
  CHECK(unblocked.value() == std::vector<seat_view>{{"A-1-1", seat_state::available},
                                                    {"A-1-3", seat_state::held},
                                                    {"A-1-5", seat_state::available}});
  CHECK(m.seats().state(1) == seat_state::blocked);
  CHECK(m.seats().counts()[seat_state::blocked] == 1);
  CHECK(m.check_invariants().empty());
}

TEST_CASE("event_machine: apply dispatches every command", "[unit][inventory]") {
  auto m = make_machine(concert());
  auto held = m.apply(seats_for("c1", {"A-1-1"}), t0);
  REQUIRE(held.ok());
  const auto& view = std::get<hold_view>(held.value());
  REQUIRE(std::holds_alternative<confirm_reply>(m.apply(pay(view.hold_id), t0 + 1).value()));
  REQUIRE(std::holds_alternative<std::vector<seat_view>>(
      m.apply(block_command{{"A-1-9"}, true}, t0 + 2).value()));
  REQUIRE(std::holds_alternative<expire_reply>(m.apply(expire_command{}, t0 + 3).value()));
  CHECK(m.apply(release_command{"h9-000000000000000000000000"}, t0 + 4).error().code ==
        errc::hold_not_found);
}

TEST_CASE("event_machine: views list seats and counts", "[unit][inventory]") {
  auto m = make_machine(concert());
  REQUIRE(m.hold(seats_for("c1", {"A-2-5"}), t0).ok());
  const auto all = m.seat_views(std::nullopt);
  REQUIRE(all.size() == 54);
  CHECK(all.back() == seat_view{"A-2-5", seat_state::held});
  CHECK(m.seat_views(0u).size() == 54);
  CHECK(m.seats().category_counts(1)[seat_state::held] == 1);
  CHECK(errc_name(errc::seats_unavailable) == "seats_unavailable");
  CHECK(make_error_code(errc::hold_expired).message() == "hold_expired");
}

// ---- who may act, and what is forgotten ------------------------------------------------

TEST_CASE("event_machine: ids carry a 96-bit secret, any other secret is not found",
          "[unit][inventory][security]") {
  auto m = make_machine(concert());
  hold_command c = seats_for("c1", {"A-1-1"});
  c.secret = {0x01234567, 0x89abcdef, 0xfedcba98};
  const auto held = m.hold(c, t0);
  REQUIRE(held.ok());
  CHECK(held->hold_id == "h0-0123456789abcdeffedcba98");
  for (const char* guess : {"h0-0123456789abcdeffedcba99", "h0-0123456789abcdef", "h0-01234567"})
    CHECK(code_of(m.find_hold(guess)) == errc::hold_not_found);
  confirm_command paid = pay(held->hold_id);
  paid.secret = {0xaaaaaaaa, 0xbbbbbbbb, 0xcccccccc};
  const auto r = m.confirm(paid, t0 + 1);
  REQUIRE(r.ok());
  CHECK(r->reservation.reservation_id == "r0000000000c0ffee-0-aaaaaaaabbbbbbbbcccccccc");
}

TEST_CASE("event_machine: another customer's hold or reservation is not found, and unchanged",
          "[unit][inventory][security]") {
  auto m = make_machine(concert());
  const auto held = m.hold(seats_for("alice", {"A-1-1"}), t0);
  const auto other = m.hold(seats_for("alice", {"A-1-2"}, 2), t0);
  REQUIRE(held.ok());
  REQUIRE(other.ok());
  const std::string id = held->hold_id;
  // Mallory names herself: every operation answers as if the hold did not exist.
  CHECK(fails_cleanly(m, t0 + 1, [&] {
          return code_of(m.extend({id, 60, "mallory"}, t0 + 1));
        }) == errc::hold_not_found);
  CHECK(fails_cleanly(m, t0 + 1, [&] {
          return code_of(m.release({id, "mallory"}, t0 + 1));
        }) == errc::hold_not_found);
  confirm_command stolen = pay(id);
  stolen.acting_customer = "mallory";
  CHECK(fails_cleanly(m, t0 + 1, [&] { return code_of(m.confirm(stolen, t0 + 1)); }) ==
        errc::hold_not_found);
  CHECK(code_of(m.find_hold(id, "mallory")) == errc::hold_not_found);
  CHECK(m.find_hold(id, "mallory").error().message ==
        "no hold \"" + id + "\" in this event (a released or expired hold is kept 3600 s)");
  // A malformed actor is a 400, before any 404.
  CHECK(code_of(m.release({id, "bad actor"}, t0 + 1)) == errc::invalid_request);
  // The owner, named or not, may act.
  CHECK(m.find_hold(id, "alice").ok());
  CHECK(m.extend({id, 60, "alice"}, t0 + 2).ok());
  confirm_command own = pay(id);
  own.acting_customer = "alice";
  const auto r = m.confirm(own, t0 + 3);
  REQUIRE(r.ok());
  const std::string rid = r->reservation.reservation_id;
  CHECK(fails_cleanly(m, t0 + 4, [&] {
          return code_of(m.cancel({rid, "", "mallory"}, t0 + 4));
        }) == errc::reservation_not_found);
  CHECK(code_of(m.find_reservation(rid, "mallory")) == errc::reservation_not_found);
  CHECK(m.find_reservation(rid, "alice").ok());
  CHECK(m.cancel({rid, "", "alice"}, t0 + 5).ok());
  CHECK(m.release({other->hold_id}, t0 + 6).ok());  // no actor named: as before
}

TEST_CASE("event_machine: an ended hold is forgotten after the retention, and its slot reused",
          "[unit][inventory][memory]") {
  auto m = event_machine::create("ev", concert(), t0, 0xC0FFEE, 60'000).value();
  const auto released = m.hold(seats_for("c1", {"A-1-1"}), t0).value().hold_id;
  const auto expired = m.hold(seats_for("c2", {"A-1-2"}, 2), t0).value();  // expires t0+600s
  REQUIRE(m.release({released}, t0 + 1000).ok());
  CHECK(m.find_hold(released).ok());  // within the retention: still readable
  m.expire(t0 + 60'999);
  CHECK(m.find_hold(released).value().status == hold_status::released);
  m.expire(t0 + 61'000);  // released at t0+1000, kept 60 s
  const auto gone = m.find_hold(released);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().code == errc::hold_not_found);
  CHECK(gone.error().message.find("kept 60 s") != std::string::npos);
  CHECK(m.holds_kept() == 1);
  // The next hold takes the forgotten slot: the same index, another secret.
  const auto next = m.hold(seats_for("c3", {"A-1-1"}, 3), t0 + 62'000).value();
  CHECK(next.hold_id.substr(0, 3) == "h0-");
  CHECK(next.hold_id != released);
  CHECK(code_of(m.find_hold(released)) == errc::hold_not_found);
  // An expired hold is kept from its expiry on.
  m.expire(expired.expires_at_ms + 59'999);
  CHECK(m.find_hold(expired.hold_id).value().status == hold_status::expired);
  m.expire(expired.expires_at_ms + 60'000);
  CHECK(code_of(m.find_hold(expired.hold_id)) == errc::hold_not_found);
  CHECK(m.check_invariants().empty());
}

TEST_CASE("event_machine: a hold named by an idempotency key is kept until the key is forgotten",
          "[unit][inventory][memory]") {
  auto m = event_machine::create("ev", concert(), t0, 0xC0FFEE, 60'000).value();
  hold_command keyed = seats_for("c1", {"A-1-1"});
  keyed.idempotency_key = "k1";
  keyed.request_fingerprint = 11;
  const auto first = m.hold(keyed, t0).value();
  REQUIRE(m.release({first.hold_id}, t0 + 1).ok());
  m.expire(t0 + 3600'000);  // long past the hold's retention, within the key's
  // The key still replays the first answer, which needs the hold.
  const auto replay = m.hold(keyed, t0 + 3600'001);
  REQUIRE(replay.ok());
  CHECK(replay->hold_id == first.hold_id);
  CHECK(m.check_invariants().empty());
  m.expire(t0 + 24 * 3600'000 + 1);  // the key is forgotten, and the hold with it
  CHECK(code_of(m.find_hold(first.hold_id)) == errc::hold_not_found);
  CHECK(m.holds_kept() == 0);
  CHECK(m.check_invariants().empty());
}

TEST_CASE("event_machine: memory levels off under hold and release churn",
          "[unit][inventory][memory]") {
  auto m = event_machine::create("ev", concert(), t0, 0xC0FFEE, 1000).value();
  std::int64_t now = t0;
  // Each round holds and releases with a new customer id, as an attacker would.
  auto churn = [&](int rounds) {
    for (int i = 0; i < rounds; ++i) {
      now += 100;
      const auto held = m.hold(seats_for("cust-" + std::to_string(now), {"A-1-1", "A-1-2"},
                                         static_cast<std::uint32_t>(i)),
                               now);
      REQUIRE(held.ok());
      REQUIRE(m.release({held->hold_id}, now).ok());
    }
  };
  // Past the holds' TTL (600 s, 6,000 rounds) the stale expiry entries of released holds
  // stop growing too: from then on nothing may grow.
  churn(10'000);
  const std::size_t kept = m.holds_kept();
  const std::size_t bytes = m.memory().total();
  churn(20'000);
  INFO("memory after 10,000 rounds " << bytes << " bytes, after 30,000 " << m.memory().total());
  CHECK(m.holds_kept() <= kept + 1);  // about a second of churn: 10 holds
  CHECK(m.holds_kept() <= 11);
  CHECK(m.memory().total() <= bytes + bytes / 20);
  CHECK(m.check_invariants().empty());
}

TEST_CASE("event_machine: forgotten slots survive a snapshot and are reused alike",
          "[unit][inventory][memory]") {
  auto m = event_machine::create("ev", concert(), t0, 0xC0FFEE, 1000).value();
  std::vector<std::string> ids;
  for (std::uint32_t i = 0; i < 6; ++i)
    ids.push_back(
        m.hold(seats_for("c" + std::to_string(i), {"A-1-" + std::to_string(i + 1)}, i), t0)
            .value()
            .hold_id);
  hold_command keyed = seats_for("k", {"A-2-1"}, 9);
  keyed.idempotency_key = "key";
  const auto pinned = m.hold(keyed, t0).value().hold_id;
  for (const std::uint32_t i : {1u, 3u, 4u})
    REQUIRE(m.release({ids[i]}, t0 + 1).ok());
  REQUIRE(m.release({pinned}, t0 + 1).ok());
  m.expire(t0 + 5000);  // 1, 3 and 4 forgotten; the keyed one overdue but kept
  auto copy = snapshot_codec::decode(snapshot_codec::encode(m));
  REQUIRE(copy.ok());
  CHECK(snapshot_codec::encode(copy.value()) == snapshot_codec::encode(m));
  for (event_machine* machine : {&m, &copy.value()}) {
    const auto a = machine->hold(seats_for("x", {"A-1-40"}, 100), t0 + 6000).value();
    const auto b = machine->hold(seats_for("y", {"A-1-41"}, 101), t0 + 6000).value();
    CHECK(a.hold_id.substr(0, 3) == "h1-");  // the lowest free slot first
    CHECK(b.hold_id.substr(0, 3) == "h3-");
    CHECK(machine->find_hold(pinned).ok());
  }
  CHECK(snapshot_codec::encode(copy.value()) == snapshot_codec::encode(m));
}

TEST_CASE("event_machine: a page of seat views is one range of a section, in layout order",
          "[unit][inventory]") {
  event_spec two = concert();
  two.sections.push_back({"B", {{"1", 3, {}, "R"}, {"2", 0, {"9", "7"}, "R"}}});
  auto m = make_machine(two);
  REQUIRE(m.hold(seats_for("c1", {"A-2-5", "B-1-1"}), t0).ok());
  CHECK(m.layout().seats_of(std::nullopt) == seat_range{0, 59});
  CHECK(m.layout().seats_of(0u) == seat_range{0, 54});
  CHECK(m.layout().seats_of(1u) == seat_range{54, 59});

  // Section B from its start: the first page, then the rest, then nothing more.
  const seat_page first = m.seat_views(1u, 0, 2);
  CHECK(first.first == 54);
  CHECK(first.seats ==
        std::vector<seat_view>{{"B-1-1", seat_state::held}, {"B-1-2", seat_state::available}});
  CHECK(first.more);
  const seat_page rest = m.seat_views(1u, 56, 10);
  CHECK(rest.first == 56);
  CHECK(rest.seats == std::vector<seat_view>{{"B-1-3", seat_state::available},
                                             {"B-2-9", seat_state::available},
                                             {"B-2-7", seat_state::available}});
  CHECK_FALSE(rest.more);
  // A page that ends exactly at the section's end says there is no more.
  CHECK_FALSE(m.seat_views(1u, 57, 2).more);
  CHECK(m.seat_views(1u, 57, 1).more);

  // Clamped into the section: before it starts at its first seat; at or past its end, empty.
  CHECK(m.seat_views(1u, 3, 1).seats == std::vector<seat_view>{{"B-1-1", seat_state::held}});
  for (const seat_index past : {59u, 60u, 0xFFFFFFFFu}) {
    const seat_page none = m.seat_views(1u, past, 5);
    CHECK(none.first == 59);
    CHECK(none.seats.empty());
    CHECK_FALSE(none.more);
  }
  // Section A's pages stop at its last seat, before B's first.
  const seat_page a_end = m.seat_views(0u, 52, 100);
  CHECK(a_end.seats ==
        std::vector<seat_view>{{"A-2-3", seat_state::available}, {"A-2-5", seat_state::held}});
  CHECK_FALSE(a_end.more);
  // The whole event runs on from A into B.
  CHECK(m.seat_views(std::nullopt, 53, 2).seats ==
        std::vector<seat_view>{{"A-2-5", seat_state::held}, {"B-1-1", seat_state::held}});
  CHECK(m.seat_views(std::nullopt, 53, 2).more);
  // limit 0: an empty page that says whether seats remain.
  CHECK(m.seat_views(std::nullopt, 10, 0).seats.empty());
  CHECK(m.seat_views(std::nullopt, 10, 0).more);
}

TEST_CASE("event_machine: pages of any size cover every seat once, as the whole list does",
          "[unit][inventory]") {
  event_spec two = concert();
  two.sections.push_back({"B", {{"1", 3, {}, "R"}, {"2", 0, {"9", "7"}, "R"}}});
  auto m = make_machine(two);
  REQUIRE(m.hold(seats_for("c1", {"A-1-7", "B-2-7"}), t0).ok());
  for (const std::optional<std::uint32_t> section :
       {std::optional<std::uint32_t>{}, std::optional<std::uint32_t>{0u},
        std::optional<std::uint32_t>{1u}}) {
    const std::vector<seat_view> whole = m.seat_views(section);
    for (std::uint32_t limit = 1; limit <= whole.size() + 1; ++limit) {
      INFO("section " << (section ? std::to_string(*section) : "none") << ", limit " << limit);
      std::vector<seat_view> walked;
      seat_index from = 0;
      std::size_t pages = 0;
      for (bool more = true; more; ++pages) {
        REQUIRE(pages <= whole.size());  // a page that never ends the walk fails, not hangs
        seat_page page = m.seat_views(section, from, limit);
        REQUIRE(page.seats.size() <= limit);
        REQUIRE((page.more || page.seats.size() + walked.size() == whole.size()));
        from = page.first + static_cast<seat_index>(page.seats.size());
        more = page.more;
        walked.insert(walked.end(), page.seats.begin(), page.seats.end());
      }
      CHECK(walked == whole);
      CHECK(pages == (whole.size() + limit - 1) / limit);
    }
  }
}

TEST_CASE("event_machine: the stream records wait for their ack, each as its change made it",
          "[unit][inventory][stream]") {
  event_machine m = make_machine(concert());
  const auto a = m.hold(seats_for("c1", {"A-1-1"}, 1), t0);
  const auto b = m.hold(seats_for("c2", {"A-1-2"}, 2), t0);
  REQUIRE((a.ok() && b.ok()));
  const auto ra = m.confirm(pay(a->hold_id, "pay_a"), t0 + 1);
  const auto rb = m.confirm(pay(b->hold_id, "pay_b"), t0 + 2);
  REQUIRE((ra.ok() && rb.ok()));
  const auto cancelled = m.cancel({ra->reservation.reservation_id, "refund"}, t0 + 3);
  REQUIRE(cancelled.ok());
  CHECK(m.stream_seq() == 3);
  CHECK(m.stream_acked() == 0);
  // Each record reads as its confirm or cancel answered, though reservation a is cancelled
  // since its confirm.
  auto pending = m.stream_pending();
  REQUIRE(pending.size() == 3);
  CHECK(pending[0] == stream_item{ra->stream_seq, ra->reservation});
  CHECK(pending[1] == stream_item{rb->stream_seq, rb->reservation});
  CHECK(pending[2] == stream_item{cancelled->stream_seq, cancelled->reservation});
  CHECK(pending[2].reservation.cancelled);
  CHECK(m.memory().stream > 0);

  // A snapshot keeps them; an ack forgets a prefix, an old ack changes nothing, an ack past
  // the last record is refused.
  auto copy = snapshot_codec::decode(snapshot_codec::encode(m));
  REQUIRE(copy.ok());
  CHECK(copy.value().stream_pending() == pending);
  REQUIRE(m.stream_ack({2}, t0 + 4).ok());
  CHECK(m.stream_acked() == 2);
  pending = m.stream_pending();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].seq == 3);
  CHECK(m.stream_ack({1}, t0 + 4).value().acked == 2);
  CHECK(m.stream_pending().size() == 1);
  CHECK(fails_cleanly(m, t0 + 5, [&] { return code_of(m.stream_ack({4}, t0 + 5)); }) ==
        errc::invalid_request);
  const auto through_apply = m.apply(stream_ack_command{3}, t0 + 6);
  REQUIRE(through_apply.ok());
  CHECK(std::get<stream_ack_reply>(through_apply.value()).acked == 3);
  CHECK(m.stream_pending().empty());
  CHECK(m.check_invariants().empty());
  auto acked = snapshot_codec::decode(snapshot_codec::encode(m));
  REQUIRE(acked.ok());
  CHECK(acked.value().stream_acked() == 3);
  CHECK(acked.value().stream_pending().empty());
}

TEST_CASE("event_machine: a hold stays readable while any key that shows it lasts",
          "[unit][inventory][idempotency]") {
  auto m = event_machine::create("ev", concert(), t0, 0xC0FFEE, 1000).value();
  hold_command keyed = seats_for("c1", {"A-1-1"}, 1);
  keyed.idempotency_key = "k-hold";
  const auto held = m.hold(keyed, t0);
  REQUIRE(held.ok());
  constexpr std::int64_t hour = 3600'000;
  release_command release{held->hold_id, "", "k-release", 99};
  const auto released = m.release(release, t0 + 500'000);  // within the hold's 600 s
  REQUIRE(released.ok());
  CHECK(released->status == hold_status::released);
  // Past the hold's retention (1 s) both keys pin it; a copy through a snapshot agrees.
  m.expire(t0 + 13 * hour);
  REQUIRE(m.check_invariants().empty());
  auto copy = snapshot_codec::decode(snapshot_codec::encode(m));
  REQUIRE(copy.ok());
  for (event_machine* machine : {&m, &copy.value()}) {
    machine->expire(t0 + 24 * hour + 1);  // the hold's key is forgotten, the release's is not
    CHECK(machine->find_hold(held->hold_id).ok());
    const auto again = machine->release(release, t0 + 24 * hour + 2);
    REQUIRE(again.ok());
    CHECK(again.value() == released.value());
    machine->expire(t0 + 24 * hour + 500'001);  // the release's key goes, and the hold with it
    CHECK(code_of(machine->find_hold(held->hold_id)) == errc::hold_not_found);
    CHECK(machine->holds_kept() == 0);
    CHECK(machine->check_invariants().empty());
  }
}

TEST_CASE("event_machine: keyed extend, cancel and block replay their first answers",
          "[unit][inventory][idempotency]") {
  event_machine m = make_machine(concert());
  const auto held = m.hold(seats_for("c1", {"A-1-1"}, 1), t0);
  REQUIRE(held.ok());
  const extend_command extend{held->hold_id, 300, "", "k-x", 5};
  const auto extended = m.extend(extend, t0 + 10);
  REQUIRE(extended.ok());
  REQUIRE(m.extend({held->hold_id, 500}, t0 + 20).ok());
  CHECK(m.extend(extend, t0 + 30).value() == extended.value());
  CHECK(code_of(m.extend({held->hold_id, 300, "", "k-x", 6}, t0 + 30)) ==
        errc::idempotency_key_reused);
  // The key of an extend is not a cancel's.
  CHECK(code_of(m.cancel({"r00-1-2", "", "", "k-x", 5}, t0 + 30)) == errc::idempotency_key_reused);

  const auto confirmed = m.confirm(pay(held->hold_id), t0 + 40);
  REQUIRE(confirmed.ok());
  const cancel_command cancel{confirmed->reservation.reservation_id, "refund", "", "k-c", 7};
  const auto cancelled = m.cancel(cancel, t0 + 50);
  REQUIRE(cancelled.ok());
  const auto replayed = m.cancel(cancel, t0 + 60);
  REQUIRE(replayed.ok());
  CHECK(replayed->reservation == cancelled->reservation);
  CHECK(replayed->stream_seq == 0);  // no second record
  CHECK(m.stream_seq() == 2);

  const block_command block{{"A-1-3", "A-1-2"}, true, "k-b", 8};
  const auto blocked = m.block(block, t0 + 70);
  REQUIRE(blocked.ok());
  REQUIRE(m.block({{"A-1-3", "A-1-2"}, false}, t0 + 80).ok());
  REQUIRE(m.hold(seats_for("c2", {"A-1-3"}, 2), t0 + 90).ok());
  const auto block_again = m.block(block, t0 + 100);
  REQUIRE(block_again.ok());
  CHECK(block_again.value() == blocked.value());
  CHECK(m.seats().state(m.layout().find_seat("A-1-3").value()) == seat_state::held);
  CHECK(m.check_invariants().empty());
  auto copy = snapshot_codec::decode(snapshot_codec::encode(m));
  REQUIRE(copy.ok());
  CHECK(copy.value().block(block, t0 + 110).value() == blocked.value());
}

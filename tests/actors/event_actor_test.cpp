// The CAF shell around event_host, run by CAF's deterministic test coordinator: messages are
// delivered and timers fire only when the test says so, with a fake log that holds every
// completion until the test commits it, and a clock the test sets. No sleeps, no threads.

#include "actors/event_actor.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>
#include <map>

#include "actors/shard_machine.hpp"
#include "actors/snapshot_codec.hpp"
#include "actors/venues.hpp"

using namespace seatd;
using namespace seatd::actors;

namespace {

// Keeps what the actor proposes; completions wait until commit() (as entries of a log
// whose writes have not returned yet). A barrier waits for the shard's held entries.
class holding_log final : public log_port {
 public:
  bool has_room() const override { return room; }
  void propose(proposal entry, completion done) override {
    entries.push_back(std::move(entry));
    held.push_back(std::move(done));
  }
  void barrier(std::uint32_t, std::uint64_t, completion done) override {
    if (held.empty()) return done(log_status::committed);
    held.push_back(std::move(done));
  }
  // Runs every held completion with `status`, in order.
  void commit(log_status status = log_status::committed) {
    auto due = std::move(held);
    held.clear();
    for (auto& done : due)
      if (done) done(status);
  }
  std::vector<proposal> entries;
  std::vector<completion> held;
  bool room = true;
};

// What one request ended with.
struct answer {
  bool handled = false;  // handle() ran on the actor
  bool overloaded = false;
  std::optional<errc> error;
  std::string hold_id;
  std::vector<std::uint8_t> state;  // the machine's snapshot right after the command
  std::optional<log_status> sent;   // the finish ran, with this status
};

struct fixture {
  holding_log log;
  std::int64_t now_ms = test::t0;
  caf::actor_system_config config;
  std::unique_ptr<caf::actor_system> system;
  caf::scheduler::test_coordinator* scheduler = nullptr;
  std::shared_ptr<event_actor_stats> stats = std::make_shared<event_actor_stats>();
  caf::actor actor;

  fixture() {
    config.set("scheduler.policy", caf::atom("testing"));
    system = std::make_unique<caf::actor_system>(config);
    scheduler = &dynamic_cast<caf::scheduler::test_coordinator&>(system->scheduler());
    event_actor_config c;
    c.log = &log;
    c.clock_ms = [this] { return now_ms; };
    c.random_secret = [n = std::uint64_t{0}]() mutable { return test::secret_of(++n); };
    c.stats = stats;
    actor = spawn_event_actor(*system, c,
                              event_host(0, test::make_machine(test::flash_venue(1, 1, 10))));
    scheduler->run();
  }
  ~fixture() {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    scheduler->run();
  }

  // Sends a request and lets the actor handle it; the answer's finish may still be held.
  std::shared_ptr<answer> send(std::optional<command> mutation) {
    auto out = std::make_shared<answer>();
    auto request = std::make_shared<event_request>();
    request->mutation = std::move(mutation);
    request->handle = [out](const event_machine& m,
                            const result<command_reply>* r) -> event_request::finish {
      out->handled = true;
      out->state = snapshot_codec::encode(m);
      if (r && !r->ok()) out->error = r->error().code;
      if (r && r->ok())
        if (const auto* h = std::get_if<hold_view>(&r->value())) out->hold_id = h->hold_id;
      return [out](log_status status) { out->sent = status; };
    };
    request->overloaded = [out] { out->overloaded = true; };
    stats->queued.fetch_add(1);
    send_request(actor, request);
    scheduler->run();
    return out;
  }
  // Sends and commits: the whole round trip.
  std::shared_ptr<answer> run(command c) {
    auto out = send(std::move(c));
    log.commit();
    return out;
  }
};

hold_command hold_of(std::vector<std::string> seats, std::uint32_t ttl_s) {
  hold_command c;
  c.customer_id = "c";
  c.selector = explicit_seats{std::move(seats)};
  c.ttl_s = ttl_s;
  return c;
}

// The proposals replayed through the shard's committed machine, as recovery would.
shard_machine replay(const std::vector<proposal>& entries) {
  shard_machine shard(0);
  auto created = event_host::create(0, "ev1", test::flash_venue(1, 1, 10), test::t0, 0xC0FFEE);
  REQUIRE(created.ok());
  std::uint64_t index = 1;
  REQUIRE(shard.apply({index, test::t0, "ev1", created.value().entry.payload}).ok());
  for (const auto& entry : entries)
    REQUIRE(shard.apply({++index, entry.stamp_ms, entry.event_id, entry.payload}).ok());
  return shard;
}

}  // namespace

TEST_CASE("event_actor: a clock stepping back never logs a stamp replay would disagree with",
          "[actor]") {
  fixture f;
  REQUIRE_FALSE(f.run(hold_of({"1-1-1"}, 1))->error);  // expires at t0 + 1000
  f.now_ms = test::t0 + 1001;
  CHECK(f.run(hold_of({"1-1-2", "1-1-99"}, 60))->error ==
        errc::unknown_seat);  // fails, but expires the hold
  f.now_ms = test::t0 + 996;  // the wall clock steps back
  const auto last = f.run(hold_of({"1-1-1"}, 60));
  REQUIRE_FALSE(last->error);  // succeeds: the seat was freed

  // The expiry the failure made is logged (its answer must survive a restart), and
  // replaying the log gives the actor's machine, byte for byte.
  REQUIRE(f.log.entries.size() == 3);
  CHECK(std::holds_alternative<expire_command>(decode_command(f.log.entries[1].payload).value()));
  CHECK(f.log.entries[1].stamp_ms == test::t0 + 1001);
  CHECK(f.log.entries[2].stamp_ms >= test::t0 + 1001);
  CHECK(snapshot_codec::encode(*replay(f.log.entries).find("ev1")) == last->state);
}

TEST_CASE("event_actor: only successful commands are proposed, and answers wait for them",
          "[actor]") {
  fixture f;
  const auto held = f.send(hold_of({"1-1-1", "1-1-2"}, 60));
  REQUIRE(held->handled);
  CHECK_FALSE(held->sent);  // its entry is not committed yet
  // A failure depends on the held seats: it waits for the shard's pending entries.
  const auto refused = f.send(hold_of({"1-1-2"}, 60));
  CHECK(refused->error == errc::seats_unavailable);
  CHECK_FALSE(refused->sent);
  CHECK(f.log.entries.size() == 1);
  f.log.commit();
  CHECK(held->sent == log_status::committed);
  CHECK(refused->sent == log_status::committed);

  // With nothing pending, a read or a failure is answered at once.
  const auto read = f.send(std::nullopt);
  CHECK(read->sent == log_status::committed);
  const auto confirmed = f.run(confirm_command{held->hold_id, "pay", "", 0, 0});
  CHECK_FALSE(confirmed->error);
  CHECK(f.log.entries.size() == 2);
  CHECK(f.stats->seats_sold.load() == 2);
}

TEST_CASE("event_actor: a commit that fails reaches the answer with its status", "[actor]") {
  fixture f;
  const auto held = f.send(hold_of({"1-1-1"}, 60));
  f.log.commit(log_status::leadership_lost);
  CHECK(held->sent == log_status::leadership_lost);
}

TEST_CASE("event_actor: a full log answers overloaded (429), not a failure, and applies nothing",
          "[actor]") {
  fixture f;
  f.log.room = false;
  const auto refused = f.send(hold_of({"1-1-1"}, 60));
  CHECK(refused->overloaded);
  CHECK_FALSE(refused->handled);
  CHECK_FALSE(refused->error);
  CHECK(f.log.entries.empty());
  f.log.room = true;
  CHECK_FALSE(f.run(hold_of({"1-1-1"}, 60))->error);  // the seat was never taken
}

TEST_CASE("event_actor: the expiry timer frees seats and logs the expiry", "[actor]") {
  fixture f;
  REQUIRE_FALSE(f.run(hold_of({"1-1-3"}, 1))->error);  // expires at t0 + 1000
  CHECK(f.stats->seats_held.load() == 1);
  // Not yet due: the timer is armed for one millisecond past the expiry.
  f.scheduler->advance_time(std::chrono::milliseconds(1000));
  f.scheduler->run();
  CHECK(f.stats->seats_held.load() == 1);
  f.now_ms = test::t0 + 1001;
  f.scheduler->advance_time(std::chrono::milliseconds(1));
  f.scheduler->run();
  CHECK(f.stats->seats_held.load() == 0);
  CHECK(f.stats->holds_expired.load() == 1);
  REQUIRE(f.log.entries.size() == 2);
  CHECK(std::holds_alternative<expire_command>(decode_command(f.log.entries[1].payload).value()));
  CHECK(f.log.entries[1].stamp_ms == test::t0 + 1001);
}

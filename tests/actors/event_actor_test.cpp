// The CAF shell around the event machine, with a fake log and a controllable clock.

#include "actors/event_actor.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <mutex>

#include "actors/command_codec.hpp"
#include "actors/venues.hpp"

using namespace seatd;
using namespace seatd::actors;

namespace {

// Keeps what the actor appends; completions run at once (as if every write were durable).
class recording_log final : public log_port {
 public:
  bool has_room() const override { return room; }
  std::uint64_t append(std::uint32_t, const std::string& event_id, std::int64_t stamp_ms,
                       std::vector<std::uint8_t> payload,
                       std::vector<storage::outbox_record> outbox, completion done) override {
    {
      std::lock_guard lock(mutex);
      entries.push_back({0, entries.size() + 1, 0, stamp_ms, event_id, std::move(payload)});
      outbox_records += outbox.size();
    }
    if (done) done();
    return entries.size();
  }
  void snapshot(std::uint32_t, const std::string&, std::vector<std::uint8_t>,
                completion done) override {
    if (done) done();
  }
  void barrier(completion done) override {
    if (done) done();
  }
  std::mutex mutex;
  std::vector<storage::log_entry> entries;
  std::size_t outbox_records = 0;
  bool room = true;
};

struct fixture {
  recording_log log;
  std::atomic<std::int64_t> now{test::t0};
  caf::actor_system_config config;
  caf::actor_system system{config};
  std::shared_ptr<event_actor_stats> stats = std::make_shared<event_actor_stats>();
  caf::actor actor;

  fixture() {
    event_actor_config c;
    c.log = &log;
    c.clock_ms = [this] { return now.load(); };
    c.stats = stats;
    c.stream_record = [](const std::string&, std::uint64_t seq, const reservation_view&) {
      return "record " + std::to_string(seq);
    };
    actor = spawn_event_actor(system, c, test::make_machine(test::flash_venue(1, 1, 10)));
  }
  ~fixture() { caf::anon_send_exit(actor, caf::exit_reason::user_shutdown); }

  // Sends a command and waits for its answer: ok, or the failure's code.
  std::optional<errc> run(command cmd, std::string* hold_id = nullptr) {
    std::promise<std::optional<errc>> answer;
    auto request = std::make_shared<event_request>();
    request->mutation = std::move(cmd);
    request->handle = [&](const event_machine&,
                          const result<command_reply>* r) -> event_request::finish {
      std::optional<errc> code;
      if (!r->ok()) code = r->error().code;
      if (r->ok() && hold_id) {
        if (const auto* h = std::get_if<hold_view>(&r->value())) *hold_id = h->hold_id;
      }
      return [&answer, code] { answer.set_value(code); };
    };
    request->overloaded = [&answer] { answer.set_value(errc::invalid_request); };
    stats->queued.fetch_add(1);
    send_request(actor, request);
    return answer.get_future().get();
  }
};

hold_command hold_of(std::vector<std::string> seats, std::uint32_t ttl_s) {
  hold_command c;
  c.customer_id = "c";
  c.selector = explicit_seats{std::move(seats)};
  c.ttl_s = ttl_s;
  return c;
}

}  // namespace

TEST_CASE("event_actor: a clock stepping back never logs a stamp replay would disagree with",
          "[actor]") {
  fixture f;
  REQUIRE_FALSE(f.run(hold_of({"1-1-1"}, 1)).has_value());  // expires at t0 + 1000
  f.now = test::t0 + 1001;
  CHECK(f.run(hold_of({"1-1-2", "1-1-99"}, 60)) ==
        errc::unknown_seat);                                 // fails, but expires the hold
  f.now = test::t0 + 996;                                    // the wall clock steps back
  REQUIRE_FALSE(f.run(hold_of({"1-1-1"}, 60)).has_value());  // succeeds: the seat was freed

  // Replaying the log onto a fresh machine gives the same answers.
  std::lock_guard lock(f.log.mutex);
  REQUIRE(f.log.entries.size() == 2);
  CHECK(f.log.entries[1].stamp_ms >= test::t0 + 1001);
  auto replica = test::make_machine(test::flash_venue(1, 1, 10));
  for (const auto& entry : f.log.entries) {
    auto decoded = decode_command(entry.payload);
    REQUIRE(decoded.ok());
    REQUIRE(replica.apply(*machine_command(std::move(decoded).value()), entry.stamp_ms).ok());
  }
}

TEST_CASE("event_actor: only successful commands are logged, with their outbox records",
          "[actor]") {
  fixture f;
  std::string hold_id;
  REQUIRE_FALSE(f.run(hold_of({"1-1-1", "1-1-2"}, 60), &hold_id).has_value());
  CHECK(f.run(hold_of({"1-1-2"}, 60)) == errc::seats_unavailable);
  REQUIRE_FALSE(f.run(confirm_command{hold_id, "pay", "", 0, 0}).has_value());
  std::lock_guard lock(f.log.mutex);
  CHECK(f.log.entries.size() == 2);
  CHECK(f.log.outbox_records == 1);
  CHECK(f.stats->seats_sold.load() == 2);
}

TEST_CASE("event_actor: a full log refuses before anything is applied", "[actor]") {
  fixture f;
  f.log.room = false;
  CHECK(f.run(hold_of({"1-1-1"}, 60)) == errc::invalid_request);  // the overloaded answer
  f.log.room = true;
  CHECK_FALSE(f.run(hold_of({"1-1-1"}, 60)).has_value());  // the seat was never taken
}

TEST_CASE("event_actor: the expiry timer frees seats and logs the expiry", "[actor]") {
  fixture f;
  REQUIRE_FALSE(f.run(hold_of({"1-1-3"}, 1)).has_value());
  f.now = test::t0 + 5000;  // the timer fires about a second after the hold (real time)
  for (int i = 0; i < 300 && f.stats->seats_held.load() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(f.stats->seats_held.load() == 0);
  CHECK(f.stats->holds_expired.load() == 1);
  std::lock_guard lock(f.log.mutex);
  REQUIRE(f.log.entries.size() == 2);
  CHECK(std::holds_alternative<expire_command>(decode_command(f.log.entries[1].payload).value()));
}

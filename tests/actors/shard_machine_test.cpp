// shard_machine: a shard's committed state, the one replay path. Entries are made by the
// real event_host, as a node makes them, and replayed through the shard machine.

#include "actors/shard_machine.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "actors/command_codec.hpp"
#include "actors/event_host.hpp"
#include "actors/snapshot_codec.hpp"
#include "actors/venues.hpp"

using namespace seatd;
using namespace seatd::actors;

namespace {

struct logged {
  std::uint64_t index = 0;
  proposal entry;
};

// Events of one shard, driven through their hosts; every entry logged in order.
struct shard_driver {
  std::map<std::string, event_host> hosts;
  std::vector<logged> log;
  std::uint64_t next_random = 1;

  void append(proposal entry) { log.push_back({log.size() + 1, std::move(entry)}); }
  void create(const std::string& id, event_spec spec = test::flash_venue(2, 2, 10)) {
    auto created = event_host::create(0, id, std::move(spec), test::t0, 0x1000 + log.size());
    REQUIRE(created.ok());
    append(std::move(created.value().entry));
    hosts.emplace(id, event_host(0, std::move(created.value().machine)));
  }
  result<command_reply> run(const std::string& id, command c, std::int64_t at_ms) {
    auto ready = hosts.at(id).on_command(std::move(c), at_ms, test::secret_of(++next_random), true);
    if (ready.entry) append(std::move(*ready.entry));
    return std::move(*ready.reply);
  }
  std::string hold(const std::string& id, std::vector<std::string> seats, std::int64_t at_ms,
                   std::uint32_t ttl_s = 600) {
    hold_command c;
    c.customer_id = "cust";
    c.selector = explicit_seats{std::move(seats)};
    c.ttl_s = ttl_s;
    auto r = run(id, c, at_ms);
    REQUIRE(r.ok());
    return std::get<hold_view>(r.value()).hold_id;
  }
  std::string confirm(const std::string& id, const std::string& hold_id, std::int64_t at_ms) {
    auto r = run(id, confirm_command{hold_id, "pay-" + hold_id, "", 0, 0}, at_ms);
    REQUIRE(r.ok());
    return std::get<confirm_reply>(r.value()).reservation.reservation_id;
  }
};

shard_entry view(const logged& l) {
  return {l.index, l.entry.stamp_ms, l.entry.event_id, l.entry.payload};
}

// Applies log entries [from, to) (1-based indices), collecting the stream changes.
std::vector<stream_change> apply_range(shard_machine& shard, const std::vector<logged>& log,
                                       std::uint64_t from, std::uint64_t to) {
  std::vector<stream_change> changes;
  for (const auto& l : log) {
    if (l.index < from || l.index >= to) continue;
    auto applied = shard.apply(view(l));
    INFO((applied.ok() ? std::string() : applied.error()));
    REQUIRE(applied.ok());
    if (applied.value()) changes.push_back(*applied.value());
  }
  return changes;
}

void require_same(const shard_machine& shard, const shard_driver& driver) {
  REQUIRE(shard.event_count() == driver.hosts.size());
  for (const auto& [id, host] : driver.hosts) {
    const event_machine* machine = shard.find(id);
    REQUIRE(machine != nullptr);
    INFO("event " << id);
    CHECK(snapshot_codec::encode(*machine) == snapshot_codec::encode(host.machine()));
  }
}

// A small shard history: two events, holds, a confirm, a release, a cancel and an expiry.
shard_driver sample_history() {
  shard_driver d;
  d.create("ev-a");
  d.create("ev-b");
  const auto h1 = d.hold("ev-a", {"1-1-1", "1-1-2"}, test::t0 + 10);
  d.hold("ev-b", {"1-1-1"}, test::t0 + 11, 1);  // expires at t0 + 1011
  const auto r1 = d.confirm("ev-a", h1, test::t0 + 12);
  const auto h2 = d.hold("ev-a", {"2-2-5"}, test::t0 + 13);
  REQUIRE(d.run("ev-a", release_command{h2}, test::t0 + 14).ok());
  REQUIRE(d.run("ev-a", cancel_command{r1, "refund"}, test::t0 + 15).ok());
  const auto h3 = d.hold("ev-b", {"2-1-3"}, test::t0 + 5000);  // expires ev-b's first hold
  d.confirm("ev-b", h3, test::t0 + 5001);
  return d;
}

}  // namespace

TEST_CASE("shard_machine: replaying a shard's log gives its events byte for byte",
          "[unit][shard]") {
  const shard_driver d = sample_history();
  shard_machine shard(0);
  const auto changes = apply_range(shard, d.log, 1, d.log.size() + 1);
  require_same(shard, d);
  CHECK(shard.applied_index() == d.log.size());
  // The stream: ev-a's confirm (seq 1) and cancel (seq 2), then ev-b's confirm (seq 1).
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].event_id == "ev-a");
  CHECK(changes[0].seq == 1);
  CHECK_FALSE(changes[0].reservation.cancelled);
  CHECK(changes[1].seq == 2);
  CHECK(changes[1].reservation.cancelled);
  CHECK(changes[1].reservation.reservation_id == changes[0].reservation.reservation_id);
  CHECK(changes[2].event_id == "ev-b");
  CHECK(changes[2].seq == 1);
  CHECK(changes[2].reservation.seats == std::vector<std::string>{"2-1-3"});
}

TEST_CASE("shard_machine: a Raft no-op between entries changes no event and moves the index",
          "[unit][shard]") {
  const shard_driver d = sample_history();
  shard_machine shard(0);
  apply_range(shard, d.log, 1, 3);
  const std::vector<std::uint8_t> no_payload;
  // Indices need only increase: the no-op takes the place of index 3, the rest follow it.
  auto noop = shard.apply({3, test::t0, "", no_payload});
  REQUIRE(noop.ok());
  CHECK_FALSE(noop.value().has_value());
  CHECK(shard.applied_index() == 3);
  std::vector<logged> rest;
  for (const auto& l : d.log)
    if (l.index >= 3) rest.push_back({l.index + 1, l.entry});
  apply_range(shard, rest, 4, rest.size() + 4);
  require_same(shard, d);
  CHECK(shard.applied_index() == d.log.size() + 1);
}

TEST_CASE("shard_machine: a snapshot at a cut plus the entries after it gives the same state",
          "[unit][shard]") {
  const shard_driver d = sample_history();
  for (std::uint64_t cut = 2; cut <= d.log.size(); ++cut) {
    INFO("cut " << cut);
    shard_machine before(0);
    apply_range(before, d.log, 1, cut + 1);
    auto parts = before.snapshot();
    for (const auto& part : parts)
      CHECK(part.index == cut);
    shard_machine restored(0);
    auto count = restored.restore(std::move(parts));
    REQUIRE(count.ok());
    CHECK(count.value() == 2);
    CHECK(restored.applied_index() == cut);
    apply_range(restored, d.log, cut + 1, d.log.size() + 1);
    require_same(restored, d);
  }
}

TEST_CASE(
    "shard_machine: a snapshot holds only the events changed since the last one, the whole "
    "shard, for a replica that lacks it, holds every event and leaves that as it was",
    "[unit][shard]") {
  shard_driver d;
  d.create("ev-a");
  d.create("ev-b");
  shard_machine shard(0);
  apply_range(shard, d.log, 1, d.log.size() + 1);
  CHECK(shard.snapshot().size() == 2);  // both new
  CHECK(shard.snapshot().empty());      // nothing changed since
  const auto from = d.log.size() + 1;
  d.hold("ev-b", {"1-1-1"}, test::t0 + 1);
  apply_range(shard, d.log, from, d.log.size() + 1);

  const auto whole = shard.whole();
  REQUIRE(whole.size() == 2);
  for (const auto& part : whole)
    CHECK(part.index == d.log.size());
  shard_machine replica(0);
  REQUIRE(replica.restore(whole).ok());
  CHECK(replica.applied_index() == d.log.size());
  require_same(replica, d);

  const auto parts = shard.snapshot();  // still only what changed: whole() kept that
  REQUIRE(parts.size() == 1);
  CHECK(parts[0].event_id == "ev-b");
  CHECK(parts[0].index == d.log.size());
  CHECK(shard.snapshot(true).size() == 2);  // all, when asked
}

TEST_CASE("shard_machine: entries a restored part covers are skipped, the others applied",
          "[unit][shard]") {
  // Parts taken at different cuts, as an older node wrote them: ev-a covers up to entry 6,
  // ev-b only up to entry 4, and the log still holds everything.
  const shard_driver d = sample_history();
  shard_machine at4(0), at6(0);
  apply_range(at4, d.log, 1, 5);
  apply_range(at6, d.log, 1, 7);
  std::vector<snapshot_part> parts;
  for (auto& part : at6.snapshot(true))
    if (part.event_id == "ev-a") parts.push_back(std::move(part));
  for (auto& part : at4.snapshot(true))
    if (part.event_id == "ev-b") parts.push_back(std::move(part));
  shard_machine restored(0);
  REQUIRE(restored.restore(std::move(parts)).ok());
  const auto changes = apply_range(restored, d.log, 1, d.log.size() + 1);
  require_same(restored, d);
  // Only the changes of entries no part covered are made again: ev-a's cancel, ev-b's confirm.
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].event_id == "ev-a");
  CHECK(changes[0].seq == 2);
  CHECK(changes[1].event_id == "ev-b");
}

TEST_CASE("shard_machine: a copy of a committed event goes on exactly like its host",
          "[unit][shard]") {
  shard_driver d = sample_history();
  shard_machine shard(0);
  apply_range(shard, d.log, 1, d.log.size() + 1);
  event_host copy(0, *shard.find("ev-a"));  // as a node starts an actor
  const auto from = d.log.size() + 1;
  d.hold("ev-a", {"1-2-3", "1-2-4"}, test::t0 + 9000);
  apply_range(shard, d.log, from, d.log.size() + 1);
  const auto logged_hold =
      std::get<hold_command>(*machine_command(decode_command(d.log.back().entry.payload).value()));
  auto again = copy.on_command(logged_hold, test::t0 + 9000, logged_hold.secret, true);
  REQUIRE(again.reply->ok());
  CHECK(snapshot_codec::encode(copy.machine()) == snapshot_codec::encode(*shard.find("ev-a")));
}

TEST_CASE("shard_machine: entries that cannot apply are errors naming the shard and entry",
          "[unit][shard]") {
  shard_driver d;
  d.create("ev-a");
  shard_machine shard(7);
  apply_range(shard, d.log, 1, 2);
  const proposal& create = d.log[0].entry;

  auto error_of = [&](std::uint64_t index, std::string_view event_id,
                      const std::vector<std::uint8_t>& payload) {
    auto applied = shard.apply({index, test::t0 + 1, event_id, payload});
    REQUIRE_FALSE(applied.ok());
    return applied.error();
  };
  CHECK(error_of(2, "ev-a", {0xFF, 0x01}).rfind("shard 7 entry 2 (event ev-a): ", 0) == 0);
  CHECK(error_of(3, "ev-a", create.payload) == "shard 7 entry 3 (event ev-a): event created twice");
  const auto release = encode_command(release_command{"h0-000000000000000000000000"});
  CHECK(error_of(4, "ev-x", release) ==
        "shard 7 entry 4 (event ev-x): command for an event that was never created");
  CHECK(error_of(5, "ev-a", release).find("command does not replay") != std::string::npos);
}

TEST_CASE("shard_machine: snapshot parts that cannot be restored are errors", "[unit][shard]") {
  shard_driver d;
  d.create("ev-a");
  shard_machine source(0);
  apply_range(source, d.log, 1, 2);
  auto part = source.snapshot(true).at(0);

  SECTION("damaged bytes") {
    part.bytes[part.bytes.size() / 2] ^= 0x40;
    auto restored = shard_machine(0).restore({part});
    REQUIRE_FALSE(restored.ok());
    CHECK(restored.error().rfind("snapshot of ev-a: ", 0) == 0);
  }
  SECTION("a part stored under another event's id") {
    part.event_id = "ev-b";
    auto restored = shard_machine(0).restore({part});
    REQUIRE_FALSE(restored.ok());
    CHECK(restored.error() == "snapshot stored as ev-b holds event ev-a");
  }
  SECTION("two parts of one event") {
    auto restored = shard_machine(0).restore({part, part});
    REQUIRE_FALSE(restored.ok());
    CHECK(restored.error() == "two snapshots of event ev-a");
  }
}

TEST_CASE("shard_machine: a stream ack is logged like a command and every replica forgets alike",
          "[unit][shard][stream]") {
  shard_driver d = sample_history();
  shard_machine before_ack(0);
  const auto changes = apply_range(before_ack, d.log, 1, d.log.size() + 1);
  REQUIRE(changes.size() == 3);  // ev-a's confirm and cancel, ev-b's confirm
  // What a new leader publishes is exactly what the entries made, per event in seq order.
  std::vector<stream_change> pending;
  before_ack.for_each([&](const event_machine& m) {
    for (auto& c : stream_pending_changes(m))
      pending.push_back(std::move(c));
  });
  CHECK(pending == changes);

  const std::uint64_t acked_up_to = d.log.size();
  REQUIRE(d.run("ev-a", stream_ack_command{1}, test::t0 + 5002).ok());
  shard_machine replica(0);
  apply_range(replica, d.log, 1, d.log.size() + 1);
  require_same(replica, d);
  const event_machine* a = replica.find("ev-a");
  CHECK(a->stream_acked() == 1);
  const auto left = stream_pending_changes(*a);
  REQUIRE(left.size() == 1);
  CHECK(left[0] == changes[1]);  // the cancel
  CHECK(replica.find("ev-b")->stream_pending().size() == 1);
  CHECK(acked_up_to + 1 == d.log.size());
}

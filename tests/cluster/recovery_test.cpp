#include "cluster/recovery.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cluster/event_script.hpp"

using seatd::actors::proposal;
using seatd::cluster::recovered_node;
using seatd::test::event_script;
namespace storage = seatd::storage;
using Catch::Matchers::StartsWith;

namespace {

// A node's log as the shell writes it: each proposal gets its shard's next index.
struct log_builder {
  explicit log_builder(std::uint32_t shard_count) : last(shard_count, 0) {}

  std::uint64_t add(const proposal& p) {
    entries.push_back({p.shard, ++last.at(p.shard), 0, p.stamp_ms, p.event_id, p.payload});
    return last[p.shard];
  }

  // What a store recovers: entries by shard, then index; no mark, no outbox.
  storage::recovered_state state() const {
    storage::recovered_state s;
    s.shard_count = static_cast<std::uint32_t>(last.size());
    s.entries = entries;
    std::stable_sort(s.entries.begin(), s.entries.end(),
                     [](const auto& a, const auto& b) { return a.shard < b.shard; });
    for (std::uint32_t shard = 0; shard < s.shard_count; ++shard)
      s.hard_states.push_back({shard, 0, 0});
    s.outbox_marks.assign(s.shard_count, 0);
    return s;
  }

  std::vector<std::uint64_t> last;
  std::vector<storage::log_entry> entries;
};

// Three events on two shards, each confirmed and some cancelled: every kind of entry that
// changes state, interleaved across shards and events.
struct history {
  event_script script;
  log_builder log{2};
  // The stream records the entries make, with the entry that made each.
  struct made {
    std::uint32_t shard;
    std::uint64_t index;
    storage::outbox_record record;
  };
  std::vector<made> records;

  void add_step(const event_script::step& s) {
    const std::uint64_t index = log.add(s.entry);
    if (s.record) records.push_back({s.entry.shard, index, *s.record});
  }

  // Shard 0: ev-a 1, ev-b 2, hold a 3, confirm a 4 (a#1), hold b 5, cancel a 6 (a#2),
  // confirm b 7 (b#1), hold a 8, confirm a 9 (a#3). Shard 1: ev-c 1, hold c 2,
  // confirm c 3 (c#1), cancel c 4 (c#2).
  void first_half() {
    log.add(script.create(0, "ev-a"));
    log.add(script.create(1, "ev-c"));
    log.add(script.create(0, "ev-b"));
    hold_a = script.hold("ev-a", {"1-1-1", "1-1-2"});
    add_step(hold_a);
    confirm_a = script.confirm("ev-a", hold_a.id);
    add_step(confirm_a);
    add_step(hold_c = script.hold("ev-c", {"1-1-5"}));
    add_step(hold_b = script.hold("ev-b", {"1-1-1"}));
  }
  void second_half() {
    add_step(confirm_c = script.confirm("ev-c", hold_c.id));
    add_step(script.cancel("ev-a", confirm_a.id));
    add_step(script.confirm("ev-b", hold_b.id));
    add_step(script.cancel("ev-c", confirm_c.id));
    const auto again = script.hold("ev-a", {"1-1-1", "1-1-3"});
    add_step(again);
    add_step(script.confirm("ev-a", again.id));
  }

  // Snapshot parts of the events as their owners hold them now, at their shard's last index.
  std::vector<storage::snapshot_record> parts(std::uint32_t shard,
                                              const std::vector<std::string>& events) const {
    std::vector<storage::snapshot_record> out;
    for (const auto& id : events)
      out.push_back({id, shard, log.last[shard], script.bytes(id)});
    return out;
  }

  // The records of entries above the given index of each shard, in log order.
  std::vector<storage::outbox_record> records_after(std::uint64_t shard0,
                                                    std::uint64_t shard1) const {
    std::vector<storage::outbox_record> out;
    for (const std::uint32_t shard : {0u, 1u})
      for (const auto& m : records)
        if (m.shard == shard && m.index > (shard == 0 ? shard0 : shard1)) out.push_back(m.record);
    return out;
  }

  const storage::outbox_record& record(const std::string& event_id, std::uint64_t seq) const {
    for (const auto& m : records)
      if (m.record.event_id == event_id && m.record.seq == seq) return m.record;
    throw std::runtime_error("no record " + event_id + "#" + std::to_string(seq));
  }

  event_script::step hold_a, confirm_a, hold_b, hold_c, confirm_c;
};

seatd::common::result<recovered_node, std::string> recover(storage::recovered_state state) {
  return seatd::cluster::recover_node(std::move(state), seatd::test::render_change);
}

std::vector<std::uint8_t> machine_bytes(const recovered_node& node, std::uint32_t shard,
                                        const std::string& event_id) {
  const auto* machine = node.shards.at(shard).find(event_id);
  if (machine == nullptr) return {};
  return seatd::actors::snapshot_codec::encode(*machine);
}

void check_machines(const recovered_node& node, const history& h) {
  REQUIRE(node.shards.size() == 2);
  CHECK(node.shards[0].shard() == 0);
  CHECK(node.shards[1].shard() == 1);
  CHECK(node.shards[0].event_count() == 2);
  CHECK(node.shards[1].event_count() == 1);
  CHECK(machine_bytes(node, 0, "ev-a") == h.script.bytes("ev-a"));
  CHECK(machine_bytes(node, 0, "ev-b") == h.script.bytes("ev-b"));
  CHECK(machine_bytes(node, 1, "ev-c") == h.script.bytes("ev-c"));
}

std::vector<std::string> keys(const std::vector<storage::outbox_record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records)
    out.push_back(r.event_id + "#" + std::to_string(r.seq));
  return out;
}

std::vector<std::pair<std::uint32_t, std::uint64_t>> marks(const recovered_node& node) {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
  for (const auto& m : node.outbox_marks)
    out.emplace_back(m.shard, m.index);
  return out;
}

using mark_list = std::vector<std::pair<std::uint32_t, std::uint64_t>>;
using key_list = std::vector<std::string>;

}  // namespace

TEST_CASE("recover_node: replaying every entry rebuilds the owners' machines byte for byte",
          "[unit][cluster]") {
  history h;
  h.first_half();
  h.second_half();
  auto node = recover(h.log.state());
  REQUIRE(node.ok());
  check_machines(node.value(), h);
  CHECK(node.value().events == 3);
  CHECK(node.value().snapshots == 0);
  CHECK(node.value().entries_replayed == 13);
  CHECK(node.value().last_index == std::vector<std::uint64_t>{9, 4});
  CHECK(node.value().shards[0].applied_index() == 9);
}

TEST_CASE(
    "recover_node: snapshot parts at a cut plus the entries after it rebuild the same "
    "machines",
    "[unit][cluster]") {
  history h;
  h.first_half();  // shard 0 at index 5
  const auto parts = h.parts(0, {"ev-a", "ev-b"});
  h.second_half();
  auto state = h.log.state();
  state.snapshots = parts;
  // The log as a checkpoint leaves it: shard 0's entries up to the cut are gone.
  std::erase_if(state.entries, [](const auto& e) { return e.shard == 0 && e.index <= 5; });
  state.outbox_marks = {4, 0};  // a#1's record (entry 4) went to the outbox with the parts

  auto node = recover(std::move(state));
  REQUIRE(node.ok());
  check_machines(node.value(), h);
  CHECK(node.value().snapshots == 2);
  CHECK(node.value().entries_replayed == 4 + 4);  // shard 0: 6..9; shard 1: 1..4
  CHECK(node.value().last_index == std::vector<std::uint64_t>{9, 4});
  CHECK(keys(node.value().outbox_puts) ==
        key_list{"ev-a#2", "ev-b#1", "ev-a#3", "ev-c#1", "ev-c#2"});
}

TEST_CASE("recover_node: entries a snapshot part covers are skipped when the log still has them",
          "[unit][cluster]") {
  history h;
  h.log.add(h.script.create(0, "ev-a"));
  h.log.add(h.script.create(1, "ev-c"));
  h.log.add(h.script.create(0, "ev-b"));
  h.add_step(h.hold_a = h.script.hold("ev-a", {"1-1-1", "1-1-2"}));
  h.add_step(h.confirm_a = h.script.confirm("ev-a", h.hold_a.id));
  auto parts = h.parts(0, {"ev-a"});  // ev-a at 4, with a create, a hold and a confirm
  h.add_step(h.hold_c = h.script.hold("ev-c", {"1-1-5"}));
  h.add_step(h.hold_b = h.script.hold("ev-b", {"1-1-1"}));
  const auto b_part = h.parts(0, {"ev-b"});  // ev-b at 5: parts of two cuts
  parts.insert(parts.end(), b_part.begin(), b_part.end());
  h.second_half();
  auto state = h.log.state();  // every entry kept: nothing truncated
  state.snapshots = parts;
  state.outbox_marks = {4, 0};

  // Applied again, the create would fail as "created twice" and the hold as seats taken.
  auto node = recover(std::move(state));
  REQUIRE(node.ok());
  check_machines(node.value(), h);
  CHECK(node.value().last_index == std::vector<std::uint64_t>{9, 4});
  CHECK(keys(node.value().outbox_puts) ==
        key_list{"ev-a#2", "ev-b#1", "ev-a#3", "ev-c#1", "ev-c#2"});
}

TEST_CASE("recover_node: a shard's last index is the highest of its entries and its parts",
          "[unit][cluster]") {
  event_script script;
  log_builder log(4);
  std::vector<storage::snapshot_record> parts;
  // Shard 0: a part at 2 and entries after it. Shard 1: a part at 2, its entries truncated.
  // Shard 2: entries only. Shard 3: nothing.
  log.add(script.create(0, "s0"));
  log.add(script.hold("s0", {"1-1-1"}).entry);
  parts.push_back({"s0", 0, 2, script.bytes("s0")});
  log.add(script.hold("s0", {"1-1-2"}).entry);
  log.add(script.create(1, "s1"));
  log.add(script.hold("s1", {"1-1-1"}).entry);
  parts.push_back({"s1", 1, 2, script.bytes("s1")});
  log.add(script.create(2, "s2"));
  auto state = log.state();
  state.snapshots = parts;
  std::erase_if(state.entries, [](const auto& e) { return e.shard < 2 && e.index <= 2; });

  auto node = recover(std::move(state));
  REQUIRE(node.ok());
  CHECK(node.value().last_index == std::vector<std::uint64_t>{3, 2, 1, 0});
  CHECK(node.value().events == 3);
  CHECK(machine_bytes(node.value(), 0, "s0") == script.bytes("s0"));
  CHECK(machine_bytes(node.value(), 1, "s1") == script.bytes("s1"));
}

TEST_CASE("recover_node: records are made again only for entries after the shard's outbox mark",
          "[unit][cluster]") {
  history h;
  h.first_half();
  h.second_half();
  auto state = h.log.state();
  // Shard 0's mark is past a#1 (entry 4), which was delivered and deleted; shard 1's is at
  // c#1 (entry 3), still in the outbox.
  state.outbox_marks = {5, 3};
  state.outbox = {h.record("ev-c", 1)};

  auto node = recover(std::move(state));
  REQUIRE(node.ok());
  CHECK(node.value().outbox_puts == h.records_after(5, 3));
  CHECK(keys(node.value().outbox_puts) == key_list{"ev-a#2", "ev-b#1", "ev-a#3", "ev-c#2"});
  // The marks reach the last entry whose record was made again.
  CHECK(marks(node.value()) == mark_list{{0, 9}, {1, 4}});
  CHECK(keys(node.value().outbox) == key_list{"ev-a#2", "ev-a#3", "ev-b#1", "ev-c#1", "ev-c#2"});
}

TEST_CASE("recover_node: a shard with no record after its mark makes none and moves no mark",
          "[unit][cluster]") {
  history h;
  h.first_half();
  h.second_half();
  auto state = h.log.state();
  state.outbox_marks = {9, 1};  // shard 0: up to date; shard 1: c#1 and c#2 are after it

  auto node = recover(std::move(state));
  REQUIRE(node.ok());
  CHECK(keys(node.value().outbox_puts) == key_list{"ev-c#1", "ev-c#2"});
  CHECK(marks(node.value()) == mark_list{{1, 4}});
}

TEST_CASE("recover_node: stored records are kept as stored, appear once and come out sorted",
          "[unit][cluster]") {
  history h;
  h.first_half();
  h.second_half();
  auto state = h.log.state();
  // The outbox kept a#2 (as it was stored: a record is never rendered anew), and records of
  // an event whose entries were truncated long ago, seq 9 and 10 (numeric order, not text).
  state.outbox = {{"ev-a", 2, "stored a#2"}, {"ev-0", 9, "old 9"}, {"ev-0", 10, "old 10"}};

  auto node = recover(std::move(state));
  REQUIRE(node.ok());
  // Every record after the marks (0) is made again, but a#2 is not put a second time.
  CHECK(keys(node.value().outbox_puts) ==
        key_list{"ev-a#1", "ev-b#1", "ev-a#3", "ev-c#1", "ev-c#2"});
  CHECK(marks(node.value()) == mark_list{{0, 9}, {1, 4}});
  const auto& outbox = node.value().outbox;
  CHECK(keys(outbox) ==
        key_list{"ev-0#9", "ev-0#10", "ev-a#1", "ev-a#2", "ev-a#3", "ev-b#1", "ev-c#1", "ev-c#2"});
  REQUIRE(outbox.size() == 8);
  CHECK(outbox[3].value == "stored a#2");
  CHECK(outbox[1].value == "old 10");
}

// ---- damaged input: an error that names what does not replay --------------------------

TEST_CASE("recover_node: an entry whose payload does not decode is an error naming it",
          "[unit][cluster]") {
  history h;
  h.first_half();
  auto state = h.log.state();
  state.entries[2].payload = {0xFF, 0xFF, 0xFF};  // shard 0, entry 3 (hold a)
  auto node = recover(std::move(state));
  REQUIRE_FALSE(node.ok());
  CHECK_THAT(node.error(), StartsWith("recovery: shard 0 entry 3 (event ev-a): "));
}

TEST_CASE("recover_node: a replica's data (Raft terms) is refused: only Raft knows what committed",
          "[unit][cluster]") {
  history h;
  h.first_half();
  SECTION("an entry with a term") {
    auto state = h.log.state();
    state.entries[1].term = 2;
    auto node = recover(std::move(state));
    REQUIRE_FALSE(node.ok());
    CHECK_THAT(node.error(), Catch::Contains("written by a replicated node"));
  }
  SECTION("a hard state") {
    auto state = h.log.state();
    state.hard_states[1] = {1, 3, 7};
    auto node = recover(std::move(state));
    REQUIRE_FALSE(node.ok());
    CHECK_THAT(node.error(), Catch::Contains("written by a replicated node"));
  }
}

TEST_CASE("recover_node: a command for an event never created is an error naming it",
          "[unit][cluster]") {
  history h;
  h.first_half();
  auto state = h.log.state();
  state.entries.erase(state.entries.begin());  // shard 0 loses ev-a's create (entry 1)
  auto node = recover(std::move(state));
  REQUIRE_FALSE(node.ok());
  CHECK(node.error() ==
        "recovery: shard 0 entry 3 (event ev-a): command for an event that was never created");
}

TEST_CASE("recover_node: a second create of an event is an error naming it", "[unit][cluster]") {
  event_script script;
  log_builder log(1);
  const auto create = script.create(0, "ev-a");
  log.add(create);
  log.add(create);
  auto node = recover(log.state());
  REQUIRE_FALSE(node.ok());
  CHECK(node.error() == "recovery: shard 0 entry 2 (event ev-a): event created twice");
}

TEST_CASE("recover_node: a command that fails on replay is an error naming it", "[unit][cluster]") {
  event_script script;
  log_builder log(1);
  log.add(script.create(0, "ev-a"));
  const auto hold = script.hold("ev-a", {"1-1-1"});
  log.add(hold.entry);
  log.add(hold.entry);  // the same seat held twice: the log and the state disagree
  auto node = recover(log.state());
  REQUIRE_FALSE(node.ok());
  CHECK_THAT(node.error(),
             StartsWith("recovery: shard 0 entry 3 (event ev-a): command does not replay: "));
}

TEST_CASE("recover_node: a snapshot part that does not decode is an error naming its event",
          "[unit][cluster]") {
  history h;
  h.first_half();
  auto state = h.log.state();
  state.snapshots = h.parts(0, {"ev-a", "ev-b"});
  state.snapshots[1].bytes.back() ^= 0x01;  // the checksum no longer matches
  auto node = recover(std::move(state));
  REQUIRE_FALSE(node.ok());
  CHECK_THAT(node.error(), StartsWith("recovery: snapshot of ev-b: "));
}

TEST_CASE("recover_node: a snapshot stored under another event's id is an error",
          "[unit][cluster]") {
  history h;
  h.first_half();
  auto state = h.log.state();
  state.snapshots = h.parts(0, {"ev-a"});
  state.snapshots[0].event_id = "ev-x";
  auto node = recover(std::move(state));
  REQUIRE_FALSE(node.ok());
  CHECK(node.error() == "recovery: snapshot stored as ev-x holds event ev-a");
}

TEST_CASE("recover_node: a snapshot or an entry of a shard out of range is an error naming it",
          "[unit][cluster]") {
  history h;
  h.first_half();
  SECTION("snapshot") {
    auto state = h.log.state();
    state.snapshots = h.parts(0, {"ev-a"});
    state.snapshots[0].shard = 2;
    auto node = recover(std::move(state));
    REQUIRE_FALSE(node.ok());
    CHECK(node.error() == "snapshot of ev-a: shard 2 out of range");
  }
  SECTION("entry") {
    auto state = h.log.state();
    state.entries.back().shard = 7;  // shard 1's entry 2
    auto node = recover(std::move(state));
    REQUIRE_FALSE(node.ok());
    CHECK(node.error() == "recovery: entry 2 of shard 7: shard out of range");
  }
}

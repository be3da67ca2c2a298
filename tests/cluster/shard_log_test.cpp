// The shard log's thread shell against storage::memory_store: real writer thread, no sleeps.
// flush() is the only wait: it returns once everything queued before it is written and its
// completions have run, which also orders the writer thread's work before the test's reads.
// Stream records are written to the outbox one batch after their entries, so a test that
// needs them in the store flushes twice.

#include "cluster/shard_log.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/event_script.hpp"
#include "common/metrics.hpp"
#include "storage/memory_store.hpp"

using seatd::actors::log_status;
using seatd::cluster::shard_log;
using seatd::test::event_script;
namespace storage = seatd::storage;

namespace {

constexpr std::uint64_t never = 1'000'000;  // checkpoint_entries that no test reaches

// The store the log writes to, keeping a copy of every batch it accepted: what went
// together into one write.
class recording_store final : public storage::store {
 public:
  explicit recording_store(storage::memory_store& inner) : inner_(inner) {}
  storage::recovered_state recover() override { return inner_.recover(); }
  void write(const storage::write_batch& batch) override {
    inner_.write(batch);
    batches.push_back(batch);
  }
  std::uint32_t shard_count() const override { return inner_.shard_count(); }

  std::vector<storage::write_batch> batches;  // the writer's; read after flush() or stop()

 private:
  storage::memory_store& inner_;
};

// A log opened on a store the way the server opens it, with a sink and an on_fatal that
// only take notes (the server's on_fatal aborts).
struct harness {
  explicit harness(storage::store& store, std::uint64_t checkpoint_entries = never)
      : opened(seatd::cluster::open_shard_log(store, {}, {checkpoint_entries},
                                              seatd::test::render_change, metrics,
                                              [this](const std::string& why) {
                                                fatal.push_back(why);
                                                fatal_seen.set_value();
                                              })) {}

  shard_log& log() { return *opened.log; }
  void start() {
    log().start([this](std::vector<storage::outbox_record> records) {
      sunk.insert(sunk.end(), records.begin(), records.end());
    });
  }
  std::uint64_t checkpoints() {
    return metrics.counter_for("seatd_checkpoints_total", "Shard checkpoints written").value();
  }

  // Declared before the log, so that they outlive its writer thread.
  seatd::common::metrics_registry metrics;
  std::vector<storage::outbox_record> sunk;
  std::vector<std::string> fatal;
  std::promise<void> fatal_seen;
  seatd::cluster::opened_log opened;
};

// Completions that note their name and status; they run on the writer thread and are read
// after flush() or stop().
struct journal {
  std::vector<std::string> ran;
  shard_log::completion note(const std::string& name) {
    return [this, name](log_status status) {
      ran.push_back(name + ":" + std::string(seatd::actors::log_status_name(status)));
    };
  }
};

std::vector<std::uint8_t> committed_bytes(shard_log& log, std::uint32_t shard,
                                          const std::string& event_id) {
  const auto* machine = log.committed().at(shard).find(event_id);
  if (machine == nullptr) return {};
  return seatd::actors::snapshot_codec::encode(*machine);
}

std::vector<std::pair<std::uint32_t, std::uint64_t>> positions(
    const std::vector<storage::log_entry>& entries) {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
  for (const auto& e : entries)
    out.emplace_back(e.shard, e.index);
  return out;
}

using position_list = std::vector<std::pair<std::uint32_t, std::uint64_t>>;

}  // namespace

TEST_CASE("shard_log: a proposal's completion runs, committed, once its entry is durable",
          "[unit][cluster]") {
  storage::memory_store store(2);
  harness h(store);
  event_script script;
  std::vector<position_list> durable_at_completion;
  std::vector<log_status> statuses;
  auto check_store = [&](log_status status) {
    statuses.push_back(status);
    // On the writer thread, between the write and the next one: what a crash now keeps.
    durable_at_completion.push_back(positions(store.after_crash()->recover().entries));
  };
  // Two batches: both creates (queued before the writer starts), then the hold.
  h.log().propose(script.create(0, "ev-a"), check_store);
  h.log().propose(script.create(1, "ev-c"), check_store);
  h.start();
  h.log().flush();
  h.log().propose(script.hold("ev-a", {"1-1-1"}).entry, check_store);
  h.log().flush();

  CHECK(statuses == std::vector<log_status>(3, log_status::committed));
  REQUIRE(durable_at_completion.size() == 3);
  CHECK(durable_at_completion[0] == position_list{{0, 1}, {1, 1}});
  CHECK(durable_at_completion[1] == position_list{{0, 1}, {1, 1}});
  CHECK(durable_at_completion[2] == position_list{{0, 1}, {0, 2}, {1, 1}});
  CHECK(h.log().committed_index(0) == 2);
  CHECK(h.log().committed_index(1) == 1);
  CHECK(h.log().last_index(0) == 2);
  CHECK(h.fatal.empty());
}

TEST_CASE("shard_log: written entries reach the committed machines before their completions run",
          "[unit][cluster]") {
  storage::memory_store store(2);
  harness h(store);
  event_script script;
  h.log().propose(script.create(0, "ev-a"), {});
  h.log().propose(script.create(1, "ev-c"), {});
  const auto hold_a = script.hold("ev-a", {"1-1-1", "1-1-2"});
  h.log().propose(hold_a.entry, {});
  const auto confirm_a = script.confirm("ev-a", hold_a.id);
  h.log().propose(confirm_a.entry, {});
  h.log().propose(script.cancel("ev-a", confirm_a.id).entry, {});
  const auto hold_c = script.hold("ev-c", {"1-1-9"});
  // Each completion reads its shard's committed machine, on the writer thread.
  std::vector<std::uint8_t> seen_a, seen_c;
  h.log().propose(hold_c.entry, [&](log_status) { seen_c = committed_bytes(h.log(), 1, "ev-c"); });
  h.log().propose(script.hold("ev-a", {"1-1-1"}).entry,
                  [&](log_status) { seen_a = committed_bytes(h.log(), 0, "ev-a"); });
  h.start();
  h.log().flush();

  CHECK(seen_a == script.bytes("ev-a"));
  CHECK(seen_c == script.bytes("ev-c"));
  h.log().stop();
  CHECK(committed_bytes(h.log(), 0, "ev-a") == script.bytes("ev-a"));
  CHECK(committed_bytes(h.log(), 1, "ev-c") == script.bytes("ev-c"));
  CHECK(h.log().committed()[0].applied_index() == 5);
}

TEST_CASE(
    "shard_log: confirms and cancels make stream records for the sink before their "
    "completions, and for the outbox with its mark",
    "[unit][cluster]") {
  storage::memory_store store(1);
  harness h(store);
  event_script script;
  h.log().propose(script.create(0, "ev-a"), {});
  const auto hold = script.hold("ev-a", {"1-1-1"});
  h.log().propose(hold.entry, {});
  const auto confirm = script.confirm("ev-a", hold.id);  // entry 3, a#1
  std::vector<storage::outbox_record> sunk_before_confirmed;
  h.log().propose(confirm.entry, [&](log_status) { sunk_before_confirmed = h.sunk; });
  const auto cancel = script.cancel("ev-a", confirm.id);  // entry 4, a#2
  h.log().propose(cancel.entry, {});
  h.log().propose(script.hold("ev-a", {"1-1-2"}).entry, {});  // entry 5: no record
  h.start();
  h.log().flush();

  const std::vector<storage::outbox_record> records{*confirm.record, *cancel.record};
  // One batch: its records reach the sink once, in commit order, before its completions.
  CHECK(sunk_before_confirmed == records);
  CHECK(h.sunk == records);

  h.log().flush();  // the records' own write
  const auto state = store.recover();
  CHECK(state.outbox == records);
  // The mark is the last entry that made a record, not the last entry written.
  CHECK(state.outbox_marks == std::vector<std::uint64_t>{4});
}

TEST_CASE(
    "shard_log: a checkpoint after checkpoint_entries writes parts and truncates below the "
    "cut, and a restart rebuilds the same machines",
    "[unit][cluster]") {
  storage::memory_store memory(2);
  recording_store store(memory);
  harness h(store, 4);
  event_script script;
  // Shard 0 reaches 5 entries in the first batch; shard 1 stays at 1.
  h.log().propose(script.create(0, "ev-a"), {});
  h.log().propose(script.create(0, "ev-b"), {});
  h.log().propose(script.create(1, "ev-c"), {});
  const auto hold_a = script.hold("ev-a", {"1-1-1"});
  h.log().propose(hold_a.entry, {});
  const auto confirm_a = script.confirm("ev-a", hold_a.id);
  h.log().propose(confirm_a.entry, {});
  const auto hold_b = script.hold("ev-b", {"1-1-4"});
  h.log().propose(hold_b.entry, {});
  const auto bytes_a = script.bytes("ev-a");
  const auto bytes_b = script.bytes("ev-b");
  h.start();
  h.log().flush();
  h.log().flush();  // the checkpoint goes in the batch after the one that made it due

  CHECK(h.checkpoints() == 1);
  // The parts and their truncation were written together, with a#1's record.
  const storage::write_batch* checkpoint = nullptr;
  for (const auto& batch : store.batches)
    if (!batch.snapshots.empty()) checkpoint = &batch;
  REQUIRE(checkpoint != nullptr);
  CHECK(checkpoint->snapshots ==
        std::vector<storage::snapshot_record>{{"ev-a", 0, 5, bytes_a}, {"ev-b", 0, 5, bytes_b}});
  REQUIRE(checkpoint->truncations.size() == 1);
  CHECK(checkpoint->truncations[0].shard == 0);
  CHECK(checkpoint->truncations[0].below == 6);
  CHECK(checkpoint->sync);
  CHECK(checkpoint->outbox_puts == std::vector<storage::outbox_record>{*confirm_a.record});
  CHECK(positions(memory.recover().entries) == position_list{{1, 1}});

  // Entries after the cut, then a crash right after the last answer went out.
  const auto confirm_b = script.confirm("ev-b", hold_b.id);
  h.log().propose(script.cancel("ev-a", confirm_a.id).entry, {});
  std::unique_ptr<storage::memory_store> crashed;
  h.log().propose(confirm_b.entry, [&](log_status) { crashed = memory.after_crash(); });
  h.log().flush();
  REQUIRE(crashed);

  harness restarted(*crashed);
  CHECK(restarted.opened.report.snapshots == 2);
  CHECK(restarted.opened.report.entries_replayed == 3);  // shard 0: 6, 7; shard 1: 1
  CHECK(committed_bytes(restarted.log(), 0, "ev-a") == script.bytes("ev-a"));
  CHECK(committed_bytes(restarted.log(), 0, "ev-b") == script.bytes("ev-b"));
  CHECK(committed_bytes(restarted.log(), 1, "ev-c") == script.bytes("ev-c"));
  CHECK(restarted.log().last_index(0) == 7);
  CHECK(restarted.log().last_index(1) == 1);
}

TEST_CASE("shard_log: stop() checkpoints every shard that changed", "[unit][cluster]") {
  storage::memory_store memory(3);
  recording_store store(memory);
  harness h(store);
  event_script script;
  h.log().propose(script.create(0, "ev-a"), {});
  h.log().propose(script.create(1, "ev-c"), {});
  h.log().propose(script.hold("ev-a", {"1-1-1"}).entry, {});
  h.start();
  h.log().flush();
  h.log().stop();

  // One last batch: the parts of shards 0 and 1 at their last index, and the truncations.
  REQUIRE_FALSE(store.batches.empty());
  const auto& last = store.batches.back();
  CHECK(last.snapshots ==
        std::vector<storage::snapshot_record>{{"ev-a", 0, 2, script.bytes("ev-a")},
                                              {"ev-c", 1, 1, script.bytes("ev-c")}});
  REQUIRE(last.truncations.size() == 2);
  CHECK(last.truncations[0].below == 3);
  CHECK(last.truncations[1].below == 2);
  CHECK(memory.recover().entries.empty());
  CHECK(h.checkpoints() == 2);  // shard 2 has nothing to checkpoint
}

TEST_CASE("shard_log: after a restart, stop() leaves alone the shards that did not change",
          "[unit][cluster]") {
  storage::memory_store memory(2);
  event_script script;
  {
    harness first(memory);
    first.log().propose(script.create(0, "ev-a"), {});
    first.log().propose(script.create(1, "ev-c"), {});
    first.start();
    first.log().stop();  // both shards checkpointed: parts, no entries left
  }
  recording_store store(memory);
  harness h(store);
  REQUIRE(h.opened.report.snapshots == 2);
  REQUIRE(h.opened.report.entries_replayed == 0);
  h.log().propose(script.hold("ev-a", {"1-1-2"}).entry, {});
  h.start();
  h.log().stop();

  // Only shard 0 changed since the restart: a checkpoint of shard 1 would have no part to
  // write, only a truncation of entries long gone, and would count as a checkpoint.
  REQUIRE_FALSE(store.batches.empty());
  const auto& last = store.batches.back();
  CHECK(last.snapshots ==
        std::vector<storage::snapshot_record>{{"ev-a", 0, 2, script.bytes("ev-a")}});
  REQUIRE(last.truncations.size() == 1);
  CHECK(last.truncations[0].shard == 0);
  CHECK(last.truncations[0].below == 3);
  CHECK(h.checkpoints() == 1);
}

TEST_CASE(
    "shard_log: a failed store write fails every completion of its batch and stops the "
    "node",
    "[unit][cluster]") {
  storage::memory_store store(2);
  harness h(store);
  event_script script;
  journal j;
  h.log().propose(script.create(0, "ev-a"), j.note("a"));
  h.log().propose(script.create(1, "ev-c"), j.note("c"));
  const auto hold = script.hold("ev-a", {"1-1-1"});
  h.log().propose(hold.entry, j.note("hold"));
  h.log().barrier(0, 0, j.note("barrier"));
  h.log().propose(script.confirm("ev-a", hold.id).entry, j.note("confirm"));
  store.fail_next_write();
  h.start();
  // The writer stops after the failure, so flush() would never return: wait for on_fatal.
  REQUIRE(h.fatal_seen.get_future().wait_for(std::chrono::seconds(30)) ==
          std::future_status::ready);

  CHECK(j.ran == std::vector<std::string>{"a:io_error", "c:io_error", "hold:io_error",
                                          "barrier:io_error", "confirm:io_error"});
  CHECK(h.fatal ==
        std::vector<std::string>{"log write failed: memory store: injected write failure"});
  CHECK_FALSE(h.log().has_room());  // nothing more may be applied ahead of the log
  // Nothing waits for a writer that is gone: later proposals and barriers fail at once, on
  // the caller's thread, and flush() returns.
  h.log().propose(script.hold("ev-a", {"1-1-2"}).entry, j.note("late hold"));
  h.log().barrier(1, 0, j.note("late barrier"));
  h.log().flush();
  CHECK(j.ran == std::vector<std::string>{"a:io_error", "c:io_error", "hold:io_error",
                                          "barrier:io_error", "confirm:io_error",
                                          "late hold:io_error", "late barrier:io_error"});
  h.log().stop();
  CHECK(h.log().committed_index(0) == 0);
  CHECK(h.log().committed()[0].event_count() == 0);  // nothing unwritten was applied
  CHECK(h.sunk.empty());                             // nor published
  CHECK(h.fatal.size() == 1);
}

TEST_CASE(
    "shard_log: a barrier of a shard with nothing pending runs at once, on the caller's "
    "thread",
    "[unit][cluster]") {
  storage::memory_store store(2);
  harness h(store);
  event_script script;
  journal j;
  std::thread::id ran_on;
  h.log().barrier(0, 0, [&](log_status status) {
    ran_on = std::this_thread::get_id();
    j.ran.push_back("empty log:" + std::string(seatd::actors::log_status_name(status)));
  });
  CHECK(j.ran == std::vector<std::string>{"empty log:committed"});
  CHECK(ran_on == std::this_thread::get_id());

  h.log().propose(script.create(1, "ev-c"), j.note("c"));
  h.log().barrier(0, 0, j.note("other shard pending"));  // shard 1's entry is not its business
  h.log().barrier(1, 0, j.note("behind c"));
  CHECK(j.ran == std::vector<std::string>{"empty log:committed", "other shard pending:committed"});
  h.start();
  h.log().flush();
  h.log().barrier(1, 0, j.note("c written"));
  CHECK(j.ran == std::vector<std::string>{"empty log:committed", "other shard pending:committed",
                                          "c:committed", "behind c:committed",
                                          "c written:committed"});
}

TEST_CASE("shard_log: forget_outbox deletes delivered records from the store's outbox",
          "[unit][cluster]") {
  storage::memory_store store(1);
  harness h(store);
  event_script script;
  h.log().propose(script.create(0, "ev-a"), {});
  const auto hold1 = script.hold("ev-a", {"1-1-1"});
  h.log().propose(hold1.entry, {});
  const auto confirm1 = script.confirm("ev-a", hold1.id);
  h.log().propose(confirm1.entry, {});
  const auto hold2 = script.hold("ev-a", {"1-1-2"});
  h.log().propose(hold2.entry, {});
  const auto confirm2 = script.confirm("ev-a", hold2.id);
  h.log().propose(confirm2.entry, {});
  h.start();
  h.log().flush();
  h.log().flush();
  REQUIRE(store.recover().outbox ==
          std::vector<storage::outbox_record>{*confirm1.record, *confirm2.record});

  h.log().forget_outbox({{"ev-a", 1}});
  h.log().flush();
  const auto state = store.recover();
  CHECK(state.outbox == std::vector<storage::outbox_record>{*confirm2.record});
  CHECK(state.outbox_marks == std::vector<std::uint64_t>{5});  // a delete moves no mark
}

TEST_CASE(
    "shard_log: after a crash loses unsynced outbox puts, reopening makes those records "
    "again, and none at or below the stored mark",
    "[unit][cluster]") {
  storage::memory_store store(1);
  harness h(store);
  event_script script;
  // a#1 (entry 3) is put, delivered and deleted, all made durable by the next entries.
  h.log().propose(script.create(0, "ev-a"), {});
  const auto hold1 = script.hold("ev-a", {"1-1-1"});
  h.log().propose(hold1.entry, {});
  h.log().propose(script.confirm("ev-a", hold1.id).entry, {});
  h.start();
  h.log().flush();
  h.log().flush();
  h.log().forget_outbox({{"ev-a", 1}});
  h.log().flush();
  // a#2 (entry 5): its entry is synced, its outbox put (an unsynced write) is the tail.
  const auto hold2 = script.hold("ev-a", {"1-1-2"});
  h.log().propose(hold2.entry, {});
  const auto confirm2 = script.confirm("ev-a", hold2.id);
  h.log().propose(confirm2.entry, {});
  h.log().flush();
  h.log().flush();
  CHECK(store.recover().outbox == std::vector<storage::outbox_record>{*confirm2.record});

  const auto crashed = store.after_crash();
  const auto lost = crashed->recover();
  CHECK(positions(lost.entries) == position_list{{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}});
  CHECK(lost.outbox.empty());
  CHECK(lost.outbox_marks == std::vector<std::uint64_t>{3});

  harness restarted(*crashed);
  // a#2 made again, exactly; a#1 (delivered, at the mark) not.
  CHECK(restarted.opened.outbox == std::vector<storage::outbox_record>{*confirm2.record});
  CHECK(restarted.opened.report.outbox_records == 1);
  restarted.start();
  restarted.log().flush();
  const auto rewritten = crashed->recover();
  CHECK(rewritten.outbox == std::vector<storage::outbox_record>{*confirm2.record});
  CHECK(rewritten.outbox_marks == std::vector<std::uint64_t>{5});
  // Recovered records go to the emitter through opened.outbox, not through the sink again.
  CHECK(restarted.sunk.empty());
}

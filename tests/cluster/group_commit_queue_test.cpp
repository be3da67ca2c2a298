#include "cluster/group_commit_queue.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "storage/memory_store.hpp"

using seatd::actors::log_status;
using seatd::actors::proposal;
using seatd::cluster::group_commit_limits;
using seatd::cluster::group_commit_queue;
namespace storage = seatd::storage;

namespace {

proposal entry(std::uint32_t shard, const std::string& event_id = "ev") {
  return {shard, event_id, 1000 + shard, {0x01, static_cast<std::uint8_t>(shard)}};
}

// Completions that note their name and status when they run, so a test can see which ran,
// in which order, and with what.
struct journal {
  std::vector<std::string> ran;
  group_commit_queue::completion note(const std::string& name) {
    return [this, name](log_status status) {
      ran.push_back(name + (status == log_status::committed
                                ? ""
                                : ":" + std::string(log_status_name(status))));
    };
  }
};

// What the shell does with finish()'s waiters: runs them in the order given.
void run(std::vector<group_commit_queue::waiter> waiters, log_status status) {
  for (auto& w : waiters)
    if (w.done) w.done(status);
}

std::vector<std::pair<std::uint32_t, std::uint64_t>> positions(const storage::write_batch& b) {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
  for (const auto& e : b.entries)
    out.emplace_back(e.shard, e.index);
  return out;
}

storage::snapshot_record part(const std::string& event_id, std::uint32_t shard,
                              std::uint64_t index) {
  return {event_id, shard, index, {0xAB}};
}

storage::outbox_record record(const std::string& event_id, std::uint64_t seq) {
  return {event_id, seq, event_id + "#" + std::to_string(seq)};
}

}  // namespace

TEST_CASE("group_commit_queue: each shard's indices are contiguous, after its last index",
          "[unit][cluster]") {
  group_commit_queue q({5, 0, 9});
  CHECK(q.append(entry(0), {}, 0) == 6);
  CHECK(q.append(entry(2), {}, 0) == 10);
  CHECK(q.append(entry(0), {}, 0) == 7);
  CHECK(q.append(entry(1), {}, 0) == 1);
  CHECK(q.last_index(0) == 7);
  CHECK(q.written_index(0) == 5);  // appended is not written

  auto batch = q.take();
  REQUIRE(batch);
  // Queue order across shards; each shard's own indices ascending without gaps.
  CHECK(positions(*batch) ==
        std::vector<std::pair<std::uint32_t, std::uint64_t>>{{0, 6}, {2, 10}, {0, 7}, {1, 1}});
  // The proposal is carried over whole (a single node's term is 0).
  CHECK(batch->entries[1] == storage::log_entry{2, 10, 0, 1002, "ev", {0x01, 0x02}});
  run(q.finish(true), log_status::committed);
  CHECK(q.written_index(0) == 7);
  CHECK(q.written_index(1) == 1);
  CHECK(q.written_index(2) == 10);
  // The next batch goes on where the last one stopped.
  CHECK(q.append(entry(0), {}, 0) == 8);
  CHECK(positions(*q.take()) == std::vector<std::pair<std::uint32_t, std::uint64_t>>{{0, 8}});
}

TEST_CASE(
    "group_commit_queue: take() hands out everything queued, and nothing while a batch "
    "is in flight",
    "[unit][cluster]") {
  group_commit_queue q({0, 0});
  CHECK_FALSE(q.take());  // nothing queued
  CHECK(q.idle());

  q.append(entry(0), {}, 0);
  q.append(entry(1), {}, 0);
  q.checkpoint(1, {part("ev", 1, 0)}, 1);
  q.add_outbox({record("ev", 1)}, {{0, 1}});
  q.forget_outbox({{"old", 3}});
  const auto batch = q.take();
  REQUIRE(batch);
  CHECK(batch->entries.size() == 2);
  CHECK(batch->snapshots == std::vector<storage::snapshot_record>{part("ev", 1, 0)});
  CHECK(batch->outbox_puts == std::vector<storage::outbox_record>{record("ev", 1)});
  REQUIRE(batch->outbox_marks.size() == 1);
  CHECK(batch->outbox_marks[0].index == 1);
  REQUIRE(batch->outbox_deletes.size() == 1);
  CHECK(batch->outbox_deletes[0].event_id == "old");
  CHECK(q.in_flight());
  CHECK(q.queued_items() == 0);

  // While it is in flight, new items wait: one batch at a time keeps commits in order.
  q.append(entry(0), {}, 0);
  q.add_outbox({record("ev", 2)}, {});
  CHECK_FALSE(q.take());
  CHECK_FALSE(q.take());
  run(q.finish(true), log_status::committed);
  const auto next = q.take();
  REQUIRE(next);
  CHECK(positions(*next) == std::vector<std::pair<std::uint32_t, std::uint64_t>>{{0, 2}});
  CHECK(next->outbox_puts == std::vector<storage::outbox_record>{record("ev", 2)});
  run(q.finish(true), log_status::committed);
  CHECK_FALSE(q.take());
  CHECK(q.idle());
}

TEST_CASE("group_commit_queue: completions come back only from finish(), in queue order",
          "[unit][cluster]") {
  group_commit_queue q({0, 0});
  journal j;
  q.append(entry(0), j.note("a"), 10);
  q.append(entry(1), j.note("b"), 20);
  {
    auto c = j.note("c");
    REQUIRE(q.barrier(0, c, 30));  // behind a
  }
  q.after_queued(j.note("d"), 40);
  q.append(entry(0), j.note("e"), 50);

  REQUIRE(q.take());
  auto waiters = q.finish(true);
  REQUIRE(waiters.size() == 5);
  // The queue itself never runs a completion: the shell runs what finish() returns.
  CHECK(j.ran.empty());
  // Each waiter keeps the time it was queued, for the commit latency.
  std::vector<std::int64_t> since;
  for (const auto& w : waiters)
    since.push_back(w.since_us);
  CHECK(since == std::vector<std::int64_t>{10, 20, 30, 40, 50});
  run(std::move(waiters), log_status::committed);
  CHECK(j.ran == std::vector<std::string>{"a", "b", "c", "d", "e"});
  // Nothing is returned twice: the next batch brings back only what came after.
  q.after_queued(j.note("f"), 60);
  REQUIRE(q.take());
  CHECK(q.finish(true).size() == 1);
}

TEST_CASE("group_commit_queue: a failed write fails every completion of its batch",
          "[unit][cluster]") {
  group_commit_queue q({3, 0});
  journal j;
  q.append(entry(0), j.note("a"), 0);
  q.append(entry(1), j.note("b"), 0);
  q.after_queued(j.note("c"), 0);
  REQUIRE(q.take());
  {
    auto c = j.note("d");
    REQUIRE(q.barrier(0, c, 0));  // joins the batch in flight, and fails with it
  }
  auto waiters = q.finish(false);
  REQUIRE(waiters.size() == 4);
  run(std::move(waiters), log_status::io_error);
  CHECK(j.ran == std::vector<std::string>{"a:io_error", "b:io_error", "c:io_error", "d:io_error"});
  // Nothing of the batch counts as written.
  CHECK(q.written_index(0) == 3);
  CHECK(q.written_index(1) == 0);
  CHECK_FALSE(q.in_flight());
}

TEST_CASE("group_commit_queue: a barrier of a shard with nothing pending is due at once",
          "[unit][cluster]") {
  group_commit_queue q({4, 0});
  journal j;
  auto c = j.note("now");
  CHECK_FALSE(q.barrier(0, c, 0));
  CHECK(q.queued_items() == 0);
  CHECK(q.idle());
  // The caller still holds the completion, to run it itself.
  REQUIRE(c);
  c(log_status::committed);
  CHECK(j.ran == std::vector<std::string>{"now"});

  // Once the shard's entries are written, the same holds.
  q.append(entry(0), {}, 0);
  REQUIRE(q.take());
  run(q.finish(true), log_status::committed);
  auto later = j.note("later");
  CHECK_FALSE(q.barrier(0, later, 0));
  CHECK(later);
}

TEST_CASE(
    "group_commit_queue: a barrier joins the queued batch that holds its shard's last "
    "entry",
    "[unit][cluster]") {
  group_commit_queue q({0, 0});
  journal j;
  q.append(entry(0), j.note("a"), 0);
  auto c = j.note("barrier");
  REQUIRE(q.barrier(0, c, 0));
  CHECK(q.queued_items() == 2);  // it counts against the queue's room
  REQUIRE(q.take());
  run(q.finish(true), log_status::committed);
  CHECK(j.ran == std::vector<std::string>{"a", "barrier"});
  CHECK(q.idle());
}

TEST_CASE(
    "group_commit_queue: a barrier joins the batch in flight when its shard's last entry "
    "is in it",
    "[unit][cluster]") {
  group_commit_queue q({0, 0});
  journal j;
  q.append(entry(0), j.note("a"), 0);
  REQUIRE(q.take());
  q.append(entry(1), j.note("b"), 0);  // another shard's entry, queued behind
  auto c = j.note("barrier");
  REQUIRE(q.barrier(0, c, 0));
  CHECK(q.queued_items() == 1);  // b only: the barrier is not queued
  // It comes back with the batch in flight, not one batch later behind b.
  run(q.finish(true), log_status::committed);
  CHECK(j.ran == std::vector<std::string>{"a", "barrier"});
  REQUIRE(q.take());
  run(q.finish(true), log_status::committed);
  CHECK(j.ran == std::vector<std::string>{"a", "barrier", "b"});
}

TEST_CASE("group_commit_queue: a barrier waits for nothing of other shards", "[unit][cluster]") {
  group_commit_queue q({0, 0, 0});
  journal j;
  q.append(entry(1), j.note("in flight"), 0);
  REQUIRE(q.take());
  q.append(entry(2), j.note("queued"), 0);
  auto c = j.note("barrier of 0");
  CHECK_FALSE(q.barrier(0, c, 0));
  CHECK(q.queued_items() == 1);

  run(q.finish(true), log_status::committed);
  REQUIRE(q.take());  // "queued"
  q.append(entry(0), j.note("zero"), 0);
  run(q.finish(true), log_status::committed);
  REQUIRE(q.take());  // "zero"

  // Shard 0 in flight and shard 1 queued: shard 0's barrier joins the batch in flight.
  q.append(entry(1), j.note("one"), 0);
  auto c0 = j.note("barrier of 0, again");
  REQUIRE(q.barrier(0, c0, 0));
  run(q.finish(true), log_status::committed);
  CHECK(j.ran == std::vector<std::string>{"in flight", "queued", "zero", "barrier of 0, again"});
}

TEST_CASE("group_commit_queue: a checkpoint's snapshots and truncation come out in one batch",
          "[unit][cluster]") {
  group_commit_queue q({10, 7});
  q.checkpoint(0, {part("a", 0, 10), part("b", 0, 10)}, 11);
  q.checkpoint(1, {part("c", 1, 7)}, 8);
  auto batch = q.take();
  REQUIRE(batch);
  CHECK(batch->snapshots ==
        std::vector<storage::snapshot_record>{part("a", 0, 10), part("b", 0, 10), part("c", 1, 7)});
  REQUIRE(batch->truncations.size() == 2);
  CHECK(batch->truncations[0].shard == 0);
  CHECK(batch->truncations[0].below == 11);
  CHECK(batch->truncations[1].shard == 1);
  CHECK(batch->truncations[1].below == 8);

  // A checkpoint queued while a batch is in flight waits, parts and truncation together,
  // for the next one: neither may be written without the other.
  q.checkpoint(0, {part("a", 0, 12)}, 13);
  CHECK_FALSE(q.take());
  run(q.finish(true), log_status::committed);
  batch = q.take();
  REQUIRE(batch);
  CHECK(batch->snapshots == std::vector<storage::snapshot_record>{part("a", 0, 12)});
  REQUIRE(batch->truncations.size() == 1);
  CHECK(batch->truncations[0].below == 13);
  run(q.finish(true), log_status::committed);

  // A cut at 0 covers no entry: nothing to truncate.
  q.checkpoint(1, {part("d", 1, 0)}, 1);
  batch = q.take();
  REQUIRE(batch);
  CHECK(batch->snapshots.size() == 1);
  CHECK(batch->truncations.empty());
}

TEST_CASE("group_commit_queue: only a batch of outbox records, marks and deletes skips the sync",
          "[unit][cluster]") {
  group_commit_queue q({0});
  auto take_one = [&q] {
    auto batch = q.take();
    REQUIRE(batch);
    run(q.finish(true), log_status::committed);
    return *batch;
  };

  q.add_outbox({record("ev", 1)}, {{0, 3}});
  q.forget_outbox({{"ev", 0}});
  auto derived = take_one();
  CHECK_FALSE(derived.sync);
  CHECK(derived.outbox_puts.size() == 1);
  // The store takes it as a batch allowed to skip its fsync.
  storage::memory_store store(1);
  store.write(derived);
  CHECK(store.unsynced_writes() == 1);

  q.add_outbox({record("ev", 2)}, {});
  q.append(entry(0), {}, 0);
  CHECK(take_one().sync);

  q.add_outbox({record("ev", 3)}, {});
  q.checkpoint(0, {part("ev", 0, 1)}, 1);  // a snapshot, no truncation
  CHECK(take_one().sync);

  q.checkpoint(0, {}, 2);  // a truncation alone
  CHECK(take_one().sync);

  q.forget_outbox({{"ev", 1}});
  CHECK_FALSE(take_one().sync);
}

TEST_CASE(
    "group_commit_queue: outbox deletes never come out before the puts queued ahead of "
    "them",
    "[unit][cluster]") {
  group_commit_queue q({0});
  storage::memory_store store(1);
  auto write_next = [&] {
    auto batch = q.take();
    REQUIRE(batch);
    store.write(*batch);
    run(q.finish(true), log_status::committed);
    return *batch;
  };

  // Put and delete in one batch: the batch applies puts before deletes, so the record is gone.
  q.add_outbox({record("ev", 1)}, {});
  q.forget_outbox({{"ev", 1}});
  const auto same = write_next();
  CHECK(same.outbox_puts.size() == 1);
  CHECK(same.outbox_deletes.size() == 1);
  CHECK(store.recover().outbox.empty());

  // A put in flight, its delete queued after: the delete comes in the next batch.
  q.add_outbox({record("ev", 2)}, {});
  const auto put = q.take();
  REQUIRE(put);
  q.forget_outbox({{"ev", 2}});
  CHECK(put->outbox_deletes.empty());
  store.write(*put);
  run(q.finish(true), log_status::committed);
  CHECK(store.recover().outbox == std::vector<storage::outbox_record>{record("ev", 2)});
  const auto del = write_next();
  CHECK(del.outbox_puts.empty());
  CHECK(del.outbox_deletes.size() == 1);
  CHECK(store.recover().outbox.empty());
}

TEST_CASE("group_commit_queue: has_room() turns false at queued_items_max and true after take()",
          "[unit][cluster]") {
  group_commit_queue q({0, 0}, group_commit_limits{3});
  CHECK(q.has_room());
  q.append(entry(0), {}, 0);
  q.add_outbox({record("ev", 1)}, {});  // derived records do not count
  q.checkpoint(1, {part("ev", 1, 0)}, 1);
  CHECK(q.queued_items() == 1);
  auto c = [](log_status) {};
  group_commit_queue::completion barrier = c;
  REQUIRE(q.barrier(0, barrier, 0));
  CHECK(q.queued_items() == 2);
  CHECK(q.has_room());
  q.after_queued({}, 0);
  CHECK(q.queued_items() == 3);
  CHECK_FALSE(q.has_room());

  REQUIRE(q.take());
  CHECK(q.queued_items() == 0);
  CHECK(q.has_room());
  // A barrier that joins the batch in flight takes no room.
  group_commit_queue::completion joining = c;
  REQUIRE(q.barrier(0, joining, 0));
  CHECK(q.queued_items() == 0);
}

TEST_CASE("group_commit_queue: after_queued() waits behind everything queued, whatever the shard",
          "[unit][cluster]") {
  group_commit_queue q({0, 0});
  journal j;
  q.append(entry(0), j.note("a"), 0);
  REQUIRE(q.take());
  q.append(entry(1), j.note("b"), 0);
  q.after_queued(j.note("flush"), 0);
  // Not with the batch in flight: b, queued before it, is not written yet.
  run(q.finish(true), log_status::committed);
  CHECK(j.ran == std::vector<std::string>{"a"});
  REQUIRE(q.take());
  run(q.finish(true), log_status::committed);
  CHECK(j.ran == std::vector<std::string>{"a", "b", "flush"});

  // With nothing queued it still waits for a write of its own: an empty, unsynced batch.
  q.after_queued(j.note("flush again"), 0);
  const auto empty = q.take();
  REQUIRE(empty);
  CHECK(empty->empty());
  CHECK_FALSE(empty->sync);
  CHECK(j.ran.size() == 3);
  run(q.finish(true), log_status::committed);
  CHECK(j.ran.back() == "flush again");
}

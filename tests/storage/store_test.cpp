#include "storage/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <stdlib.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "storage/memory_store.hpp"
#include "storage/record_codec.hpp"
#include "storage/rocksdb_store.hpp"

using namespace seatd::storage;

namespace {

constexpr std::int64_t t0 = 1'790'000'000'000;

log_entry entry(std::uint32_t shard, std::uint64_t index, std::string event_id = "ev-a") {
  return {shard,
          index,
          index + 1000,
          t0 + static_cast<std::int64_t>(index),
          std::move(event_id),
          {static_cast<std::uint8_t>(index), 0x00, 0xFF}};
}

std::vector<log_entry> entries(std::uint32_t shard, std::uint64_t first, std::uint64_t last) {
  std::vector<log_entry> out;
  for (std::uint64_t index = first; index <= last; ++index)
    out.push_back(entry(shard, index));
  return out;
}

outbox_record outbox(std::string event_id, std::uint64_t seq) {
  return {event_id, seq, R"({"event_id":")" + event_id + R"(","seq":)" + std::to_string(seq) + "}"};
}

void append(std::vector<log_entry>& to, const std::vector<log_entry>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

void check_state(const recovered_state& got, const recovered_state& want) {
  CHECK(got.shard_count == want.shard_count);
  CHECK(got.entries == want.entries);
  CHECK(got.snapshots == want.snapshots);
  CHECK(got.outbox == want.outbox);
}

// A directory under /tmp for one test, removed with everything in it at the end.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = "/tmp/seatd-store-test-XXXXXX";
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string path() const { return path_; }
  std::string db() const { return path_ + "/db"; }

 private:
  std::string path_;
};

// A WAL file whose appends fail once the shared flag is set, as a disk that stopped taking
// writes. The flag stays set until the database is closed, so nothing RocksDB buffered for
// the failed write can reach the file later.
class failing_wal_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  failing_wal_file(std::unique_ptr<rocksdb::FSWritableFile> file,
                   std::shared_ptr<std::atomic<bool>> failing)
      : FSWritableFileOwnerWrapper(std::move(file)), failing_(std::move(failing)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (*failing_) return rocksdb::IOStatus::IOError("injected WAL write failure");
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (*failing_) return rocksdb::IOStatus::IOError("injected WAL write failure");
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }

 private:
  std::shared_ptr<std::atomic<bool>> failing_;
};

class fault_fs final : public rocksdb::FileSystemWrapper {
 public:
  fault_fs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "seatd_test_fault_fs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    auto status = target()->NewWritableFile(name, options, result, dbg);
    if (status.ok() && name.ends_with(".log"))
      *result = std::make_unique<failing_wal_file>(std::move(*result), failing_);
    return status;
  }
  void fail_wal_writes() { *failing_ = true; }

 private:
  std::shared_ptr<std::atomic<bool>> failing_ = std::make_shared<std::atomic<bool>>(false);
};

// The two stores behind one test interface: open a new store, restart it as a node would
// after a crash, and make the next write fail before anything reaches the disk.
struct memory_fixture {
  std::unique_ptr<memory_store> current;

  store& open(std::uint32_t shard_count) {
    current = std::make_unique<memory_store>(shard_count);
    return *current;
  }
  store& restart(std::uint32_t /*shard_count_if_new: a memory store keeps its own*/) {
    current = current->after_crash();
    return *current;
  }
  void fail_next_write() { current->fail_next_write(write_fault::lost); }
};

struct rocksdb_fixture {
  temp_dir dir;
  std::shared_ptr<fault_fs> fs;
  std::unique_ptr<store> current;

  store& open(std::uint32_t shard_count) { return restart(shard_count); }
  store& restart(std::uint32_t shard_count_if_new) {
    current.reset();  // closes the database before it opens again
    fs = std::make_shared<fault_fs>();
    rocksdb_options options;
    options.env = rocksdb::NewCompositeEnv(fs);
    current = open_rocksdb_store(dir.db(), shard_count_if_new, options);
    return *current;
  }
  void fail_next_write() { fs->fail_wal_writes(); }
};

}  // namespace

TEMPLATE_TEST_CASE("store: written batches survive a restart exactly, in recovery order",
                   "[unit][storage]", memory_fixture, rocksdb_fixture) {
  TestType fixture;
  store& fresh = fixture.open(300);
  recovered_state want;
  want.shard_count = 300;
  check_state(fresh.recover(), want);

  // Shards and indices above 255 and seqs above 255 check that keys sort as numbers.
  write_batch first;
  first.entries = {entry(256, 1), entry(256, 2, "ev"), entry(1, 1, "ev-b")};
  append(first.entries, entries(1, 2, 300));
  first.entries[0].stamp_ms = -5;
  first.entries[1].payload.clear();
  first.snapshots = {{"ev-b", 1, 0, {}}, {"ev-a", 256, 2, {1, 2, 3}}};
  first.outbox_puts = {outbox("ev-a", 256), outbox("ev-a", 1), outbox("ev", 2), outbox("ev-a", 2)};
  first.outbox_puts[3].value.clear();
  fresh.write(first);
  write_batch second;
  const std::string longest_id(event_id_length_max, 'x');
  second.entries = {entry(0, 1, longest_id), entry(0, 2)};
  second.snapshots = {{longest_id, 0, 2, {0, 0, 0}}};
  second.outbox_puts = {outbox(longest_id, 0)};
  fresh.write(second);
  fresh.write({});

  want.entries = second.entries;
  append(want.entries, {first.entries[2]});
  append(want.entries, entries(1, 2, 300));
  append(want.entries, {first.entries[0], first.entries[1]});
  want.snapshots = {first.snapshots[1], first.snapshots[0], second.snapshots[0]};
  want.outbox = {first.outbox_puts[2], first.outbox_puts[1], first.outbox_puts[3],
                 first.outbox_puts[0], second.outbox_puts[0]};
  check_state(fresh.recover(), want);
  check_state(fixture.restart(300).recover(), want);
}

TEMPLATE_TEST_CASE("store: Raft no-op entries (no event, no payload) are kept like commands",
                   "[unit][storage]", memory_fixture, rocksdb_fixture) {
  TestType fixture;
  store& s = fixture.open(2);
  write_batch batch;
  batch.entries = {entry(1, 1), {1, 2, 7, 0, "", {}}, entry(1, 3)};
  s.write(batch);
  const auto state = fixture.restart(2).recover();
  REQUIRE(state.entries == batch.entries);
  CHECK(state.entries[1].noop());
  CHECK_FALSE(state.entries[0].noop());
}

TEMPLATE_TEST_CASE("store: a new snapshot of an event replaces its previous one", "[unit][storage]",
                   memory_fixture, rocksdb_fixture) {
  TestType fixture;
  store& s = fixture.open(2);
  write_batch first;
  first.snapshots = {{"ev-a", 0, 5, {1, 1, 1, 1}}, {"ev-b", 1, 3, {2}}};
  s.write(first);
  write_batch second;
  second.snapshots = {{"ev-a", 0, 9, {7}}};
  s.write(second);

  const auto state = fixture.restart(2).recover();
  CHECK(state.snapshots == std::vector<snapshot_record>{second.snapshots[0], first.snapshots[1]});
}

TEMPLATE_TEST_CASE("store: a truncation deletes its shard's entries below the index, no others",
                   "[unit][storage]", memory_fixture, rocksdb_fixture) {
  TestType fixture;
  store& s = fixture.open(2);
  write_batch fill;
  fill.entries = entries(0, 1, 10);
  append(fill.entries, entries(1, 1, 10));
  s.write(fill);

  write_batch truncate;
  truncate.truncations = {{0, 4}, {1, 0}, {1, 1}};
  s.write(truncate);
  std::vector<log_entry> want = entries(0, 4, 10);
  append(want, entries(1, 1, 10));
  CHECK(fixture.restart(2).recover().entries == want);

  // A truncation in the same batch as entries applies after them (store.hpp's order).
  write_batch append_and_truncate;
  append_and_truncate.entries = entries(0, 11, 13);
  append_and_truncate.truncations = {{0, 12}};
  fixture.current->write(append_and_truncate);
  want = entries(0, 12, 13);
  append(want, entries(1, 1, 10));
  CHECK(fixture.restart(2).recover().entries == want);

  // Past the last entry: the shard's log is empty, and it goes on from any index.
  write_batch everything;
  everything.truncations = {{1, 1000}};
  fixture.current->write(everything);
  write_batch later;
  later.entries = entries(1, 1000, 1001);
  fixture.current->write(later);
  want = entries(0, 12, 13);
  append(want, entries(1, 1000, 1001));
  CHECK(fixture.restart(2).recover().entries == want);
}

TEMPLATE_TEST_CASE("store: deleting an outbox record removes that record only", "[unit][storage]",
                   memory_fixture, rocksdb_fixture) {
  TestType fixture;
  store& s = fixture.open(1);
  write_batch fill;
  fill.outbox_puts = {outbox("ev-a", 1), outbox("ev-a", 2), outbox("ev-b", 1)};
  s.write(fill);

  write_batch remove;
  remove.outbox_deletes = {{"ev-a", 1}, {"ev-c", 1}};  // ev-c/1 does not exist: no effect
  remove.outbox_puts = {outbox("ev-b", 2)};
  remove.outbox_deletes.push_back({"ev-b", 2});  // deletes apply after puts
  s.write(remove);

  const auto state = fixture.restart(1).recover();
  CHECK(state.outbox == std::vector<outbox_record>{fill.outbox_puts[1], fill.outbox_puts[2]});
}

TEMPLATE_TEST_CASE("store: the shard count is fixed when the store is created", "[unit][storage]",
                   memory_fixture, rocksdb_fixture) {
  TestType fixture;
  CHECK(fixture.open(4).shard_count() == 4);
  store& restarted = fixture.restart(8);
  CHECK(restarted.shard_count() == 4);
  CHECK(restarted.recover().shard_count == 4);
}

TEMPLATE_TEST_CASE(
    "store: hard states, Raft snapshot marks and outbox marks are kept per shard, the batch's "
    "last wins",
    "[unit][storage]", memory_fixture, rocksdb_fixture) {
  TestType fixture;
  store& s = fixture.open(3);
  CHECK(s.recover().raft_snapshots ==
        std::vector<raft_snapshot_mark>{{0, 0, 0}, {1, 0, 0}, {2, 0, 0}});
  write_batch batch;
  batch.hard_states = {{0, 4, 2}, {2, 7, 0}, {0, 5, 3}};
  batch.outbox_marks = {{1, 40}, {1, 42}};
  batch.raft_snapshots = {{2, 90, 3}, {2, 120, 4}};
  s.write(batch);
  auto state = fixture.restart(3).recover();
  CHECK(state.hard_states == std::vector<hard_state>{{0, 5, 3}, {1, 0, 0}, {2, 7, 0}});
  CHECK(state.outbox_marks == std::vector<std::uint64_t>{0, 42, 0});
  CHECK(state.raft_snapshots == std::vector<raft_snapshot_mark>{{0, 0, 0}, {1, 0, 0}, {2, 120, 4}});
  CHECK(written_by_raft(state));

  write_batch later;
  later.hard_states = {{2, 8, 1}};
  later.raft_snapshots = {{0, 5, 1}};
  fixture.current->write(later);
  state = fixture.restart(3).recover();
  CHECK(state.hard_states == std::vector<hard_state>{{0, 5, 3}, {1, 0, 0}, {2, 8, 1}});
  CHECK(state.outbox_marks == std::vector<std::uint64_t>{0, 42, 0});
  CHECK(state.raft_snapshots == std::vector<raft_snapshot_mark>{{0, 5, 1}, {1, 0, 0}, {2, 120, 4}});
}

TEMPLATE_TEST_CASE(
    "store: a suffix truncation deletes its shard's entries from the index on, before the "
    "batch's own entries",
    "[unit][storage]", memory_fixture, rocksdb_fixture) {
  TestType fixture;
  store& s = fixture.open(2);
  write_batch fill;
  fill.entries = entries(0, 1, 10);
  append(fill.entries, entries(1, 1, 3));
  s.write(fill);

  write_batch replace;
  replace.suffix_truncations = {{0, 6}};
  replace.entries = {entry(0, 6, "ev-b"), entry(0, 7, "ev-b")};
  fixture.current->write(replace);

  std::vector<log_entry> want = entries(0, 1, 5);
  append(want, replace.entries);
  append(want, entries(1, 1, 3));
  CHECK(fixture.restart(2).recover().entries == want);
}

TEMPLATE_TEST_CASE("store: an unsynced batch is applied at once and kept by a later synced one",
                   "[unit][storage]", memory_fixture, rocksdb_fixture) {
  TestType fixture;
  store& s = fixture.open(1);
  write_batch derived;
  derived.sync = false;
  derived.outbox_puts = {outbox("ev-a", 1)};
  derived.outbox_marks = {{0, 3}};
  s.write(derived);
  CHECK(s.recover().outbox == derived.outbox_puts);
  write_batch synced;
  synced.entries = entries(0, 1, 3);
  s.write(synced);
  const auto state = fixture.restart(1).recover();
  CHECK(state.outbox == derived.outbox_puts);
  CHECK(state.outbox_marks == std::vector<std::uint64_t>{3});
  CHECK(state.entries == synced.entries);
}

TEST_CASE(
    "memory_store: a crash loses the unsynced tail, or keeps a prefix of it, each write whole",
    "[unit][storage]") {
  memory_store s(1);
  write_batch synced;
  synced.entries = entries(0, 1, 2);
  s.write(synced);
  write_batch first, second;
  first.sync = second.sync = false;
  first.outbox_puts = {outbox("ev-a", 1), outbox("ev-a", 2)};
  second.outbox_puts = {outbox("ev-a", 3)};
  second.outbox_deletes = {{"ev-a", 1}};
  s.write(first);
  s.write(second);
  CHECK(s.unsynced_writes() == 2);
  CHECK(s.recover().outbox == std::vector<outbox_record>{outbox("ev-a", 2), outbox("ev-a", 3)});

  const auto lost = s.after_crash()->recover();
  CHECK(lost.entries == synced.entries);
  CHECK(lost.outbox.empty());
  CHECK(s.after_crash(1)->recover().outbox == first.outbox_puts);
  CHECK(s.after_crash(2)->recover().outbox == s.recover().outbox);
}

TEST_CASE("memory_store: a submitted write is durable only once its fsync's time has come",
          "[unit][storage]") {
  memory_store s(1, memory_disk{5});
  write_batch a, b, c;
  a.entries = entries(0, 1, 1);
  b.entries = entries(0, 2, 2);
  c.sync = false;
  c.outbox_puts = {outbox("ev-a", 1)};
  CHECK(s.submit(a, 10) == 15);
  CHECK(s.submit(c, 11) == 11);  // joins the tail: the next fsync takes it along
  CHECK(s.submit(b, 12) == 20);  // the disk does one fsync at a time
  CHECK(s.next_sync_done_ms() == 15);
  CHECK(s.recover().entries == entries(0, 1, 2));  // the process reads its own writes

  s.settle(14);
  CHECK(s.after_crash()->recover().entries.empty());
  s.settle(15);
  CHECK(s.after_crash()->recover().entries == entries(0, 1, 1));
  CHECK(s.after_crash()->recover().outbox.empty());
  CHECK(s.next_sync_done_ms() == 20);
  s.settle(25);
  const auto state = s.after_crash()->recover();
  CHECK(state.entries == entries(0, 1, 2));
  CHECK(state.outbox == c.outbox_puts);
  CHECK_FALSE(s.next_sync_done_ms());
}

TEMPLATE_TEST_CASE(
    "store: a write that throws applies none of its batch, and no write passes until a restart",
    "[unit][storage]", memory_fixture, rocksdb_fixture) {
  TestType fixture;
  store& s = fixture.open(2);
  write_batch before;
  before.entries = entries(0, 1, 5);
  before.snapshots = {{"ev-a", 0, 2, {1}}};
  before.outbox_puts = {outbox("ev-a", 1)};
  s.write(before);

  write_batch failing;
  failing.entries = entries(0, 6, 7);
  failing.snapshots = {{"ev-a", 0, 7, {2}}};
  failing.outbox_puts = {outbox("ev-a", 2)};
  failing.outbox_deletes = {{"ev-a", 1}};
  failing.truncations = {{0, 3}};
  fixture.fail_next_write();
  CHECK_THROWS_AS(s.write(failing), storage_error);
  write_batch next;
  next.entries = entries(1, 1, 1);
  CHECK_THROWS_AS(s.write(next), storage_error);

  recovered_state want;
  want.shard_count = 2;
  want.entries = before.entries;
  want.snapshots = before.snapshots;
  want.outbox = before.outbox_puts;
  store& restarted = fixture.restart(2);
  check_state(restarted.recover(), want);
  restarted.write(failing);
  want.entries = entries(0, 3, 7);
  want.snapshots = failing.snapshots;
  want.outbox = failing.outbox_puts;
  check_state(fixture.restart(2).recover(), want);
}

TEST_CASE("memory_store: a write that fails after reaching the disk is all there after a restart",
          "[unit][storage]") {
  memory_store s(1);
  write_batch batch;
  batch.entries = entries(0, 1, 2);
  batch.outbox_puts = {outbox("ev-a", 1)};
  s.fail_next_write(write_fault::applied);
  CHECK_THROWS_AS(s.write(batch), storage_error);
  CHECK(s.failed());

  auto restarted = s.after_crash();
  CHECK_FALSE(restarted->failed());
  const auto state = restarted->recover();
  CHECK(state.entries == batch.entries);
  CHECK(state.outbox == batch.outbox_puts);
}

namespace {

constexpr std::array<const char*, 5> column_families{"default", "log", "snapshots", "outbox",
                                                     "meta"};

// The store's database opened directly, as a disk editor would, to damage it on purpose.
class raw_db {
 public:
  explicit raw_db(const std::string& dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const char* name : column_families)
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, descriptors, &handles_, &db).ok());
    db_.reset(db);
  }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;
  ~raw_db() {
    for (auto* handle : handles_)
      static_cast<void>(db_->DestroyColumnFamilyHandle(handle));
    static_cast<void>(db_->Close());
  }

  std::string get(std::string_view column, const std::string& key) {
    std::string value;
    REQUIRE(db_->Get(rocksdb::ReadOptions(), handle(column), key, &value).ok());
    return value;
  }
  void put(std::string_view column, const std::string& key, const std::string& value) {
    REQUIRE(db_->Put(rocksdb::WriteOptions(), handle(column), key, value).ok());
  }
  void remove(std::string_view column, const std::string& key) {
    REQUIRE(db_->Delete(rocksdb::WriteOptions(), handle(column), key).ok());
  }

 private:
  rocksdb::ColumnFamilyHandle* handle(std::string_view column) {
    for (std::size_t c = 0; c < column_families.size(); ++c)
      if (column == column_families[c]) return handles_[c];
    FAIL("no column family " << column);
    return nullptr;
  }
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// The key of log entry (shard, index) spelled out as docs/STORAGE.md gives it.
std::string log_key(std::uint32_t shard, std::uint64_t index) {
  std::string key;
  for (int byte = 3; byte >= 0; --byte)
    key.push_back(static_cast<char>((shard >> (8 * byte)) & 0xFF));
  for (int byte = 7; byte >= 0; --byte)
    key.push_back(static_cast<char>((index >> (8 * byte)) & 0xFF));
  return key;
}

// A store in dir.db() with shard 1 holding entries 1..4, an outbox record and a snapshot.
void write_sample(const temp_dir& dir) {
  auto s = open_rocksdb_store(dir.db(), 2);
  write_batch batch;
  batch.entries = entries(1, 1, 4);
  batch.snapshots = {{"ev-a", 1, 2, {9, 9}}};
  batch.outbox_puts = {outbox("ev-a", 1)};
  s->write(batch);
}

std::string recover_error(const std::string& dir) {
  try {
    open_rocksdb_store(dir, 2)->recover();
  } catch (const storage_error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("rocksdb_store: a closed store opens again with everything in it", "[unit][storage]") {
  temp_dir dir;
  write_sample(dir);
  rocksdb_options existing_only;
  existing_only.create_if_missing = false;
  for (int reopen = 0; reopen < 3; ++reopen) {
    const auto state = open_rocksdb_store(dir.db(), 2, existing_only)->recover();
    CHECK(state.entries == entries(1, 1, 4));
    CHECK(state.snapshots == std::vector<snapshot_record>{{"ev-a", 1, 2, {9, 9}}});
    CHECK(state.outbox == std::vector<outbox_record>{outbox("ev-a", 1)});
  }
}

TEST_CASE("rocksdb_store: opening refuses what cannot be a store", "[unit][storage]") {
  temp_dir dir;
  rocksdb_options existing_only;
  existing_only.create_if_missing = false;
  CHECK_THROWS_AS(open_rocksdb_store(dir.db(), 2, existing_only), storage_error);
  CHECK_THROWS_WITH(open_rocksdb_store(dir.db(), 0), Catch::Contains("not 0"));
  CHECK_THROWS_WITH(open_rocksdb_store(dir.db(), shard_count_max + 1),
                    Catch::Contains("not 65537"));
  CHECK(open_rocksdb_store(dir.db(), shard_count_max)->shard_count() == shard_count_max);
}

TEST_CASE("rocksdb_store: damaged records stop recovery with an error naming the key",
          "[unit][storage]") {
  temp_dir dir;
  write_sample(dir);

  SECTION("a flipped bit in a log value") {
    {
      raw_db raw(dir.db());
      std::string value = raw.get("log", log_key(1, 2));
      value[value.size() / 2] = static_cast<char>(value[value.size() / 2] ^ 0x10);
      raw.put("log", log_key(1, 2), value);
    }
    CHECK(recover_error(dir.db()) == "storage: log key (shard 1, index 2): checksum mismatch");
  }
  SECTION("a log value without an event id that is not a no-op") {
    {
      raw_db raw(dir.db());
      log_entry damaged = entry(1, 2, "x");
      damaged.event_id.clear();  // a payload, so not a no-op
      raw.put("log", log_key(1, 2), seatd::storage::record_codec::log_value(damaged));
    }
    CHECK(recover_error(dir.db()) == "storage: log key (shard 1, index 2): undecodable log value");
  }
  SECTION("a log value under another entry's key") {
    {
      raw_db raw(dir.db());
      raw.put("log", log_key(1, 3), raw.get("log", log_key(1, 2)));
    }
    CHECK(recover_error(dir.db()) == "storage: log key (shard 1, index 3): checksum mismatch");
  }
  SECTION("a gap in a shard's indices") {
    raw_db(dir.db()).remove("log", log_key(1, 2));
    CHECK(recover_error(dir.db()) ==
          "storage: log key (shard 1, index 3): gap in the shard's log: the entry before it has "
          "index 1");
  }
  SECTION("a log key of the wrong length") {
    raw_db(dir.db()).put("log", "short", "x");
    CHECK(recover_error(dir.db()) == R"(storage: log key "short": key is not 12 bytes)");
  }
  SECTION("a log entry of a shard the store does not have") {
    {
      raw_db raw(dir.db());
      auto stray = entry(7, 1);
      raw.put("log", log_key(7, 1), record_codec::log_value(stray));
    }
    CHECK(recover_error(dir.db()) ==
          "storage: log key (shard 7, index 1): shard 7 of a store with 2 shards");
  }
  SECTION("a truncated snapshot value") {
    {
      raw_db raw(dir.db());
      raw.put("snapshots", "ev-a", raw.get("snapshots", "ev-a").substr(0, 3));
    }
    CHECK(recover_error(dir.db()) == R"(storage: snapshots key "ev-a": value too short)");
  }
  SECTION("an outbox key without its separator") {
    raw_db(dir.db()).put("outbox", std::string("ev-a\x01", 5) + std::string(8, '\0'), "x");
    CHECK(recover_error(dir.db()) ==
          R"(storage: outbox key "ev-a\x01\x00\x00\x00\x00\x00\x00\x00\x00": key is not an )"
          "event id, 0x00 and a seq");
  }
  SECTION("a damaged hard state") {
    {
      auto s = open_rocksdb_store(dir.db(), 2);
      write_batch batch;
      batch.hard_states = {{1, 3, 2}};
      s->write(batch);
    }
    {
      raw_db raw(dir.db());
      const std::string key =
          record_codec::shard_record_key(record_codec::shard_record::hard_state, 1);
      std::string value = raw.get("meta", key);
      value[2] = static_cast<char>(value[2] ^ 0x01);
      raw.put("meta", key, value);
    }
    CHECK(recover_error(dir.db()) == "storage: meta key (hard state, shard 1): checksum mismatch");
  }
  SECTION("an outbox mark of a shard the store does not have") {
    raw_db(dir.db()).put("meta",
                         record_codec::shard_record_key(record_codec::shard_record::outbox_mark, 9),
                         record_codec::outbox_mark_value({9, 1}));
    CHECK(recover_error(dir.db()) ==
          "storage: meta key (outbox mark, shard 9): shard 9 of a store with 2 shards");
  }
  SECTION("a damaged Raft snapshot mark") {
    raw_db(dir.db()).put(
        "meta", record_codec::shard_record_key(record_codec::shard_record::raft_snapshot, 1),
        "garbage");
    CHECK_THAT(recover_error(dir.db()),
               Catch::StartsWith("storage: meta key (Raft snapshot mark, shard 1): "));
  }
  SECTION("a meta key this build does not write") {
    raw_db(dir.db()).put("meta", "zzz", "x");
    CHECK(recover_error(dir.db()) == R"(storage: meta key "zzz": not a key this build writes)");
  }
  SECTION("meta from a newer format") {
    raw_db(dir.db()).put("meta", "store", record_codec::meta_value({2, 2}));
    CHECK_THROWS_WITH(open_rocksdb_store(dir.db(), 2),
                      R"(storage: meta key "store": format version 2, this build reads version 1)");
  }
  SECTION("data without meta") {
    raw_db(dir.db()).remove("meta", "store");
    CHECK_THROWS_WITH(open_rocksdb_store(dir.db(), 2),
                      Catch::Contains("records without a meta record"));
  }
}

namespace {

// Sized read rather than istreambuf_iterator, which trips GCC 12's -Wnull-dereference at -O2.
std::string read_file(const std::filesystem::path& path) {
  std::string bytes(std::filesystem::file_size(path), '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(in.good());
  return bytes;
}

// Five synced writes of entries 1..5 of shard 0, each entry's payload 200 bytes of its
// index, then the disk as a crash would leave it: a copy of the open store's directory,
// whose newest WAL file a test may damage before it opens the copy.
struct crashed_store {
  temp_dir dir;
  temp_dir copy;
  std::filesystem::path wal;
  std::string wal_bytes;

  crashed_store() {
    auto s = open_rocksdb_store(dir.db(), 1);
    for (std::uint64_t index = 1; index <= 5; ++index) {
      write_batch batch;
      batch.entries = {entry(0, index)};
      batch.entries[0].payload.assign(200, static_cast<std::uint8_t>(index));
      s->write(batch);
    }
    std::filesystem::copy(dir.db(), copy.db(), std::filesystem::copy_options::recursive);
    for (const auto& file : std::filesystem::directory_iterator(copy.db()))
      if (file.path().extension() == ".log" && (wal.empty() || file.path() > wal))
        wal = file.path();
    REQUIRE(!wal.empty());
    wal_bytes = read_file(wal);
  }
};

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::vector<std::uint64_t> indices(const recovered_state& state) {
  std::vector<std::uint64_t> out;
  for (const auto& e : state.entries)
    out.push_back(e.index);
  return out;
}

}  // namespace

TEST_CASE("rocksdb_store: a torn end of the WAL is dropped at restart, all before it stays",
          "[unit][storage]") {
  crashed_store crash;
  std::vector<std::uint64_t> want;
  SECTION("the end of the last write never reached the disk: that write is dropped") {
    crash.wal_bytes.resize(crash.wal_bytes.size() - 3);
    want = {1, 2, 3, 4};
  }
  SECTION("zeros after the last write (space allocated, never written): nothing is dropped") {
    crash.wal_bytes.append(40'000, '\0');
    want = {1, 2, 3, 4, 5};
  }
  write_file(crash.wal, crash.wal_bytes);
  CHECK(indices(open_rocksdb_store(crash.copy.db(), 1)->recover()) == want);
}

// With kPointInTimeRecovery the first section would open and recover entries 1 and 2
// only, silently losing three acknowledged writes (docs/STORAGE.md, "Why not ...").
TEST_CASE("rocksdb_store: a WAL record whose checksum fails stops the node from starting",
          "[unit][storage]") {
  crashed_store crash;
  char damaged_write = 0;
  SECTION("inside the WAL") {
    damaged_write = 3;
  }
  SECTION("the last write: torn inside, not cut off, it cannot be told from damage") {
    damaged_write = 5;
  }
  const auto payload = crash.wal_bytes.find(std::string(200, damaged_write));
  REQUIRE(payload != std::string::npos);
  crash.wal_bytes[payload + 100] = '\x07';
  write_file(crash.wal, crash.wal_bytes);
  CHECK_THROWS_WITH(open_rocksdb_store(crash.copy.db(), 1),
                    Catch::Contains("Corruption: checksum mismatch"));
}

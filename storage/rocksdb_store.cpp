#include "storage/rocksdb_store.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/record_codec.hpp"

namespace seatd::storage {
namespace {

namespace codec = record_codec;

// Column families in the order they are opened; handles_ follows it.
enum column : std::size_t {
  default_column,
  log_column,
  snapshots_column,
  outbox_column,
  meta_column,
  column_count
};
constexpr std::array<std::string_view, column_count> column_names{"default", "log", "snapshots",
                                                                  "outbox", "meta"};

[[noreturn]] void fail(const std::string& what) {
  throw storage_error("storage: " + what);
}

void check(const rocksdb::Status& status, const std::string& doing) {
  if (!status.ok()) fail(doing + ": " + status.ToString());
}

[[noreturn]] void damaged(column c, std::string_view key, const std::string& why) {
  fail(codec::describe_key(column_names[c], key) + ": " + why);
}

// Why these options (docs/STORAGE.md, "Options"):
// - WAL recovery kTolerateCorruptedTailRecords: a record cut off at the end of the WAL is a
//   write that never returned, so was never acknowledged, and recovery drops it; a record
//   whose checksum fails anywhere makes Open fail, so the node refuses to start (also for
//   the last record garbled by a torn sector: rare, and the safe side). Measured on
//   RocksDB 7.8 (tests/storage/store_test.cpp): kPointInTimeRecovery, the default, instead
//   stops replay at the first bad record and opens without an error, silently dropping every
//   later synced, acknowledged batch. That breaks "never lose an acknowledged write", and
//   Raft's assumption that stable storage keeps what it acknowledged. Point-in-time is what
//   an operator's "truncate at the damage" would use, later, knowingly.
// - paranoid_checks: damaged SST files fail Open or the recovery scan, not later reads.
// - Writes are synced per batch (write()), so the WAL is the durability point: no manual
//   WAL flush, no disabled WAL anywhere.
// - The info LOG is bounded so a long-running node does not fill its disk with it.
rocksdb::DBOptions db_options(const rocksdb_options& options) {
  rocksdb::DBOptions db;
  db.create_if_missing = options.create_if_missing;
  db.create_missing_column_families = true;
  db.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db.paranoid_checks = true;
  db.keep_log_file_num = 10;
  db.max_log_file_size = 16u << 20;
  if (options.env) db.env = options.env.get();
  return db;
}

// The log and the outbox are small records written once, read once at recovery and then
// deleted: compressing them costs CPU in every flush and compaction and saves little, so
// they are not compressed. Snapshots hold one byte per seat, mostly alike, and are rewritten
// whole: LZ4, when this RocksDB has it, is cheap and shrinks such bytes well. Nothing is
// read by point lookup except the one meta record, so no bloom filters.
rocksdb::ColumnFamilyOptions column_options(const rocksdb_options& options,
                                            const std::shared_ptr<rocksdb::Cache>& cache,
                                            column c) {
  rocksdb::ColumnFamilyOptions cf;
  if (options.write_buffer_bytes > 0) cf.write_buffer_size = options.write_buffer_bytes;
  cf.compression = rocksdb::kNoCompression;
  if (c == snapshots_column) {
    const auto supported = rocksdb::GetSupportedCompressions();
    if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end())
      cf.compression = rocksdb::kLZ4Compression;
  }
  rocksdb::BlockBasedTableOptions table;
  if (cache) table.block_cache = cache;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

// The open database and its column family handles, released in the order RocksDB wants
// (handles, then the database) also when the store's constructor throws half-way.
struct open_db {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  open_db() = default;
  open_db(const open_db&) = delete;
  open_db& operator=(const open_db&) = delete;
  ~open_db() {
    if (!db) return;
    for (auto* handle : handles)
      static_cast<void>(db->DestroyColumnFamilyHandle(handle));
    // Every acknowledged write was synced, so a failing close loses nothing acknowledged.
    static_cast<void>(db->Close());
  }
};

class rocksdb_store final : public store {
 public:
  rocksdb_store(const std::string& dir, std::uint32_t shard_count_if_new,
                const rocksdb_options& options)
      : options_(options) {
    open(dir);
    shard_count_ = read_or_create_meta(shard_count_if_new);
  }

  recovered_state recover() override {
    recovered_state state;
    state.shard_count = shard_count_;
    scan(snapshots_column, [&](std::string_view key, std::string_view value) {
      auto snapshot = codec::decode_snapshot(key, value);
      if (!snapshot) damaged(snapshots_column, key, snapshot.error());
      check_shard(snapshots_column, key, snapshot->shard);
      state.snapshots.push_back(std::move(snapshot).value());
    });
    scan(log_column, [&](std::string_view key, std::string_view value) {
      auto entry = codec::decode_log(key, value);
      if (!entry) damaged(log_column, key, entry.error());
      check_shard(log_column, key, entry->shard);
      if (!state.entries.empty() && state.entries.back().shard == entry->shard &&
          entry->index != state.entries.back().index + 1) {
        damaged(log_column, key,
                "gap in the shard's log: the entry before it has index " +
                    std::to_string(state.entries.back().index));
      }
      state.entries.push_back(std::move(entry).value());
    });
    scan(outbox_column, [&](std::string_view key, std::string_view value) {
      auto record = codec::decode_outbox(key, value);
      if (!record) damaged(outbox_column, key, record.error());
      state.outbox.push_back(std::move(record).value());
    });
    read_shard_records(state);
    return state;
  }

  void write(const write_batch& batch) override {
    check_batch(batch, shard_count_);
    if (batch.empty()) return;
    rocksdb::WriteBatch rocks;
    // Each operation of a WriteBatch gets its own sequence number, so the entries put below
    // are visible over a range deletion earlier in the same batch.
    for (const auto& truncation : batch.suffix_truncations) {
      add(rocks.DeleteRange(handle(log_column), codec::log_key(truncation.shard, truncation.from),
                            codec::log_key(truncation.shard + 1, 0)));
    }
    for (const auto& entry : batch.entries)
      add(rocks.Put(handle(log_column), codec::log_key(entry.shard, entry.index),
                    codec::log_value(entry)));
    for (const auto& snapshot : batch.snapshots)
      add(rocks.Put(handle(snapshots_column), snapshot.event_id, codec::snapshot_value(snapshot)));
    for (const auto& record : batch.outbox_puts)
      add(rocks.Put(handle(outbox_column), codec::outbox_key(record.event_id, record.seq),
                    codec::outbox_value(record)));
    for (const auto& key : batch.outbox_deletes)
      add(rocks.Delete(handle(outbox_column), codec::outbox_key(key.event_id, key.seq)));
    // A range deletion is one tombstone however many entries it covers; it comes after the
    // puts in the batch, so it also covers entries of this batch (store.hpp's order).
    for (const auto& truncation : batch.truncations) {
      if (truncation.below == 0) continue;
      add(rocks.DeleteRange(handle(log_column), codec::log_key(truncation.shard, 0),
                            codec::log_key(truncation.shard, truncation.below)));
    }
    for (const auto& state : batch.hard_states) {
      add(rocks.Put(handle(meta_column),
                    codec::shard_record_key(codec::shard_record::hard_state, state.shard),
                    codec::hard_state_value(state)));
    }
    for (const auto& mark : batch.raft_snapshots) {
      add(rocks.Put(handle(meta_column),
                    codec::shard_record_key(codec::shard_record::raft_snapshot, mark.shard),
                    codec::raft_snapshot_value(mark)));
    }
    for (const auto& mark : batch.outbox_marks) {
      add(rocks.Put(handle(meta_column),
                    codec::shard_record_key(codec::shard_record::outbox_mark, mark.shard),
                    codec::outbox_mark_value(mark)));
    }
    // An unsynced write reaches the WAL in order, so the next synced write makes it durable.
    rocksdb::WriteOptions options;
    options.sync = batch.sync;
    check(db_.db->Write(options, &rocks), "write");
  }

  std::uint32_t shard_count() const override { return shard_count_; }

 private:
  void open(const std::string& dir) {
    std::shared_ptr<rocksdb::Cache> cache;
    if (options_.block_cache_bytes > 0) cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (std::size_t c = 0; c < column_count; ++c) {
      descriptors.emplace_back(std::string(column_names[c]),
                               column_options(options_, cache, static_cast<column>(c)));
    }
    rocksdb::DB* db = nullptr;
    const auto status =
        rocksdb::DB::Open(db_options(options_), dir, descriptors, &db_.handles, &db);
    db_.db.reset(db);
    check(status, "open " + dir);
  }

  std::uint32_t read_or_create_meta(std::uint32_t shard_count_if_new) {
    std::string value;
    const auto status =
        db_.db->Get(rocksdb::ReadOptions(), handle(meta_column), codec::meta_key, &value);
    if (status.IsNotFound()) return create_meta(shard_count_if_new);
    check(status, "read meta");
    auto stored = codec::decode_meta(value);
    if (!stored) damaged(meta_column, codec::meta_key, stored.error());
    if (stored->format_version != codec::format_version) {
      damaged(meta_column, codec::meta_key,
              "format version " + std::to_string(stored->format_version) +
                  ", this build reads version " + std::to_string(codec::format_version));
    }
    if (stored->shard_count == 0 || stored->shard_count > shard_count_max)
      damaged(meta_column, codec::meta_key, "shard count " + std::to_string(stored->shard_count));
    return stored->shard_count;
  }

  // A new store: meta goes in one synced write, so a crash before it leaves a directory
  // that the next open treats as new again, because it holds nothing else either.
  std::uint32_t create_meta(std::uint32_t shard_count) {
    if (!options_.create_if_missing) fail("no seatd store here (meta record missing)");
    if (shard_count == 0 || shard_count > shard_count_max) {
      fail("a new store needs 1.." + std::to_string(shard_count_max) + " shards, not " +
           std::to_string(shard_count));
    }
    for (column c : {log_column, snapshots_column, outbox_column}) {
      scan(c, [&](std::string_view key, std::string_view) {
        damaged(c, key, "records without a meta record: damaged, or not a seatd store");
      });
    }
    rocksdb::WriteBatch rocks;
    add(rocks.Put(handle(meta_column), codec::meta_key,
                  codec::meta_value({codec::format_version, shard_count})));
    rocksdb::WriteOptions sync;
    sync.sync = true;
    check(db_.db->Write(sync, &rocks), "write meta");
    return shard_count;
  }

  template <class Visit>
  void scan(column c, Visit&& visit) {
    rocksdb::ReadOptions read;
    read.verify_checksums = true;
    read.fill_cache = false;  // a scan at start must not evict what the node reads later
    std::unique_ptr<rocksdb::Iterator> it(db_.db->NewIterator(read, handle(c)));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      visit(it->key().ToStringView(), it->value().ToStringView());
    check(it->status(), "read " + std::string(column_names[c]));
  }

  // The per-shard records of meta: hard states, Raft snapshot marks and outbox marks (zero
  // when never written).
  void read_shard_records(recovered_state& state) {
    for (std::uint32_t s = 0; s < shard_count_; ++s)
      state.hard_states.push_back({s, 0, 0});
    state.outbox_marks.assign(shard_count_, 0);
    for (std::uint32_t s = 0; s < shard_count_; ++s)
      state.raft_snapshots.push_back({s, 0, 0});
    scan(meta_column, [&](std::string_view key, std::string_view value) {
      if (key == codec::meta_key) return;
      const auto kind = codec::parse_shard_record_key(key);
      if (!kind) damaged(meta_column, key, "not a key this build writes");
      check_shard(meta_column, key, kind->second);
      if (kind->first == codec::shard_record::hard_state) {
        auto hard = codec::decode_hard_state(key, value);
        if (!hard) damaged(meta_column, key, hard.error());
        state.hard_states[hard->shard] = hard.value();
      } else if (kind->first == codec::shard_record::raft_snapshot) {
        auto mark = codec::decode_raft_snapshot(key, value);
        if (!mark) damaged(meta_column, key, mark.error());
        state.raft_snapshots[mark->shard] = mark.value();
      } else {
        auto mark = codec::decode_outbox_mark(key, value);
        if (!mark) damaged(meta_column, key, mark.error());
        state.outbox_marks[mark->shard] = mark->index;
      }
    });
  }

  void check_shard(column c, std::string_view key, std::uint32_t shard) const {
    if (shard >= shard_count_) {
      damaged(c, key,
              "shard " + std::to_string(shard) + " of a store with " +
                  std::to_string(shard_count_) + " shards");
    }
  }

  static void add(const rocksdb::Status& status) { check(status, "build write batch"); }
  rocksdb::ColumnFamilyHandle* handle(column c) const { return db_.handles[c]; }

  rocksdb_options options_;  // declared first: its env outlives the database
  open_db db_;
  std::uint32_t shard_count_ = 0;
};

}  // namespace

std::unique_ptr<store> open_rocksdb_store(const std::string& dir, std::uint32_t shard_count_if_new,
                                          const rocksdb_options& options) {
  return std::make_unique<rocksdb_store>(dir, shard_count_if_new, options);
}

}  // namespace seatd::storage

#pragma once
// The storage port on RocksDB: the server's durable shard logs, snapshots and outbox in one
// database with a column family each, every batch one synced WriteBatch. The on-disk layout,
// the options and the rules for damaged data are in docs/STORAGE.md.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "storage/store.hpp"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace seatd::storage {

inline constexpr std::uint32_t shard_count_max = 1u << 16;

struct rocksdb_options {
  // false: a directory without a seatd store is an error instead of a new, empty store (a
  // mistyped path must not start a node that has forgotten everything).
  bool create_if_missing = true;
  std::size_t block_cache_bytes = 0;   // shared by the column families; 0: RocksDB's default
  std::size_t write_buffer_bytes = 0;  // memtable per column family; 0: RocksDB's default
  std::shared_ptr<rocksdb::Env> env;   // null: the default; tests inject I/O faults with it
};

// Opens the store in `dir`, creating it when it is new (see create_if_missing). The shard
// count is fixed when the store is created: for an existing store shard_count_if_new is
// ignored, even when it differs, and shard_count() tells the stored count (moving events
// between shards is a migration, not an option). Throws storage_error when RocksDB fails,
// when shard_count_if_new is not 1..shard_count_max for a new store, or when the stored
// format is unknown or damaged.
std::unique_ptr<store> open_rocksdb_store(const std::string& dir, std::uint32_t shard_count_if_new,
                                          const rocksdb_options& options = {});

}  // namespace seatd::storage

#pragma once
// The bytes of the RocksDB store's keys and values (docs/STORAGE.md, "Layout"), kept apart
// from RocksDB so that the format reads as one unit. Keys sort as recover() must return
// records; every value carries a version byte first and a CRC-32C of key and value last, so
// damage, and a value under the wrong key, are found on read. Decoders never trust input.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.hpp"
#include "storage/store.hpp"

namespace seatd::storage::record_codec {

inline constexpr std::uint8_t record_version = 1;
inline constexpr std::uint32_t format_version = 1;  // of the store as a whole, in meta
inline constexpr std::string_view meta_key = "store";

struct meta {
  std::uint32_t format_version = 0;
  std::uint32_t shard_count = 0;
};

template <class T>
using decoded = common::result<T, std::string>;  // the error says what is wrong

// log: shard u32 big-endian, index u64 big-endian.
std::string log_key(std::uint32_t shard, std::uint64_t index);
std::string log_value(const log_entry& entry);
decoded<log_entry> decode_log(std::string_view key, std::string_view value);

// snapshots: the event id.
std::string snapshot_value(const snapshot_record& snapshot);
decoded<snapshot_record> decode_snapshot(std::string_view key, std::string_view value);

// outbox: event id, 0x00, seq u64 big-endian.
std::string outbox_key(std::string_view event_id, std::uint64_t seq);
std::string outbox_value(const outbox_record& record);
decoded<outbox_record> decode_outbox(std::string_view key, std::string_view value);

std::string meta_value(const meta& m);
decoded<meta> decode_meta(std::string_view value);

// Per-shard records in meta, beside the store record: 'h', 'o' or 'r', then shard u32
// big-endian.
// (Not 's': the store record's key "store" is five bytes too.)
enum class shard_record : char { hard_state = 'h', outbox_mark = 'o', raft_snapshot = 'r' };
std::string shard_record_key(shard_record kind, std::uint32_t shard);
// The kind and shard of a meta key, or nullopt for a key that is not a shard record.
std::optional<std::pair<shard_record, std::uint32_t>> parse_shard_record_key(std::string_view key);
std::string hard_state_value(const hard_state& state);
decoded<hard_state> decode_hard_state(std::string_view key, std::string_view value);
std::string outbox_mark_value(const outbox_mark& mark);
decoded<outbox_mark> decode_outbox_mark(std::string_view key, std::string_view value);
std::string raft_snapshot_value(const raft_snapshot_mark& mark);
decoded<raft_snapshot_mark> decode_raft_snapshot(std::string_view key, std::string_view value);

// A key as it should appear in an error message: "log (shard 2, index 7)" when it decodes,
// its bytes otherwise; column_family names where it lives.
std::string describe_key(std::string_view column_family, std::string_view key);

}  // namespace seatd::storage::record_codec

#pragma once
// The storage port of a seatd node: shard logs, event snapshots, each shard's Raft hard state
// and the reservation outbox, written in atomic batches. Two implementations: RocksDB
// (rocksdb_store.hpp) for the server, and memory (memory_store.hpp) for tests and the
// simulator.
//
// Contract of write(): when it returns, everything in the batch is durable (fsynced) if the
// batch asks for a sync, and durable no later than the next synced write otherwise; a crash
// keeps a prefix of the writes, each whole or not at all. I/O failure is not an expected
// failure: write() throws storage_error and the node stops (after a failed fsync the page
// cache cannot be trusted).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace seatd::storage {

struct storage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One command in a shard's log. Indices start at 1 and are contiguous within a shard. An
// entry with an empty event id and payload is Raft's no-op, the entry a new leader appends in
// its term (term >= 1): it changes no event.
struct log_entry {
  std::uint32_t shard = 0;
  std::uint64_t index = 0;
  std::uint64_t term = 0;     // the Raft term that made the entry (0 on a single node)
  std::int64_t stamp_ms = 0;  // the leader's time: the command's time in the event machine
  std::string event_id;
  std::vector<std::uint8_t> payload;  // actors::encode_command
  bool noop() const { return event_id.empty(); }
  bool operator==(const log_entry&) const = default;
};

// An event's whole state, covering every entry of its shard up to `index`.
struct snapshot_record {
  std::string event_id;
  std::uint32_t shard = 0;
  std::uint64_t index = 0;
  std::vector<std::uint8_t> bytes;  // actors::snapshot_codec
  bool operator==(const snapshot_record&) const = default;
};

// A committed confirm or cancel waiting to be published (API.md, "The reservation stream").
struct outbox_record {
  std::string event_id;
  std::uint64_t seq = 0;
  std::string value;  // the Kafka record's JSON
  bool operator==(const outbox_record&) const = default;
};

struct outbox_key {
  std::string event_id;
  std::uint64_t seq = 0;
};

// Deletes a shard's entries below `below`: the prefix a snapshot covers.
struct log_truncation {
  std::uint32_t shard = 0;
  std::uint64_t below = 0;  // delete entries with index < below
};

// Deletes a shard's entries from `from` on: a suffix Raft replaces with a leader's entries.
struct log_suffix_truncation {
  std::uint32_t shard = 0;
  std::uint64_t from = 1;  // delete entries with index >= from
};

// A shard's Raft hard state: it must be durable before any message that depends on it leaves.
struct hard_state {
  std::uint32_t shard = 0;
  std::uint64_t term = 0;
  std::uint64_t vote = 0;  // the node voted for in `term`; 0: none
  bool operator==(const hard_state&) const = default;
};

// Raft's snapshot position of a shard: its log was compacted up to `index`, whose entry had
// `term`, and the shard's event snapshots cover every entry up to it. A restarted replica
// starts its Raft log there (a single node never writes one).
struct raft_snapshot_mark {
  std::uint32_t shard = 0;
  std::uint64_t index = 0;
  std::uint64_t term = 0;
  bool operator==(const raft_snapshot_mark&) const = default;
};

// The outbox holds (or has delivered) the stream records of the shard's entries up to
// `index`; recovery makes again only the records of later entries.
struct outbox_mark {
  std::uint32_t shard = 0;
  std::uint64_t index = 0;
};

// Applied in the order of its fields: suffix truncations (so the batch's own entries can
// replace what they delete), entries, snapshots, outbox puts, outbox deletes, truncations
// (so a truncation also removes entries of the same batch below its index), hard states,
// Raft snapshot marks and outbox marks (the last of a shard in the batch wins).
struct write_batch {
  std::vector<log_suffix_truncation> suffix_truncations;
  std::vector<log_entry> entries;
  std::vector<snapshot_record> snapshots;  // replace the event's previous snapshot
  std::vector<outbox_record> outbox_puts;
  std::vector<outbox_key> outbox_deletes;
  std::vector<log_truncation> truncations;
  std::vector<hard_state> hard_states;
  std::vector<raft_snapshot_mark> raft_snapshots;
  std::vector<outbox_mark> outbox_marks;
  // false: the batch holds only what recovery can rebuild or repeat (outbox records and
  // marks, deletes of delivered records), so it need not wait for its own fsync.
  bool sync = true;
  bool empty() const {
    return suffix_truncations.empty() && entries.empty() && snapshots.empty() &&
           outbox_puts.empty() && outbox_deletes.empty() && truncations.empty() &&
           hard_states.empty() && raft_snapshots.empty() && outbox_marks.empty();
  }
};

struct recovered_state {
  std::uint32_t shard_count = 0;
  std::vector<snapshot_record> snapshots;          // the latest per event
  std::vector<log_entry> entries;                  // every entry kept, by shard, then index
  std::vector<outbox_record> outbox;               // by event id, then seq
  std::vector<hard_state> hard_states;             // one per shard, by shard (zero when never set)
  std::vector<std::uint64_t> outbox_marks;         // one per shard (0 when never set)
  std::vector<raft_snapshot_mark> raft_snapshots;  // one per shard, by shard (zero: none)
};

// Whether Raft wrote the store (a term in a hard state, a Raft snapshot mark or an entry): a
// replica's log may hold entries that never committed, so only Raft may read it, and a single
// node's store (data, no term anywhere) holds no Raft positions to restore from.
bool written_by_raft(const recovered_state& state);

// Event ids as the store takes them: 1..event_id_length_max bytes, no NUL byte (it
// separates the event id from the sequence number in outbox keys).
inline constexpr std::size_t event_id_length_max = 256;

// The preconditions of write() that every store asserts (SEATD_ASSERT: a batch that breaks
// them is a bug in the caller, not an I/O failure): shards below shard_count, indices from 1,
// event ids as above, and each shard's entries within the batch ascending and contiguous.
void check_batch(const write_batch& batch, std::uint32_t shard_count);

class store {
 public:
  virtual ~store() = default;
  // Everything needed to rebuild the node; called once, before any write. Throws
  // storage_error when the data is damaged (see docs/STORAGE.md for the rules).
  virtual recovered_state recover() = 0;
  virtual void write(const write_batch& batch) = 0;
  virtual std::uint32_t shard_count() const = 0;
};

}  // namespace seatd::storage

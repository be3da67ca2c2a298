#pragma once
// One Raft group's log as its core sees it: the position of the last snapshot, the entries
// after it, and three marks: up to where entries were handed to the caller to persist, up to
// where they are known durable, and up to where they are committed. Pure; the core keeps
// every rule about when the marks move, this keeps them consistent.

#include <cstddef>
#include <optional>
#include <vector>

#include "cluster/raft/types.hpp"

namespace seatd::cluster::raft {

class raft_log {
 public:
  // A log restored from storage: everything in it is durable.
  raft_log(snapshot_meta base, std::vector<entry> entries);

  snapshot_meta base() const { return base_; }
  index_t first_index() const { return base_.index + 1; }
  index_t last_index() const { return base_.index + entries_.size(); }
  term_t last_term() const;
  // The term of the entry at i: the base's at the base, nullopt outside [base, last].
  std::optional<term_t> term_at(index_t i) const;
  bool matches(index_t i, term_t term) const { return term_at(i) == term; }
  // The last index at or before `i` whose entry's term is at most `term` (the base at
  // worst): where a log that has `term` at `i` can agree with this one at the earliest.
  index_t last_at_or_before(index_t i, term_t term) const;
  // Entries [from, to] (inclusive, from > base), at most `bytes_max` of data but at least one.
  std::vector<entry> slice(index_t from, index_t to, std::size_t bytes_max) const;
  const entry& at(index_t i) const;

  // Appends entries that follow (index, term) = (entries.front().index - 1, ...): an entry
  // that conflicts with ours (same index, other term) and everything after it is replaced.
  // Returns the first index replaced or added, or nullopt if nothing changed.
  std::optional<index_t> append(std::vector<entry> entries);
  // Replaces everything with a snapshot's position.
  void restore(snapshot_meta snapshot);
  // Drops entries up to `index` (a durable snapshot covers them).
  void compact(index_t index);

  index_t committed() const { return committed_; }
  void commit_to(index_t index);
  index_t persisted() const { return persisted_; }
  // The caller wrote everything handed out up to (index, term): it is durable. Ignored when
  // the entry at index is no longer of that term (replaced since it was handed out).
  void persisted_to(index_t index, term_t term);
  // Entries not yet handed to the caller to persist; marks them handed.
  std::vector<entry> take_unstable();
  bool has_unstable() const { return unstable_from_ <= last_index(); }

 private:
  snapshot_meta base_;
  std::vector<entry> entries_;  // base_.index + 1 ...
  index_t committed_ = 0;
  index_t persisted_ = 0;
  index_t unstable_from_ = 0;  // first index not handed out yet
};

}  // namespace seatd::cluster::raft

#include "cluster/raft/log.hpp"

#include <algorithm>
#include <iterator>

#include "common/assert.hpp"

namespace seatd::cluster::raft {

raft_log::raft_log(snapshot_meta base, std::vector<entry> entries)
    : base_(base), entries_(std::move(entries)) {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    SEATD_ASSERT(entries_[i].index == base_.index + 1 + i, "restored entries are contiguous");
    SEATD_ASSERT(entries_[i].term >= (i == 0 ? base_.term : entries_[i - 1].term),
                 "terms never decrease along a log");
  }
  committed_ = base_.index;  // a snapshot covers only committed entries
  persisted_ = last_index();
  unstable_from_ = last_index() + 1;
}

term_t raft_log::last_term() const {
  return entries_.empty() ? base_.term : entries_.back().term;
}

std::optional<term_t> raft_log::term_at(index_t i) const {
  if (i == base_.index) return base_.term;
  if (i < base_.index || i > last_index()) return std::nullopt;
  return entries_[i - base_.index - 1].term;
}

index_t raft_log::last_at_or_before(index_t i, term_t term) const {
  i = std::min(i, last_index());
  while (i > base_.index && *term_at(i) > term)
    --i;
  return std::max(i, base_.index);
}

const entry& raft_log::at(index_t i) const {
  SEATD_ASSERT(i > base_.index && i <= last_index(), "entry outside the log");
  return entries_[i - base_.index - 1];
}

std::vector<entry> raft_log::slice(index_t from, index_t to, std::size_t bytes_max) const {
  std::vector<entry> out;
  std::size_t bytes = 0;
  for (index_t i = from; i <= to; ++i) {
    const entry& e = at(i);
    if (!out.empty() && bytes + e.data.size() > bytes_max) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

std::optional<index_t> raft_log::append(std::vector<entry> incoming) {
  if (incoming.empty()) return std::nullopt;
  // Skip what we already have; the first entry of another term is the conflict.
  std::size_t skip = 0;
  while (skip < incoming.size() && matches(incoming[skip].index, incoming[skip].term))
    ++skip;
  if (skip == incoming.size()) return std::nullopt;
  const index_t from = incoming[skip].index;
  SEATD_ASSERT(from > committed_, "a committed entry would be replaced");
  SEATD_ASSERT(from > base_.index && from <= last_index() + 1, "entries must follow the log");
  entries_.resize(from - base_.index - 1);
  entries_.insert(entries_.end(),
                  std::make_move_iterator(incoming.begin() + static_cast<std::ptrdiff_t>(skip)),
                  std::make_move_iterator(incoming.end()));
  unstable_from_ = std::min(unstable_from_, from);
  persisted_ = std::min(persisted_, from - 1);
  return from;
}

void raft_log::restore(snapshot_meta snapshot) {
  SEATD_ASSERT(snapshot.index > committed_, "a snapshot behind the commit is not restored");
  base_ = snapshot;
  entries_.clear();
  committed_ = snapshot.index;
  persisted_ = std::min(persisted_, snapshot.index);
  unstable_from_ = snapshot.index + 1;
}

void raft_log::compact(index_t index) {
  if (index <= base_.index) return;
  SEATD_ASSERT(index <= committed_ && index <= persisted_, "compacting what is not durable");
  const term_t term = *term_at(index);
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<std::ptrdiff_t>(index - base_.index));
  base_ = {index, term};
}

void raft_log::commit_to(index_t index) {
  if (index <= committed_) return;
  SEATD_ASSERT(index <= last_index(), "committing past the log");
  committed_ = index;
}

void raft_log::persisted_to(index_t index, term_t term) {
  if (index <= persisted_ || index >= unstable_from_ || !matches(index, term)) return;
  persisted_ = index;
}

std::vector<entry> raft_log::take_unstable() {
  std::vector<entry> out;
  for (index_t i = std::max(unstable_from_, first_index()); i <= last_index(); ++i)
    out.push_back(at(i));
  unstable_from_ = last_index() + 1;
  return out;
}

}  // namespace seatd::cluster::raft

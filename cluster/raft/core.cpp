#include "cluster/raft/core.hpp"

#include <algorithm>
#include <functional>
#include <utility>

#include "common/assert.hpp"

namespace seatd::cluster::raft {

const char* message_kind_name(message_kind kind) {
  switch (kind) {
    case message_kind::prevote_request:
      return "prevote_request";
    case message_kind::prevote_response:
      return "prevote_response";
    case message_kind::vote_request:
      return "vote_request";
    case message_kind::vote_response:
      return "vote_response";
    case message_kind::append:
      return "append";
    case message_kind::append_response:
      return "append_response";
    case message_kind::heartbeat:
      return "heartbeat";
    case message_kind::heartbeat_response:
      return "heartbeat_response";
    case message_kind::snapshot:
      return "snapshot";
    case message_kind::timeout_now:
      return "timeout_now";
  }
  return "unknown";
}

const char* role_name(role r) {
  switch (r) {
    case role::follower:
      return "follower";
    case role::pre_candidate:
      return "pre_candidate";
    case role::candidate:
      return "candidate";
    case role::leader:
      return "leader";
  }
  return "unknown";
}

core::core(config cfg, restored_state state, std::uint64_t random_seed)
    : cfg_(std::move(cfg)), log_(state.snapshot, std::move(state.entries)), random_(random_seed) {
  SEATD_ASSERT(cfg_.id != no_node && is_voter(cfg_.id), "a node is one of its group's voters");
  SEATD_ASSERT(cfg_.election_ticks > cfg_.heartbeat_ticks && cfg_.heartbeat_ticks > 0,
               "heartbeats must come more often than elections");
  std::vector<node_id> sorted = cfg_.voters;
  std::sort(sorted.begin(), sorted.end());
  SEATD_ASSERT(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
               "voters are distinct");
  term_ = state.hard.term;
  vote_ = state.hard.vote;
  rejoining_ = cfg_.rejoining;
  hard_handed_ = hard_persisted_ = state.hard;
  applied_handed_ = log_.committed();
  become_follower(term_, no_node);
}

bool core::is_voter(node_id n) const {
  return std::find(cfg_.voters.begin(), cfg_.voters.end(), n) != cfg_.voters.end();
}

// ---- roles --------------------------------------------------------------------------------

void core::reset(term_t term) {
  if (term != term_) {
    term_ = term;
    vote_ = no_node;
  }
  leader_ = no_node;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_timeout_ =
      cfg_.election_ticks +
      static_cast<int>(random_.below(static_cast<std::uint64_t>(cfg_.election_ticks)));
  votes_.clear();
  progress_.clear();
  transferee_ = no_node;
  reads_.clear();
  leader_commit_hint_ = 0;
  matched_with_leader_ = 0;
}

void core::become_follower(term_t term, node_id leader) {
  if (role_ == role::leader) leadership_lost_ = true;
  reset(term);
  leader_ = leader;
  role_ = role::follower;
}

void core::become_pre_candidate() {
  SEATD_ASSERT(role_ != role::leader, "a leader does not campaign");
  // Neither the term nor the vote changes: a pre-vote only asks whether an election could
  // be won, so a node cut off from the others cannot inflate its term while it is away.
  role_ = role::pre_candidate;
  leader_ = no_node;
  votes_.clear();
}

void core::become_candidate() {
  SEATD_ASSERT(role_ != role::leader, "a leader does not campaign");
  reset(term_ + 1);
  vote_ = cfg_.id;
  role_ = role::candidate;
}

void core::become_leader() {
  SEATD_ASSERT(role_ == role::candidate, "only a candidate becomes leader");
  reset(term_);
  role_ = role::leader;
  leader_ = cfg_.id;
  for (node_id n : cfg_.voters) {
    if (n == cfg_.id) continue;
    progress& pr = progress_[n];
    pr.next = log_.last_index() + 1;
    pr.recent_active = true;  // do not step down before anyone could answer
  }
  // An entry of the new term, so that earlier terms' entries can be committed at once.
  log_.append({entry{term_, log_.last_index() + 1, entry_kind::noop, {}}});
  broadcast_pending_ = true;
}

void core::campaign(bool pre, bool transfer) {
  if (pre) {
    become_pre_candidate();
  } else {
    become_candidate();
    ++elections_started_;
  }
  const term_t ask_term = pre ? term_ + 1 : term_;
  if (const auto won = poll(cfg_.id, true); won && *won) {
    if (pre)
      campaign(false, transfer);
    else
      become_leader();
    return;
  }
  // The election restriction on what is durable here: entries not yet persisted may vanish
  // in a crash, so they must not win a vote.
  const index_t last = log_.persisted();
  for (node_id n : cfg_.voters) {
    if (n == cfg_.id) continue;
    message m;
    m.kind = pre ? message_kind::prevote_request : message_kind::vote_request;
    m.to = n;
    m.term = ask_term;
    m.index = last;
    m.log_term = log_.term_at(last).value_or(0);
    m.transfer = transfer;
    send(std::move(m));
  }
}

std::optional<bool> core::poll(node_id from, bool granted) {
  votes_.try_emplace(from, granted);  // the first answer of each voter counts
  std::size_t yes = 0, no = 0;
  for (const auto& [voter, vote] : votes_)
    (vote ? yes : no) += 1;
  if (yes >= quorum()) return true;
  if (cfg_.voters.size() - no < quorum()) return false;
  return std::nullopt;
}

bool core::log_up_to_date(index_t index, term_t term) const {
  return term > log_.last_term() || (term == log_.last_term() && index >= log_.last_index());
}

// With check-quorum a follower that heard from its leader within the election timeout does
// not help depose it: a disruptive node with a higher term is ignored.
bool core::in_lease() const {
  return cfg_.check_quorum && leader_ != no_node && election_elapsed_ < cfg_.election_ticks;
}

// ---- time ---------------------------------------------------------------------------------

void core::tick() {
  if (role_ != role::leader) {
    if (++election_elapsed_ >= randomized_timeout_) {
      election_elapsed_ = 0;
      if (!rejoining_) campaign(cfg_.pre_vote, false);
    }
    return;
  }
  ++heartbeat_elapsed_;
  if (++election_elapsed_ >= cfg_.election_ticks) {
    election_elapsed_ = 0;
    if (cfg_.check_quorum) {
      std::size_t active = 1;  // this node
      for (auto& [n, pr] : progress_) {
        if (pr.recent_active) ++active;
        pr.recent_active = false;
      }
      if (active < quorum()) {
        become_follower(term_, no_node);
        return;
      }
    }
    transferee_ = no_node;  // a transfer not done within an election timeout is abandoned
  }
  if (heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    // Reads still waiting ride along: their own round's heartbeats may have been lost.
    broadcast_heartbeat(reads_.empty() ? 0 : read_round_);
  }
}

// ---- messages in --------------------------------------------------------------------------

void core::step(message m) {
  if (m.to != cfg_.id || !is_voter(m.from) || m.from == cfg_.id) return;
  const bool asks_vote =
      m.kind == message_kind::vote_request || m.kind == message_kind::prevote_request;
  if (m.term > term_) {
    if (asks_vote && !m.transfer && in_lease()) return;
    const bool keeps_term = m.kind == message_kind::prevote_request ||
                            (m.kind == message_kind::prevote_response && !m.reject);
    if (!keeps_term) {
      const bool from_leader = m.kind == message_kind::append ||
                               m.kind == message_kind::heartbeat ||
                               m.kind == message_kind::snapshot;
      become_follower(m.term, from_leader ? m.from : no_node);
    }
  } else if (m.term < term_) {
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (m.kind == message_kind::append || m.kind == message_kind::heartbeat)) {
      // A leader of an older term: this node's higher term (raised while it was cut off)
      // reaches it and makes it step down, or this node could never rejoin: it cannot win
      // a pre-vote with its log and would refuse the leader's appends for ever.
      send({message_kind::append_response, cfg_.id, m.from, term_});
    } else if (m.kind == message_kind::prevote_request) {
      message no{message_kind::prevote_response, cfg_.id, m.from, term_};
      no.reject = true;
      send(std::move(no));
    }
    return;  // anything else of an older term is stale
  }
  if (asks_vote) return handle_vote_request(m);
  switch (role_) {
    case role::leader:
      return step_leader(m);
    case role::candidate:
    case role::pre_candidate:
      return step_candidate(m);
    case role::follower:
      return step_follower(m);
  }
}

void core::handle_vote_request(const message& m) {
  const bool pre = m.kind == message_kind::prevote_request;
  const bool can_vote =
      !rejoining_ &&
      (vote_ == m.from || (vote_ == no_node && leader_ == no_node) || (pre && m.term > term_));
  message answer{pre ? message_kind::prevote_response : message_kind::vote_response, cfg_.id,
                 m.from, term_};
  if (can_vote && log_up_to_date(m.index, m.log_term)) {
    answer.term = m.term;  // a granted pre-vote carries the term the candidate will run for
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;  // durable before the answer leaves: answers wait for persisted()
    }
  } else {
    answer.reject = true;
  }
  send(std::move(answer));
}

void core::step_leader(const message& m) {
  if (m.kind == message_kind::append_response) return handle_append_response(m);
  if (m.kind == message_kind::heartbeat_response) return handle_heartbeat_response(m);
  // Vote answers after winning, another leader of this term (impossible): nothing to do.
}

void core::step_candidate(const message& m) {
  switch (m.kind) {
    case message_kind::append:
      become_follower(term_, m.from);
      return handle_append(m);
    case message_kind::heartbeat:
      become_follower(term_, m.from);
      return handle_heartbeat(m);
    case message_kind::snapshot:
      become_follower(term_, m.from);
      return handle_snapshot(m);
    case message_kind::prevote_response:
    case message_kind::vote_response: {
      const bool mine =
          (m.kind == message_kind::prevote_response) == (role_ == role::pre_candidate);
      if (!mine) return;
      const auto won = poll(m.from, !m.reject);
      if (!won) return;
      if (!*won) return become_follower(term_, no_node);
      if (role_ == role::pre_candidate) return campaign(false, false);
      return become_leader();
    }
    default:
      return;
  }
}

void core::step_follower(const message& m) {
  switch (m.kind) {
    case message_kind::append:
      election_elapsed_ = 0;
      leader_ = m.from;
      return handle_append(m);
    case message_kind::heartbeat:
      election_elapsed_ = 0;
      leader_ = m.from;
      return handle_heartbeat(m);
    case message_kind::snapshot:
      election_elapsed_ = 0;
      leader_ = m.from;
      return handle_snapshot(m);
    case message_kind::timeout_now:
      // The leader hands over: campaign at once, past the others' leases (not while this
      // replica is still catching up after losing its storage).
      if (rejoining_) return;
      return campaign(false, true);
    default:
      return;
  }
}

void core::handle_append(const message& m) {
  message answer{message_kind::append_response, cfg_.id, m.from, term_};
  if (m.index < log_.committed()) {
    answer.index = log_.committed();  // a stale append: what we have is committed anyway
    return send(std::move(answer));
  }
  if (!log_.matches(m.index, m.log_term)) {
    answer.reject = true;
    answer.index = m.index;
    answer.hint_index = log_.last_at_or_before(std::min(m.index, log_.last_index()), m.log_term);
    answer.hint_term = log_.term_at(answer.hint_index).value_or(0);
    return send(std::move(answer));
  }
  if (rejoining_ && !catch_up_to_) catch_up_to_ = m.commit;
  const index_t last_new = m.index + m.entries.size();
  log_.append(m.entries);
  matched_with_leader_ = std::max(matched_with_leader_, last_new);
  leader_commit_hint_ = std::max(leader_commit_hint_, m.commit);
  follower_commit();
  answer.index = last_new;
  send(std::move(answer));
}

void core::handle_heartbeat(const message& m) {
  // The leader sends min(its commit, what it knows this log matches): safe as it is, up to
  // what is durable here.
  log_.commit_to(std::min({m.commit, log_.persisted(), log_.last_index()}));
  leader_commit_hint_ = std::max(leader_commit_hint_, m.commit);
  message answer{message_kind::heartbeat_response, cfg_.id, m.from, term_};
  answer.context = m.context;
  if (m.commit > log_.last_index()) {
    // The leader counts entries this log does not have: it lost them (a replica restarted
    // with an empty data dir). Say where it ends, so that the leader sends the rest again.
    answer.reject = true;
    answer.hint_index = log_.last_index();
  }
  send(std::move(answer));
}

void core::handle_snapshot(const message& m) {
  message answer{message_kind::append_response, cfg_.id, m.from, term_};
  const snapshot_meta snapshot{m.index, m.log_term};
  if (snapshot.index <= log_.committed()) {
    answer.index = log_.committed();
    return send(std::move(answer));
  }
  if (!log_.matches(snapshot.index, snapshot.term)) {
    log_.restore(snapshot);
    snapshot_out_ = snapshot;
    applied_handed_ = snapshot.index;
  }
  matched_with_leader_ = std::max(matched_with_leader_, snapshot.index);
  leader_commit_hint_ = std::max(leader_commit_hint_, snapshot.index);
  follower_commit();
  answer.index = snapshot.index;
  send(std::move(answer));
}

void core::follower_commit() {
  log_.commit_to(std::min({leader_commit_hint_, matched_with_leader_, log_.persisted()}));
  if (rejoining_ && catch_up_to_ && log_.committed() >= *catch_up_to_) rejoining_ = false;
}

void core::handle_append_response(const message& m) {
  const auto found = progress_.find(m.from);
  if (found == progress_.end()) return;
  progress& pr = found->second;
  pr.recent_active = true;
  if (m.reject) {
    if (pr.state == progress::mode::snapshot) return;
    const bool stale =
        pr.state == progress::mode::probe ? m.index != pr.next - 1 : m.index <= pr.match;
    if (stale) return;
    const index_t candidate = backtrack(m.hint_index, m.hint_term);
    pr.next = std::max(pr.match + 1, std::min(candidate + 1, m.index));
    pr.state = progress::mode::probe;
    pr.probe_sent = false;
    pr.inflight.clear();
    pr.inflight_bytes = 0;
    send_append(m.from, true);
    return;
  }
  const bool moved = m.index > pr.match;
  pr.match = std::max(pr.match, m.index);
  pr.next = std::max(pr.next, m.index + 1);
  while (!pr.inflight.empty() && pr.inflight.front().first <= m.index) {
    pr.inflight_bytes -= pr.inflight.front().second;
    pr.inflight.pop_front();
  }
  if (pr.state == progress::mode::snapshot) {
    if (pr.match < pr.pending_snapshot) return;
    pr.pending_snapshot = 0;
    pr.state = progress::mode::probe;
  }
  if (pr.state == progress::mode::probe) {
    pr.state = progress::mode::replicate;
    pr.next = pr.match + 1;
  }
  pr.probe_sent = false;
  if (moved) {
    const index_t committed = log_.committed();
    maybe_commit();
    if (log_.committed() > committed) broadcast_pending_ = true;
  }
  while (send_append(m.from, false)) {
  }
  if (m.from == transferee_ && pr.match == log_.last_index())
    send({message_kind::timeout_now, cfg_.id, m.from, term_});
}

void core::handle_heartbeat_response(const message& m) {
  const auto found = progress_.find(m.from);
  if (found == progress_.end()) return;
  progress& pr = found->second;
  pr.recent_active = true;
  pr.probe_sent = false;
  if (m.reject && m.hint_index < pr.match) {
    // The follower lost entries it had acknowledged (its disk was replaced): the only case
    // in which a match index goes down. Probe from where its log ends.
    pr.match = m.hint_index;
    pr.next = m.hint_index + 1;
    pr.state = progress::mode::probe;
    pr.pending_snapshot = 0;
    pr.inflight.clear();
    pr.inflight_bytes = 0;
  }
  // The follower is there, but every append in flight to it may have been lost (a partition,
  // a dropped frame, a restart): with every slot taken nothing more would be sent, and
  // nothing would reveal the gap. Free the oldest slot, so that one append goes out and the
  // follower's answer (a refusal if it lacks what came before) sets the pace again (etcd/raft
  // does the same). Found by seatsim seed 41722 with one-entry appends.
  if (pr.state == progress::mode::replicate && !pr.inflight.empty() &&
      (pr.inflight.size() >= cfg_.inflight_max || pr.inflight_bytes >= cfg_.inflight_bytes_max)) {
    pr.inflight_bytes -= pr.inflight.front().second;
    pr.inflight.pop_front();
  }
  if (pr.match < log_.last_index()) send_append(m.from, true);
  if (m.context == 0) return;
  for (pending_read& read : reads_)
    if (read.round <= m.context) read.acks.insert(m.from);
  release_reads();
}

// ---- messages out -------------------------------------------------------------------------

void core::send(message m) {
  m.from = cfg_.id;
  if (m.term == 0) m.term = term_;
  // A leader's replication traffic depends only on its term, durable since it campaigned;
  // everything else waits for the ready's writes (a vote, a log it acknowledges).
  const bool replication = m.kind == message_kind::append || m.kind == message_kind::heartbeat ||
                           m.kind == message_kind::snapshot || m.kind == message_kind::timeout_now;
  const bool durable = hard_persisted_ == hard_state{term_, vote_};
  if (role_ == role::leader && replication && durable)
    out_now_.push_back(std::move(m));
  else
    out_after_.push_back(std::move(m));
}

bool core::send_append(node_id to, bool even_if_empty) {
  progress& pr = progress_.at(to);
  if (pr.state == progress::mode::snapshot) return false;
  if (pr.state == progress::mode::probe && pr.probe_sent) return false;
  if (pr.state == progress::mode::replicate &&
      (pr.inflight.size() >= cfg_.inflight_max || pr.inflight_bytes >= cfg_.inflight_bytes_max))
    return false;
  const index_t prev = pr.next - 1;
  const auto prev_term = log_.term_at(prev);
  if (!prev_term) {
    // What the follower lacks is only in a snapshot now.
    message m{message_kind::snapshot, cfg_.id, to, term_};
    m.index = log_.base().index;
    m.log_term = log_.base().term;
    pr.state = progress::mode::snapshot;
    pr.pending_snapshot = m.index;
    send(std::move(m));
    return true;
  }
  message m{message_kind::append, cfg_.id, to, term_};
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  if (pr.next <= log_.last_index()) {
    const bool one = common::fires(cfg_.faults, common::fault_point::raft_one_entry_appends);
    m.entries = log_.slice(pr.next, one ? pr.next : log_.last_index(), cfg_.message_bytes_max);
  }
  if (m.entries.empty() && !even_if_empty) return false;
  if (pr.state == progress::mode::probe) {
    pr.probe_sent = true;
  } else if (!m.entries.empty()) {
    std::size_t bytes = 0;
    for (const entry& e : m.entries)
      bytes += e.data.size();
    pr.next = m.entries.back().index + 1;  // optimistic: pipelined
    pr.inflight.emplace_back(m.entries.back().index, bytes);
    pr.inflight_bytes += bytes;
  }
  send(std::move(m));
  return true;
}

void core::broadcast_append() {
  for (auto& [to, pr] : progress_) {
    if (!send_append(to, true)) continue;
    while (pr.state == progress::mode::replicate && send_append(to, false)) {
    }
  }
}

void core::broadcast_heartbeat(std::uint64_t context) {
  for (const auto& [to, pr] : progress_) {
    message m{message_kind::heartbeat, cfg_.id, to, term_};
    m.commit = std::min(pr.match, log_.committed());
    m.context = context;
    send(std::move(m));
  }
}

void core::maybe_commit() {
  std::vector<index_t> matches{log_.persisted()};  // this node counts once its write is durable
  for (const auto& [n, pr] : progress_)
    matches.push_back(pr.match);
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const index_t agreed = matches[quorum() - 1];
  // Only an entry of this term is committed by counting (Raft's Figure 8); earlier ones
  // follow it.
  if (agreed > log_.committed() && log_.term_at(agreed) == term_) log_.commit_to(agreed);
}

void core::release_reads() {
  while (!reads_.empty() && reads_.front().acks.size() + 1 >= quorum()) {
    confirmed_reads_.push_back({reads_.front().context, reads_.front().index});
    reads_.pop_front();
  }
}

index_t core::backtrack(index_t hint_index, term_t hint_term) const {
  return log_.last_at_or_before(std::min(hint_index, log_.last_index()), hint_term);
}

// ---- the caller's calls -------------------------------------------------------------------

std::optional<refusal> core::propose(std::vector<std::uint8_t> data, index_t* index) {
  if (role_ != role::leader) return refusal::not_leader;
  if (transferee_ != no_node) return refusal::transferring;
  const index_t at = log_.last_index() + 1;
  log_.append({entry{term_, at, entry_kind::command, std::move(data)}});
  if (index) *index = at;
  broadcast_pending_ = true;
  return std::nullopt;
}

void core::transfer_leadership(node_id to) {
  if (role_ != role::leader || to == cfg_.id || !is_voter(to) || transferee_ == to) return;
  transferee_ = to;
  election_elapsed_ = 0;  // the transfer has one election timeout to complete
  if (progress_.at(to).match == log_.last_index())
    send({message_kind::timeout_now, cfg_.id, to, term_});
  else
    send_append(to, true);
}

std::optional<refusal> core::read_index(std::uint64_t context) {
  if (role_ != role::leader) return refusal::not_leader;
  // Until an entry of its own term is committed, a new leader does not know the commit
  // index of the group.
  if (log_.term_at(log_.committed()) != term_) return refusal::not_ready;
  reads_.push_back({context, log_.committed(), ++read_round_, {}});
  if (quorum() == 1)
    release_reads();
  else
    broadcast_heartbeat(read_round_);
  return std::nullopt;
}

void core::report_snapshot(node_id to, bool delivered) {
  const auto found = progress_.find(to);
  if (found == progress_.end() || found->second.state != progress::mode::snapshot) return;
  progress& pr = found->second;
  if (delivered) pr.next = pr.pending_snapshot + 1;
  pr.pending_snapshot = 0;
  pr.state = progress::mode::probe;
  pr.probe_sent = delivered;  // wait for the follower's answer to the snapshot
}

void core::compact(index_t index) {
  log_.compact(std::min({index, log_.committed(), log_.persisted(), applied_handed_}));
}

bool core::has_ready() const {
  return !out_now_.empty() || !out_after_.empty() || log_.has_unstable() || snapshot_out_ ||
         hard_state{term_, vote_} != hard_handed_ || log_.committed() > applied_handed_ ||
         !confirmed_reads_.empty() || leadership_lost_ ||
         (broadcast_pending_ && role_ == role::leader);
}

ready core::take_ready() {
  if (broadcast_pending_ && role_ == role::leader) broadcast_append();
  broadcast_pending_ = false;
  ready r;
  r.id = next_ready_id_++;
  const hard_state now{term_, vote_};
  if (now != hard_handed_) r.hard = hard_handed_ = now;
  r.snapshot = std::exchange(snapshot_out_, std::nullopt);
  r.entries = log_.take_unstable();
  r.messages_now = std::exchange(out_now_, {});
  r.messages = std::exchange(out_after_, {});
  for (index_t i = applied_handed_ + 1; i <= log_.committed(); ++i)
    r.committed.push_back(log_.at(i));
  applied_handed_ = std::max(applied_handed_, log_.committed());
  r.reads = std::exchange(confirmed_reads_, {});
  r.leadership_lost = std::exchange(leadership_lost_, false);
  handed_.push_back({r.id, log_.last_index(), log_.last_term(), hard_handed_});
  return r;
}

void core::persisted(std::uint64_t ready_id) {
  while (!handed_.empty() && handed_.front().id <= ready_id) {
    const handed_out& h = handed_.front();
    log_.persisted_to(h.last_index, h.last_term);
    hard_persisted_ = h.hard;
    handed_.pop_front();
  }
  if (role_ == role::leader) {
    const index_t committed = log_.committed();
    maybe_commit();
    if (log_.committed() > committed) broadcast_pending_ = true;
  } else {
    follower_commit();
  }
}

}  // namespace seatd::cluster::raft

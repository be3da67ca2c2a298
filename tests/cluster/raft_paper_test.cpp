// The Raft core, rule by rule: transcripts where a core (or a few) is driven message by
// message and the exact messages and states that come out are checked. The rules are those
// of Raft's paper (section 5, Figures 7 and 8) and the ones cluster/raft/core.hpp lists
// (durability before answers, pre-vote, check-quorum, leases, flow control, snapshots,
// transfer, read index, crashes that lose an unsynced tail). Scenarios that need several
// nodes and a network use raft_net.hpp; everything else drives take_ready() by hand.

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "raft_net.hpp"

using namespace seatd::test::raft;

namespace {

const std::vector<node_id> three{1, 2, 3};
const std::vector<node_id> five{1, 2, 3, 4, 5};

entry cmd(index_t index, term_t term, const std::string& data = "") {
  return entry{term, index, entry_kind::command, bytes(data)};
}
entry noop(index_t index, term_t term) {
  return entry{term, index, entry_kind::noop, {}};
}

// A log of commands with these terms, from index 1.
std::vector<entry> log_of(const std::vector<term_t>& terms) {
  std::vector<entry> out;
  for (std::size_t i = 0; i < terms.size(); ++i)
    out.push_back(cmd(i + 1, terms[i]));
  return out;
}

std::vector<entry> entries_of(const raft_log& log) {
  std::vector<entry> out;
  for (index_t i = log.first_index(); i <= log.last_index(); ++i)
    out.push_back(log.at(i));
  return out;
}
std::vector<term_t> terms_of(const raft_log& log) {
  std::vector<term_t> out;
  for (index_t i = log.first_index(); i <= log.last_index(); ++i)
    out.push_back(log.at(i).term);
  return out;
}
std::vector<std::pair<index_t, term_t>> positions(const std::vector<entry>& entries) {
  std::vector<std::pair<index_t, term_t>> out;
  for (const entry& e : entries)
    out.emplace_back(e.index, e.term);
  return out;
}
std::vector<std::string> commands_of(const std::vector<entry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries)
    if (e.kind == entry_kind::command) out.emplace_back(e.data.begin(), e.data.end());
  return out;
}

restored_state restored(term_t term, node_id vote, std::vector<entry> entries = {},
                        snapshot_meta snapshot = {}) {
  return restored_state{hard_state{term, vote}, snapshot, std::move(entries)};
}

std::unique_ptr<core> make(node_id id, const std::vector<node_id>& voters,
                           restored_state state = {}, const tuning& tune = {},
                           std::uint64_t seed = 0) {
  return std::make_unique<core>(config_for(id, voters, false, false, tune), std::move(state),
                                seed == 0 ? id : seed);
}

// Takes a ready and reports its writes durable at once (what a node does with a fast disk).
ready flush(core& c) {
  ready r = c.take_ready();
  c.persisted(r.id);
  return r;
}

// Ticks a follower (or candidate) until it campaigns; returns how many ticks that took.
int campaign(core& c) {
  const term_t term = c.term();
  const role before = c.current_role();
  int ticks = 0;
  while (c.term() == term && c.current_role() == before && ticks < 1000) {
    c.tick();
    ++ticks;
  }
  REQUIRE(ticks < 1000);
  return ticks;
}

message vote_granted(node_id from, node_id to, term_t term) {
  return message{.kind = message_kind::vote_response, .from = from, .to = to, .term = term};
}
message vote_refused(node_id from, node_id to, term_t term) {
  return message{
      .kind = message_kind::vote_response, .from = from, .to = to, .term = term, .reject = true};
}
message append_ok(node_id from, node_id to, term_t term, index_t index) {
  return message{
      .kind = message_kind::append_response, .from = from, .to = to, .term = term, .index = index};
}
message append_refused(node_id from, node_id to, term_t term, index_t index, index_t hint_index,
                       term_t hint_term) {
  return message{.kind = message_kind::append_response,
                 .from = from,
                 .to = to,
                 .term = term,
                 .index = index,
                 .reject = true,
                 .hint_index = hint_index,
                 .hint_term = hint_term};
}
message append(node_id from, node_id to, term_t term, index_t index, term_t log_term,
               std::vector<entry> entries, index_t commit) {
  return message{.kind = message_kind::append,
                 .from = from,
                 .to = to,
                 .term = term,
                 .index = index,
                 .log_term = log_term,
                 .entries = std::move(entries),
                 .commit = commit};
}
message heartbeat(node_id from, node_id to, term_t term, index_t commit,
                  std::uint64_t context = 0) {
  return message{.kind = message_kind::heartbeat,
                 .from = from,
                 .to = to,
                 .term = term,
                 .commit = commit,
                 .context = context};
}
message heartbeat_answer(node_id from, node_id to, term_t term, std::uint64_t context = 0) {
  return message{.kind = message_kind::heartbeat_response,
                 .from = from,
                 .to = to,
                 .term = term,
                 .context = context};
}
message vote_request(node_id from, node_id to, term_t term, index_t index, term_t log_term) {
  return message{.kind = message_kind::vote_request,
                 .from = from,
                 .to = to,
                 .term = term,
                 .index = index,
                 .log_term = log_term};
}

// Makes `c` (a follower, pre-vote off) the leader of the next term: it campaigns, its term
// and vote become durable, and the other voters grant in turn until it wins. Returns the
// ready that carries its no-op and first appends (taken, not yet persisted).
ready elect(core& c, const std::vector<node_id>& voters) {
  campaign(c);
  REQUIRE(c.current_role() == role::candidate);
  flush(c);
  for (node_id v : voters) {
    if (v == c.id() || c.current_role() == role::leader) continue;
    c.step(vote_granted(v, c.id(), c.term()));
  }
  REQUIRE(c.current_role() == role::leader);
  return c.take_ready();
}

std::vector<message> to_node(const std::vector<message>& messages, node_id to) {
  std::vector<message> out;
  for (const message& m : messages)
    if (m.to == to) out.push_back(m);
  return out;
}

std::vector<message> of_kind(const std::vector<message>& messages, message_kind kind) {
  std::vector<message> out;
  for (const message& m : messages)
    if (m.kind == kind) out.push_back(m);
  return out;
}

// Ticks `id` alone until its term rises (a campaign without pre-vote), then lets the network
// settle; again until it reached `term`.
void campaign_until(network& net, node_id id, term_t term) {
  for (int round = 0; round < 10 && net.raft(id).term() < term; ++round) {
    const term_t before = net.raft(id).term();
    for (int t = 0; t < 100 && net.raft(id).term() == before; ++t)
      net.tick(id);
    net.settle();
  }
  REQUIRE(net.raft(id).term() == term);
}

}  // namespace

// ---- Raft's paper, section 5: roles and terms ---------------------------------------------

TEST_CASE("raft: a node starts as a follower with its restored term and vote", "[unit][raft]") {
  auto c = make(1, three, restored(5, 2, log_of({1, 3})));
  CHECK(c->current_role() == role::follower);
  CHECK(c->term() == 5);
  CHECK(c->vote() == 2);
  CHECK(c->leader() == no_node);
  CHECK(c->log().last_index() == 2);
  CHECK(c->log().persisted() == 2);  // what was read back is durable
  CHECK(c->log().committed() == 0);  // but not known committed
  CHECK_FALSE(c->has_ready());       // nothing to write again

  // The restored vote binds this term: another candidate is refused, the same one granted.
  c->step(vote_request(3, 1, 5, 9, 9));
  ready r = flush(*c);
  CHECK_FALSE(r.hard);
  CHECK(r.messages == std::vector<message>{vote_refused(1, 3, 5)});
  c->step(vote_request(2, 1, 5, 2, 3));
  r = flush(*c);
  CHECK(r.messages == std::vector<message>{vote_granted(1, 2, 5)});
}

TEST_CASE(
    "raft: a node that sees a higher term takes it and becomes a follower, whatever the "
    "message",
    "[unit][raft]") {
  const std::vector<message_kind> kinds{
      message_kind::vote_request, message_kind::vote_response,
      message_kind::append,       message_kind::append_response,
      message_kind::heartbeat,    message_kind::heartbeat_response,
      message_kind::snapshot,     message_kind::prevote_response,  // a refusal
      message_kind::timeout_now};
  for (const role start : {role::follower, role::candidate, role::leader}) {
    for (const message_kind kind : kinds) {
      CAPTURE(start, kind);
      auto c = make(1, three, restored(1, no_node));
      if (start == role::candidate) {
        campaign(*c);
        flush(*c);
      } else if (start == role::leader) {
        elect(*c, three);
        flush(*c);
      }
      REQUIRE(c->current_role() == start);
      const term_t higher = c->term() + 3;
      message m{.kind = kind, .from = 3, .to = 1, .term = higher};
      m.reject = kind == message_kind::prevote_response;
      c->step(m);
      const bool from_leader = kind == message_kind::append || kind == message_kind::heartbeat ||
                               kind == message_kind::snapshot;
      if (kind == message_kind::timeout_now) {
        // It took the term, then campaigned at once as the (higher-term) leader asked.
        CHECK(c->current_role() == role::candidate);
        CHECK(c->term() == higher + 1);
      } else {
        CHECK(c->current_role() == role::follower);
        CHECK(c->term() == higher);
        CHECK(c->leader() == (from_leader ? node_id{3} : no_node));
      }
      ready r = c->take_ready();
      REQUIRE(r.hard);
      CHECK(r.hard->term == c->term());
      CHECK(r.leadership_lost == (start == role::leader));
    }
  }
}

TEST_CASE("raft: messages of an older term are ignored, but for the stale-leader reply",
          "[unit][raft]") {
  const std::vector<message_kind> kinds{
      message_kind::prevote_request, message_kind::prevote_response,
      message_kind::vote_request,    message_kind::vote_response,
      message_kind::append,          message_kind::append_response,
      message_kind::heartbeat,       message_kind::heartbeat_response,
      message_kind::snapshot,        message_kind::timeout_now};
  for (const bool check_quorum : {false, true}) {
    for (const message_kind kind : kinds) {
      CAPTURE(check_quorum, kind);
      auto c = make(1, three, restored(3, no_node, log_of({1})),
                    [&](config& cfg) { cfg.check_quorum = check_quorum; });
      message m{.kind = kind, .from = 2, .to = 1, .term = 2, .index = 1, .log_term = 1};
      m.entries =
          kind == message_kind::append ? std::vector<entry>{cmd(2, 2)} : std::vector<entry>{};
      m.commit = 1;
      c->step(m);
      CHECK(c->current_role() == role::follower);
      CHECK(c->term() == 3);
      CHECK(c->vote() == no_node);
      CHECK(c->leader() == no_node);
      CHECK(c->log().last_index() == 1);
      CHECK(c->log().committed() == 0);
      std::vector<message> expected;
      if (kind == message_kind::prevote_request) {
        // A pre-candidate behind us learns it cannot win (and our term).
        expected.push_back(message{
            .kind = message_kind::prevote_response, .from = 1, .to = 2, .term = 3, .reject = true});
      } else if (check_quorum &&
                 (kind == message_kind::append || kind == message_kind::heartbeat)) {
        // A leader of an older term learns ours, so it steps down (see the stale-term test).
        expected.push_back(append_ok(1, 2, 3, 0));
      }
      const ready r = flush(*c);
      CHECK(r.messages_now.empty());
      CHECK(r.messages == expected);
      CHECK_FALSE(r.hard);
    }
  }

  SECTION("a leader ignores an older term's answers") {
    auto c = make(1, three, restored(1, no_node));
    elect(*c, three);  // term 2
    flush(*c);
    c->step(append_ok(2, 1, 1, 1));
    c->step(append_refused(3, 1, 1, 0, 0, 0));
    c->step(vote_refused(2, 1, 1));
    CHECK(c->current_role() == role::leader);
    CHECK(c->followers().at(2).match == 0);
    CHECK(c->followers().at(3).next == 1);
    CHECK(c->log().committed() == 0);
    CHECK_FALSE(c->has_ready());
  }
}

// ---- section 5.2: elections ------------------------------------------------------------------

TEST_CASE(
    "raft: a follower campaigns after its election timeout: term+1, a vote for itself, a "
    "request to every other voter with its last persisted entry",
    "[unit][raft]") {
  auto c = make(1, five, restored(4, 3, log_of({1, 2, 4})));
  const int ticks = campaign(*c);
  CHECK(ticks >= 10);
  CHECK(ticks < 20);
  CHECK(c->current_role() == role::candidate);
  CHECK(c->term() == 5);
  CHECK(c->vote() == 1);
  const ready r = c->take_ready();
  CHECK(r.hard == hard_state{5, 1});
  CHECK(r.messages_now.empty());  // nothing leaves before the term and vote are durable
  std::vector<message> expected;
  for (node_id to : {2u, 3u, 4u, 5u})
    expected.push_back(vote_request(1, to, 5, 3, 4));
  CHECK(r.messages == expected);
}

TEST_CASE("raft: election timeouts are randomized from T up to 2T and differ between nodes",
          "[unit][raft]") {
  std::set<int> seen;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    auto c = make(1, three, {}, {}, seed);
    const int first = campaign(*c);
    CHECK(first >= 10);
    CHECK(first < 20);
    seen.insert(first);
    // A candidate that hears nothing campaigns again, after a fresh random timeout.
    flush(*c);
    const int again = campaign(*c);
    CHECK(again >= 10);
    CHECK(again < 20);
    CHECK(c->term() == 2);
  }
  CHECK(seen.size() >= 5);  // spread over the range, not one value for everyone

  // In a group, nodes with different seeds do not all time out together.
  network net({1, 2, 3, 4, 5});
  std::set<int> group;
  for (node_id id : {1u, 2u, 3u, 4u, 5u}) {
    int t = 0;
    while (net.raft(id).current_role() == role::follower) {
      net.tick(id);
      ++t;
    }
    group.insert(t);
  }
  CHECK(group.size() > 1);
}

TEST_CASE(
    "raft: a candidate wins on a majority of votes, loses on a majority of refusals, and "
    "waits otherwise",
    "[unit][raft]") {
  struct row {
    std::vector<node_id> voters;
    std::vector<std::pair<node_id, bool>> answers;
    role expected;
  };
  const std::vector<row> rows{
      {three, {{2, true}}, role::leader},
      {three, {{2, false}}, role::candidate},
      {three, {{2, false}, {3, false}}, role::follower},
      {three, {{2, false}, {3, true}}, role::leader},
      {five, {{2, true}}, role::candidate},
      {five, {{2, true}, {2, true}}, role::candidate},  // one voter counts once
      {five, {{2, true}, {3, true}}, role::leader},
      {five, {{2, false}, {3, false}}, role::candidate},
      {five, {{2, false}, {3, false}, {4, false}}, role::follower},
      {five, {{2, false}, {2, true}, {3, true}}, role::candidate},  // its first answer counts
      {five, {{2, true}, {3, false}, {4, false}, {5, true}}, role::leader},
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    const row& row = rows[i];
    auto c = make(1, row.voters);
    campaign(*c);
    flush(*c);
    for (const auto& [from, granted] : row.answers)
      c->step(granted ? vote_granted(from, 1, 1) : vote_refused(from, 1, 1));
    CHECK(c->current_role() == row.expected);
    CHECK(c->term() == 1);
    CHECK(c->vote() == 1);
    CHECK(c->leader() == (row.expected == role::leader ? node_id{1} : no_node));
  }
}

TEST_CASE("raft: a candidate that hears a leader of its term becomes its follower",
          "[unit][raft]") {
  for (const message_kind kind : {message_kind::append, message_kind::heartbeat}) {
    CAPTURE(kind);
    auto c = make(1, three);
    campaign(*c);
    flush(*c);
    REQUIRE(c->term() == 1);
    c->step(kind == message_kind::append ? append(3, 1, 1, 0, 0, {}, 0) : heartbeat(3, 1, 1, 0));
    CHECK(c->current_role() == role::follower);
    CHECK(c->term() == 1);
    CHECK(c->vote() == 1);  // the vote of this term stays cast
    CHECK(c->leader() == 3);
    const ready r = flush(*c);
    CHECK(r.messages.size() == 1);
    CHECK(r.messages.at(0).to == 3);
  }
}

TEST_CASE("raft: a candidate campaigns again when its timeout passes without a winner",
          "[unit][raft]") {
  auto c = make(1, three);
  campaign(*c);
  flush(*c);
  c->step(vote_refused(2, 1, 1));  // one refusal: undecided
  const int ticks = campaign(*c);
  CHECK(ticks >= 10);
  CHECK(ticks < 20);
  CHECK(c->current_role() == role::candidate);
  CHECK(c->term() == 2);
  CHECK(c->vote() == 1);
  const ready r = c->take_ready();
  CHECK(r.hard == hard_state{2, 1});
  CHECK(r.messages ==
        std::vector<message>{vote_request(1, 2, 2, 0, 0), vote_request(1, 3, 2, 0, 0)});
  // The refusal of the last term does not count in this one.
  c->persisted(r.id);
  c->step(vote_granted(3, 1, 2));
  CHECK(c->current_role() == role::leader);
}

TEST_CASE(
    "raft: a voter grants one vote per term, to a candidate whose log is at least as "
    "up to date",
    "[unit][raft]") {
  // The voter's log ends at (index 2, term 2); it is in term 2 and has not voted.
  struct row {
    index_t index;
    term_t log_term;
    bool granted;
  };
  const std::vector<row> rows{
      {2, 2, true},   // the same last entry
      {3, 2, true},   // longer, same last term
      {1, 3, true},   // shorter but a later last term
      {1, 2, false},  // shorter, same last term
      {5, 1, false},  // longer but an earlier last term
      {0, 0, false},  // empty
  };
  for (const row& row : rows) {
    CAPTURE(row.index, row.log_term);
    auto c = make(1, three, restored(2, no_node, log_of({1, 2})));
    c->step(vote_request(2, 1, 3, row.index, row.log_term));
    CHECK(c->term() == 3);
    CHECK(c->vote() == (row.granted ? node_id{2} : no_node));
    const ready r = flush(*c);
    CHECK(r.hard == hard_state{3, row.granted ? node_id{2} : no_node});
    CHECK(r.messages ==
          std::vector<message>{row.granted ? vote_granted(1, 2, 3) : vote_refused(1, 2, 3)});
  }

  SECTION("one vote per term: a second candidate is refused, the first one's retry granted") {
    auto c = make(1, three, restored(2, no_node, log_of({1, 2})));
    c->step(vote_request(2, 1, 3, 2, 2));
    flush(*c);
    c->step(vote_request(3, 1, 3, 9, 3));  // a better log, but the vote is cast
    CHECK(flush(*c).messages == std::vector<message>{vote_refused(1, 3, 3)});
    c->step(vote_request(2, 1, 3, 2, 2));  // a duplicate of the granted request
    CHECK(flush(*c).messages == std::vector<message>{vote_granted(1, 2, 3)});
    CHECK(c->vote() == 2);
    // A new term frees the vote.
    c->step(vote_request(3, 1, 4, 9, 3));
    CHECK(flush(*c).messages == std::vector<message>{vote_granted(1, 3, 4)});
  }
  SECTION("a follower that knows a leader of this term does not vote in it") {
    auto c = make(1, three, restored(2, no_node, log_of({1, 2})));
    c->step(heartbeat(3, 1, 2, 0));
    flush(*c);
    c->step(vote_request(2, 1, 2, 5, 2));
    CHECK(flush(*c).messages == std::vector<message>{vote_refused(1, 2, 2)});
  }
}

// ---- section 5.3: log replication -------------------------------------------------------------

TEST_CASE("raft: a new leader's first entry is a no-op of its term, sent to every follower",
          "[unit][raft]") {
  auto c = make(1, three, restored(1, no_node, log_of({1, 1})));
  const ready r = elect(*c, three);  // term 2
  CHECK(c->term() == 2);
  CHECK(c->leader() == 1);
  CHECK(r.entries == std::vector<entry>{noop(3, 2)});
  // Appends need only the term, durable since the campaign: they leave before the write.
  CHECK(r.messages_now == std::vector<message>{append(1, 2, 2, 2, 1, {noop(3, 2)}, 0),
                                               append(1, 3, 2, 2, 1, {noop(3, 2)}, 0)});
  CHECK(r.messages.empty());
  CHECK(c->propose(bytes("a")) == std::nullopt);
  CHECK(c->log().last_index() == 4);
}

TEST_CASE(
    "raft: a leader replicates a proposal, commits it once a majority has it, and "
    "followers commit what the leader says",
    "[unit][raft]") {
  auto leader = make(1, three);
  auto f2 = make(2, three);
  auto f3 = make(3, three);
  ready r = elect(*leader, three);  // term 1, no-op at 1
  leader->persisted(r.id);
  // Follower 2 takes the no-op and answers once it is durable.
  f2->step(r.messages_now.at(0));
  ready r2 = f2->take_ready();
  CHECK(r2.hard == hard_state{1, no_node});
  CHECK(r2.entries == std::vector<entry>{noop(1, 1)});
  CHECK(r2.messages_now.empty());
  CHECK(r2.messages == std::vector<message>{append_ok(2, 1, 1, 1)});
  f2->persisted(r2.id);
  CHECK(f2->leader() == 1);
  CHECK(f2->log().committed() == 0);

  leader->step(r2.messages.at(0));
  CHECK(leader->log().committed() == 1);  // itself and follower 2: two of three
  r = flush(*leader);
  CHECK(r.committed == std::vector<entry>{noop(1, 1)});
  // The new commit index goes to follower 2 (replicating); follower 3's probe is unanswered.
  CHECK(r.messages_now == std::vector<message>{append(1, 2, 1, 1, 1, {}, 1)});

  REQUIRE(leader->propose(bytes("a")) == std::nullopt);
  r = leader->take_ready();
  CHECK(r.entries == std::vector<entry>{cmd(2, 1, "a")});
  CHECK(r.messages_now == std::vector<message>{append(1, 2, 1, 1, 1, {cmd(2, 1, "a")}, 1)});
  leader->persisted(r.id);
  CHECK(leader->log().committed() == 1);  // its own write alone is not a majority

  // Follower 2: the commit index first (it commits the no-op), then the entry.
  f2->step(append(1, 2, 1, 1, 1, {}, 1));
  r2 = flush(*f2);
  CHECK(r2.committed == std::vector<entry>{noop(1, 1)});
  CHECK(r2.messages == std::vector<message>{append_ok(2, 1, 1, 1)});
  f2->step(r.messages_now.at(0));
  r2 = flush(*f2);
  CHECK(r2.entries == std::vector<entry>{cmd(2, 1, "a")});
  CHECK(r2.messages == std::vector<message>{append_ok(2, 1, 1, 2)});

  leader->step(r2.messages.at(0));
  CHECK(leader->log().committed() == 2);
  r = flush(*leader);
  CHECK(r.committed == std::vector<entry>{cmd(2, 1, "a")});
  CHECK(r.messages_now == std::vector<message>{append(1, 2, 1, 2, 1, {}, 2)});
  f2->step(r.messages_now.at(0));
  r2 = flush(*f2);
  CHECK(r2.committed == std::vector<entry>{cmd(2, 1, "a")});

  // Follower 3 answers the old probe late: it gets everything, then the commit index.
  f3->step(append(1, 3, 1, 0, 0, {noop(1, 1)}, 0));
  leader->step(flush(*f3).messages.at(0));
  r = flush(*leader);
  CHECK(r.messages_now == std::vector<message>{append(1, 3, 1, 1, 1, {cmd(2, 1, "a")}, 2)});
  f3->step(r.messages_now.at(0));
  const ready r3 = flush(*f3);
  CHECK(r3.committed == std::vector<entry>{noop(1, 1)});  // "a" is not durable here yet
  CHECK(flush(*f3).committed == std::vector<entry>{cmd(2, 1, "a")});
  CHECK(leader->followers().at(3).match == 1);
  leader->step(r3.messages.at(0));
  CHECK(leader->followers().at(3).match == 2);
}

TEST_CASE("raft: a leader commits the entries of earlier terms with the first entry of its own",
          "[unit][raft]") {
  auto c = make(1, three, restored(2, no_node, log_of({1, 2, 2})));
  ready r = elect(*c, three);  // term 3, no-op at 4
  c->persisted(r.id);
  c->step(append_ok(2, 1, 3, 4));
  CHECK(c->log().committed() == 4);
  r = flush(*c);
  CHECK(r.committed == std::vector<entry>{cmd(1, 1), cmd(2, 2), cmd(3, 2), noop(4, 3)});
}

TEST_CASE("raft: a follower commits the leader's commit index up to what it matched",
          "[unit][raft]") {
  // Three entries of its own; whether they are the leader's it learns entry by entry.
  auto c = make(2, three, restored(1, no_node, log_of({1, 1, 1})));
  c->step(append(1, 2, 2, 1, 1, {}, 3));  // matches up to 1 only
  ready r = flush(*c);
  CHECK(c->log().committed() == 1);
  CHECK(r.committed == std::vector<entry>{cmd(1, 1)});
  CHECK(r.messages == std::vector<message>{append_ok(2, 1, 2, 1)});
  c->step(append(1, 2, 2, 2, 1, {}, 3));  // matches up to 2
  r = flush(*c);
  CHECK(c->log().committed() == 2);
  CHECK(r.committed == std::vector<entry>{cmd(2, 1)});
  c->step(append(1, 2, 2, 3, 1, {}, 2));  // up to 3; the leader's commit (3) never goes back
  r = flush(*c);
  CHECK(c->log().committed() == 3);
  CHECK(r.committed == std::vector<entry>{cmd(3, 1)});
  CHECK(r.messages == std::vector<message>{append_ok(2, 1, 2, 3)});
}

TEST_CASE(
    "raft: a follower appends what follows a matching entry and refuses the rest, with "
    "hints",
    "[unit][raft]") {
  // The follower's log: terms 1 2 2 3 at 1..4.
  struct row {
    index_t index;
    term_t log_term;
    std::vector<entry> entries;
    bool rejected;
    index_t hint_index;
    term_t hint_term;
    std::vector<term_t> log_after;
  };
  const std::vector<row> rows{
      {4, 3, {cmd(5, 4)}, false, 0, 0, {1, 2, 2, 3, 4}},          // follows the last entry
      {2, 2, {cmd(3, 4)}, false, 0, 0, {1, 2, 4}},                // a conflict: the suffix goes
      {0, 0, {cmd(1, 1), cmd(2, 2)}, false, 0, 0, {1, 2, 2, 3}},  // all known: nothing changes
      {1, 1, {cmd(2, 2)}, false, 0, 0, {1, 2, 2, 3}},  // a stale, shorter append truncates nothing
      {5, 3, {cmd(6, 3)}, true, 4, 3, {1, 2, 2, 3}},   // beyond the end: hint at the last entry
      {4, 4, {cmd(5, 4)}, true, 4, 3, {1, 2, 2, 3}},   // another term at 4
      {4, 2, {}, true, 3, 2, {1, 2, 2, 3}},            // skip back to the last entry of term <= 2
      {3, 1, {}, true, 1, 1, {1, 2, 2, 3}},            // a whole term skipped at once
  };
  for (const row& row : rows) {
    CAPTURE(row.index, row.log_term);
    auto c = make(2, three, restored(4, no_node, log_of({1, 2, 2, 3})));
    c->step(append(1, 2, 4, row.index, row.log_term, row.entries, 0));
    CHECK(terms_of(c->log()) == row.log_after);
    const ready r = flush(*c);
    const message expected = row.rejected
                                 ? append_refused(2, 1, 4, row.index, row.hint_index, row.hint_term)
                                 : append_ok(2, 1, 4, row.index + row.entries.size());
    CHECK(r.messages == std::vector<message>{expected});
  }
}

TEST_CASE("raft: a leader backs off and repairs a follower's log, whatever it holds (Figure 7)",
          "[unit][raft]") {
  // The leader of term 8 holds terms 1 1 1 4 4 5 5 6 6 6; its no-op goes at 11.
  const std::vector<term_t> leader_log{1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  struct row {
    const char* name;
    std::vector<term_t> follower_log;
    // The appends that carry entries to the follower, as (previous index, its term).
    std::vector<std::pair<index_t, term_t>> appends;
    std::optional<std::pair<index_t, term_t>> hint;  // of the follower's refusal
  };
  const std::vector<row> rows{
      {"a: one entry short", {1, 1, 1, 4, 4, 5, 5, 6, 6}, {{10, 6}, {9, 6}}, {{9, 6}}},
      {"b: far behind", {1, 1, 1, 4}, {{10, 6}, {4, 4}}, {{4, 4}}},
      {"c: one extra entry", {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}, {{10, 6}}, std::nullopt},
      {"d: extra entries of a later term",
       {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},
       {{10, 6}},
       std::nullopt},
      {"e: a conflicting term 4 suffix", {1, 1, 1, 4, 4, 4, 4}, {{10, 6}, {5, 4}}, {{7, 4}}},
      {"f: terms 2 and 3 the leader never had",
       {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},
       {{10, 6}, {3, 1}},
       {{10, 3}}},
  };
  for (const row& row : rows) {
    CAPTURE(row.name);
    network net({1, 2, 3});
    net.at(1).stored = disk{{7, no_node}, {}, log_of(leader_log)};
    net.at(2).stored = disk{{7, no_node}, {}, log_of(row.follower_log)};
    net.restart(1);
    net.restart(2);
    net.cut(2, 3);
    net.elect(1);  // with 3's vote
    REQUIRE(net.raft(1).current_role() == role::leader);
    REQUIRE(net.raft(1).term() == 8);

    std::vector<std::pair<index_t, term_t>> appends;
    std::vector<message> refusals;
    for (const message& m : net.delivered) {
      if (m.kind == message_kind::append && m.to == 2 && !m.entries.empty())
        appends.emplace_back(m.index, m.log_term);
      if (m.kind == message_kind::append_response && m.from == 2 && m.reject) refusals.push_back(m);
    }
    CHECK(appends == row.appends);
    if (row.hint) {
      REQUIRE(refusals.size() == 1);
      CHECK(std::pair{refusals[0].hint_index, refusals[0].hint_term} == *row.hint);
    } else {
      CHECK(refusals.empty());
    }
    std::vector<term_t> expected = leader_log;
    expected.push_back(8);
    CHECK(terms_of(net.raft(2).log()) == expected);
    CHECK(entries_of(net.raft(2).log()) == entries_of(net.raft(1).log()));
    CHECK(net.raft(1).log().committed() == 11);
    CHECK(net.raft(1).followers().at(2).match == 11);
  }
}

TEST_CASE("raft: a leader never commits an entry of an earlier term by counting its replicas",
          "[unit][raft]") {
  auto c = make(1, five, restored(1, no_node, log_of({1, 1})));
  ready r = elect(*c, five);  // term 2, no-op at 3
  c->persisted(r.id);
  // Four of five hold entry 2 (of term 1): still not committed.
  c->step(append_ok(2, 1, 2, 2));
  c->step(append_ok(3, 1, 2, 2));
  c->step(append_ok(4, 1, 2, 2));
  CHECK(c->log().committed() == 0);
  r = flush(*c);
  CHECK(r.committed.empty());
  // A majority for the no-op of term 2 commits everything before it.
  c->step(append_ok(2, 1, 2, 3));
  CHECK(c->log().committed() == 0);  // two of five
  c->step(append_ok(5, 1, 2, 3));
  CHECK(c->log().committed() == 3);  // three of five
  r = flush(*c);
  CHECK(r.committed == std::vector<entry>{cmd(1, 1), cmd(2, 1), noop(3, 2)});
}

// ---- Raft's Figure 8: an entry of an earlier term on a majority is not yet committed --------

// The paper's schedule, with one shift: every leader here starts its term with a no-op, so
// the paper's "entry 2 of term 2" is S1's no-op at 2 and a command "x" at 3 (both of term 2),
// and every later leader's first entry is its no-op. S1's messages carry one entry with data
// at most (message_bytes_max), so that it can hand S3 its term-2 entries without its term-4
// one, as in the paper.
TEST_CASE("raft: Figure 8: a leader does not commit an earlier term's entry held by a majority",
          "[unit][raft]") {
  network net({1, 2, 3, 4, 5}, false, false, 1, [](config& c) { c.message_bytes_max = 1; });
  auto commits = [&] {
    std::vector<index_t> out;
    for (node_id id : {1u, 2u, 3u, 4u, 5u})
      out.push_back(net.raft(id).log().committed());
    return out;
  };

  // Term 1 (S2 leads): the no-op at 1 is committed everywhere.
  net.elect(2);
  REQUIRE(net.raft(2).current_role() == role::leader);
  CHECK(commits() == std::vector<index_t>{1, 1, 1, 1, 1});

  // (a) S1 leads term 2 (everyone votes for it) and replicates its term-2 entries to S2 only.
  net.drop = [](const message& m) {
    return m.from == 1 && m.kind == message_kind::append && m.to != 2;
  };
  campaign_until(net, 1, 2);
  REQUIRE(net.raft(1).current_role() == role::leader);
  REQUIRE_FALSE(net.raft(1).propose(bytes("xx")));
  net.settle();
  CHECK(positions(entries_of(net.raft(1).log())) ==
        std::vector<std::pair<index_t, term_t>>{{1, 1}, {2, 2}, {3, 2}});
  CHECK(entries_of(net.raft(2).log()) == entries_of(net.raft(1).log()));
  CHECK(net.raft(1).followers().at(2).match == 3);
  CHECK(commits() == std::vector<index_t>{1, 1, 1, 1, 1});  // two of five: not committed

  // (b) S1 crashes. S5 is elected in term 3 by S3, S4 and itself (S2's log is ahead of
  // its), appends its no-op at 2 and crashes before sending it anywhere.
  net.isolate(1);
  net.drop = [](const message& m) {
    return m.from == 5 && (m.kind == message_kind::append || m.kind == message_kind::heartbeat);
  };
  campaign_until(net, 5, 3);
  REQUIRE(net.raft(5).current_role() == role::leader);
  CHECK(positions(entries_of(net.raft(5).log())) ==
        std::vector<std::pair<index_t, term_t>>{{1, 1}, {2, 3}});
  CHECK(net.raft(3).vote() == 5);
  CHECK(net.raft(4).vote() == 5);
  net.isolate(5);
  CHECK(commits() == std::vector<index_t>{1, 1, 1, 1, 1});

  // (c) S1 restarts (S4 out of its reach) and is elected in term 4 by S2 and S3; its first
  // campaign, in term 3, fails (S3 voted for S5). It hands S3 its term-2 entries; S3 does
  // not get the term-4 no-op. S2 gets everything.
  net.heal();
  net.isolate(5);
  net.cut(1, 4);
  net.restart(1);
  CHECK(net.raft(1).log().committed() == 0);  // a restarted node knows no commit index
  net.drop = [&net](const message& m) {
    if (m.kind != message_kind::append || m.to != 3) return false;
    const bool carries_term_4 =
        std::any_of(m.entries.begin(), m.entries.end(), [](const entry& e) { return e.term == 4; });
    return carries_term_4 && net.raft(3).log().matches(m.index, m.log_term);
  };
  campaign_until(net, 1, 4);
  REQUIRE(net.raft(1).current_role() == role::leader);
  CHECK(positions(entries_of(net.raft(1).log())) ==
        std::vector<std::pair<index_t, term_t>>{{1, 1}, {2, 2}, {3, 2}, {4, 4}});
  CHECK(positions(entries_of(net.raft(3).log())) ==
        std::vector<std::pair<index_t, term_t>>{{1, 1}, {2, 2}, {3, 2}});
  // S1 knows that S1, S2 and S3 hold entry 3 (of term 2): a majority, and yet it is not
  // committed, since S5 can still be elected and replace it.
  CHECK(net.raft(1).followers().at(2).match == 4);
  CHECK(net.raft(1).followers().at(3).match == 3);
  CHECK(commits() == std::vector<index_t>{0, 1, 1, 1, 1});

  SECTION("(d) S1 crashes; S5 is elected and replaces entries 2 and 3 everywhere") {
    net.isolate(1);
    net.drop = nullptr;
    net.heal();
    net.isolate(1);
    net.restart(5);
    // Term 4: S2 and S3 voted for S1; term 5: S3 and S4 vote for S5 (S2's log is ahead).
    campaign_until(net, 5, 5);
    REQUIRE(net.raft(5).current_role() == role::leader);
    const std::vector<std::pair<index_t, term_t>> s5_log{{1, 1}, {2, 3}, {3, 5}};
    CHECK(positions(entries_of(net.raft(5).log())) == s5_log);
    for (node_id id : {2u, 3u, 4u})
      CHECK(positions(entries_of(net.raft(id).log())) == s5_log);
    CHECK(commits() == std::vector<index_t>{0, 3, 3, 3, 3});
    // Nothing committed was lost: "x" never was, and no node applied it.
    for (node_id id : {2u, 3u, 4u})
      CHECK(positions(net.at(id).applied) == s5_log);
    // S1 comes back and is repaired too.
    net.restart(1);
    net.heal();
    net.tick(5);
    net.settle();
    CHECK(positions(entries_of(net.raft(1).log())) == s5_log);
    CHECK(commits() == std::vector<index_t>{3, 3, 3, 3, 3});
    CHECK(positions(net.at(1).applied) == s5_log);
  }

  SECTION(
      "(e) S1 replicates its term-4 entry to a majority: entries 2 to 4 commit together; "
      "S5 can no longer be elected") {
    net.drop = nullptr;
    net.tick(1);  // a heartbeat: S3's answer shows it lacks entry 4, which it then gets
    net.settle();
    CHECK(net.raft(1).followers().at(3).match == 4);
    CHECK(commits() == std::vector<index_t>{4, 4, 4, 1, 1});
    const std::vector<std::pair<index_t, term_t>> committed{{1, 1}, {2, 2}, {3, 2}, {4, 4}};
    CHECK(positions(net.at(1).applied) == committed);

    net.isolate(1);
    net.heal();
    net.isolate(1);
    net.restart(5);
    campaign_until(net, 5, 5);  // S4 votes for it, S2 and S3 never do
    CHECK(net.raft(5).current_role() == role::candidate);
    CHECK(commits() == std::vector<index_t>{4, 4, 4, 1, 0});
    campaign_until(net, 2, 6);  // S2 is, by S3, S4 and S5
    REQUIRE(net.raft(2).current_role() == role::leader);
    net.restart(1);
    net.heal();
    net.tick(2);
    net.settle();
    const std::vector<std::pair<index_t, term_t>> final_log{{1, 1}, {2, 2}, {3, 2}, {4, 4}, {5, 6}};
    CHECK(commits() == std::vector<index_t>{5, 5, 5, 5, 5});
    for (node_id id : {1u, 2u, 3u, 4u, 5u}) {
      CAPTURE(id);
      CHECK(positions(entries_of(net.raft(id).log())) == final_log);
      CHECK(commands_of(entries_of(net.raft(id).log())) == std::vector<std::string>{"xx"});
    }
    CHECK(positions(net.at(5).applied) == final_log);
    CHECK(positions(net.at(4).applied) == final_log);
  }
}

// ---- durability: nothing leaves before what it depends on is on disk ------------------------

TEST_CASE("raft: term and vote are durable before a vote answer leaves", "[unit][raft]") {
  auto c = make(1, three, restored(1, no_node));
  c->step(vote_request(2, 1, 2, 0, 0));
  const ready r = c->take_ready();
  CHECK(r.hard == hard_state{2, 2});
  CHECK(r.messages_now.empty());
  CHECK(r.messages == std::vector<message>{vote_granted(1, 2, 2)});
  // The next ready does not repeat the answer, and nothing else is due until then.
  CHECK_FALSE(c->has_ready());
  c->persisted(r.id);
  CHECK_FALSE(c->has_ready());

  SECTION("a refusal that changes the term waits for it too") {
    c->step(vote_request(3, 1, 3, 0, 0));  // granted: new term, no vote yet
    const ready r2 = c->take_ready();
    CHECK(r2.hard == hard_state{3, 3});
    CHECK(r2.messages == std::vector<message>{vote_granted(1, 3, 3)});
    CHECK(r2.messages_now.empty());
  }
  SECTION("a candidate's requests wait for its own term and vote") {
    auto d = make(2, three, restored(1, no_node));
    campaign(*d);
    const ready r2 = d->take_ready();
    CHECK(r2.hard == hard_state{2, 2});
    CHECK(r2.messages_now.empty());
    CHECK(r2.messages.size() == 2);
  }
  SECTION("a follower acknowledges entries in the ready that writes them") {
    auto f = make(2, three, restored(1, no_node));
    f->step(append(1, 2, 1, 0, 0, {cmd(1, 1, "a")}, 0));
    const ready r2 = f->take_ready();
    CHECK(r2.entries == std::vector<entry>{cmd(1, 1, "a")});
    CHECK(r2.messages_now.empty());
    CHECK(r2.messages == std::vector<message>{append_ok(2, 1, 1, 1)});
  }
}

TEST_CASE(
    "raft: a candidate asks for votes with its last persisted entry, not its unwritten "
    "tail",
    "[unit][raft]") {
  auto c = make(2, three, restored(1, no_node, log_of({1})));
  c->step(append(1, 2, 2, 1, 1, {cmd(2, 2), cmd(3, 2)}, 0));
  const ready unwritten = c->take_ready();  // handed out, never reported persisted
  CHECK(unwritten.entries.size() == 2);
  CHECK(c->log().last_index() == 3);
  CHECK(c->log().persisted() == 1);
  campaign(*c);
  const ready r = c->take_ready();
  CHECK(r.messages ==
        std::vector<message>{vote_request(2, 1, 3, 1, 1), vote_request(2, 3, 3, 1, 1)});

  SECTION("once the write is durable, the tail counts") {
    c->persisted(r.id);  // covers the earlier ready too
    CHECK(c->log().persisted() == 3);
    campaign(*c);
    CHECK(c->take_ready().messages ==
          std::vector<message>{vote_request(2, 1, 4, 3, 2), vote_request(2, 3, 4, 3, 2)});
  }
}

TEST_CASE("raft: a leader counts its own entry only once its write is durable", "[unit][raft]") {
  SECTION("three nodes: one follower's ack and the leader's unwritten entry do not commit") {
    auto c = make(1, three);
    ready r = elect(*c, three);  // no-op at 1, not written yet
    c->step(append_ok(2, 1, 1, 1));
    CHECK(c->log().committed() == 0);
    CHECK(c->take_ready().committed.empty());
    c->persisted(r.id);
    CHECK(c->log().committed() == 1);
    r = flush(*c);
    CHECK(r.committed == std::vector<entry>{noop(1, 1)});

    REQUIRE_FALSE(c->propose(bytes("a")));
    r = c->take_ready();
    c->step(append_ok(2, 1, 1, 2));
    CHECK(c->log().committed() == 1);
    c->persisted(r.id);
    CHECK(c->log().committed() == 2);
  }
  SECTION("five nodes: two followers' acks need the leader's durable write as the third") {
    auto c = make(1, five);
    const ready r = elect(*c, five);
    c->step(append_ok(2, 1, 1, 1));
    c->step(append_ok(3, 1, 1, 1));
    CHECK(c->log().committed() == 0);
    c->persisted(r.id);
    CHECK(c->log().committed() == 1);
  }
  SECTION("three nodes: both followers are a majority without the leader") {
    auto c = make(1, three);
    elect(*c, three);
    c->step(append_ok(2, 1, 1, 1));
    c->step(append_ok(3, 1, 1, 1));
    CHECK(c->log().committed() == 1);
  }
}

TEST_CASE("raft: a follower commits min(the leader's commit, what it matched, what it persisted)",
          "[unit][raft]") {
  auto c = make(2, three, restored(1, no_node, log_of({1, 1})));
  SECTION("the leader's commit") {
    c->step(append(1, 2, 1, 2, 1, {}, 1));
    CHECK(c->log().committed() == 1);
  }
  SECTION("what it matched with this leader") {
    c->step(append(1, 2, 1, 1, 1, {}, 2));
    CHECK(c->log().committed() == 1);
  }
  SECTION("what it persisted") {
    c->step(append(1, 2, 1, 2, 1, {cmd(3, 1), cmd(4, 1)}, 4));
    CHECK(c->log().committed() == 2);
    const ready r = c->take_ready();
    CHECK(r.committed == std::vector<entry>{cmd(1, 1), cmd(2, 1)});
    CHECK(c->log().committed() == 2);
    c->persisted(r.id);
    CHECK(c->log().committed() == 4);
    CHECK(c->take_ready().committed == std::vector<entry>{cmd(3, 1), cmd(4, 1)});
  }
  SECTION("a heartbeat's commit, up to what it persisted") {
    c->step(append(1, 2, 1, 2, 1, {cmd(3, 1)}, 0));
    c->step(heartbeat(1, 2, 1, 3));
    CHECK(c->log().committed() == 2);
    c->persisted(c->take_ready().id);
    CHECK(c->log().committed() == 3);
  }
}

// ---- elections: pre-vote, check-quorum, leases, the stale term ------------------------------

TEST_CASE("raft: pre-vote: a node cut off from the group does not raise its term", "[unit][raft]") {
  SECTION("the transcript: a pre-candidate asks for the next term without taking it") {
    auto c = std::make_unique<core>(config_for(1, three, true, false), restored(3, 2), 1);
    campaign(*c);
    CHECK(c->current_role() == role::pre_candidate);
    CHECK(c->term() == 3);
    CHECK(c->vote() == 2);
    const ready r = flush(*c);
    CHECK_FALSE(r.hard);
    const message ask{.kind = message_kind::prevote_request, .from = 1, .to = 2, .term = 4};
    message ask3 = ask;
    ask3.to = 3;
    CHECK(r.messages == std::vector<message>{ask, ask3});
    // A voter answers without taking the term either.
    auto v = std::make_unique<core>(config_for(2, three, true, false), restored(3, 2), 2);
    v->step(ask);
    const ready rv = flush(*v);
    CHECK_FALSE(rv.hard);
    CHECK(v->term() == 3);
    const message yes{.kind = message_kind::prevote_response, .from = 2, .to = 1, .term = 4};
    CHECK(rv.messages == std::vector<message>{yes});
    // A majority of pre-votes: now the real campaign.
    c->step(yes);
    CHECK(c->current_role() == role::candidate);
    CHECK(c->term() == 4);
    CHECK(c->take_ready().hard == hard_state{4, 1});
  }
  SECTION("in a group: isolated for many timeouts, it rejoins without deposing the leader") {
    network net({1, 2, 3}, true, false);
    net.elect(1);
    REQUIRE(net.raft(1).current_role() == role::leader);
    net.isolate(3);
    REQUIRE_FALSE(net.raft(1).propose(bytes("a")));
    net.tick_all(100);
    CHECK(net.raft(3).term() == 1);
    CHECK(net.raft(3).current_role() != role::candidate);
    net.heal();
    net.tick_all(5);
    CHECK(net.raft(1).current_role() == role::leader);
    CHECK(net.raft(1).term() == 1);
    CHECK(net.raft(3).leader() == 1);
    CHECK(commands_of(net.at(3).applied) == std::vector<std::string>{"a"});
  }
  SECTION("without pre-vote, the same schedule deposes the leader") {
    network net({1, 2, 3}, false, false);
    net.elect(1);
    net.isolate(3);
    REQUIRE_FALSE(net.raft(1).propose(bytes("a")));
    net.tick_all(100);
    CHECK(net.raft(3).term() > 1);
    net.heal();
    net.tick_all(20);
    CHECK(net.raft(1).term() > 1);
  }
}

TEST_CASE(
    "raft: check-quorum: a leader that hears from no quorum for an election timeout "
    "steps down",
    "[unit][raft]") {
  auto c = std::make_unique<core>(config_for(1, three, false, true), restored_state{}, 1);
  elect(*c, three);
  flush(*c);
  // Its followers count as active for the first timeout after the election.
  for (int t = 0; t < 10; ++t)
    c->tick();
  CHECK(c->current_role() == role::leader);
  flush(*c);
  SECTION("silence for a whole timeout: it steps down, in the same term") {
    for (int t = 0; t < 9; ++t)
      c->tick();
    CHECK(c->current_role() == role::leader);
    c->tick();
    CHECK(c->current_role() == role::follower);
    CHECK(c->term() == 1);
    CHECK(c->leader() == no_node);
    CHECK(c->take_ready().leadership_lost);
    CHECK(c->propose(bytes("a")) == refusal::not_leader);
  }
  SECTION("one follower answering keeps a quorum") {
    for (int round = 0; round < 5; ++round) {
      for (int t = 0; t < 10; ++t) {
        c->tick();
        c->step(heartbeat_answer(2, 1, 1));
      }
      CHECK(c->current_role() == role::leader);
    }
  }
}

TEST_CASE(
    "raft: leases: a follower that heard from its leader ignores a higher-term vote "
    "request, unless it is a transfer",
    "[unit][raft]") {
  auto c = std::make_unique<core>(config_for(2, three, true, true), restored(1, no_node), 2);
  c->step(heartbeat(1, 2, 1, 0));
  flush(*c);
  REQUIRE(c->leader() == 1);
  SECTION("ignored in the lease") {
    c->step(vote_request(3, 2, 2, 5, 1));
    message pre = vote_request(3, 2, 2, 5, 1);
    pre.kind = message_kind::prevote_request;
    c->step(pre);
    CHECK(c->term() == 1);
    CHECK(c->vote() == no_node);
    CHECK(c->leader() == 1);
    CHECK_FALSE(c->has_ready());
  }
  SECTION("a transfer's request passes") {
    message m = vote_request(3, 2, 2, 5, 1);
    m.transfer = true;
    c->step(m);
    CHECK(c->term() == 2);
    CHECK(c->vote() == 3);
    CHECK(flush(*c).messages == std::vector<message>{vote_granted(2, 3, 2)});
  }
  SECTION("after an election timeout of silence, the lease is over") {
    for (int t = 0; t < 10; ++t)
      c->tick();
    flush(*c);  // it may have started a pre-vote of its own: that keeps its term
    REQUIRE(c->term() == 1);
    c->step(vote_request(3, 2, 2, 5, 1));
    CHECK(c->term() == 2);
    CHECK(c->vote() == 3);
  }
}

TEST_CASE(
    "raft: a node whose term rose while it was cut off rejoins: its answer to an old "
    "append deposes the leader, and an up-to-date node wins the next term",
    "[unit][raft]") {
  network net({1, 2, 3}, true, true);
  net.elect(1);
  REQUIRE(net.raft(1).current_role() == role::leader);
  REQUIRE_FALSE(net.raft(1).propose(bytes("a")));
  net.settle();
  net.tick_all(1);

  // Node 3's term rises without the others knowing: a transfer's timeout_now reaches it,
  // then it is cut off before its vote requests leave.
  net.drop = [](const message& m) { return m.from == 3 && m.kind == message_kind::vote_request; };
  net.raft(1).transfer_leadership(3);
  net.settle();
  CHECK(net.raft(3).current_role() == role::candidate);
  CHECK(net.raft(3).term() == 2);
  net.isolate(3);
  net.drop = nullptr;
  // The leader abandons the transfer after an election timeout and goes on with node 2.
  net.tick_all(10);
  REQUIRE(net.raft(1).current_role() == role::leader);
  REQUIRE(net.raft(1).transferee() == no_node);
  REQUIRE_FALSE(net.raft(1).propose(bytes("b")));
  net.settle();
  net.tick_all(30);
  CHECK(net.raft(3).term() == 2);  // pre-vote: it asks, it does not raise its term again
  CHECK(net.raft(1).term() == 1);

  net.heal();
  const std::size_t before = net.delivered.size();
  net.tick(1);
  net.settle();
  // Node 3 answers the term-1 heartbeat with its term; the leader steps down to it.
  bool replied = false;
  for (std::size_t i = before; i < net.delivered.size(); ++i) {
    const message& m = net.delivered[i];
    if (m.from == 3 && m.to == 1 && m.kind == message_kind::append_response && m.term == 2)
      replied = true;
  }
  CHECK(replied);
  CHECK(net.raft(1).current_role() == role::follower);
  CHECK(net.raft(1).term() == 2);
  CHECK(net.at(1).leadership_lost == 1);

  // The next election, at node 3's term or later, is won by a node that has "b" (node 3
  // cannot win it). Node 2, still in term 1, may run for term 2: node 1 has not voted in it.
  for (int t = 0; t < 100 && net.raft(1).current_role() != role::leader &&
                  net.raft(2).current_role() != role::leader;
       ++t)
    net.tick_all(1);
  const node_id winner = net.raft(1).current_role() == role::leader ? 1 : 2;
  REQUIRE(net.raft(winner).current_role() == role::leader);
  const term_t term = net.raft(winner).term();
  CHECK(term >= 2);
  CHECK(net.raft(3).current_role() == role::follower);
  net.tick_all(3);
  for (node_id id : {1u, 2u, 3u}) {
    CAPTURE(id);
    CHECK(net.raft(id).term() == term);
    CHECK(net.raft(id).leader() == winner);
    CHECK(entries_of(net.raft(id).log()) == entries_of(net.raft(winner).log()));
  }
  CHECK(commands_of(net.at(3).applied) == std::vector<std::string>{"a", "b"});
}

// ---- replication: stale messages, flow control, snapshots --------------------------------------

// A leader of {1, 2, 3} in term 1 whose no-op (1) follower 2 acknowledged: 2 is replicating,
// 3 is probing (its first append unanswered).
namespace {
std::unique_ptr<core> replicating_leader(const tuning& tune = {}) {
  auto c = make(1, three, {}, tune);
  const ready r = elect(*c, three);
  c->persisted(r.id);
  c->step(append_ok(2, 1, 1, 1));
  flush(*c);
  REQUIRE(c->followers().at(2).state == progress::mode::replicate);
  REQUIRE(c->followers().at(3).state == progress::mode::probe);
  return c;
}

// Such a leader with two appends in flight per follower at most, and what its readies send.
struct flow_control {
  std::unique_ptr<core> c = replicating_leader([](config& cfg) { cfg.inflight_max = 2; });
  std::vector<message> now;
  void take() { now = flush(*c).messages_now; }
  // The entries of each append the last ready sent to `to`.
  std::vector<std::vector<entry>> sent_to(node_id to) const {
    std::vector<std::vector<entry>> out;
    for (const message& m : to_node(of_kind(now, message_kind::append), to))
      out.push_back(m.entries);
    return out;
  }
};
}  // namespace

TEST_CASE(
    "raft: flow control: when every append in flight was lost, a heartbeat's answer frees a "
    "slot, and the refusal of what it sends means probing again",
    "[unit][raft]") {
  flow_control f;
  auto& c = f.c;
  using batches = std::vector<std::vector<entry>>;
  REQUIRE_FALSE(c->propose(bytes("a")));
  f.take();
  CHECK(f.sent_to(2) == batches{{cmd(2, 1, "a")}});
  REQUIRE_FALSE(c->propose(bytes("b")));
  f.take();
  CHECK(f.sent_to(2) == batches{{cmd(3, 1, "b")}});
  REQUIRE_FALSE(c->propose(bytes("c")));
  f.take();
  CHECK(f.sent_to(2).empty());  // both slots taken; both appends are lost on the way
  // Node 2 answers a heartbeat, never having seen them: a slot frees, and what waited goes.
  c->step(heartbeat_answer(2, 1, 1));
  f.take();
  CHECK(f.sent_to(2) == batches{{cmd(4, 1, "c")}});
  // Node 2 refuses it (its log ends at 1): probing from 2, everything it lacks.
  c->step(append_refused(2, 1, 1, 3, 1, 1));
  CHECK(c->followers().at(2).state == progress::mode::probe);
  f.take();
  CHECK(f.sent_to(2) == batches{{cmd(2, 1, "a"), cmd(3, 1, "b"), cmd(4, 1, "c")}});
}

TEST_CASE("raft: duplicated, reordered and stale answers are harmless", "[unit][raft]") {
  auto c = replicating_leader();
  for (const char* d : {"a", "b", "c", "d"})
    REQUIRE_FALSE(c->propose(bytes(d)));
  flush(*c);  // entries 2..5 in flight to 2
  c->step(append_ok(2, 1, 1, 5));
  CHECK(c->followers().at(2).match == 5);
  CHECK(c->log().committed() == 5);
  flush(*c);

  SECTION("an older success does not move match back") {
    c->step(append_ok(2, 1, 1, 3));  // late
    CHECK(c->followers().at(2).match == 5);
    CHECK(c->followers().at(2).next == 6);
    CHECK(c->followers().at(2).state == progress::mode::replicate);
    CHECK(flush(*c).messages_now.empty());
    c->step(append_ok(2, 1, 1, 5));  // a duplicate
    CHECK(c->followers().at(2).match == 5);
    CHECK(c->followers().at(2).next == 6);
    CHECK(c->log().committed() == 5);
    CHECK(flush(*c).messages_now.empty());
    // Replication goes on from where it was.
    REQUIRE_FALSE(c->propose(bytes("e")));
    CHECK(to_node(flush(*c).messages_now, 2) ==
          std::vector<message>{append(1, 2, 1, 5, 1, {cmd(6, 1, "e")}, 5)});
  }
  SECTION("a stale refusal (of an index at or below match) is ignored") {
    c->step(append_refused(2, 1, 1, 4, 1, 1));
    CHECK(c->followers().at(2).match == 5);
    CHECK(c->followers().at(2).next == 6);
    CHECK(c->followers().at(2).state == progress::mode::replicate);
    CHECK_FALSE(c->has_ready());
  }
  SECTION("while probing, only the refusal of the last probe counts") {
    // Node 3's probe was the append after 0: a refusal of index 3 answers something else.
    c->step(append_refused(3, 1, 1, 3, 0, 0));
    CHECK(c->followers().at(3).next == 1);
    CHECK_FALSE(c->has_ready());
    c->step(append_ok(3, 1, 1, 1));  // its answer to the probe
    CHECK(c->followers().at(3).match == 1);
    CHECK(c->followers().at(3).state == progress::mode::replicate);
    c->step(append_ok(3, 1, 1, 1));             // duplicated
    c->step(append_refused(3, 1, 1, 1, 0, 0));  // stale: below match
    CHECK(c->followers().at(3).match == 1);
    CHECK(c->followers().at(3).state == progress::mode::replicate);
  }
  SECTION("a duplicated append at a follower changes nothing") {
    auto f = make(2, three);
    const message m = append(1, 2, 1, 0, 0, {noop(1, 1), cmd(2, 1, "a")}, 0);
    f->step(m);
    flush(*f);
    f->step(append(1, 2, 1, 2, 1, {cmd(3, 1, "b")}, 0));
    flush(*f);
    f->step(m);  // late and shorter: nothing is truncated
    const ready r = flush(*f);
    CHECK(r.entries.empty());
    CHECK(r.messages == std::vector<message>{append_ok(2, 1, 1, 2)});
    CHECK(f->log().last_index() == 3);
  }
}

TEST_CASE(
    "raft: flow control: at most inflight_max appends in flight when replicating, one "
    "while probing",
    "[unit][raft]") {
  flow_control f;
  auto& c = f.c;
  using batches = std::vector<std::vector<entry>>;
  REQUIRE_FALSE(c->propose(bytes("a")));
  f.take();
  CHECK(f.sent_to(2) == batches{{cmd(2, 1, "a")}});
  CHECK(f.sent_to(3).empty());  // probing, its probe unanswered
  REQUIRE_FALSE(c->propose(bytes("b")));
  f.take();
  CHECK(f.sent_to(2) == batches{{cmd(3, 1, "b")}});
  REQUIRE_FALSE(c->propose(bytes("c")));
  REQUIRE_FALSE(c->propose(bytes("d")));
  f.take();
  CHECK(f.sent_to(2).empty());  // two in flight
  CHECK(f.sent_to(3).empty());
  CHECK(c->followers().at(2).inflight.size() == 2);
  // An answer frees one slot: what waited goes in one append.
  c->step(append_ok(2, 1, 1, 2));
  f.take();
  CHECK(f.sent_to(2) == batches{{cmd(4, 1, "c"), cmd(5, 1, "d")}});

  // Node 3 answers its probe: it replicates, and gets everything it lacks.
  c->step(append_ok(3, 1, 1, 1));
  f.take();
  CHECK(f.sent_to(3) == batches{{cmd(2, 1, "a"), cmd(3, 1, "b"), cmd(4, 1, "c"), cmd(5, 1, "d")}});
  CHECK(c->followers().at(3).state == progress::mode::replicate);

  // Node 2 refuses the append after 3 (it lost the ones in flight): back to probing, one
  // append at a time until it is answered.
  c->step(append_refused(2, 1, 1, 3, 2, 1));
  CHECK(c->followers().at(2).state == progress::mode::probe);
  f.take();
  CHECK(f.sent_to(2) == batches{{cmd(3, 1, "b"), cmd(4, 1, "c"), cmd(5, 1, "d")}});
  REQUIRE_FALSE(c->propose(bytes("e")));
  f.take();
  CHECK(f.sent_to(2).empty());
  CHECK(f.sent_to(3) == batches{{cmd(6, 1, "e")}});
  c->step(append_ok(2, 1, 1, 5));
  CHECK(c->followers().at(2).state == progress::mode::replicate);
  f.take();
  REQUIRE_FALSE(f.sent_to(2).empty());
  CHECK(f.sent_to(2).front() == std::vector<entry>{cmd(6, 1, "e")});
}

TEST_CASE(
    "raft: a follower whose disk was replaced says so in its heartbeat answer, and the leader "
    "sends again from where its log ends",
    "[unit][raft]") {
  SECTION("the follower: a commit beyond its log") {
    auto f = make(2, three);
    f->step(heartbeat(1, 2, 1, 5));
    const ready r = flush(*f);
    const auto answers = of_kind(r.messages, message_kind::heartbeat_response);
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].reject);
    CHECK(answers[0].hint_index == 0);
    CHECK(f->log().committed() == 0);
    f->step(heartbeat(1, 2, 1, 0));  // within its log: an ordinary answer
    CHECK_FALSE(of_kind(flush(*f).messages, message_kind::heartbeat_response).at(0).reject);
  }
  SECTION("the leader: match goes back, and it probes from there") {
    auto c = replicating_leader();
    for (const char* d : {"a", "b"})
      REQUIRE_FALSE(c->propose(bytes(d)));
    flush(*c);
    c->step(append_ok(2, 1, 1, 3));
    flush(*c);
    REQUIRE(c->followers().at(2).match == 3);
    message lost = heartbeat_answer(2, 1, 1);
    lost.reject = true;
    lost.hint_index = 0;
    c->step(lost);
    CHECK(c->followers().at(2).match == 0);
    CHECK(c->followers().at(2).state == progress::mode::probe);
    CHECK(to_node(flush(*c).messages_now, 2) ==
          std::vector<message>{
              append(1, 2, 1, 0, 0, {noop(1, 1), cmd(2, 1, "a"), cmd(3, 1, "b")}, 3)});
    CHECK(c->log().committed() == 3);  // what was committed stays so
  }
}

TEST_CASE("raft: a follower behind the leader's first entry gets a snapshot, then appends",
          "[unit][raft]") {
  auto c = replicating_leader();
  for (const char* d : {"a", "b", "c"})
    REQUIRE_FALSE(c->propose(bytes(d)));
  flush(*c);
  c->step(append_ok(2, 1, 1, 4));
  flush(*c);
  REQUIRE(c->log().committed() == 4);
  c->compact(3);  // the caller's snapshot covers 1..3
  CHECK(c->log().first_index() == 4);

  // Node 3 (still behind its probe at 0) is heard from: what it lacks is only in a snapshot.
  c->step(heartbeat_answer(3, 1, 1));
  ready r = flush(*c);
  const message snap{
      .kind = message_kind::snapshot, .from = 1, .to = 3, .term = 1, .index = 3, .log_term = 1};
  CHECK(to_node(r.messages_now, 3) == std::vector<message>{snap});
  CHECK(c->followers().at(3).state == progress::mode::snapshot);
  // While it is sent, nothing else goes to node 3.
  REQUIRE_FALSE(c->propose(bytes("d")));
  r = flush(*c);
  CHECK(to_node(r.messages_now, 3).empty());
  CHECK(to_node(r.messages_now, 2).size() == 1);

  SECTION("the follower's answer resumes appends after the snapshot") {
    c->step(append_ok(3, 1, 1, 3));
    CHECK(c->followers().at(3).state == progress::mode::replicate);
    CHECK(c->followers().at(3).match == 3);
    r = flush(*c);
    CHECK(to_node(r.messages_now, 3) ==
          std::vector<message>{append(1, 3, 1, 3, 1, {cmd(4, 1, "c"), cmd(5, 1, "d")}, 4)});
  }
  SECTION("report_snapshot: delivered, it waits for the follower's answer; failed, it retries") {
    SECTION("delivered") {
      c->report_snapshot(3, true);
      CHECK(c->followers().at(3).state == progress::mode::probe);
      CHECK(c->followers().at(3).next == 4);
      CHECK(flush(*c).messages_now.empty());
      c->step(append_ok(3, 1, 1, 3));
      r = flush(*c);
      CHECK(to_node(r.messages_now, 3) ==
            std::vector<message>{append(1, 3, 1, 3, 1, {cmd(4, 1, "c"), cmd(5, 1, "d")}, 4)});
    }
    SECTION("failed") {
      c->report_snapshot(3, false);
      CHECK(c->followers().at(3).state == progress::mode::probe);
      c->step(heartbeat_answer(3, 1, 1));
      CHECK(to_node(flush(*c).messages_now, 3) == std::vector<message>{snap});
    }
  }
}

TEST_CASE("raft: a follower that receives a snapshot restores it and its log starts after it",
          "[unit][raft]") {
  // Its own log conflicts with the leader's at 2.
  auto f = make(2, three, restored(1, no_node, log_of({1, 1, 1})));
  f->step(message{
      .kind = message_kind::snapshot, .from = 1, .to = 2, .term = 2, .index = 5, .log_term = 2});
  const ready r = f->take_ready();
  CHECK(r.snapshot == snapshot_meta{5, 2});
  CHECK(r.entries.empty());
  CHECK(r.committed.empty());  // the snapshot's state is applied by restoring it
  CHECK(r.messages_now.empty());
  CHECK(r.messages == std::vector<message>{append_ok(2, 1, 2, 5)});
  f->persisted(r.id);
  CHECK(f->log().first_index() == 6);
  CHECK(f->log().last_index() == 5);
  CHECK(f->log().committed() == 5);
  CHECK(f->log().persisted() == 5);
  // Appends follow the snapshot.
  f->step(append(1, 2, 2, 5, 2, {cmd(6, 2, "x")}, 6));
  const ready r2 = flush(*f);
  CHECK(r2.entries == std::vector<entry>{cmd(6, 2, "x")});
  CHECK(r2.messages == std::vector<message>{append_ok(2, 1, 2, 6)});
  CHECK(flush(*f).committed == std::vector<entry>{cmd(6, 2, "x")});

  SECTION("a snapshot the follower already covers is answered with its commit") {
    f->step(message{
        .kind = message_kind::snapshot, .from = 1, .to = 2, .term = 2, .index = 4, .log_term = 2});
    const ready r3 = flush(*f);
    CHECK_FALSE(r3.snapshot);
    CHECK(r3.messages == std::vector<message>{append_ok(2, 1, 2, 6)});
  }
}

// ---- leadership transfer, lost leadership, read index --------------------------------------

TEST_CASE("raft: leadership transfer", "[unit][raft]") {
  network net({1, 2, 3}, true, true);
  net.elect(1);
  REQUIRE(net.raft(1).current_role() == role::leader);
  REQUIRE_FALSE(net.raft(1).propose(bytes("a")));
  net.settle();
  net.tick_all(1);

  SECTION("a caught-up transferee gets timeout_now and wins past the others' leases") {
    net.raft(1).transfer_leadership(2);
    CHECK(net.raft(1).propose(bytes("no")) == refusal::transferring);
    const std::size_t before = net.delivered.size();
    net.settle();
    REQUIRE(net.delivered.size() > before);
    CHECK(net.delivered[before] ==
          message{.kind = message_kind::timeout_now, .from = 1, .to = 2, .term = 1});
    CHECK(net.raft(2).current_role() == role::leader);
    CHECK(net.raft(2).term() == 2);
    CHECK(net.raft(1).current_role() == role::follower);
    CHECK(net.raft(1).leader() == 2);
    CHECK(net.raft(3).leader() == 2);
    CHECK(net.at(1).leadership_lost == 1);
  }
  SECTION("a lagging transferee is caught up first") {
    net.cut(1, 3);
    REQUIRE_FALSE(net.raft(1).propose(bytes("b")));
    net.settle();
    net.heal();
    net.raft(1).transfer_leadership(3);
    const std::size_t before = net.delivered.size();
    net.settle();
    // Between 1 and 3, until the timeout_now: "b" goes to 3, 3 acknowledges it, and only
    // then does 1 tell it to campaign.
    std::vector<std::string> exchange;
    for (std::size_t i = before; i < net.delivered.size(); ++i) {
      const message& m = net.delivered[i];
      if (m.from == 1 && m.to == 3 && m.kind == message_kind::append &&
          commands_of(m.entries) == std::vector<std::string>{"b"})
        exchange.push_back("b to 3");
      if (m.from == 3 && m.to == 1 && m.kind == message_kind::append_response && !m.reject &&
          m.index == 3)
        exchange.push_back("3 has b");
      if (m.kind == message_kind::timeout_now) {
        CHECK(m.to == 3);
        exchange.push_back("timeout_now");
        break;
      }
    }
    CHECK(exchange == std::vector<std::string>{"b to 3", "3 has b", "timeout_now"});
    CHECK(net.raft(3).current_role() == role::leader);
    net.tick_all(1);
    for (node_id id : {1u, 2u, 3u})
      CHECK(commands_of(net.at(id).applied) == std::vector<std::string>{"a", "b"});
  }
  SECTION("a transfer that does not complete within an election timeout is abandoned") {
    net.isolate(3);
    net.raft(1).transfer_leadership(3);
    CHECK(net.raft(1).transferee() == 3);
    for (int t = 0; t < 9; ++t) {
      net.tick(1);
      net.tick(2);
      net.settle();
    }
    CHECK(net.raft(1).propose(bytes("no")) == refusal::transferring);
    net.tick(1);
    net.settle();
    CHECK(net.raft(1).transferee() == no_node);
    CHECK(net.raft(1).current_role() == role::leader);
    CHECK(net.raft(1).term() == 1);
    CHECK_FALSE(net.raft(1).propose(bytes("c")));
    net.settle();
    net.tick_all(1);
    CHECK(commands_of(net.at(2).applied) == std::vector<std::string>{"a", "c"});
  }
}

TEST_CASE("raft: a leader that loses its leadership says its pending proposals' fate is unknown",
          "[unit][raft]") {
  auto c = replicating_leader();
  REQUIRE_FALSE(c->propose(bytes("a")));
  flush(*c);
  c->step(heartbeat_answer(2, 1, 5));  // a higher term
  CHECK(c->current_role() == role::follower);
  ready r = c->take_ready();
  CHECK(r.leadership_lost);
  CHECK(r.hard == hard_state{5, no_node});
  c->persisted(r.id);
  CHECK_FALSE(c->take_ready().leadership_lost);  // said once
  CHECK(c->propose(bytes("b")) == refusal::not_leader);
}

TEST_CASE(
    "raft: read index: refused before the leader commits in its term, confirmed by a "
    "quorum of heartbeat answers of its round, in order",
    "[unit][raft]") {
  auto c = make(1, three);
  CHECK(c->read_index(1) == refusal::not_leader);
  const ready r0 = elect(*c, three);
  c->persisted(r0.id);
  CHECK(c->read_index(1) == refusal::not_ready);  // its no-op is not committed yet
  c->step(append_ok(2, 1, 1, 1));
  flush(*c);
  REQUIRE(c->log().committed() == 1);

  REQUIRE_FALSE(c->read_index(7));
  ready r = flush(*c);
  CHECK(r.reads.empty());
  CHECK(of_kind(r.messages_now, message_kind::heartbeat) ==
        std::vector<message>{heartbeat(1, 2, 1, 1, 1), heartbeat(1, 3, 1, 0, 1)});
  REQUIRE_FALSE(c->read_index(8));
  r = flush(*c);
  CHECK(of_kind(r.messages_now, message_kind::heartbeat) ==
        std::vector<message>{heartbeat(1, 2, 1, 1, 2), heartbeat(1, 3, 1, 0, 2)});

  SECTION("each round confirms its reads and the earlier ones") {
    c->step(heartbeat_answer(3, 1, 1, 0));  // an ordinary heartbeat's answer: no round
    CHECK(flush(*c).reads.empty());
    c->step(heartbeat_answer(2, 1, 1, 1));
    CHECK(flush(*c).reads == std::vector<read_state>{{7, 1}});
    c->step(heartbeat_answer(2, 1, 1, 1));  // duplicated
    CHECK(flush(*c).reads.empty());
    c->step(heartbeat_answer(3, 1, 1, 2));
    CHECK(flush(*c).reads == std::vector<read_state>{{8, 1}});
  }
  SECTION("a later round's answer confirms both, in order") {
    c->step(heartbeat_answer(3, 1, 1, 2));
    CHECK(flush(*c).reads == std::vector<read_state>{{7, 1}, {8, 1}});
  }
  SECTION("an answer of an earlier round does not confirm a later read") {
    REQUIRE_FALSE(c->read_index(9));
    flush(*c);
    c->step(heartbeat_answer(2, 1, 1, 2));
    CHECK(flush(*c).reads == std::vector<read_state>{{7, 1}, {8, 1}});
    c->step(heartbeat_answer(3, 1, 1, 2));
    CHECK(flush(*c).reads.empty());
    c->step(heartbeat_answer(3, 1, 1, 3));
    CHECK(flush(*c).reads == std::vector<read_state>{{9, 1}});
  }
  SECTION("when a round's heartbeats are lost, the next periodic heartbeat carries it") {
    // Confirmed only by rounds, a read whose heartbeats were dropped (a peer's connection
    // down at the time) would wait for ever, and a new leader's first barrier with it.
    c->tick();  // the heartbeat interval
    r = flush(*c);
    CHECK(of_kind(r.messages_now, message_kind::heartbeat) ==
          std::vector<message>{heartbeat(1, 2, 1, 1, 2), heartbeat(1, 3, 1, 0, 2)});
    c->step(heartbeat_answer(3, 1, 1, 2));
    CHECK(flush(*c).reads == std::vector<read_state>{{7, 1}, {8, 1}});
    c->tick();  // nothing pending: an ordinary heartbeat again
    CHECK(of_kind(flush(*c).messages_now, message_kind::heartbeat) ==
          std::vector<message>{heartbeat(1, 2, 1, 1, 0), heartbeat(1, 3, 1, 0, 0)});
  }
  SECTION("reads are not confirmed by a leader that lost its term") {
    c->step(heartbeat_answer(2, 1, 2, 1));  // node 2 is in term 2 now
    CHECK(c->current_role() == role::follower);
    CHECK(flush(*c).reads.empty());
  }
}

// ---- crashes ---------------------------------------------------------------------------------

TEST_CASE(
    "raft: a node restarted after a crash that lost its unwritten tail rejoins, and the "
    "group keeps every committed entry",
    "[unit][raft]") {
  network net({1, 2, 3});
  net.elect(1);
  REQUIRE_FALSE(net.raft(1).propose(bytes("a")));
  net.settle();
  net.tick_all(1);

  SECTION("a follower") {
    net.hold(3);
    REQUIRE_FALSE(net.raft(1).propose(bytes("b")));
    net.settle();
    CHECK(net.raft(3).log().last_index() == 3);       // in memory
    CHECK(net.raft(1).followers().at(3).match == 2);  // its ack waits for the write
    CHECK(net.raft(1).log().committed() == 3);        // node 2 made the majority
    net.restart(3);
    CHECK(net.raft(3).log().last_index() == 2);  // "b" was never written
    net.tick_all(2);
    CHECK(net.raft(1).current_role() == role::leader);
    for (node_id id : {1u, 2u, 3u})
      CHECK(entries_of(net.raft(id).log()) == entries_of(net.raft(1).log()));
    CHECK(commands_of(net.at(3).applied) == std::vector<std::string>{"a", "b"});
  }
  SECTION("the leader: its followers' writes committed what it lost") {
    net.hold(1);
    REQUIRE_FALSE(net.raft(1).propose(bytes("b")));
    net.settle();
    CHECK(net.raft(1).log().committed() == 3);  // nodes 2 and 3 hold "b"
    CHECK(net.raft(2).log().committed() == 3);
    net.restart(1);
    CHECK(net.raft(1).log().last_index() == 2);
    CHECK(net.raft(1).current_role() == role::follower);
    for (int t = 0; t < 100 && net.raft(2).current_role() != role::leader &&
                    net.raft(3).current_role() != role::leader;
         ++t)
      net.tick_all(1);
    const node_id leader = net.raft(2).current_role() == role::leader ? 2 : 3;
    REQUIRE(net.raft(leader).current_role() == role::leader);
    REQUIRE_FALSE(net.raft(leader).propose(bytes("c")));
    net.settle();
    net.tick_all(1);
    for (node_id id : {1u, 2u, 3u}) {
      CAPTURE(id);
      CHECK(entries_of(net.raft(id).log()) == entries_of(net.raft(leader).log()));
    }
    CHECK(commands_of(net.at(1).applied) == std::vector<std::string>{"a", "b", "c"});
    CHECK(commands_of(net.at(2).applied) == std::vector<std::string>{"a", "b", "c"});
  }
}

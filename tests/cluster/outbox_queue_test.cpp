#include "cluster/outbox_queue.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/prng.hpp"

using seatd::cluster::outbox_queue;
using seatd::storage::outbox_record;

namespace {

outbox_record record(const std::string& event, std::uint64_t seq) {
  return {event, seq, "{\"seq\":" + std::to_string(seq) + "}"};
}

std::vector<std::uint64_t> seqs(const std::vector<outbox_queue::sendable>& sent) {
  std::vector<std::uint64_t> out;
  for (const auto& s : sent)
    out.push_back(s.record->seq);
  return out;
}

}  // namespace

TEST_CASE("outbox queue sends in commit order within the in-flight window") {
  outbox_queue q;
  for (std::uint64_t seq = 1; seq <= 5; ++seq)
    q.add(record("e1", seq), 100);
  const auto first = q.take(3, 200);
  CHECK(seqs(first) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(q.in_flight() == 3);
  CHECK(q.waiting() == 2);
  CHECK(q.take(3, 200).empty());  // the window is full
  const auto d = q.delivered(first[0].ticket, 1'100);
  REQUIRE(d.size() == 1);
  CHECK(d[0].key.event_id == "e1");
  CHECK(d[0].key.seq == 1);
  CHECK(d[0].waited_us == 1'000);
  CHECK(seqs(q.take(3, 1'200)) == std::vector<std::uint64_t>{4});
  CHECK(q.depth() == 4);
}

TEST_CASE("outbox queue ignores a report for a ticket that is not in flight") {
  outbox_queue q;
  q.add(record("e1", 1), 0);
  const auto sent = q.take(10, 0);
  REQUIRE(q.delivered(sent[0].ticket, 1).size() == 1);
  CHECK(q.delivered(sent[0].ticket, 2).empty());  // the same report twice
  CHECK(q.delivered(12345, 2).empty());
  q.failed(sent[0].ticket);  // a failure after success changes nothing
  CHECK(q.depth() == 0);
  CHECK(q.failures_in_a_row() == 0);
  CHECK_FALSE(q.oldest_added_us());
}

TEST_CASE("outbox queue settles a record only after its event's earlier records") {
  outbox_queue q;
  q.add(record("e", 1), 0);
  q.add(record("e", 2), 0);
  q.add(record("f", 1), 0);
  const auto sent = q.take(10, 0);
  CHECK(q.delivered(sent[1].ticket, 5).empty());  // e:2 before e:1 reported
  const auto f = q.delivered(sent[2].ticket, 6);  // f has nothing before it
  REQUIRE(f.size() == 1);
  CHECK(f[0].key.event_id == "f");
  const auto e = q.delivered(sent[0].ticket, 7);  // e:1 settles e:1 and e:2
  REQUIRE(e.size() == 2);
  CHECK(e[0].key.seq == 1);
  CHECK(e[1].key.seq == 2);
  CHECK(q.depth() == 0);
}

TEST_CASE("outbox queue resends a failed record with every later record of its event") {
  outbox_queue q;
  for (std::uint64_t seq = 1; seq <= 4; ++seq)
    q.add(record("e", seq), 0);
  q.add(record("f", 1), 0);
  q.add(record("e", 5), 0);
  const auto sent = q.take(5, 0);                       // e:1..4 and f:1 in flight, e:5 waiting
  q.failed(sent[1].ticket);                             // e:2 refused ...
  CHECK(q.delivered(sent[2].ticket, 1).empty());        // ... while e:3 got through
  CHECK(q.take(5, 2).empty());                          // e:1, e:4, f:1 have not reported
  CHECK(q.delivered(sent[0].ticket, 3).size() == 1);    // e:1 settles alone
  q.failed(sent[3].ticket);                             // e:4 refused too
  REQUIRE(q.delivered(sent[4].ticket, 4).size() == 1);  // f:1
  // One failed round: e:2 and everything after it of e, delivered (e:3) or not, then e:5.
  CHECK(q.failures_in_a_row() == 1);
  CHECK(q.take(5, 5).empty());  // the backoff starts
  CHECK(q.take(5, 5 + outbox_queue::backoff_min_us - 1).empty());
  const auto again = q.take(5, 5 + outbox_queue::backoff_min_us);
  CHECK(seqs(again) == std::vector<std::uint64_t>{2, 3, 4, 5});
  for (std::size_t i = 0; i + 1 < again.size(); ++i)
    CHECK(q.delivered(again[i + 1].ticket, 10).empty());  // all wait for e:2
  CHECK(q.delivered(again[0].ticket, 11).size() == 4);
  CHECK(q.failures_in_a_row() == 0);
}

TEST_CASE("outbox queue can abandon what is in flight") {
  outbox_queue q;
  q.add(record("e", 1), 0);
  q.add(record("e", 2), 0);
  const auto sent = q.take(10, 0);
  q.abandon_in_flight();
  CHECK(q.in_flight() == 0);
  CHECK(q.delivered(sent[0].ticket, 1).empty());  // a late report of a thrown-away producer
  CHECK(q.take(10, 1).empty());                   // back in the queue; the backoff starts
  const auto again = q.take(10, 1 + outbox_queue::backoff_min_us);
  CHECK(seqs(again) == std::vector<std::uint64_t>{1, 2});
}

TEST_CASE("outbox queue drops an event's records, and their late reports settle nothing") {
  outbox_queue q;
  q.add(record("gone", 1), 0);
  q.add(record("kept", 1), 0);
  q.add(record("gone", 2), 0);
  q.add(record("gone", 3), 0);
  const auto sent = q.take(2, 0);  // gone 1 and kept 1 in flight
  REQUIRE(seqs(sent) == std::vector<std::uint64_t>{1, 1});
  q.failed(sent[0].ticket);
  CHECK(q.drop_events([](const std::string& event) { return event == "gone"; }) == 3);
  CHECK(q.depth() == 1);
  CHECK(q.in_flight() == 1);
  CHECK(q.waiting() == 0);
  // A leader again: the records come back from the committed state, and only those count.
  q.add(record("gone", 2), 1);
  q.add(record("gone", 3), 1);
  const auto again = q.take(10, 1);  // no backoff: the failed round went with its event
  CHECK(seqs(again) == std::vector<std::uint64_t>{2, 3});
  CHECK(q.delivered(sent[1].ticket, 2).size() == 1);  // kept 1
  CHECK(q.delivered(again[1].ticket, 2).empty());     // gone 3 waits for gone 2
  const auto settled = q.delivered(again[0].ticket, 2);
  REQUIRE(settled.size() == 2);
  CHECK(settled[1].key.seq == 3);
  CHECK(q.depth() == 0);
}

TEST_CASE("outbox queue backoff doubles up to its cap and resets on a delivery") {
  outbox_queue q;
  q.add(record("e", 1), 0);
  auto sent = q.take(1, 0);
  REQUIRE(sent.size() == 1);
  std::int64_t now = 0;
  for (int failure = 1; failure <= 10; ++failure) {
    q.failed(sent[0].ticket);
    CHECK(q.take(1, now).empty());  // back in the queue; the backoff starts now
    const std::int64_t expected =
        std::min(outbox_queue::backoff_max_us, outbox_queue::backoff_min_us << (failure - 1));
    CHECK(q.take(1, now + expected - 1).empty());
    now += expected;
    sent = q.take(1, now);
    REQUIRE(sent.size() == 1);
  }
  REQUIRE(q.delivered(sent[0].ticket, now).size() == 1);
  CHECK(q.failures_in_a_row() == 0);
  q.add(record("e", 2), now);
  CHECK(q.take(1, now).size() == 1);  // no backoff after a success
}

TEST_CASE("outbox queue reports the age of its oldest undelivered record") {
  outbox_queue q;
  CHECK_FALSE(q.oldest_added_us());
  q.add(record("e", 1), 100);
  q.add(record("e", 2), 200);
  const auto sent = q.take(2, 300);
  CHECK(q.oldest_added_us() == 100);
  REQUIRE(q.delivered(sent[0].ticket, 400).size() == 1);
  CHECK(q.oldest_added_us() == 200);
}

// A model of the broker: one event's successes land in the topic in the order they were
// sent (the idempotent producer's promise), but after a refused record the ones sent after
// it may still land (librdkafka retries those). The consumer model is seat-persister's rule:
// apply a record only when it follows the last one applied (prev_seq = seq - 1 here).
TEST_CASE("outbox queue: every record settles once and a seq-chaining consumer misses none") {
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    INFO("seed " << seed);
    seatd::common::splitmix64 rng(seed);
    outbox_queue q;
    std::map<std::string, std::uint64_t> next_seq;
    std::set<std::pair<std::string, std::uint64_t>> added, settled;
    std::map<std::string, std::deque<std::uint64_t>> in_flight;  // per event, in send order
    std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> sent_record;
    std::map<std::string, std::vector<std::uint64_t>> topic;
    std::int64_t now = 0;
    auto settle = [&](const std::vector<outbox_queue::delivery>& ds) {
      for (const auto& d : ds)
        REQUIRE(settled.insert({d.key.event_id, d.key.seq}).second);
    };
    auto send = [&] {
      for (const auto& s : q.take(1 + rng.next() % 8, now)) {
        in_flight[s.record->event_id].push_back(s.ticket);
        sent_record[s.ticket] = {s.record->event_id, s.record->seq};
      }
    };
    auto report = [&](bool may_fail) {
      std::vector<std::string> busy;
      for (const auto& [event, tickets] : in_flight)
        if (!tickets.empty()) busy.push_back(event);
      if (busy.empty()) return false;
      auto& tickets = in_flight[busy[rng.next() % busy.size()]];
      const auto ticket = tickets.front();
      tickets.pop_front();
      if (may_fail && rng.next() % 5 == 0) {
        q.failed(ticket);
      } else {
        topic[sent_record[ticket].first].push_back(sent_record[ticket].second);
        settle(q.delivered(ticket, now));
      }
      return true;
    };
    for (int step = 0; step < 2'000; ++step) {
      now += static_cast<std::int64_t>(rng.next() % 20'000);
      const auto roll = rng.next() % 10;
      if (roll < 3 && added.size() < 400) {
        const std::string event = "e" + std::to_string(rng.next() % 4);
        const std::uint64_t seq = ++next_seq[event];
        q.add(record(event, seq), now);
        added.insert({event, seq});
      } else if (roll < 6) {
        send();
      } else {
        report(true);
      }
    }
    for (int round = 0; round < 100'000 && q.depth() > 0; ++round) {
      now += 100'000;
      send();
      while (report(false)) {
      }
    }
    CHECK(q.depth() == 0);
    CHECK(settled == added);
    for (const auto& [event, seqs_in_topic] : topic) {
      std::uint64_t last = 0;
      for (const auto seq : seqs_in_topic)
        if (seq == last + 1) last = seq;
      CHECK(last == next_seq[event]);
    }
  }
}

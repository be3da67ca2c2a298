#include "cluster/outbox_queue.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <set>

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
  const auto d = q.delivered(first[1].ticket, 1'100);
  REQUIRE(d);
  CHECK(d->key.event_id == "e1");
  CHECK(d->key.seq == 2);
  CHECK(d->waited_us == 1'000);
  CHECK(seqs(q.take(3, 1'200)) == std::vector<std::uint64_t>{4});
  CHECK(q.depth() == 4);
}

TEST_CASE("outbox queue ignores a report for a ticket that is not in flight") {
  outbox_queue q;
  q.add(record("e1", 1), 0);
  const auto sent = q.take(10, 0);
  REQUIRE(q.delivered(sent[0].ticket, 1));
  CHECK_FALSE(q.delivered(sent[0].ticket, 2));  // the same report twice
  CHECK_FALSE(q.delivered(12345, 2));
  q.failed(sent[0].ticket, 3);  // a failure after success changes nothing
  CHECK(q.depth() == 0);
  CHECK(q.failures_in_a_row() == 0);
  CHECK_FALSE(q.oldest_added_us());
}

TEST_CASE("outbox queue resends failed records first, in order, after the rest report") {
  outbox_queue q;
  for (std::uint64_t seq = 1; seq <= 6; ++seq)
    q.add(record(seq % 2 ? "odd" : "even", seq), 0);
  const auto sent = q.take(4, 0);  // 1..4 in flight, 5 and 6 waiting
  q.failed(sent[2].ticket, 10);    // 3 fails
  CHECK(q.take(4, 10).empty());    // 1, 2, 4 have not reported yet
  q.failed(sent[0].ticket, 11);    // 1 fails
  REQUIRE(q.delivered(sent[1].ticket, 12));
  REQUIRE(q.delivered(sent[3].ticket, 13));
  // Everything has reported: 1 and 3 are back in front of 5 and 6, after a backoff.
  CHECK(q.take(4, 14).empty());
  CHECK(q.failures_in_a_row() == 2);
  const std::int64_t backoff = outbox_queue::backoff_min_us * 2;  // the second failure in a row
  CHECK(q.take(4, 14 + backoff - 1).empty());
  CHECK(seqs(q.take(4, 14 + backoff)) == std::vector<std::uint64_t>{1, 3, 5, 6});
}

TEST_CASE("outbox queue backoff doubles up to its cap and resets on a delivery") {
  outbox_queue q;
  q.add(record("e", 1), 0);
  auto sent = q.take(1, 0);
  REQUIRE(sent.size() == 1);
  std::int64_t now = 0;
  for (int failure = 1; failure <= 10; ++failure) {
    q.failed(sent[0].ticket, now);
    CHECK(q.take(1, now).empty());  // back in the queue; the backoff starts now
    const std::int64_t expected =
        std::min(outbox_queue::backoff_max_us, outbox_queue::backoff_min_us << (failure - 1));
    CHECK(q.take(1, now + expected - 1).empty());
    now += expected;
    sent = q.take(1, now);
    REQUIRE(sent.size() == 1);
  }
  REQUIRE(q.delivered(sent[0].ticket, now));
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
  REQUIRE(q.delivered(sent[0].ticket, 400));
  CHECK(q.oldest_added_us() == 200);
}

TEST_CASE("outbox queue delivers every record exactly once under random failures") {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    seatd::common::splitmix64 rng(seed);
    outbox_queue q;
    std::map<std::string, std::uint64_t> next_seq;
    std::set<std::pair<std::string, std::uint64_t>> added, delivered;
    std::vector<std::uint64_t> in_flight;
    std::int64_t now = 0;
    for (int step = 0; step < 2'000; ++step) {
      now += static_cast<std::int64_t>(rng.next() % 20'000);
      const auto roll = rng.next() % 10;
      if (roll < 3 && added.size() < 500) {
        const std::string event = "e" + std::to_string(rng.next() % 4);
        const std::uint64_t seq = ++next_seq[event];
        q.add(record(event, seq), now);
        added.insert({event, seq});
      } else if (roll < 6) {
        const auto sent = q.take(1 + rng.next() % 8, now);
        for (std::size_t i = 1; i < sent.size(); ++i)
          REQUIRE(sent[i - 1].ticket < sent[i].ticket);  // each batch in commit order
        for (const auto& s : sent)
          in_flight.push_back(s.ticket);
      } else if (!in_flight.empty()) {
        const auto pick = rng.next() % in_flight.size();
        const auto ticket = in_flight[pick];
        in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(pick));
        if (roll < 9) {
          const auto d = q.delivered(ticket, now);
          REQUIRE(d);
          REQUIRE(delivered.insert({d->key.event_id, d->key.seq}).second);
        } else {
          q.failed(ticket, now);
        }
      }
    }
    // Drain: deliver everything that is or becomes in flight.
    for (int round = 0; round < 10'000 && q.depth() > 0; ++round) {
      now += 100'000;
      for (const auto& s : q.take(64, now))
        in_flight.push_back(s.ticket);
      for (const auto ticket : in_flight) {
        const auto d = q.delivered(ticket, now);
        REQUIRE(d);
        REQUIRE(delivered.insert({d->key.event_id, d->key.seq}).second);
      }
      in_flight.clear();
    }
    INFO("seed " << seed);
    CHECK(q.depth() == 0);
    CHECK(delivered == added);
  }
}

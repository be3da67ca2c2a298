// Benchmarks of the pure inventory core, printed as a table. Run: scripts/bench.sh
//
// 1. hold + confirm/release of 2-4 seat blocks on the 50,000-seat venue of WORKLOAD.md,
//    with W1's draws (64 client streams, interleaved), straight into the event machine;
// 2. best-available latency on a 90%-sold 100,000-seat event, beside a naive full scan of
//    the same rules in the same run (the ratio is what to compare across machines);
// 3. snapshot encode and decode of that event;
// 4. memory per seat, empty and sold out.

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "actors/snapshot_codec.hpp"
#include "actors/venues.hpp"
#include "common/prng.hpp"
#include "common/w1_workload.hpp"

using namespace seatd::actors;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

std::size_t heap_in_use() {
  return mallinfo2().uordblks;
}

// ---- 1. W1 through the core ------------------------------------------------------------

struct w1_result {
  std::uint64_t attempts = 0, held = 0, confirmed = 0, released = 0;
  double seconds = 0;
};

w1_result run_w1(event_machine& m, std::uint64_t budget, std::uint64_t seed) {
  constexpr int clients = 64;
  std::vector<seatd::common::splitmix64> streams;
  for (std::uint64_t i = 0; i < clients; ++i)
    streams.push_back(seatd::common::w1_stream(seed, i));
  w1_result r;
  std::int64_t now = seatd::test::t0;
  const auto start = clock_type::now();
  for (std::uint64_t n = 0; n < budget; ++n) {
    const seatd::common::w1_draw draw = seatd::common::draw_w1(streams[n % clients]);
    const bool confirm = draw.confirm;
    hold_command c;
    c.customer_id = "c" + std::to_string(n % clients);
    c.ttl_s = 600;
    c.selector = explicit_seats{draw.seat_ids()};
    c.secret = {static_cast<std::uint32_t>(n), 0, 0};
    ++r.attempts;
    now += 1;
    auto held = m.hold(c, now);
    if (!held) continue;
    ++r.held;
    if (confirm) {
      r.confirmed += m.confirm({held->hold_id, "pay-" + std::to_string(n), "", 0,
                                static_cast<std::uint32_t>(n)},
                               now)
                         .ok();
    } else {
      r.released += m.release({held->hold_id}, now).ok();
    }
  }
  r.seconds = seconds_since(start);
  return r;
}

// ---- 2. best available ------------------------------------------------------------------

// The same rules as seat_map::find_best (adjacent), by brute force over every seat.
std::vector<seat_index> naive_best(const event_machine& m, std::uint32_t count) {
  const event_layout& layout = m.layout();
  for (int avoid = 1; avoid >= 0; --avoid) {
    for (const row_layout& row : layout.rows()) {
      std::int64_t best = -1, best_distance = 1 << 30;
      const auto n = static_cast<std::int64_t>(row.seat_count),
                 k = static_cast<std::int64_t>(count);
      for (std::int64_t s = 0; s + k <= n; ++s) {
        bool free = true;
        for (std::int64_t i = s; i < s + k && free; ++i)
          free =
              m.seats().state(row.first_seat + static_cast<seat_index>(i)) == seat_state::available;
        if (!free) continue;
        auto is_free = [&](std::int64_t i) {
          return i >= 0 && i < n &&
                 m.seats().state(row.first_seat + static_cast<seat_index>(i)) ==
                     seat_state::available;
        };
        const bool strands_left = is_free(s - 1) && !is_free(s - 2);
        const bool strands_right = is_free(s + k) && !is_free(s + k + 1);
        if (avoid && (strands_left || strands_right)) continue;
        const std::int64_t d = std::abs(2 * s + k - n);
        if (d < best_distance) best_distance = d, best = s;
      }
      if (best >= 0) {
        std::vector<seat_index> seats;
        for (std::int64_t i = 0; i < k; ++i)
          seats.push_back(row.first_seat + static_cast<seat_index>(best + i));
        return seats;
      }
    }
  }
  return {};
}

// Sells random 2-4 blocks until `fraction` of the seats are sold.
void sell_until(event_machine& m, double fraction, std::uint64_t seed) {
  seatd::common::splitmix64 g(seed);
  const auto seats = m.layout().seat_count();
  std::uint32_t n = 0;
  std::int64_t now = seatd::test::t0;
  while (m.seats().counts()[seat_state::sold] < static_cast<std::uint32_t>(fraction * seats)) {
    const auto first = static_cast<seat_index>(g.below(seats));
    const auto k = static_cast<seat_index>(1 + g.below(4));
    hold_command c;
    c.customer_id = "buyer" + std::to_string(n);
    c.ttl_s = 600;
    std::vector<std::string> ids;
    for (seat_index s = first; s < std::min(seats, first + k); ++s)
      ids.push_back(m.layout().seat_id(s));
    c.selector = explicit_seats{ids};
    c.secret = {++n, 0, 0};
    auto held = m.hold(c, ++now);
    if (held) (void)m.confirm({held->hold_id, "pay-" + std::to_string(n), "", 0, n}, now);
  }
}

struct latency {
  double p50_us, p99_us, max_us;
};

template <class Find>
latency measure(int rounds, Find find) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(rounds));
  for (int i = 0; i < rounds; ++i) {
    const auto start = clock_type::now();
    find(i);
    us.push_back(seconds_since(start) * 1e6);
  }
  return {percentile(us, 0.5), percentile(us, 0.99), *std::max_element(us.begin(), us.end())};
}

void print_memory(const char* label, const event_machine& m, std::size_t heap_bytes) {
  const auto report = m.memory();
  const double seats = m.layout().seat_count();
  auto per_seat = [&](std::size_t bytes) { return static_cast<double>(bytes) / seats; };
  std::printf("  %-34s %8.2f B/seat (accounted)  %8.2f B/seat (malloc)\n", label,
              per_seat(report.total()), per_seat(heap_bytes));
  std::printf(
      "    layout %.2f  seat map %.2f  holds %.2f  reservations %.2f  seat lists %.2f  texts %.2f  "
      "customers %.2f  expiry %.2f  idempotency %.2f\n",
      per_seat(report.layout_index), per_seat(report.seat_map), per_seat(report.holds),
      per_seat(report.reservations), per_seat(report.seat_lists), per_seat(report.texts),
      per_seat(report.customers), per_seat(report.expiry_queue), per_seat(report.idempotency));
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 42;
  std::printf("seatd inventory core benchmark (seed %llu)\n\n",
              static_cast<unsigned long long>(seed));

  // 1. W1 on 50,000 seats, three runs.
  std::printf("1. W1 draws straight into the event machine (50,000 seats, 50,000 hold attempts)\n");
  std::vector<double> ops_per_s;
  w1_result last;
  for (int run = 0; run < 3; ++run) {
    auto m = seatd::test::make_machine(seatd::test::flash_venue(50, 20, 50));
    last = run_w1(m, 50'000, seed);
    ops_per_s.push_back(static_cast<double>(last.attempts + last.confirmed + last.released) /
                        last.seconds);
    if (!m.check_invariants().empty()) return 1;
    if (run == 2)
      std::printf("   sold %.1f%%, conflicts %.1f%% of hold attempts\n",
                  100.0 * m.seats().counts()[seat_state::sold] / 50'000.0,
                  100.0 * static_cast<double>(last.attempts - last.held) /
                      static_cast<double>(last.attempts));
  }
  std::printf(
      "   operations/s (holds + confirms + releases), median of 3: %.0f  (runs: %.0f %.0f %.0f)\n",
      percentile(ops_per_s, 0.5), ops_per_s[0], ops_per_s[1], ops_per_s[2]);
  std::printf("   hold attempts/s: %.0f\n\n", static_cast<double>(last.attempts) / last.seconds);

  // 2. Best available on a 90%-sold 100,000-seat event.
  std::printf("2. best available, 2-4 adjacent seats, 100,000 seats 90%% sold (100 x 20 x 50)\n");
  auto big = seatd::test::make_machine(seatd::test::flash_venue(100, 20, 50));
  sell_until(big, 0.90, seed);
  int mismatches = 0;
  for (std::uint32_t count = 1; count <= 12; ++count)
    if (big.seats().find_best({count, {}, {}, true}) != naive_best(big, count)) ++mismatches;
  const int rounds = 2000;
  std::size_t found_seats = 0;
  const latency indexed = measure(rounds, [&](int i) {
    found_seats +=
        big.seats().find_best({2 + static_cast<std::uint32_t>(i % 3), {}, {}, true}).size();
  });
  const latency naive =
      measure(200, [&](int i) { (void)naive_best(big, 2 + static_cast<std::uint32_t>(i % 3)); });
  std::printf("   indexed search: p50 %.2f us  p99 %.2f us  max %.2f us\n", indexed.p50_us,
              indexed.p99_us, indexed.max_us);
  std::printf("   naive full scan: p50 %.2f us  p99 %.2f us  (indexed is %.0fx faster at p50)\n",
              naive.p50_us, naive.p99_us, naive.p50_us / indexed.p50_us);
  std::printf("   same seats as the naive scan for blocks of 1 to 12: %s (%zu seats found)\n",
              mismatches == 0 ? "yes" : "NO", found_seats);
  {
    // The worst case: every free run is 3 seats long, so every pair strands a seat and the
    // search must look at every row twice before it settles for a stranding pair.
    auto worst = seatd::test::make_machine(seatd::test::flash_venue(100, 20, 50));
    std::vector<std::string> taken;
    for (seat_index seat = 0; seat < worst.layout().seat_count(); ++seat) {
      if (seat % 50 % 4 == 3 || seat % 50 == 49) taken.push_back(worst.layout().seat_id(seat));
      if (taken.size() == 5000 || seat + 1 == worst.layout().seat_count()) {
        if (!worst.block({taken, true}, seatd::test::t0).ok()) std::abort();
        taken.clear();
      }
    }
    const latency stranded = measure(200, [&](int) {
      found_seats += worst.seats().find_best({2, {}, {}, true}).size();
    });
    std::printf("   worst case (every free run would strand a seat): p50 %.2f us  p99 %.2f us\n",
                stranded.p50_us, stranded.p99_us);
  }
  // Through the machine: hold by best available, then release, so the state stays put.
  const latency through = measure(rounds, [&](int i) {
    hold_command c;
    c.customer_id = "bench";
    c.selector = best_available{2 + static_cast<std::uint32_t>(i % 3), "", "", true};
    c.secret = {static_cast<std::uint32_t>(i), 0, 0};
    auto held = big.hold(c, seatd::test::t0 + 10'000'000);
    if (held) (void)big.release({held->hold_id}, seatd::test::t0 + 10'000'000);
  });
  std::printf("   hold(best_available) + release: p50 %.2f us  p99 %.2f us\n\n", through.p50_us,
              through.p99_us);

  // 3. Snapshots of that event.
  std::printf("3. snapshot of the 90%%-sold 100,000-seat event\n");
  std::vector<std::uint8_t> bytes;
  const latency encode = measure(20, [&](int) { bytes = snapshot_codec::encode(big); });
  const latency decode = measure(20, [&](int) {
    if (!snapshot_codec::decode(bytes).ok()) std::abort();
  });
  const double mb = static_cast<double>(bytes.size()) / 1e6;
  std::printf(
      "   size %.2f MB; encode p50 %.2f ms (%.0f MB/s); decode + full validation p50 %.2f ms (%.0f "
      "MB/s)\n\n",
      mb, encode.p50_us / 1e3, mb / (encode.p50_us / 1e6), decode.p50_us / 1e3,
      mb / (decode.p50_us / 1e6));

  // 4. Memory per seat.
  std::printf("4. memory of a 100,000-seat event (100 x 20 x 50)\n");
  std::size_t empty_bytes = 0;
  {
    const std::size_t before = heap_in_use();
    auto empty = seatd::test::make_machine(seatd::test::flash_venue(100, 20, 50));
    print_memory("all seats available:", empty, heap_in_use() - before);
    empty_bytes = empty.memory().total();
  }
  {
    const std::size_t before = heap_in_use();
    auto sold = seatd::test::make_machine(seatd::test::flash_venue(100, 20, 50));
    sell_until(sold, 0.999, seed);
    sold.expire(seatd::test::t0 + 24 * 3600 * 1000);  // steady state: the hold timers have passed
    print_memory("sold out in 1-4 seat orders:", sold, heap_in_use() - before);
    const auto orders = static_cast<double>(sold.stream_seq());
    std::printf("    %.0f reservations of %.2f seats each on average, each with its own customer\n",
                orders, 100'000.0 / orders);
    std::printf(
        "    id and payment ref (\"buyer123\", \"pay-123\"): %.0f B per reservation (accounted)\n",
        static_cast<double>(sold.memory().total() - empty_bytes) / orders);
  }
  return mismatches == 0 ? 0 : 1;
}

// seatd-core-demo: drives the real inventory core in-process, to show what it does before
// the server exists. Walks through every command and a few of its errors, runs the flash
// on-sale workload of docs/WORKLOAD.md against it, and draws a section.
//
// Usage: seatd-core-demo [seed]

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "actors/event_machine.hpp"
#include "actors/snapshot_codec.hpp"
#include "common/prng.hpp"
#include "common/time_format.hpp"
#include "common/w1_workload.hpp"

using namespace seatd::actors;

namespace {

constexpr std::int64_t start_ms = 1'795'255'200'000;  // 2026-11-21T10:00:00Z

event_spec w1_venue() {
  event_spec spec;
  spec.name = "Flash on-sale";
  spec.starts_at_ms = start_ms + 90LL * 24 * 3600 * 1000;
  spec.categories = {{"STD", 100000, "KRW"}};
  for (int s = 1; s <= 50; ++s) {
    section_spec section{std::to_string(s), {}};
    for (int r = 1; r <= 20; ++r)
      section.rows.push_back({std::to_string(r), 50, {}, "STD"});
    spec.sections.push_back(section);
  }
  return spec;
}

template <class T>
void show(const char* what, const result<T>& r) {
  if (r.ok()) {
    std::printf("  %-44s ok\n", what);
  } else {
    std::printf("  %-44s %s: %s\n", what, std::string(errc_name(r.error().code)).c_str(),
                r.error().message.c_str());
  }
}

void draw_section(const event_machine& m, std::uint32_t section) {
  const section_layout& s = m.layout().sections()[section];
  std::printf("\nsection %s ('.' available, 'h' held, '#' sold, 'x' blocked)\n", s.id.c_str());
  for (std::uint32_t r = s.first_row; r < s.first_row + s.row_count; ++r) {
    const row_layout& row = m.layout().rows()[r];
    std::string line;
    for (seat_index seat = row.first_seat; seat < row.first_seat + row.seat_count; ++seat)
      line += ".h#x"[static_cast<int>(m.seats().state(seat))];
    std::printf("  row %2s  %s\n", row.id.c_str(), line.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) try {
  const std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 42;
  auto created = event_machine::create("flash-2026", w1_venue(), start_ms, seed);
  if (!created) return 1;
  event_machine m = std::move(created).value();
  std::printf("event flash-2026: %u seats in %zu sections, created %s\n\n", m.layout().seat_count(),
              m.layout().sections().size(), seatd::common::format_rfc3339_ms(start_ms).c_str());

  std::printf("a walk through the commands:\n");
  std::int64_t now = start_ms + 1000;
  hold_command best;
  best.customer_id = "alice";
  best.selector = best_available{4, "", "1", true};
  best.secret = {0x1111, 0, 0};
  auto alice = m.hold(best, now);
  show("alice holds the best 4 in section 1", alice);
  if (!alice) return 1;
  std::printf("    -> %s: %s %s %s %s, %lld KRW, expires %s\n", alice->hold_id.c_str(),
              alice->seats[0].c_str(), alice->seats[1].c_str(), alice->seats[2].c_str(),
              alice->seats[3].c_str(), static_cast<long long>(alice->total_minor),
              seatd::common::format_rfc3339_ms(alice->expires_at_ms).c_str());
  hold_command clash;
  clash.customer_id = "bob";
  clash.selector = explicit_seats{{alice->seats[1], "1-1-1"}};
  clash.secret = {0x2222, 0, 0};
  show("bob tries one of alice's seats", m.hold(clash, now));
  clash.selector = explicit_seats{{"1-1-1", "99-1-1"}};
  show("bob names a seat that does not exist", m.hold(clash, now));
  clash.selector = explicit_seats{{"1-1-1", "1-1-2"}};
  clash.ttl_s = 30;
  auto bob = m.hold(clash, now);
  show("bob holds 1-1-1 and 1-1-2 for 30 s", bob);
  auto paid = m.confirm({alice->hold_id, "pay-alice-1", "idem-alice", 77, 0x3333}, now + 5000);
  show("alice confirms (idempotency key idem-alice)", paid);
  show("alice's retry with the same key replays",
       m.confirm({alice->hold_id, "pay-alice-1", "idem-alice", 77, 0}, now + 6000));
  std::printf("  %-44s %u hold(s) expired\n", "40 s later, the expiry timer fires",
              m.expire(now + 40'000).holds_expired);
  if (bob)
    show("bob confirms too late",
         m.confirm({bob->hold_id, "pay-bob-1", "", 0, 0x4444}, now + 41'000));
  if (paid)
    show("alice cancels", m.cancel({paid->reservation.reservation_id, "refund"}, now + 50'000));
  show("the venue blocks 1-20-1..1-20-2 (camera)",
       m.block({{"1-20-1", "1-20-2"}, true}, now + 51'000));

  std::printf("\nthe flash on-sale workload W1 (64 clients, 50,000 hold attempts, seed %llu):\n",
              static_cast<unsigned long long>(seed));
  std::vector<seatd::common::splitmix64> clients;
  for (std::uint64_t i = 0; i < 64; ++i)
    clients.push_back(seatd::common::w1_stream(seed, i));
  std::uint64_t held = 0, conflicts = 0, confirmed = 0;
  now += 60'000;
  for (std::uint64_t n = 0; n < 50'000; ++n) {
    const seatd::common::w1_draw draw = seatd::common::draw_w1(clients[n % 64]);
    hold_command c;
    c.customer_id = "c" + std::to_string(n % 64);
    c.ttl_s = 600;
    c.secret = {static_cast<std::uint32_t>(n), 0, 0};  // ids need not be secret here
    c.selector = explicit_seats{draw.seat_ids()};
    auto h = m.hold(c, ++now);
    if (!h) {
      ++conflicts;
      continue;
    }
    ++held;
    if (draw.confirm)
      confirmed += m.confirm({h->hold_id,
                              "pay-" + std::to_string(n),
                              "",
                              0,
                              {static_cast<std::uint32_t>(n), 1, 0}},
                             now)
                       .ok();
    else
      (void)m.release({h->hold_id}, now);
  }
  const auto& counts = m.seats().counts();
  std::printf("  holds %llu, conflicts %llu (%.1f%%), confirms %llu\n",
              static_cast<unsigned long long>(held), static_cast<unsigned long long>(conflicts),
              100.0 * static_cast<double>(conflicts) / 50'000.0,
              static_cast<unsigned long long>(confirmed));
  std::printf("  seats: %u available, %u held, %u sold (%.1f%%), %u blocked\n",
              counts[seat_state::available], counts[seat_state::held], counts[seat_state::sold],
              100.0 * counts[seat_state::sold] / 50'000.0, counts[seat_state::blocked]);
  draw_section(m, 0);

  const auto snapshot = snapshot_codec::encode(m);
  auto restored = snapshot_codec::decode(snapshot);
  const std::string problems = m.check_invariants();
  std::printf("\nsnapshot: %zu bytes, decodes to the same state: %s; invariants: %s\n",
              snapshot.size(),
              restored.ok() && snapshot_codec::encode(restored.value()) == snapshot ? "yes" : "NO",
              problems.empty() ? "hold" : problems.c_str());
  return problems.empty() && restored.ok() ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "seatd-core-demo: %s\n", e.what());
  return 2;
}

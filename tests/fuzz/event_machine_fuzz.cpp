// libFuzzer target, structured: the bytes are a program of commands (holds of every kind,
// extend, release, confirm, cancel, block, unblock, expiry, repeats of keyed requests, time
// passing) run through an event's host, exactly as the server runs them, and a shard's
// committed machine that follows its log. After every command: the machine's invariants
// hold, a failed command changed nothing but the expiry of holds, and at the end replaying
// the log (caught up to the host's clock) gives the host's machine byte for byte.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/event_host.hpp"
#include "actors/shard_machine.hpp"
#include "actors/snapshot_codec.hpp"
#include "common/assert.hpp"

namespace {

using namespace seatd::actors;

class program {
 public:
  program(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::uint32_t below(std::uint32_t n) { return byte() % n; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

event_spec venue(program& p) {
  event_spec spec;
  spec.name = "fuzz";
  spec.starts_at_ms = 1'800'000'000'000;
  spec.categories = {{"A", 1000, "EUR"}, {"B", 500, "EUR"}};
  const std::uint32_t sections = 1 + p.below(3), rows = 1 + p.below(3), seats = 3 + p.below(10);
  for (std::uint32_t s = 1; s <= sections; ++s) {
    section_spec section{std::to_string(s), {}};
    for (std::uint32_t r = 1; r <= rows; ++r)
      section.rows.push_back({std::to_string(r), seats, {}, r % 2 ? "A" : "B"});
    spec.sections.push_back(section);
  }
  spec.ga_areas = {{"FLOOR", 1 + p.below(20), "B"}};
  spec.max_seats_per_customer = p.below(6);
  spec.default_hold_ttl_s = 5 + p.below(20);
  spec.max_hold_ttl_s = 30 + p.below(60);
  return spec;
}

struct run {
  event_host host;
  shard_machine committed{0};
  std::uint64_t index = 0;
  std::vector<std::string> holds, reservations;
  std::vector<command> keyed;
  std::int64_t now_ms = 1'800'000'000'000;
  std::uint64_t random = 0;
  std::uint32_t sections, rows, seats;

  void log(const proposal& entry) {
    auto applied = committed.apply({++index, entry.stamp_ms, entry.event_id, entry.payload});
    SEATD_ASSERT(applied.ok(), "a logged entry does not apply to the committed machine");
  }

  std::string seat(program& p) const {
    return std::to_string(1 + p.below(sections + 1)) + "-" + std::to_string(1 + p.below(rows)) +
           "-" + std::to_string(1 + p.below(seats + 1));  // sometimes past the end: unknown
  }
  std::string pick(program& p, const std::vector<std::string>& ids, const char* fallback) const {
    if (ids.empty() || p.below(8) == 0) return fallback;
    return ids[p.below(static_cast<std::uint32_t>(ids.size()))];
  }

  // No key three times in four; else one of four keys, shared by every kind of command.
  static std::string key(program& p) {
    return p.below(4) == 0 ? "k" + std::to_string(p.below(4)) : std::string();
  }

  command next(program& p) {
    switch (p.below(11)) {
      case 0:
      case 1: {
        hold_command c;
        c.customer_id = "c" + std::to_string(p.below(4));
        std::vector<std::string> ids;
        for (std::uint32_t i = 0, n = 1 + p.below(4); i < n; ++i)
          ids.push_back(seat(p));
        c.selector = explicit_seats{ids};
        if (p.below(3) == 0) c.ttl_s = p.below(100);
        if (p.below(4) == 0) c.idempotency_key = "k" + std::to_string(p.below(4));
        return c;
      }
      case 2: {
        hold_command c;
        c.customer_id = "c" + std::to_string(p.below(4));
        c.selector =
            best_available{1 + p.below(5), p.below(3) == 0 ? "A" : "", "", p.below(2) == 0};
        return c;
      }
      case 3: {
        hold_command c;
        c.customer_id = "c" + std::to_string(p.below(4));
        c.selector = ga_places{p.below(8) == 0 ? "NOPE" : "FLOOR", 1 + p.below(6)};
        return c;
      }
      case 4:
        return extend_command{pick(p, holds, "h9-000000000000000000000000"), p.below(120), "",
                              key(p), p.below(2)};
      case 5:
        return release_command{pick(p, holds, "h9-000000000000000000000000"), "", key(p), 0};
      case 6: {
        confirm_command c{pick(p, holds, "h9-000000000000000000000000"),
                          "pay" + std::to_string(p.below(3)),
                          "",
                          0,
                          {}};
        if (p.below(3) == 0) c.idempotency_key = "k" + std::to_string(p.below(4));
        return c;
      }
      case 7:
        return cancel_command{pick(p, reservations, "r1-9-00000000"), "fuzz", "", key(p), 0};
      case 8:
        return block_command{{seat(p), seat(p)}, p.below(2) == 0, key(p), p.below(2)};
      case 9:
        if (!keyed.empty()) return keyed[p.below(static_cast<std::uint32_t>(keyed.size()))];
        return expire_command{};
      default:  // a stream ack: old, current, or (refused) one past the last record
        return stream_ack_command{
            p.below(static_cast<std::uint32_t>(host.machine().stream_seq()) + 2)};
    }
  }

  void step(program& p) {
    now_ms += p.below(4) * p.byte() * 20;
    command c = next(p);
    event_machine expired_only = host.machine();  // what a failure may leave: expiry alone
    static_cast<void>(expired_only.expire(std::max(now_ms, expired_only.clock_ms())));
    const bool keyed_request = std::visit(
        [](const auto& x) {
          if constexpr (requires { x.idempotency_key; })
            return !x.idempotency_key.empty();
          else
            return false;
        },
        c);
    if (keyed_request && keyed.size() < 16) keyed.push_back(c);
    ++random;
    const id_secret secret{static_cast<std::uint32_t>(random),
                           static_cast<std::uint32_t>(random >> 32), 0x5EC2E7u};
    event_ready ready = host.on_command(c, now_ms, secret, true);
    if (ready.entry) log(*ready.entry);
    SEATD_ASSERT(host.machine().check_invariants().empty(), "invariants broken");
    const auto& reply = *ready.reply;
    if (!reply.ok()) {
      SEATD_ASSERT(snapshot_codec::encode(host.machine()) == snapshot_codec::encode(expired_only),
                   "a failed command changed more than the expiry of holds");
      return;
    }
    if (const auto* hold = std::get_if<hold_view>(&reply.value())) holds.push_back(hold->hold_id);
    if (const auto* confirm = std::get_if<confirm_reply>(&reply.value()))
      reservations.push_back(confirm->reservation.reservation_id);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  program p(data, size);
  event_spec spec = venue(p);
  const std::uint32_t sections = static_cast<std::uint32_t>(spec.sections.size());
  const std::uint32_t rows = static_cast<std::uint32_t>(spec.sections[0].rows.size());
  const std::uint32_t seats = spec.sections[0].rows[0].seat_count;
  auto created = event_host::create(0, "ev", spec, 1'800'000'000'000, 42);
  SEATD_ASSERT(created.ok(), "the fuzz venue does not validate");
  run r{event_host(0, created.value().machine),
        shard_machine(0),
        0,
        {},
        {},
        {},
        1'800'000'000'000,
        0,
        sections,
        rows,
        seats};
  r.log(created.value().entry);
  for (int steps = 0; !p.done() && steps < 400; ++steps)
    r.step(p);
  const event_machine* replayed = r.committed.find("ev");
  SEATD_ASSERT(replayed != nullptr, "the committed machine lost the event");
  // Failed commands move the host's clock without an entry (the next entry's stamp moves the
  // committed clock as far); every expiry they made is logged, so catching the committed
  // copy up to the host's clock frees nothing and gives the host's machine exactly.
  event_machine caught_up = *replayed;
  SEATD_ASSERT(caught_up.expire(r.host.machine().clock_ms()).holds_expired == 0,
               "the host expired holds that its log does not say");
  SEATD_ASSERT(snapshot_codec::encode(caught_up) == snapshot_codec::encode(r.host.machine()),
               "replaying the log does not give the host's machine");
  return 0;
}

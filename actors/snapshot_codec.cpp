#include "actors/snapshot_codec.hpp"

#include <array>
#include <cstring>

#include "actors/command_codec.hpp"
#include "common/byte_codec.hpp"
#include "common/checksum.hpp"

namespace seatd::actors {
namespace {

constexpr std::array<std::uint8_t, 8> magic{'S', 'E', 'A', 'T', 'S', 'N', 'A', 'P'};
constexpr std::size_t header_bytes = magic.size() + 2 + 4 + 4;  // magic, version, length, crc
constexpr std::size_t text_max = 1 << 20;
constexpr std::size_t count_max = 1u << 26;

using decode_result = common::result<event_machine, std::string>;
common::failure_of<std::string> corrupt(std::string what) {
  return {"snapshot: " + std::move(what)};
}

}  // namespace

// The hold records, their seat lists rebuilt without garbage, and the free slots; an error
// message when they do not decode.
std::string snapshot_codec::decode_holds(common::byte_reader& r, event_machine& m) {
  constexpr std::uint8_t known_flags =
      event_machine::flag_free | event_machine::flag_keyed | event_machine::flag_overdue;
  m.holds_.resize(r.count(count_max, 1));
  for (std::uint32_t i = 0; i < m.holds_.size() && r.ok(); ++i) {
    auto& h = m.holds_[i];
    h.flags = r.u8();
    if ((h.flags & ~known_flags) != 0) return "bad hold flags";
    if ((h.flags & event_machine::flag_free) != 0) {
      if (h.flags != event_machine::flag_free) return "bad hold flags";
      h.reservation = event_machine::none;
      m.free_holds_.insert(i);
      continue;
    }
    h.created_at_ms = r.i64();
    h.lifetime_ms = r.u32();
    h.customer = r.u32();
    h.reservation = r.u32();
    for (std::uint32_t& word : h.secret)
      word = r.u32();
    h.ended_after_ms = r.u32();
    h.seat_count = r.u8();
    h.ga_count = r.u8();
    h.ga_area = r.u8();
    const std::uint8_t status = r.u8();
    if (status > static_cast<std::uint8_t>(hold_status::cancelled)) return "bad hold status";
    h.status = static_cast<hold_status>(status);
    if (h.status == hold_status::active) ++m.active_holds_;
    h.seats_at = static_cast<std::uint32_t>(m.seat_lists_.size());
    for (std::uint8_t k = 0; k < h.seat_count && r.ok(); ++k)
      m.seat_lists_.push_back(r.u32());
  }
  return r.ok() ? std::string() : "truncated holds";
}

std::vector<std::uint8_t> snapshot_codec::encode(const event_machine& m) {
  common::byte_writer w;
  w.raw(magic);
  w.u16(version);
  w.u32(0);  // payload length, patched below
  w.u32(0);  // payload checksum, patched below

  w.string(m.event_id_);
  codec::encode_spec(w, m.layout_->spec());
  w.i64(m.created_at_ms_);
  w.u64(m.id_salt_);
  w.i64(m.hold_retention_ms_);
  w.i64(m.clock_ms_);
  const std::uint32_t seats = m.layout_->seat_count();
  w.varint(seats);
  for (seat_index s = 0; s < seats; ++s)
    w.u8(static_cast<std::uint8_t>(m.seats_.state(s)));
  for (std::size_t a = 0; a < m.ga_held_.size(); ++a) {
    w.varint(m.ga_held_[a]);
    w.varint(m.ga_sold_[a]);
  }
  // Holds with their seats inline (seat_lists_ offsets are not state); a forgotten slot is
  // its flags alone.
  w.varint(m.holds_.size());
  for (const auto& h : m.holds_) {
    w.u8(h.flags);
    if ((h.flags & event_machine::flag_free) != 0) continue;
    w.i64(h.created_at_ms);
    w.u32(h.lifetime_ms);
    w.u32(h.customer);
    w.u32(h.reservation);
    for (std::uint32_t word : h.secret)
      w.u32(word);
    w.u32(h.ended_after_ms);
    w.u8(h.seat_count);
    w.u8(h.ga_count);
    w.u8(h.ga_area);
    w.u8(static_cast<std::uint8_t>(h.status));
    for (seat_index seat : m.hold_seats(h))
      w.u32(seat);
  }
  w.varint(m.reservations_.size());
  for (const auto& r : m.reservations_) {
    w.i64(r.cancelled_at_ms);
    w.u32(r.hold);
    for (std::uint32_t word : r.secret)
      w.u32(word);
    w.u32(r.confirmed_after_ms);
    w.u32(r.payment_ref_at);
    w.u32(r.payment_ref_length);
  }
  w.string(m.texts_);
  const auto customers = m.customers_.images();
  w.varint(customers.size());
  for (const auto& c : customers) {
    w.string(c.id);
    w.varint(c.seats);
    w.varint(c.holds);
  }
  w.varint(m.idempotency_.size());
  m.idempotency_.for_each([&](const std::string& key, const idempotency_ledger::entry& e) {
    w.string(key);
    w.u64(e.fingerprint);
    w.i64(e.stamp_ms);
    w.u8(static_cast<std::uint8_t>(e.outcome.op));
    w.u32(e.outcome.hold);
    w.i64(e.outcome.expires_at_ms);
    w.string(e.outcome.seat_states);
  });
  w.varint(m.holds_expired_total_);
  w.varint(m.stream_seq_);
  w.varint(m.stream_pending_.size());
  for (const std::uint32_t entry : m.stream_pending_)
    w.u32(entry);

  const std::size_t payload = w.size() - header_bytes;
  SEATD_ASSERT(payload <= 0xFFFFFFFFu, "snapshot over 4 GiB");
  w.patch_u32(magic.size() + 2, static_cast<std::uint32_t>(payload));
  const auto& bytes = w.bytes();
  w.patch_u32(magic.size() + 6, common::crc32c(std::span(bytes).subspan(header_bytes)));
  return w.take();
}

decode_result snapshot_codec::decode(std::span<const std::uint8_t> bytes,
                                     const machine_limits& limits) {
  if (bytes.size() < header_bytes) return corrupt("shorter than its header");
  if (std::memcmp(bytes.data(), magic.data(), magic.size()) != 0) return corrupt("bad magic");
  common::byte_reader header(bytes.subspan(magic.size(), header_bytes - magic.size()));
  const std::uint16_t found_version = header.u16();
  const std::uint32_t length = header.u32();
  const std::uint32_t checksum = header.u32();
  if (found_version != version)
    return corrupt("unsupported version " + std::to_string(found_version) + " (this build reads " +
                   std::to_string(version) + ")");
  if (length != bytes.size() - header_bytes) return corrupt("length does not match");
  const auto payload = bytes.subspan(header_bytes);
  if (common::crc32c(payload) != checksum) return corrupt("checksum mismatch");

  common::byte_reader r(payload);
  std::string event_id = r.string(text_max);
  event_spec spec = codec::decode_spec(r);
  const std::int64_t created_at_ms = r.i64();
  const std::uint64_t salt = r.u64();
  const std::int64_t retention_ms = r.i64();
  const std::int64_t clock_ms = r.i64();
  if (!r.ok()) return corrupt("truncated definition");
  auto created = event_machine::create(std::move(event_id), std::move(spec), created_at_ms, salt,
                                       retention_ms, limits);
  if (!created) return corrupt("invalid definition: " + created.error().message);
  event_machine m = std::move(created).value();
  m.clock_ms_ = clock_ms;
  if (clock_ms < created_at_ms) return corrupt("clock before creation");

  const std::uint32_t seats = m.layout_->seat_count();
  if (r.varint() != seats || r.remaining() < seats)
    return corrupt("seat count does not match the layout");
  std::array<std::vector<seat_index>, seat_state_count> by_state;
  for (seat_index s = 0; s < seats; ++s) {
    const std::uint8_t state = r.u8();
    if (state >= seat_state_count) return corrupt("bad seat state");
    by_state[state].push_back(s);
  }
  for (std::size_t st = 1; st < seat_state_count; ++st)
    m.seats_.set(by_state[st], static_cast<seat_state>(st));
  for (std::size_t a = 0; a < m.ga_held_.size(); ++a) {
    m.ga_held_[a] = codec::u32_of(r);
    m.ga_sold_[a] = codec::u32_of(r);
  }

  if (auto problem = decode_holds(r, m); !problem.empty()) return corrupt(problem);
  m.reservations_.resize(r.count(count_max, 36));
  for (auto& res : m.reservations_) {
    res.cancelled_at_ms = r.i64();
    res.hold = r.u32();
    for (std::uint32_t& word : res.secret)
      word = r.u32();
    res.confirmed_after_ms = r.u32();
    res.payment_ref_at = r.u32();
    res.payment_ref_length = r.u32();
  }
  m.texts_ = r.string(count_max);
  std::vector<customer_ledger::image> customers(r.count(count_max, 3));
  for (auto& c : customers) {
    c.id = r.string(text_max);
    c.seats = codec::u32_of(r);
    c.holds = codec::u32_of(r);
  }
  if (!r.ok()) return corrupt("truncated state");
  if (!m.customers_.restore(customers)) return corrupt("customer table is inconsistent");

  const std::size_t keys = r.count(limits.idempotency_keys_max, 30);
  std::int64_t last_stamp = 0;
  for (std::size_t k = 0; k < keys && r.ok(); ++k) {
    std::string key = r.string(text_max);
    const std::uint64_t fingerprint = r.u64();
    const std::int64_t stamp = r.i64();
    idempotency_outcome outcome;
    const std::uint8_t op = r.u8();
    outcome.hold = r.u32();
    outcome.expires_at_ms = r.i64();
    outcome.seat_states = r.string(limits.seats_per_block_max);
    if (!r.ok()) break;
    if (op < 1 || op > idempotency_outcome::kind_max) return corrupt("bad idempotency outcome");
    outcome.op = static_cast<idempotency_outcome::kind>(op);
    if (stamp < last_stamp) return corrupt("idempotency stamps out of order");
    using kind = idempotency_outcome::kind;
    if (outcome.op == kind::block || outcome.op == kind::unblock) {
      if (outcome.hold != 0 || outcome.expires_at_ms != 0 || outcome.seat_states.empty())
        return corrupt("bad block outcome");
      for (const char state : outcome.seat_states)
        if (static_cast<unsigned char>(state) >= seat_state_count)
          return corrupt("bad seat state in a block outcome");
    } else {
      if (!outcome.seat_states.empty()) return corrupt("seat states in a hold's outcome");
      if (outcome.hold >= m.holds_.size() ||
          (m.holds_[outcome.hold].flags & event_machine::flag_free) != 0)
        return corrupt("idempotency names an unknown hold");
      const auto& h = m.holds_[outcome.hold];
      if ((outcome.op == kind::confirm || outcome.op == kind::cancel) &&
          h.reservation == event_machine::none)
        return corrupt("idempotent confirm or cancel of an unconfirmed hold");
      if (outcome.op == kind::cancel && h.status != hold_status::cancelled)
        return corrupt("idempotent cancel of a live reservation");
      if (outcome.op == kind::release && h.status != hold_status::released)
        return corrupt("idempotent release of a hold not released");
    }
    if (outcome.pins_hold()) ++m.hold_pins_[outcome.hold];
    if (m.idempotency_.check(key, fingerprint).answer != idempotency_ledger::verdict::fresh)
      return corrupt("duplicate idempotency key");
    last_stamp = stamp;
    m.idempotency_.remember(std::move(key), fingerprint, stamp, outcome);
  }
  m.holds_expired_total_ = r.varint();
  m.stream_seq_ = r.varint();
  const std::size_t pending = r.count(count_max, 4);
  for (std::size_t i = 0; i < pending && r.ok(); ++i)
    m.stream_pending_.push_back(r.u32());
  if (!r.ok()) return corrupt("truncated");
  if (!r.at_end()) return corrupt("trailing bytes");

  if (std::string problem = m.check_invariants(); !problem.empty())
    return corrupt("inconsistent: " + problem);
  // The queues follow from the records: active holds expire, ended ones are forgotten.
  for (std::uint32_t i = 0; i < m.holds_.size(); ++i) {
    const auto& h = m.holds_[i];
    if ((h.flags & (event_machine::flag_free | event_machine::flag_overdue)) != 0) continue;
    if (h.status == hold_status::active) m.expiries_.push({h.expires_at_ms(), i});
    if (h.status == hold_status::released || h.status == hold_status::expired)
      m.retention_.push({h.ended_at_ms() + m.hold_retention_ms_, i});
  }
  return m;
}

}  // namespace seatd::actors

#include "actors/command_codec.hpp"

namespace seatd::actors {
namespace codec {

void encode_spec(common::byte_writer& w, const event_spec& spec) {
  w.string(spec.name);
  w.i64(spec.starts_at_ms);
  w.varint(spec.categories.size());
  for (const auto& c : spec.categories) {
    w.string(c.id);
    w.i64(c.price_minor);
    w.string(c.currency);
  }
  w.varint(spec.sections.size());
  for (const auto& section : spec.sections) {
    w.string(section.id);
    w.varint(section.rows.size());
    for (const auto& row : section.rows) {
      w.string(row.id);
      w.varint(row.seat_count);
      w.varint(row.labels.size());
      for (const auto& label : row.labels)
        w.string(label);
      w.string(row.category);
    }
  }
  w.varint(spec.ga_areas.size());
  for (const auto& area : spec.ga_areas) {
    w.string(area.id);
    w.varint(area.capacity);
    w.string(area.category);
  }
  w.varint(spec.max_seats_per_customer);
  w.varint(spec.default_hold_ttl_s);
  w.varint(spec.max_hold_ttl_s);
}

std::uint32_t u32_of(common::byte_reader& r) {
  const std::uint64_t v = r.varint();
  if (v > 0xFFFFFFFFu) r.fail();
  return static_cast<std::uint32_t>(v);
}

event_spec decode_spec(common::byte_reader& r) {
  event_spec spec;
  spec.name = r.string(text_max);
  spec.starts_at_ms = r.i64();
  spec.categories.resize(r.count(count_max, 3));
  for (auto& c : spec.categories) {
    c.id = r.string(text_max);
    c.price_minor = r.i64();
    c.currency = r.string(text_max);
  }
  spec.sections.resize(r.count(count_max, 2));  // at least an id and a row count, a byte each
  for (auto& section : spec.sections) {
    section.id = r.string(text_max);
    section.rows.resize(r.count(count_max, 4));
    for (auto& row : section.rows) {
      row.id = r.string(text_max);
      row.seat_count = u32_of(r);
      row.labels.resize(r.count(count_max, 1));
      for (auto& label : row.labels)
        label = r.string(text_max);
      row.category = r.string(text_max);
    }
  }
  spec.ga_areas.resize(r.count(count_max, 3));
  for (auto& area : spec.ga_areas) {
    area.id = r.string(text_max);
    area.capacity = u32_of(r);
    area.category = r.string(text_max);
  }
  spec.max_seats_per_customer = u32_of(r);
  spec.default_hold_ttl_s = u32_of(r);
  spec.max_hold_ttl_s = u32_of(r);
  return spec;
}

}  // namespace codec

namespace {

using codec::count_max;
using codec::text_max;
using codec::u32_of;

enum class kind : std::uint8_t {
  create = 1,
  hold = 2,
  extend = 3,
  release = 4,
  confirm = 5,
  cancel = 6,
  block = 7,
  expire = 8,
  stream_ack = 9,
};
// 2: 96-bit id secrets, the acting customer, the event's hold retention.
// 3: idempotency keys (and request fingerprints) on extend, release, cancel and block; the
//    stream ack. Format 2 is still read (its commands have no keys).
constexpr std::uint8_t format_version = 3;
constexpr std::uint8_t oldest_format_read = 2;

void encode_key(common::byte_writer& w, const std::string& key, std::uint64_t fingerprint) {
  w.string(key);
  w.u64(fingerprint);
}

// A key and fingerprint, or none in a format-2 command.
void decode_key(common::byte_reader& r, std::uint8_t format, std::string& key,
                std::uint64_t& fingerprint) {
  if (format < 3) return;
  key = r.string(codec::text_max);
  fingerprint = r.u64();
}

void encode_secret(common::byte_writer& w, const id_secret& secret) {
  for (std::uint32_t word : secret)
    w.u32(word);
}

id_secret decode_secret(common::byte_reader& r) {
  id_secret secret{};
  for (std::uint32_t& word : secret)
    word = r.u32();
  return secret;
}

void encode_strings(common::byte_writer& w, const std::vector<std::string>& strings) {
  w.varint(strings.size());
  for (const auto& s : strings)
    w.string(s);
}

std::vector<std::string> decode_strings(common::byte_reader& r) {
  std::vector<std::string> strings(r.count(count_max, 1));
  for (auto& s : strings)
    s = r.string(text_max);
  return strings;
}

}  // namespace

std::vector<std::uint8_t> encode_command(const log_command& logged) {
  common::byte_writer w;
  w.u8(format_version);
  w.u8(static_cast<std::uint8_t>(logged.index() + 1));
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, create_command>) {
          codec::encode_spec(w, c.spec);
          w.u64(c.id_salt);
          w.i64(c.hold_retention_ms);
        } else if constexpr (std::is_same_v<T, hold_command>) {
          w.string(c.customer_id);
          w.varint(c.ttl_s ? *c.ttl_s + 1ull : 0);  // 0: default
          w.u8(static_cast<std::uint8_t>(c.selector.index()));
          if (const auto* seats = std::get_if<explicit_seats>(&c.selector)) {
            encode_strings(w, seats->seats);
          } else if (const auto* best = std::get_if<best_available>(&c.selector)) {
            w.varint(best->count);
            w.string(best->category);
            w.string(best->section);
            w.u8(best->adjacent ? 1 : 0);
          } else {
            const auto& ga = std::get<ga_places>(c.selector);
            w.string(ga.area);
            w.varint(ga.count);
          }
          w.string(c.idempotency_key);
          w.u64(c.request_fingerprint);
          encode_secret(w, c.secret);
        } else if constexpr (std::is_same_v<T, extend_command>) {
          w.string(c.hold_id);
          w.varint(c.ttl_s);
          w.string(c.acting_customer);
          encode_key(w, c.idempotency_key, c.request_fingerprint);
        } else if constexpr (std::is_same_v<T, release_command>) {
          w.string(c.hold_id);
          w.string(c.acting_customer);
          encode_key(w, c.idempotency_key, c.request_fingerprint);
        } else if constexpr (std::is_same_v<T, confirm_command>) {
          w.string(c.hold_id);
          w.string(c.payment_ref);
          w.string(c.idempotency_key);
          w.u64(c.request_fingerprint);
          encode_secret(w, c.secret);
          w.string(c.acting_customer);
        } else if constexpr (std::is_same_v<T, cancel_command>) {
          w.string(c.reservation_id);
          w.string(c.reason);
          w.string(c.acting_customer);
          encode_key(w, c.idempotency_key, c.request_fingerprint);
        } else if constexpr (std::is_same_v<T, block_command>) {
          encode_strings(w, c.seats);
          w.u8(c.block ? 1 : 0);
          encode_key(w, c.idempotency_key, c.request_fingerprint);
        } else if constexpr (std::is_same_v<T, stream_ack_command>) {
          w.varint(c.seq);
        }
      },
      logged);
  return w.take();
}

common::result<log_command, std::string> decode_command(std::span<const std::uint8_t> bytes) {
  common::byte_reader r(bytes);
  const std::uint8_t format = r.u8();
  if (format < oldest_format_read || format > format_version)
    return common::fail("command: format version " + std::to_string(format) +
                        " (this build reads " + std::to_string(oldest_format_read) + " to " +
                        std::to_string(format_version) + ")");
  const auto tag = static_cast<kind>(r.u8());
  log_command decoded = expire_command{};
  switch (tag) {
    case kind::create: {
      create_command c;
      c.spec = codec::decode_spec(r);
      c.id_salt = r.u64();
      c.hold_retention_ms = r.i64();
      decoded = std::move(c);
      break;
    }
    case kind::hold: {
      hold_command c;
      c.customer_id = r.string(text_max);
      if (const std::uint64_t ttl = r.varint(); ttl > 0) {
        if (ttl - 1 > 0xFFFFFFFFu) r.fail();
        c.ttl_s = static_cast<std::uint32_t>(ttl - 1);
      }
      const std::uint8_t selector = r.u8();
      if (selector == 0) {
        c.selector = explicit_seats{decode_strings(r)};
      } else if (selector == 1) {
        best_available best;
        best.count = u32_of(r);
        best.category = r.string(text_max);
        best.section = r.string(text_max);
        best.adjacent = r.u8() != 0;
        c.selector = std::move(best);
      } else if (selector == 2) {
        ga_places ga;
        ga.area = r.string(text_max);
        ga.count = u32_of(r);
        c.selector = std::move(ga);
      } else {
        return common::fail(std::string("command: unknown hold selector"));
      }
      c.idempotency_key = r.string(text_max);
      c.request_fingerprint = r.u64();
      c.secret = decode_secret(r);
      decoded = std::move(c);
      break;
    }
    case kind::extend: {
      extend_command c;
      c.hold_id = r.string(text_max);
      c.ttl_s = u32_of(r);
      c.acting_customer = r.string(text_max);
      decode_key(r, format, c.idempotency_key, c.request_fingerprint);
      decoded = std::move(c);
      break;
    }
    case kind::release: {
      release_command c;
      c.hold_id = r.string(text_max);
      c.acting_customer = r.string(text_max);
      decode_key(r, format, c.idempotency_key, c.request_fingerprint);
      decoded = std::move(c);
      break;
    }
    case kind::confirm: {
      confirm_command c;
      c.hold_id = r.string(text_max);
      c.payment_ref = r.string(text_max);
      c.idempotency_key = r.string(text_max);
      c.request_fingerprint = r.u64();
      c.secret = decode_secret(r);
      c.acting_customer = r.string(text_max);
      decoded = std::move(c);
      break;
    }
    case kind::cancel: {
      cancel_command c;
      c.reservation_id = r.string(text_max);
      c.reason = r.string(text_max);
      c.acting_customer = r.string(text_max);
      decode_key(r, format, c.idempotency_key, c.request_fingerprint);
      decoded = std::move(c);
      break;
    }
    case kind::block: {
      block_command c;
      c.seats = decode_strings(r);
      c.block = r.u8() != 0;
      decode_key(r, format, c.idempotency_key, c.request_fingerprint);
      decoded = std::move(c);
      break;
    }
    case kind::expire:
      break;
    case kind::stream_ack:
      if (format < 3) return common::fail(std::string("command: unknown kind"));
      decoded = stream_ack_command{r.varint()};
      break;
    default:
      return common::fail(std::string("command: unknown kind"));
  }
  if (!r.ok()) return common::fail(std::string("command: truncated"));
  if (!r.at_end()) return common::fail(std::string("command: trailing bytes"));
  return decoded;
}

log_command machine_command_to_log(const command& c) {
  return std::visit([](const auto& x) { return log_command{x}; }, c);
}

std::optional<command> machine_command(log_command logged) {
  return std::visit(
      [](auto&& c) -> std::optional<command> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, create_command>)
          return std::nullopt;
        else
          return command(std::move(c));
      },
      std::move(logged));
}

}  // namespace seatd::actors

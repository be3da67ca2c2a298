#include "actors/event_machine.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <unordered_set>

#include "common/identifier.hpp"

namespace seatd::actors {
namespace {

constexpr std::int64_t ms_per_s = 1000;

// `digits` lower-case hex digits of value, leading zeros kept (on every id answered: no printf).
std::string hex(std::uint64_t value, int digits) {
  static constexpr char alphabet[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, value >>= 4)
    out[static_cast<std::size_t>(i)] = alphabet[value & 0xF];
  return out;
}

// Parses exactly `digits` lowercase hex digits.
std::optional<std::uint64_t> parse_hex(std::string_view text, std::size_t digits) {
  if (text.size() != digits) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    value <<= 4;
    if (c >= '0' && c <= '9')
      value |= static_cast<std::uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      value |= static_cast<std::uint64_t>(c - 'a' + 10);
    else
      return std::nullopt;
  }
  return value;
}

std::optional<std::uint32_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 10 || (text.size() > 1 && text.front() == '0'))
    return std::nullopt;
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool is_printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

common::failure_of<failure> unavailable(std::vector<seat_index> seats) {
  return {
      failure{errc::seats_unavailable, "some seats are not available", std::move(seats), {}, 0, 0}};
}

}  // namespace

std::string_view hold_status_name(hold_status status) {
  switch (status) {
    case hold_status::active:
      return "active";
    case hold_status::expired:
      return "expired";
    case hold_status::released:
      return "released";
    case hold_status::confirmed:
    case hold_status::cancelled:
      return "confirmed";
  }
  SEATD_ASSERT(false, "unknown hold status");
  return {};
}

std::size_t event_machine::memory_report::total() const {
  return layout_index + seat_map + holds + reservations + seat_lists + texts + customers +
         expiry_queue + idempotency + retention + stream;
}

result<event_machine> event_machine::create(std::string event_id, event_spec spec,
                                            std::int64_t now_ms, std::uint64_t id_salt,
                                            std::int64_t hold_retention_ms,
                                            const machine_limits& limits) {
  if (!common::is_identifier(event_id))
    return fail(errc::invalid_request, "event_id: must be 1 to 64 of [A-Za-z0-9._:-]");
  if (hold_retention_ms < 1 || hold_retention_ms > limits.hold_retention_ms_max)
    return fail(errc::invalid_request, "hold_retention: must be 1 ms to " +
                                           std::to_string(limits.hold_retention_ms_max) + " ms");
  auto layout = event_layout::build(std::move(spec), limits.layout);
  if (!layout) return common::fail(std::move(layout).error());
  return event_machine(std::move(event_id), std::move(layout).value(), now_ms, id_salt,
                       hold_retention_ms, limits);
}

event_machine::event_machine(std::string event_id, std::shared_ptr<const event_layout> layout,
                             std::int64_t now_ms, std::uint64_t id_salt,
                             std::int64_t hold_retention_ms, const machine_limits& limits)
    : event_id_(std::move(event_id)),
      layout_(std::move(layout)),
      limits_(limits),
      created_at_ms_(now_ms),
      id_salt_(id_salt),
      hold_retention_ms_(hold_retention_ms),
      clock_ms_(now_ms),
      seats_(layout_),
      ga_held_(layout_->ga_areas().size()),
      ga_sold_(layout_->ga_areas().size()),
      idempotency_(limits.idempotency_retention_ms, limits.idempotency_keys_max) {}

// ---- time -----------------------------------------------------------------------------

std::uint32_t event_machine::advance(std::int64_t now_ms) {
  clock_ms_ = std::max(clock_ms_, now_ms);
  std::uint32_t expired = 0;
  while (!expiries_.empty() && expiries_.top().at_ms <= clock_ms_) {
    const expiry due = expiries_.top();
    expiries_.pop();
    const hold_record& h = holds_[due.hold];
    // Entries left behind by extend (or for holds already ended) are stale: skip them.
    if (h.status != hold_status::active || h.expires_at_ms() != due.at_ms) continue;
    end_hold(due.hold, hold_status::expired);
    ++expired;
  }
  holds_expired_total_ += expired;
  // Ended holds whose retention is over are forgotten, unless a key still names them.
  while (!retention_.empty() && retention_.top().at_ms <= clock_ms_) {
    const std::uint32_t hold = retention_.top().hold;
    retention_.pop();
    hold_record& h = holds_[hold];
    if ((h.flags & flag_keyed) != 0)
      h.flags |= flag_overdue;
    else
      forget_hold(hold);
  }
  for (const idempotency_outcome& forgotten : idempotency_.forget_expired(clock_ms_)) {
    ++keys_forgotten_total_;
    unpin(forgotten);
  }
  return expired;
}

std::optional<std::int64_t> event_machine::next_time_change_ms() const {
  std::optional<std::int64_t> next = next_expiry_ms();
  auto earliest = [&next](std::optional<std::int64_t> at) {
    if (at && (!next || *at < *next)) next = at;
  };
  if (!retention_.empty()) earliest(retention_.top().at_ms);
  earliest(idempotency_.next_forget_ms());
  return next;
}

void event_machine::unpin(const idempotency_outcome& outcome) {
  if (!outcome.pins_hold()) return;  // a reservation's hold stays anyway
  const auto pins = hold_pins_.find(outcome.hold);
  SEATD_ASSERT(pins != hold_pins_.end(), "unpinning a hold that no key names");
  if (--pins->second > 0) return;  // another key still shows it
  hold_pins_.erase(pins);
  hold_record& h = holds_[outcome.hold];
  h.flags = static_cast<std::uint8_t>(h.flags & ~flag_keyed);
  if ((h.flags & flag_overdue) != 0) forget_hold(outcome.hold);
}

void event_machine::remember_key(const std::string& key, std::uint64_t fingerprint,
                                 idempotency_outcome outcome) {
  if (outcome.pins_hold()) {
    ++hold_pins_[outcome.hold];
    holds_[outcome.hold].flags |= flag_keyed;
  }
  if (const auto evicted = idempotency_.remember(key, fingerprint, clock_ms_, std::move(outcome)))
    unpin(*evicted);
}

hold_view event_machine::hold_as_answered(const idempotency_outcome& first,
                                          hold_status status) const {
  hold_view view = view_hold(first.hold);
  view.expires_at_ms = first.expires_at_ms;
  view.status = status;
  view.reservation_id.clear();
  return view;
}

void event_machine::forget_hold(std::uint32_t hold) {
  hold_record& h = holds_[hold];
  SEATD_ASSERT(h.status == hold_status::released || h.status == hold_status::expired,
               "only ended holds are forgotten");
  SEATD_ASSERT((h.flags & (flag_free | flag_keyed)) == 0, "forgetting a free or keyed hold");
  seat_list_garbage_ += h.seat_count;
  customers_.release(h.customer);
  h = hold_record{};
  h.reservation = none;
  h.flags = flag_free;
  free_holds_.insert(hold);
  ++holds_forgotten_total_;
  // Rebuilt once most of it is garbage: amortised, and invisible outside (offsets only).
  if (seat_list_garbage_ > 1024 && seat_list_garbage_ * 2 > seat_lists_.size())
    compact_seat_lists();
}

void event_machine::compact_seat_lists() {
  std::vector<seat_index> kept;
  kept.reserve(seat_lists_.size() - seat_list_garbage_);
  for (hold_record& h : holds_) {
    if ((h.flags & flag_free) != 0) continue;
    const auto seats = hold_seats(h);
    h.seats_at = static_cast<std::uint32_t>(kept.size());
    kept.insert(kept.end(), seats.begin(), seats.end());
  }
  seat_lists_ = std::move(kept);
  seat_list_garbage_ = 0;
}

std::uint32_t event_machine::new_hold_slot() {
  if (!free_holds_.empty()) {
    const std::uint32_t hold = *free_holds_.begin();
    free_holds_.erase(free_holds_.begin());
    return hold;
  }
  const auto hold = static_cast<std::uint32_t>(holds_.size());
  SEATD_ASSERT(hold != none, "hold index space exhausted");
  holds_.push_back({});
  return hold;
}

expire_reply event_machine::expire(std::int64_t now_ms) {
  return {advance(now_ms)};
}

// Frees what an active hold holds: its seats return to sale, its GA places to the area.
void event_machine::end_hold(std::uint32_t hold, hold_status to) {
  hold_record& h = holds_[hold];
  SEATD_ASSERT(h.status == hold_status::active, "ending a hold that is not active");
  seats_.set(hold_seats(h), seat_state::available);
  if (h.ga_area != no_ga) ga_held_[h.ga_area] -= h.ga_count;
  customers_.remove_seats(h.customer, static_cast<std::uint32_t>(h.seat_count) + h.ga_count);
  h.status = to;
  // An expired hold ended at its expiry, whenever a command noticed; a released one now.
  // Either way within its lifetime, so the offset fits.
  const std::int64_t ended_at_ms = to == hold_status::expired ? h.expires_at_ms() : clock_ms_;
  h.ended_after_ms = static_cast<std::uint32_t>(ended_at_ms - h.created_at_ms);
  retention_.push({ended_at_ms + hold_retention_ms_, hold});
  --active_holds_;
}

// ---- holds ----------------------------------------------------------------------------

result<std::vector<seat_index>> event_machine::resolve_seats(const std::vector<std::string>& ids,
                                                             std::uint32_t max) const {
  if (ids.empty() || ids.size() > max)
    return fail(errc::invalid_request,
                "seats: must list 1 to " + std::to_string(max) + " seat ids");
  for (const auto& id : ids)
    if (!common::is_seat_id(id))
      return fail(errc::invalid_request,
                  "seats: \"" + id + "\" is not a seat id of the form section-row-label");
  std::unordered_set<std::string_view> seen;
  for (const auto& id : ids)
    if (!seen.insert(id).second)
      return fail(errc::invalid_request, "seats: duplicate seat id \"" + id + "\"");
  std::vector<seat_index> seats;
  seats.reserve(ids.size());
  std::vector<std::string> unknown;
  for (const auto& id : ids) {
    if (const auto seat = layout_->find_seat(id))
      seats.push_back(*seat);
    else
      unknown.push_back(id);
  }
  if (!unknown.empty())
    return common::failure_of<failure>{failure{
        errc::unknown_seat, "the event has no seat with these ids", {}, std::move(unknown), 0, 0}};
  std::sort(seats.begin(), seats.end());
  return seats;
}

result<hold_view> event_machine::hold(const hold_command& c, std::int64_t now_ms) {
  advance(now_ms);
  auto seen = check_key(c.idempotency_key, c.request_fingerprint, idempotency_outcome::kind::hold);
  if (!seen) return common::fail(std::move(seen).error());
  if (const auto& first = seen.value()) return hold_as_answered(*first, hold_status::active);
  if (!common::is_identifier(c.customer_id))
    return fail(errc::invalid_request, "customer_id: must be 1 to 64 of [A-Za-z0-9._:-]");
  const event_spec& spec = layout_->spec();
  const std::uint32_t ttl_s = c.ttl_s.value_or(spec.default_hold_ttl_s);
  if (ttl_s < 1 || ttl_s > spec.max_hold_ttl_s)
    return fail(errc::invalid_request,
                "ttl_s: must be 1 to " + std::to_string(spec.max_hold_ttl_s));

  // Resolve what is asked for (400s), then the limit (422), then availability (409).
  std::vector<seat_index> seats;
  std::uint8_t ga_area = no_ga;
  std::uint32_t count = 0;
  best_available_query query;
  const std::uint32_t max = limits_.seats_per_hold_max;
  if (const auto* chosen = std::get_if<explicit_seats>(&c.selector)) {
    auto resolved = resolve_seats(chosen->seats, max);
    if (!resolved) return common::fail(std::move(resolved).error());
    seats = std::move(resolved).value();
    count = static_cast<std::uint32_t>(seats.size());
  } else if (const auto* best = std::get_if<best_available>(&c.selector)) {
    if (best->count < 1 || best->count > max)
      return fail(errc::invalid_request,
                  "best_available.count: must be 1 to " + std::to_string(max));
    query.count = best->count;
    query.adjacent = best->adjacent;
    if (!best->category.empty()) {
      query.category = layout_->find_category(best->category);
      if (!query.category)
        return fail(errc::invalid_request, "best_available.category: the event has no category \"" +
                                               best->category + "\"");
    }
    if (!best->section.empty()) {
      query.section = layout_->find_section(best->section);
      if (!query.section)
        return fail(errc::invalid_request,
                    "best_available.section: the event has no section \"" + best->section + "\"");
    }
    count = best->count;
  } else {
    const auto& ga = std::get<ga_places>(c.selector);
    if (ga.count < 1 || ga.count > max)
      return fail(errc::invalid_request, "ga.count: must be 1 to " + std::to_string(max));
    const auto area = layout_->find_ga_area(ga.area);
    if (!area)
      return fail(errc::invalid_request, "ga.area: the event has no GA area \"" + ga.area + "\"");
    ga_area = static_cast<std::uint8_t>(*area);
    count = ga.count;
  }

  const std::uint32_t limit = spec.max_seats_per_customer;
  const auto existing = customers_.find(c.customer_id);
  const std::uint32_t current = existing ? customers_.seats(*existing) : 0;
  if (limit > 0 && current + count > limit)
    return common::failure_of<failure>{failure{errc::customer_limit_exceeded,
                                               "the customer would hold or own more than " +
                                                   std::to_string(limit) + " seats of this event",
                                               {},
                                               {},
                                               limit,
                                               current}};

  if (std::holds_alternative<explicit_seats>(c.selector)) {
    std::vector<seat_index> taken;
    for (seat_index s : seats)
      if (seats_.state(s) != seat_state::available) taken.push_back(s);
    if (!taken.empty()) return unavailable(std::move(taken));
  } else if (std::holds_alternative<best_available>(c.selector)) {
    seats = seats_.find_best(query);
    if (seats.empty()) return fail(errc::no_seats_match, "no available seats match the request");
    std::sort(seats.begin(), seats.end());
  } else {
    const ga_layout& area = layout_->ga_areas()[ga_area];
    if (area.capacity - ga_held_[ga_area] - ga_sold_[ga_area] < count)
      return fail(errc::ga_sold_out, "GA area \"" + area.id + "\" has fewer than " +
                                         std::to_string(count) + " places left");
  }

  // Everything checked: commit.
  const std::uint32_t hold = new_hold_slot();
  const customer_ledger::customer customer = customers_.acquire(c.customer_id);
  hold_record record{};
  record.created_at_ms = clock_ms_;
  record.lifetime_ms = static_cast<std::uint32_t>(ttl_s * ms_per_s);
  record.customer = customer;
  record.seats_at = static_cast<std::uint32_t>(seat_lists_.size());
  record.secret = c.secret;
  record.reservation = none;
  record.seat_count = static_cast<std::uint8_t>(seats.size());
  record.ga_count = ga_area == no_ga ? 0 : static_cast<std::uint8_t>(count);
  record.ga_area = ga_area;
  record.status = hold_status::active;
  holds_[hold] = record;
  seat_lists_.insert(seat_lists_.end(), seats.begin(), seats.end());
  seats_.set(seats, seat_state::held);
  if (ga_area != no_ga) ga_held_[ga_area] += count;
  customers_.add_seats(customer, count);
  expiries_.push({record.expires_at_ms(), hold});
  ++active_holds_;
  if (!c.idempotency_key.empty())
    remember_key(c.idempotency_key, c.request_fingerprint,
                 {idempotency_outcome::kind::hold, hold, record.expires_at_ms()});
  return view_hold(hold);
}

result<hold_view> event_machine::extend(const extend_command& c, std::int64_t now_ms) {
  advance(now_ms);
  auto seen =
      check_key(c.idempotency_key, c.request_fingerprint, idempotency_outcome::kind::extend);
  if (!seen) return common::fail(std::move(seen).error());
  if (const auto& first = seen.value()) return hold_as_answered(*first, hold_status::active);
  const std::uint32_t max_ttl_s = layout_->spec().max_hold_ttl_s;
  if (c.ttl_s < 1 || c.ttl_s > max_ttl_s)
    return fail(errc::invalid_request, "ttl_s: must be 1 to " + std::to_string(max_ttl_s));
  auto hold = find_hold_index(c.hold_id, c.acting_customer);
  if (!hold) return common::fail(std::move(hold).error());
  hold_record& h = holds_[hold.value()];
  if (h.status != hold_status::active) return hold_ended(h.status);
  // The hold lives at most max_hold_ttl_s from its creation, however often it is extended.
  const std::int64_t cap_ms = h.created_at_ms + max_ttl_s * ms_per_s;
  const std::int64_t expires_ms = std::min(clock_ms_ + c.ttl_s * ms_per_s, cap_ms);
  h.lifetime_ms = static_cast<std::uint32_t>(expires_ms - h.created_at_ms);
  expiries_.push({expires_ms, hold.value()});
  if (!c.idempotency_key.empty())
    remember_key(c.idempotency_key, c.request_fingerprint,
                 {idempotency_outcome::kind::extend, hold.value(), expires_ms});
  return view_hold(hold.value());
}

result<hold_view> event_machine::release(const release_command& c, std::int64_t now_ms) {
  advance(now_ms);
  auto seen =
      check_key(c.idempotency_key, c.request_fingerprint, idempotency_outcome::kind::release);
  if (!seen) return common::fail(std::move(seen).error());
  if (const auto& first = seen.value()) return hold_as_answered(*first, hold_status::released);
  auto hold = find_hold_index(c.hold_id, c.acting_customer);
  if (!hold) return common::fail(std::move(hold).error());
  const hold_status status = holds_[hold.value()].status;
  if (status != hold_status::released && status != hold_status::active) return hold_ended(status);
  if (status == hold_status::active) end_hold(hold.value(), hold_status::released);
  // Releasing twice is fine: the answer is the released hold either way.
  if (!c.idempotency_key.empty())
    remember_key(
        c.idempotency_key, c.request_fingerprint,
        {idempotency_outcome::kind::release, hold.value(), holds_[hold.value()].expires_at_ms()});
  return view_hold(hold.value());
}

// ---- reservations ---------------------------------------------------------------------

result<std::optional<idempotency_outcome>> event_machine::check_key(
    const std::string& key, std::uint64_t fingerprint, idempotency_outcome::kind op) const {
  if (key.empty()) return std::optional<idempotency_outcome>{};
  if (!common::is_identifier(key))
    return fail(errc::invalid_request, "idempotency_key: must be 1 to 64 of [A-Za-z0-9._:-]");
  const auto seen = idempotency_.check(key, fingerprint);
  if (seen.answer == idempotency_ledger::verdict::fresh)
    return std::optional<idempotency_outcome>{};
  if (seen.answer == idempotency_ledger::verdict::reused || seen.outcome.op != op)
    return fail(errc::idempotency_key_reused, "idempotency_key was used for a different request");
  return std::optional<idempotency_outcome>{seen.outcome};
}

namespace {

// The acting customer, when named, must be an identifier (400 before any 404).
std::optional<failure> bad_actor(std::string_view acting) {
  if (acting.empty() || common::is_identifier(acting)) return std::nullopt;
  return failure{
      errc::invalid_request, "customer_id: must be 1 to 64 of [A-Za-z0-9._:-]", {}, {}, 0, 0};
}

}  // namespace

common::failure_of<failure> event_machine::hold_not_found(std::string_view id) const {
  return fail(errc::hold_not_found, "no hold \"" + std::string(id) +
                                        "\" in this event (a released or expired hold is kept " +
                                        std::to_string(hold_retention_ms_ / ms_per_s) + " s)");
}

result<std::uint32_t> event_machine::find_hold_index(std::string_view id,
                                                     std::string_view acting) const {
  if (!common::is_identifier(id))
    return fail(errc::invalid_request, "hold_id: must be 1 to 64 of [A-Za-z0-9._:-]");
  if (auto bad = bad_actor(acting)) return common::failure_of<failure>{std::move(*bad)};
  const auto hold = parse_hold_id(id);
  // Another customer's hold answers exactly as a hold that does not exist.
  if (!hold || (!acting.empty() && customers_.id(holds_[*hold].customer) != acting))
    return hold_not_found(id);
  return *hold;
}

result<std::uint32_t> event_machine::find_reservation_index(std::string_view id,
                                                            std::string_view acting) const {
  if (!common::is_identifier(id))
    return fail(errc::invalid_request, "reservation_id: must be 1 to 64 of [A-Za-z0-9._:-]");
  if (auto bad = bad_actor(acting)) return common::failure_of<failure>{std::move(*bad)};
  const auto reservation = parse_reservation_id(id);
  if (!reservation || (!acting.empty() &&
                       customers_.id(holds_[reservations_[*reservation].hold].customer) != acting))
    return fail(errc::reservation_not_found,
                "no reservation \"" + std::string(id) + "\" in this event");
  return *reservation;
}

common::failure_of<failure> event_machine::hold_ended(hold_status status) {
  SEATD_ASSERT(status != hold_status::active, "the hold is active");
  if (status == hold_status::expired) return fail(errc::hold_expired, "the hold has expired");
  if (status == hold_status::released) return fail(errc::hold_released, "the hold was released");
  return fail(errc::hold_already_confirmed, "the hold was confirmed");
}

result<confirm_reply> event_machine::confirm(const confirm_command& c, std::int64_t now_ms) {
  advance(now_ms);
  auto seen =
      check_key(c.idempotency_key, c.request_fingerprint, idempotency_outcome::kind::confirm);
  if (!seen) return common::fail(std::move(seen).error());
  if (const auto& first = seen.value()) {
    const hold_record& h = holds_[first->hold];
    SEATD_ASSERT(h.reservation != none, "idempotent confirm without a reservation");
    reservation_view view = view_reservation(h.reservation);
    view.cancelled = false;  // as first answered
    view.cancelled_at_ms = 0;
    return confirm_reply{std::move(view), true, 0};
  }
  if (c.payment_ref.empty() || c.payment_ref.size() > limits_.payment_ref_length_max ||
      !is_printable_ascii(c.payment_ref))
    return fail(errc::invalid_request, "payment_ref: must be 1 to " +
                                           std::to_string(limits_.payment_ref_length_max) +
                                           " printable ASCII characters");
  auto found = find_hold_index(c.hold_id, c.acting_customer);
  if (!found) return common::fail(std::move(found).error());
  const std::uint32_t hold = found.value();
  hold_record& h = holds_[hold];
  if (h.reservation != none && c.idempotency_key.empty()) {
    const reservation_record& r = reservations_[h.reservation];
    const std::string_view paid =
        std::string_view(texts_).substr(r.payment_ref_at, r.payment_ref_length);
    if (paid == c.payment_ref) return confirm_reply{view_reservation(h.reservation), false, 0};
  }
  if (h.status != hold_status::active) return hold_ended(h.status);

  const auto reservation = static_cast<std::uint32_t>(reservations_.size());
  reservation_record record{};
  record.cancelled_at_ms = 0;
  record.hold = hold;
  record.secret = c.secret;
  record.confirmed_after_ms = static_cast<std::uint32_t>(clock_ms_ - h.created_at_ms);
  record.payment_ref_at = static_cast<std::uint32_t>(texts_.size());
  record.payment_ref_length = static_cast<std::uint32_t>(c.payment_ref.size());
  texts_.append(c.payment_ref);
  reservations_.push_back(record);
  seats_.set(hold_seats(h), seat_state::sold);
  if (h.ga_area != no_ga) {
    ga_held_[h.ga_area] -= h.ga_count;
    ga_sold_[h.ga_area] += h.ga_count;
  }
  h.status = hold_status::confirmed;
  h.reservation = reservation;
  --active_holds_;
  const std::uint64_t seq = ++stream_seq_;
  stream_pending_.push_back(reservation);
  if (!c.idempotency_key.empty())
    remember_key(c.idempotency_key, c.request_fingerprint,
                 {idempotency_outcome::kind::confirm, hold, h.expires_at_ms()});
  return confirm_reply{view_reservation(reservation), true, seq};
}

result<cancel_reply> event_machine::cancel(const cancel_command& c, std::int64_t now_ms) {
  advance(now_ms);
  auto seen =
      check_key(c.idempotency_key, c.request_fingerprint, idempotency_outcome::kind::cancel);
  if (!seen) return common::fail(std::move(seen).error());
  if (const auto& first = seen.value())  // a cancelled reservation never changes again
    return cancel_reply{view_reservation(holds_[first->hold].reservation), 0};
  if (c.reason.size() > limits_.cancel_reason_length_max || !is_printable_ascii(c.reason))
    return fail(errc::invalid_request, "reason: at most " +
                                           std::to_string(limits_.cancel_reason_length_max) +
                                           " printable ASCII characters");
  auto reservation = find_reservation_index(c.reservation_id, c.acting_customer);
  if (!reservation) return common::fail(std::move(reservation).error());
  reservation_record& r = reservations_[reservation.value()];
  hold_record& h = holds_[r.hold];
  if (h.status == hold_status::cancelled)
    return fail(errc::reservation_already_cancelled, "the reservation was already cancelled");
  SEATD_ASSERT(h.status == hold_status::confirmed, "reservation of a hold that is not confirmed");
  seats_.set(hold_seats(h), seat_state::available);
  if (h.ga_area != no_ga) ga_sold_[h.ga_area] -= h.ga_count;
  customers_.remove_seats(h.customer, static_cast<std::uint32_t>(h.seat_count) + h.ga_count);
  h.status = hold_status::cancelled;
  // A cancellation stamped at the epoch would read as "not cancelled": keep it positive.
  r.cancelled_at_ms = std::max<std::int64_t>(clock_ms_, 1);
  const std::uint64_t seq = ++stream_seq_;
  stream_pending_.push_back(reservation.value() | stream_cancel_bit);
  if (!c.idempotency_key.empty())
    remember_key(c.idempotency_key, c.request_fingerprint,
                 {idempotency_outcome::kind::cancel, r.hold, 0});
  return cancel_reply{view_reservation(reservation.value()), seq};
}

// ---- the stream -----------------------------------------------------------------------

result<stream_ack_reply> event_machine::stream_ack(const stream_ack_command& c,
                                                   std::int64_t now_ms) {
  advance(now_ms);
  if (c.seq > stream_seq_)
    return fail(errc::invalid_request, "stream ack " + std::to_string(c.seq) +
                                           " beyond the last record " +
                                           std::to_string(stream_seq_));
  while (stream_acked() < c.seq)
    stream_pending_.pop_front();
  return stream_ack_reply{stream_acked()};
}

std::vector<stream_item> event_machine::stream_pending() const {
  std::vector<stream_item> items;
  items.reserve(stream_pending_.size());
  std::uint64_t seq = stream_acked();
  for (const std::uint32_t entry : stream_pending_) {
    reservation_view view = view_reservation(entry & ~stream_cancel_bit);
    if ((entry & stream_cancel_bit) == 0) {
      view.cancelled = false;
      view.cancelled_at_ms = 0;
    }
    items.push_back({++seq, std::move(view)});
  }
  return items;
}

// ---- blocking -------------------------------------------------------------------------

result<std::vector<seat_view>> event_machine::block(const block_command& c, std::int64_t now_ms) {
  advance(now_ms);
  const auto op = c.block ? idempotency_outcome::kind::block : idempotency_outcome::kind::unblock;
  auto seen = check_key(c.idempotency_key, c.request_fingerprint, op);
  if (!seen) return common::fail(std::move(seen).error());
  auto resolved = resolve_seats(c.seats, limits_.seats_per_block_max);
  if (!resolved) return common::fail(std::move(resolved).error());
  const std::vector<seat_index>& seats = resolved.value();
  if (const auto& first = seen.value()) {  // the same body: the same seats, as they were then
    SEATD_ASSERT(first->seat_states.size() == seats.size(), "a replayed block's seats differ");
    std::vector<seat_view> views;
    for (std::size_t i = 0; i < seats.size(); ++i)
      views.push_back({layout_->seat_id(seats[i]), static_cast<seat_state>(first->seat_states[i])});
    return views;
  }
  if (c.block) {
    std::vector<seat_index> taken;
    for (seat_index s : seats) {
      const seat_state state = seats_.state(s);
      if (state == seat_state::held || state == seat_state::sold) taken.push_back(s);
    }
    if (!taken.empty()) return unavailable(std::move(taken));
    seats_.set(seats, seat_state::blocked);
  } else {
    std::vector<seat_index> blocked;
    for (seat_index s : seats)
      if (seats_.state(s) == seat_state::blocked) blocked.push_back(s);
    seats_.set(blocked, seat_state::available);
  }
  std::vector<seat_view> views;
  views.reserve(seats.size());
  idempotency_outcome outcome{op, 0, 0};
  for (seat_index s : seats) {
    views.push_back({layout_->seat_id(s), seats_.state(s)});
    outcome.seat_states.push_back(static_cast<char>(seats_.state(s)));
  }
  if (!c.idempotency_key.empty())
    remember_key(c.idempotency_key, c.request_fingerprint, std::move(outcome));
  return views;
}

result<command_reply> event_machine::apply(const command& c, std::int64_t now_ms) {
  auto lift = [](auto r) -> result<command_reply> {
    using value = std::decay_t<decltype(r.value())>;
    if (!r) return common::fail(std::move(r).error());
    return result<command_reply>(std::in_place, std::in_place_type<value>, std::move(r).value());
  };
  return std::visit(
      [&](const auto& cmd) -> result<command_reply> {
        using T = std::decay_t<decltype(cmd)>;
        if constexpr (std::is_same_v<T, hold_command>)
          return lift(hold(cmd, now_ms));
        else if constexpr (std::is_same_v<T, extend_command>)
          return lift(extend(cmd, now_ms));
        else if constexpr (std::is_same_v<T, release_command>)
          return lift(release(cmd, now_ms));
        else if constexpr (std::is_same_v<T, confirm_command>)
          return lift(confirm(cmd, now_ms));
        else if constexpr (std::is_same_v<T, cancel_command>)
          return lift(cancel(cmd, now_ms));
        else if constexpr (std::is_same_v<T, block_command>)
          return lift(block(cmd, now_ms));
        else if constexpr (std::is_same_v<T, stream_ack_command>)
          return lift(stream_ack(cmd, now_ms));
        else
          return command_reply(expire(now_ms));
      },
      c);
}

// ---- ids and views --------------------------------------------------------------------

// Hold ids: "h<index>-<secret as 24 hex digits>", e.g. "h17-9f3a2c1d00b4e6a8c1f27d03".
// Reservation ids add the event's salt so that they are unique across events (PostgreSQL's
// primary key): "r<salt as 16 hex digits>-<index>-<secret>". The 96-bit secret, drawn from a
// cryptographically secure source for each id, is what makes an id impossible to guess;
// the index makes a lookup an array access.
namespace {

constexpr std::size_t secret_digits = 24;

std::string hex_secret(const id_secret& secret) {
  return hex(secret[0], 8) + hex(secret[1], 8) + hex(secret[2], 8);
}

std::optional<id_secret> parse_secret(std::string_view text) {
  if (text.size() != secret_digits) return std::nullopt;
  id_secret secret{};
  for (std::size_t word = 0; word < secret.size(); ++word) {
    const auto value = parse_hex(text.substr(word * 8, 8), 8);
    if (!value) return std::nullopt;
    secret[word] = static_cast<std::uint32_t>(*value);
  }
  return secret;
}

}  // namespace

std::string event_machine::hold_id(std::uint32_t hold) const {
  return "h" + std::to_string(hold) + "-" + hex_secret(holds_[hold].secret);
}

std::string event_machine::reservation_id(std::uint32_t reservation) const {
  return "r" + hex(id_salt_, 16) + "-" + std::to_string(reservation) + "-" +
         hex_secret(reservations_[reservation].secret);
}

std::optional<std::uint32_t> event_machine::parse_hold_id(std::string_view id) const {
  if (id.size() < 2 || id.front() != 'h') return std::nullopt;
  const auto dash = id.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto index = parse_decimal(id.substr(1, dash - 1));
  const auto secret = parse_secret(id.substr(dash + 1));
  if (!index || !secret || *index >= holds_.size()) return std::nullopt;
  const hold_record& h = holds_[*index];
  if ((h.flags & flag_free) != 0 || h.secret != *secret) return std::nullopt;
  return *index;
}

std::optional<std::uint32_t> event_machine::parse_reservation_id(std::string_view id) const {
  if (id.size() < 2 || id.front() != 'r') return std::nullopt;
  const auto first_dash = id.find('-');
  if (first_dash == std::string_view::npos) return std::nullopt;
  const auto second_dash = id.find('-', first_dash + 1);
  if (second_dash == std::string_view::npos) return std::nullopt;
  const auto salt = parse_hex(id.substr(1, first_dash - 1), 16);
  const auto index = parse_decimal(id.substr(first_dash + 1, second_dash - first_dash - 1));
  const auto secret = parse_secret(id.substr(second_dash + 1));
  if (!salt || !index || !secret || *salt != id_salt_ || *index >= reservations_.size() ||
      reservations_[*index].secret != *secret)
    return std::nullopt;
  return *index;
}

std::span<const seat_index> event_machine::hold_seats(const hold_record& h) const {
  return std::span<const seat_index>(seat_lists_).subspan(h.seats_at, h.seat_count);
}

std::int64_t event_machine::hold_total_minor(const hold_record& h) const {
  std::int64_t total = 0;
  for (seat_index s : hold_seats(h))
    total += layout_->price_of(s);
  if (h.ga_area != no_ga)
    total +=
        layout_->categories()[layout_->ga_areas()[h.ga_area].category].price_minor * h.ga_count;
  return total;
}

hold_view event_machine::view_hold(std::uint32_t hold) const {
  const hold_record& h = holds_[hold];
  hold_view view;
  view.hold_id = hold_id(hold);
  view.customer_id = std::string(customers_.id(h.customer));
  for (seat_index s : hold_seats(h))
    view.seats.push_back(layout_->seat_id(s));
  if (h.ga_area != no_ga) view.ga = ga_view{layout_->ga_areas()[h.ga_area].id, h.ga_count};
  view.created_at_ms = h.created_at_ms;
  view.expires_at_ms = h.expires_at_ms();
  view.total_minor = hold_total_minor(h);
  view.currency = layout_->currency();
  view.status = h.status;
  if (h.reservation != none) view.reservation_id = reservation_id(h.reservation);
  return view;
}

reservation_view event_machine::view_reservation(std::uint32_t reservation) const {
  const reservation_record& r = reservations_[reservation];
  const hold_record& h = holds_[r.hold];
  reservation_view view;
  view.reservation_id = reservation_id(reservation);
  view.customer_id = std::string(customers_.id(h.customer));
  view.hold_id = hold_id(r.hold);
  for (seat_index s : hold_seats(h))
    view.seats.push_back(layout_->seat_id(s));
  if (h.ga_area != no_ga) view.ga = ga_view{layout_->ga_areas()[h.ga_area].id, h.ga_count};
  view.total_minor = hold_total_minor(h);
  view.currency = layout_->currency();
  view.payment_ref = texts_.substr(r.payment_ref_at, r.payment_ref_length);
  view.cancelled = h.status == hold_status::cancelled;
  view.confirmed_at_ms = h.created_at_ms + r.confirmed_after_ms;
  view.cancelled_at_ms = r.cancelled_at_ms;
  return view;
}

result<hold_view> event_machine::find_hold(std::string_view id,
                                           std::string_view acting_customer) const {
  auto hold = find_hold_index(id, acting_customer);
  if (!hold) return common::fail(std::move(hold).error());
  return view_hold(hold.value());
}

result<reservation_view> event_machine::find_reservation(std::string_view id,
                                                         std::string_view acting_customer) const {
  auto reservation = find_reservation_index(id, acting_customer);
  if (!reservation) return common::fail(std::move(reservation).error());
  return view_reservation(reservation.value());
}

std::vector<seat_view> event_machine::seat_views(std::optional<std::uint32_t> section) const {
  return seat_views(section, 0, layout_->seat_count()).seats;
}

seat_page event_machine::seat_views(std::optional<std::uint32_t> section, seat_index from,
                                    std::uint32_t limit) const {
  const seat_range range = layout_->seats_of(section);
  seat_page page;
  page.first = std::clamp(from, range.first, range.end);
  const seat_index end = page.first + std::min(limit, range.end - page.first);
  page.seats.reserve(end - page.first);
  for (seat_index s = page.first; s < end; ++s)
    page.seats.push_back({layout_->seat_id(s), seats_.state(s)});
  page.more = end < range.end;
  return page;
}

ga_counts event_machine::ga(std::uint16_t area) const {
  return {layout_->ga_areas()[area].capacity, ga_held_[area], ga_sold_[area]};
}

std::uint32_t event_machine::customer_seats(std::string_view customer_id) const {
  const auto c = customers_.find(customer_id);
  return c ? customers_.seats(*c) : 0;
}

// ---- checks ---------------------------------------------------------------------------

std::string event_machine::check_invariants() const {
  const std::uint32_t n = layout_->seat_count();
  std::vector<seat_state> expected(n, seat_state::available);
  std::vector<std::uint32_t> owners(n, none);
  std::vector<std::uint32_t> ga_held(ga_held_.size()), ga_sold(ga_sold_.size());
  std::vector<std::uint32_t> customer_seats(customers_.size());
  std::vector<std::uint32_t> customer_holds(customers_.size());
  std::vector<bool> keyed(holds_.size());
  std::unordered_map<std::uint32_t, std::uint32_t> pins;
  idempotency_.for_each([&](const std::string&, const idempotency_ledger::entry& e) {
    if (e.outcome.pins_hold() && e.outcome.hold < keyed.size()) {
      keyed[e.outcome.hold] = true;
      ++pins[e.outcome.hold];
    }
  });
  if (pins != hold_pins_) return "hold pins disagree with the keys";
  std::uint32_t active = 0;
  std::size_t free_slots = 0, listed_seats = 0;
  for (std::uint32_t i = 0; i < holds_.size(); ++i) {
    const hold_record& h = holds_[i];
    if (std::string problem = check_slot(i, keyed[i], free_slots); !problem.empty()) return problem;
    if ((h.flags & flag_free) != 0) continue;
    listed_seats += h.seat_count;
    if (h.seats_at + std::size_t{h.seat_count} > seat_lists_.size())
      return "hold " + std::to_string(i) + ": seats out of range";
    if (!customers_.live(h.customer)) return "hold " + std::to_string(i) + ": unknown customer";
    ++customer_holds[h.customer];
    if (h.ga_area != no_ga && h.ga_area >= ga_held_.size())
      return "hold " + std::to_string(i) + ": unknown GA area";
    if ((h.ga_area == no_ga) != (h.ga_count == 0))
      return "hold " + std::to_string(i) + ": GA area and count disagree";
    if ((h.seat_count == 0) == (h.ga_count == 0))
      return "hold " + std::to_string(i) + ": must hold seats or GA places";
    const bool confirmed = h.status == hold_status::confirmed || h.status == hold_status::cancelled;
    if (confirmed != (h.reservation != none))
      return "hold " + std::to_string(i) + ": reservation link wrong";
    if (confirmed &&
        (h.reservation >= reservations_.size() || reservations_[h.reservation].hold != i))
      return "hold " + std::to_string(i) + ": reservation does not point back";
    const bool live = h.status == hold_status::active || h.status == hold_status::confirmed;
    if (h.status == hold_status::active) ++active;
    if (!live) continue;
    const seat_state state = h.status == hold_status::active ? seat_state::held : seat_state::sold;
    for (seat_index s : hold_seats(h)) {
      if (s >= n) return "hold " + std::to_string(i) + ": seat out of range";
      if (owners[s] != none)
        return "seat " + layout_->seat_id(s) + " is in holds " + std::to_string(owners[s]) +
               " and " + std::to_string(i);
      owners[s] = i;
      expected[s] = state;
    }
    if (h.ga_area != no_ga)
      (h.status == hold_status::active ? ga_held : ga_sold)[h.ga_area] += h.ga_count;
    customer_seats[h.customer] += std::uint32_t{h.seat_count} + h.ga_count;
  }
  std::uint64_t records = reservations_.size();
  for (std::uint32_t i = 0; i < reservations_.size(); ++i) {
    const reservation_record& r = reservations_[i];
    if (r.hold >= holds_.size() || holds_[r.hold].reservation != i)
      return "reservation " + std::to_string(i) + ": hold link wrong";
    if (std::size_t{r.payment_ref_at} + r.payment_ref_length > texts_.size())
      return "reservation " + std::to_string(i) + ": payment_ref out of range";
    if ((r.cancelled_at_ms != 0) != (holds_[r.hold].status == hold_status::cancelled))
      return "reservation " + std::to_string(i) + ": cancellation and status disagree";
    if (r.cancelled_at_ms != 0) ++records;
  }
  // One stream record per confirm and per cancel.
  if (records != stream_seq_) return "stream seq disagrees with the reservations";
  if (stream_pending_.size() > stream_seq_) return "more unacknowledged records than records";
  for (const std::uint32_t entry : stream_pending_) {
    const std::uint32_t reservation = entry & ~stream_cancel_bit;
    if (reservation >= reservations_.size())
      return "unacknowledged stream record of an unknown reservation";
    if ((entry & stream_cancel_bit) != 0 && reservations_[reservation].cancelled_at_ms == 0)
      return "unacknowledged cancel record of a live reservation";
  }
  state_counts counts;
  for (seat_index s = 0; s < n; ++s) {
    const seat_state actual = seats_.state(s);
    const bool ok = actual == expected[s] ||
                    (actual == seat_state::blocked && expected[s] == seat_state::available);
    if (!ok)
      return "seat " + layout_->seat_id(s) + " is " + std::string(seat_state_name(actual)) +
             " but its holds say " + std::string(seat_state_name(expected[s]));
    counts.by_state[static_cast<std::size_t>(actual)]++;
  }
  if (!(counts == seats_.counts())) return "seat counts disagree with the seat states";
  for (std::size_t a = 0; a < ga_held_.size(); ++a) {
    if (ga_held[a] != ga_held_[a] || ga_sold[a] != ga_sold_[a])
      return "GA counters of area " + layout_->ga_areas()[a].id + " disagree";
    if (std::uint64_t{ga_held_[a]} + ga_sold_[a] > layout_->ga_areas()[a].capacity)
      return "GA area " + layout_->ga_areas()[a].id + " oversold";
  }
  if (free_slots != free_holds_.size()) return "free hold slots disagree";
  if (listed_seats + seat_list_garbage_ != seat_lists_.size()) return "seat list garbage disagrees";
  const std::uint32_t limit = layout_->spec().max_seats_per_customer;
  for (std::uint32_t c = 0; c < customers_.size(); ++c) {
    if (customer_holds[c] != customers_.holds(c))
      return "customer " + std::to_string(c) + ": hold count disagrees";
    if (customer_seats[c] != customers_.seats(c))
      return "customer " + std::string(customers_.id(c)) + ": seat count disagrees";
    if (limit > 0 && customer_seats[c] > limit)
      return "customer " + std::string(customers_.id(c)) + " is over the limit";
  }
  if (active != active_holds_) return "active hold count disagrees";
  return {};
}

// One hold slot: a free slot is empty and listed as free; the flags agree with the keys and
// the retention.
std::string event_machine::check_slot(std::uint32_t i, bool keyed, std::size_t& free_slots) const {
  const hold_record& h = holds_[i];
  const std::string which = "hold " + std::to_string(i) + ": ";
  if ((h.flags & flag_free) != 0) {
    ++free_slots;
    if (h.flags != flag_free || h.seat_count != 0 || h.ga_count != 0 || free_holds_.count(i) == 0)
      return which + "a free slot that is not empty";
    if (keyed) return which + "a key names a forgotten hold";
    return {};
  }
  if (free_holds_.count(i) != 0) return which + "listed free but in use";
  if (keyed != ((h.flags & flag_keyed) != 0)) return which + "key flag disagrees with the keys";
  const bool ended = h.status == hold_status::released || h.status == hold_status::expired;
  if ((h.flags & flag_overdue) != 0 &&
      (!keyed || !ended || h.ended_at_ms() + hold_retention_ms_ > clock_ms_))
    return which + "marked overdue but it is not";
  if (ended && (h.flags & flag_overdue) == 0 && h.ended_at_ms() + hold_retention_ms_ <= clock_ms_)
    return which + "kept past its retention";
  return {};
}

event_machine::memory_report event_machine::memory() const {
  memory_report report;
  report.layout_index = layout_->index_bytes();
  report.seat_map = seats_.memory_bytes();
  report.holds = holds_.capacity() * sizeof(hold_record);
  report.reservations = reservations_.capacity() * sizeof(reservation_record);
  report.seat_lists = seat_lists_.capacity() * sizeof(seat_index);
  report.texts = texts_.capacity();
  report.customers = customers_.memory_bytes();
  report.expiry_queue = expiries_.size() * sizeof(expiry);
  report.idempotency = idempotency_.memory_bytes();
  report.retention = retention_.size() * sizeof(expiry) + free_holds_.size() * 40;  // set nodes
  report.stream = stream_pending_.size() * sizeof(std::uint32_t);
  return report;
}

}  // namespace seatd::actors

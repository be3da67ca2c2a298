#include "sim/reference_model.hpp"

#include <algorithm>
#include <cstdlib>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace seatd::sim {

namespace act = seatd::actors;
using act::errc;
using act::hold_view;
using act::reservation_view;
using act::seat_state;
using namespace contract;

// ---- the contract's grammar --------------------------------------------------------------

namespace contract {

namespace {
bool is_identifier_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}
}  // namespace

bool is_identifier(const std::string& text) {
  if (text.empty() || text.size() > 64) return false;
  return std::all_of(text.begin(), text.end(), is_identifier_char);
}

bool is_malformed_seat_id(const std::string& id) {
  std::vector<std::string> parts(1);
  for (char c : id) {
    if (c == '-')
      parts.emplace_back();
    else
      parts.back() += c;
  }
  if (parts.size() != 3) return true;
  for (const auto& part : parts)
    if (part.empty() || part.size() > 16 ||
        !std::all_of(part.begin(), part.end(), is_identifier_char))
      return true;
  return false;
}

bool is_printable(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

}  // namespace contract

namespace {
expectation failed(expectation e, errc code) {
  e.error = code;
  return e;
}
}  // namespace

// ---- the layout --------------------------------------------------------------------------

reference_model::reference_model(act::event_spec s, std::int64_t now_ms, std::uint64_t salt,
                                 std::int64_t retention_ms, std::size_t max_keys)
    : spec(std::move(s)),
      id_salt(salt),
      hold_retention_ms(retention_ms),
      keys_max(max_keys),
      clock(now_ms) {
  for (std::size_t sec = 0; sec < spec.sections.size(); ++sec) {
    for (const auto& row : spec.sections[sec].rows) {
      model_row built;
      built.section = sec;
      built.category = *category_index(row.category);
      const std::size_t n = row.labels.empty() ? row.seat_count : row.labels.size();
      for (std::size_t p = 0; p < n; ++p) {
        const std::string label = row.labels.empty() ? std::to_string(p + 1) : row.labels[p];
        const std::string id = spec.sections[sec].id + "-" + row.id + "-" + label;
        built.seats.push_back(seat_ids.size());
        seat_by_id[id] = seat_ids.size();
        seat_row.push_back(rows.size());
        seat_ids.push_back(id);
      }
      rows.push_back(built);
    }
  }
  state.assign(seat_ids.size(), seat_state::available);
}

// ---- definitions -------------------------------------------------------------------------

std::optional<std::size_t> reference_model::category_index(const std::string& id) const {
  for (std::size_t c = 0; c < spec.categories.size(); ++c)
    if (spec.categories[c].id == id) return c;
  return std::nullopt;
}
std::optional<std::size_t> reference_model::section_index(const std::string& id) const {
  for (std::size_t s = 0; s < spec.sections.size(); ++s)
    if (spec.sections[s].id == id) return s;
  return std::nullopt;
}
std::optional<std::size_t> reference_model::area_index(const std::string& id) const {
  for (std::size_t a = 0; a < spec.ga_areas.size(); ++a)
    if (spec.ga_areas[a].id == id) return a;
  return std::nullopt;
}
std::int64_t reference_model::seat_price(std::size_t seat) const {
  return spec.categories[rows[seat_row[seat]].category].price_minor;
}
std::int64_t reference_model::total_of(const model_hold& h) const {
  std::int64_t total = 0;
  for (std::size_t s : h.seats)
    total += seat_price(s);
  if (h.ga_area)
    total += spec.categories[*category_index(spec.ga_areas[*h.ga_area].category)].price_minor *
             h.ga_count;
  return total;
}

// ---- derived quantities, recomputed from the holds every time ----------------------------

bool reference_model::is_live(const model_hold& h) {
  return h.status == "active" || h.status == "confirmed";
}
std::uint32_t reference_model::places(const model_hold& h) {
  return static_cast<std::uint32_t>(h.seats.size()) + h.ga_count;
}
std::uint32_t reference_model::customer_total(const std::string& customer) const {
  std::uint32_t total = 0;
  for (const auto& [id, h] : holds)
    if (h.customer == customer && is_live(h)) total += places(h);
  return total;
}
std::map<std::string, std::uint32_t> reference_model::customer_totals() const {
  std::map<std::string, std::uint32_t> totals;
  for (const auto& customer : customers)
    totals[customer] = 0;
  for (const auto& [id, h] : holds)
    if (is_live(h)) totals[h.customer] += places(h);
  return totals;
}
std::uint32_t reference_model::ga_places(std::size_t area, const std::string& status) const {
  std::uint32_t places = 0;
  for (const auto& [id, h] : holds)
    if (h.ga_area == area && h.status == status) places += h.ga_count;
  return places;
}
std::uint32_t reference_model::active_holds() const {
  std::uint32_t active = 0;
  for (const auto& [id, h] : holds)
    active += h.status == "active" ? 1u : 0u;
  return active;
}

bool reference_model::past_retention(const model_hold& h) const {
  return (h.status == "released" || h.status == "expired") &&
         clock - h.ended_ms >= hold_retention_ms;
}

bool reference_model::named_by_key(const std::string& hold_id) const {
  for (const auto& [key, k] : keys)
    if ((k.op == "hold" || k.op == "extend" || k.op == "release") &&
        k.answer->hold.hold_id == hold_id)
      return true;
  return false;
}

// ---- views -------------------------------------------------------------------------------

act::hold_status reference_model::status_of(const std::string& status) {
  if (status == "active") return act::hold_status::active;
  if (status == "expired") return act::hold_status::expired;
  if (status == "released") return act::hold_status::released;
  if (status == "confirmed") return act::hold_status::confirmed;
  return act::hold_status::cancelled;
}

hold_view reference_model::view(const model_hold& h) const {
  hold_view v;
  v.hold_id = h.id;
  v.customer_id = h.customer;
  for (std::size_t s : h.seats)
    v.seats.push_back(seat_ids[s]);
  if (h.ga_area) v.ga = act::ga_view{spec.ga_areas[*h.ga_area].id, h.ga_count};
  v.created_at_ms = h.created_ms;
  v.expires_at_ms = h.expires_ms;
  v.total_minor = total_of(h);
  v.currency = spec.categories.front().currency;
  v.status = status_of(h.status);
  v.reservation_id = h.reservation_id;
  return v;
}

reservation_view reference_model::view(const model_reservation& r) const {
  const model_hold& h = holds.at(r.hold_id);
  reservation_view v;
  v.reservation_id = r.id;
  v.customer_id = h.customer;
  v.hold_id = h.id;
  for (std::size_t s : h.seats)
    v.seats.push_back(seat_ids[s]);
  if (h.ga_area) v.ga = act::ga_view{spec.ga_areas[*h.ga_area].id, h.ga_count};
  v.total_minor = total_of(h);
  v.currency = spec.categories.front().currency;
  v.payment_ref = r.payment_ref;
  v.cancelled = r.cancelled;
  v.confirmed_at_ms = r.confirmed_ms;
  v.cancelled_at_ms = r.cancelled_ms;
  return v;
}

std::string reference_model::rows_picture() const {
  std::string out;
  for (const auto& row : rows) {
    const std::string& id = seat_ids[row.seats.front()];
    out += id.substr(0, id.rfind('-')) + " (" + spec.categories[row.category].id + "): ";
    for (std::size_t s : row.seats)
      out += ".hsb"[static_cast<std::size_t>(state[s])];
    out += "\n";
  }
  return out;
}

// ---- time --------------------------------------------------------------------------------

// The clock never goes back; holds at or past expires_at expire; ended holds past their
// retention are forgotten unless a key names them; keys older than 24 hours are forgotten,
// and the holds only they kept with them.
std::uint32_t reference_model::advance(std::int64_t now_ms) {
  clock = std::max(clock, now_ms);
  if (clock < next_due_ms) return 0;
  std::uint32_t expired = 0;
  for (auto& [id, h] : holds) {
    if (h.status == "active" && h.expires_ms <= clock) {
      expired_on_the_instant += h.expires_ms == clock ? 1u : 0u;
      for (std::size_t s : h.seats)
        state[s] = seat_state::available;
      h.status = "expired";
      h.ended_ms = h.expires_ms;
      ++expired;
    }
  }
  expired_total += expired;
  forget_due();
  for (auto it = keys.begin(); it != keys.end();) {
    forgotten_on_the_instant += clock - it->second.stamp_ms == day_ms ? 1u : 0u;
    if (clock - it->second.stamp_ms >= day_ms)
      it = keys.erase(it);
    else
      ++it;
  }
  forget_due();
  next_due_ms = std::numeric_limits<std::int64_t>::max();
  for (const auto& [id, h] : holds) {
    if (h.status == "active") due_at(h.expires_ms);
    if ((h.status == "released" || h.status == "expired") && !past_retention(h))
      due_at(h.ended_ms + hold_retention_ms);
  }
  for (const auto& [key, k] : keys)
    due_at(k.stamp_ms + day_ms);
  return expired;
}

void reference_model::forget_due() {
  std::vector<std::string> due;
  for (auto& [id, h] : holds) {
    if (!past_retention(h)) continue;
    if (!named_by_key(id))
      due.push_back(id);
    else
      h.kept_by_key = true;
  }
  for (const auto& id : due)
    forget(id);
}

void reference_model::forget(const std::string& hold_id) {
  const model_hold& h = holds.at(hold_id);
  ++happenings[h.kept_by_key ? "kept hold forgotten with its key"
                             : "hold forgotten after its retention"];
  if (!h.kept_by_key && clock - h.ended_ms == hold_retention_ms)
    ++happenings["hold forgotten exactly at the end of its retention"];
  free_indices.insert(h.index);
  forgotten.insert(hold_id);
  holds.erase(hold_id);
}

bool reference_model::answered_by_key(const std::string& key, std::uint64_t fingerprint,
                                      const std::string& op, expectation& e) const {
  if (key.empty()) return false;
  if (!is_identifier(key)) {
    e = failed(e, errc::invalid_request);
    return true;
  }
  const auto seen = keys.find(key);
  if (seen == keys.end()) return false;
  const model_key& k = seen->second;
  if (k.op != op || k.fingerprint != fingerprint) {
    e = failed(e, errc::idempotency_key_reused);
    return true;
  }
  if (op == "hold" || op == "extend" || op == "release")
    e.hold = k.answer->hold;
  else if (op == "confirm" || op == "cancel")
    e.reservation = k.answer->reservation;
  else
    e.seats = k.answer->seats;
  e.replay = true;
  e.note = op + " replayed";
  return true;
}

void reference_model::remember_answer(const std::string& key, std::uint64_t fingerprint,
                                      const std::string& op, const expectation& e) {
  if (key.empty()) return;
  model_key k;
  k.op = op;
  k.fingerprint = fingerprint;
  k.stamp_ms = clock;
  model_answer answer;
  if (e.hold) answer.hold = *e.hold;
  if (e.reservation) answer.reservation = *e.reservation;
  if (e.seats) answer.seats = *e.seats;
  k.answer = std::make_shared<const model_answer>(std::move(answer));
  remember(key, std::move(k));
}

void reference_model::remember(const std::string& key, model_key k) {
  if (keys.size() >= keys_max) {
    auto oldest = keys.begin();
    for (auto it = keys.begin(); it != keys.end(); ++it)
      if (it->second.order < oldest->second.order) oldest = it;
    keys.erase(oldest);
    ++happenings["key evicted early"];
    const std::size_t before = holds.size();
    forget_due();
    if (holds.size() < before) ++happenings["kept hold forgotten with an evicted key"];
  }
  k.order = ++keys_remembered;
  due_at(k.stamp_ms + day_ms);
  keys[key] = std::move(k);
}

// ---- ids ---------------------------------------------------------------------------------

namespace {
std::string hex_digits(std::uint64_t value, int digits) {
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, value >>= 4)
    out[static_cast<std::size_t>(i)] = "0123456789abcdef"[value & 0xF];
  return out;
}
std::string secret_digits(const act::id_secret& secret) {
  return hex_digits(secret[0], 8) + hex_digits(secret[1], 8) + hex_digits(secret[2], 8);
}
}  // namespace

std::string reference_model::new_hold_id(std::uint32_t index, const act::id_secret& secret) const {
  return "h" + std::to_string(index) + "-" + secret_digits(secret);
}

std::string reference_model::new_reservation_id(std::size_t index,
                                                const act::id_secret& secret) const {
  return "r" + hex_digits(id_salt, 16) + "-" + std::to_string(index) + "-" + secret_digits(secret);
}

// ---- best available, by brute force over every candidate ---------------------------------

bool reference_model::row_matches(std::size_t r, std::optional<std::size_t> category,
                                  std::optional<std::size_t> section) const {
  return (!category || rows[r].category == *category) && (!section || rows[r].section == *section);
}

// Whether a block leaves exactly one free seat between it and a taken seat or a row end.
bool reference_model::strands(const std::vector<std::size_t>& block) const {
  const auto& seats = rows[seat_row[block.front()]].seats;
  const auto first = static_cast<std::size_t>(std::find(seats.begin(), seats.end(), block.front()) -
                                              seats.begin());
  std::size_t left = 0;
  for (std::size_t i = first; i > 0 && available(seats[i - 1]); --i)
    ++left;
  std::size_t right = 0;
  for (std::size_t i = first + block.size(); i < seats.size() && available(seats[i]); ++i)
    ++right;
  return left == 1 || right == 1;
}

std::vector<std::size_t> reference_model::best_block(std::size_t count,
                                                     std::optional<std::size_t> category,
                                                     std::optional<std::size_t> section) const {
  // (strands a single seat, section, row, twice the centre distance, start): smallest wins.
  using rank = std::tuple<bool, std::size_t, std::size_t, std::int64_t, std::size_t>;
  std::optional<rank> best;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (!row_matches(r, category, section)) continue;
    const auto& seats = rows[r].seats;
    const std::size_t n = seats.size();
    for (std::size_t start = 0; start + count <= n; ++start) {
      bool all_free = true;
      for (std::size_t i = start; i < start + count; ++i)
        all_free = all_free && available(seats[i]);
      if (!all_free) continue;
      std::size_t left = 0;  // free seats between the block and a taken seat or the row's start
      for (std::size_t i = start; i > 0 && available(seats[i - 1]); --i)
        ++left;
      std::size_t right = 0;
      for (std::size_t i = start + count; i < n && available(seats[i]); ++i)
        ++right;
      const std::int64_t distance =
          std::abs(2 * static_cast<std::int64_t>(start) + static_cast<std::int64_t>(count) -
                   static_cast<std::int64_t>(n));
      const rank candidate{left == 1 || right == 1, rows[r].section, r, distance, start};
      if (!best || candidate < *best) best = candidate;
    }
  }
  std::vector<std::size_t> chosen;
  if (!best) return chosen;
  const auto& seats = rows[std::get<2>(*best)].seats;
  for (std::size_t i = 0; i < count; ++i)
    chosen.push_back(seats[std::get<4>(*best) + i]);
  return chosen;
}

std::vector<std::size_t> reference_model::best_scattered(std::size_t count,
                                                         std::optional<std::size_t> category,
                                                         std::optional<std::size_t> section) const {
  std::vector<std::size_t> chosen;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (!row_matches(r, category, section)) continue;
    const auto& seats = rows[r].seats;
    const auto n = static_cast<std::int64_t>(seats.size());
    std::vector<std::pair<std::int64_t, std::size_t>> order;  // (twice the distance, position)
    for (std::size_t p = 0; p < seats.size(); ++p)
      if (available(seats[p]))
        order.emplace_back(std::abs(2 * static_cast<std::int64_t>(p) + 1 - n), p);
    std::sort(order.begin(), order.end());
    for (const auto& [distance, p] : order) {
      chosen.push_back(seats[p]);
      if (chosen.size() == count) {
        std::sort(chosen.begin(), chosen.end());
        return chosen;
      }
    }
  }
  return {};
}

// ---- commands ----------------------------------------------------------------------------

// 400 invalid_request for a malformed list, unknown_seat for ids the event lacks.
std::optional<errc> reference_model::resolve(const std::vector<std::string>& ids, std::size_t max,
                                             expectation& e,
                                             std::vector<std::size_t>& seats) const {
  if (ids.empty() || ids.size() > max) return errc::invalid_request;
  const std::set<std::string> distinct(ids.begin(), ids.end());
  if (distinct.size() != ids.size()) return errc::invalid_request;
  for (const auto& id : ids)
    if (is_malformed_seat_id(id)) return errc::invalid_request;
  for (const auto& id : ids) {
    const auto it = seat_by_id.find(id);
    if (it == seat_by_id.end())
      e.unknown_seats.push_back(id);
    else
      seats.push_back(it->second);
  }
  if (!e.unknown_seats.empty()) {
    std::sort(e.unknown_seats.begin(), e.unknown_seats.end());
    return errc::unknown_seat;
  }
  std::sort(seats.begin(), seats.end());
  return std::nullopt;
}

expectation reference_model::hold(const act::hold_command& c, std::int64_t now_ms) {
  expectation e;
  e.expired_first = advance(now_ms);
  if (answered_by_key(c.idempotency_key, c.request_fingerprint, "hold", e)) return e;
  if (!is_identifier(c.customer_id)) return failed(e, errc::invalid_request);
  const std::uint32_t ttl_s = c.ttl_s.value_or(spec.default_hold_ttl_s);
  if (ttl_s < 1 || ttl_s > spec.max_hold_ttl_s) return failed(e, errc::invalid_request);

  model_hold h;
  h.customer = c.customer_id;
  std::size_t count = 0;
  std::optional<std::size_t> category;
  std::optional<std::size_t> section;
  const auto* chosen = std::get_if<act::explicit_seats>(&c.selector);
  const auto* best = std::get_if<act::best_available>(&c.selector);
  const auto* ga = std::get_if<act::ga_places>(&c.selector);
  if (chosen) {
    if (const auto code = resolve(chosen->seats, per_hold_max, e, h.seats)) return failed(e, *code);
    count = h.seats.size();
  } else if (best) {
    if (best->count < 1 || best->count > per_hold_max) return failed(e, errc::invalid_request);
    if (!best->category.empty()) {
      category = category_index(best->category);
      if (!category) return failed(e, errc::invalid_request);
    }
    if (!best->section.empty()) {
      section = section_index(best->section);
      if (!section) return failed(e, errc::invalid_request);
    }
    count = best->count;
  } else {
    if (ga->count < 1 || ga->count > per_hold_max) return failed(e, errc::invalid_request);
    h.ga_area = area_index(ga->area);
    if (!h.ga_area) return failed(e, errc::invalid_request);
    h.ga_count = ga->count;
    count = ga->count;
  }

  const std::uint32_t limit = spec.max_seats_per_customer;
  const std::uint32_t current = customer_total(c.customer_id);
  if (limit > 0 && current + count > limit) {
    e.limit = limit;
    e.current = current;
    return failed(e, errc::customer_limit_exceeded);
  }

  if (chosen) {
    for (std::size_t s : h.seats)
      if (!available(s)) e.unavailable.push_back(s);
    if (!e.unavailable.empty()) return failed(e, errc::seats_unavailable);
  } else if (best) {
    h.seats = best->adjacent ? best_block(count, category, section)
                             : best_scattered(count, category, section);
    if (h.seats.empty()) return failed(e, errc::no_seats_match);
    e.note = best->adjacent ? "best block" : "best scattered";
    if (best->adjacent && strands(h.seats)) e.note = "best block stranding a seat";
  } else {
    const std::uint32_t left = spec.ga_areas[*h.ga_area].capacity -
                               ga_places(*h.ga_area, "active") - ga_places(*h.ga_area, "confirmed");
    if (left < count) return failed(e, errc::ga_sold_out);
  }

  // The lowest index a forgotten hold left, else a new one.
  if (free_indices.empty()) {
    h.index = indices++;
  } else {
    h.index = *free_indices.begin();
    free_indices.erase(free_indices.begin());
    ++happenings["slot reused"];
  }
  h.id = new_hold_id(h.index, c.secret);
  h.created_ms = clock;
  h.expires_ms = clock + ttl_s * ms_per_s;
  h.status = "active";
  due_at(h.expires_ms);
  for (std::size_t s : h.seats)
    state[s] = seat_state::held;
  e.hold = view(h);
  e.new_hold = true;
  holds.emplace(h.id, h);
  hold_ids.push_back(h.id);
  customers.insert(h.customer);
  remember_answer(c.idempotency_key, c.request_fingerprint, "hold", e);
  return e;
}

const model_hold* reference_model::find_hold(const std::string& id, const std::string& acting,
                                             expectation& e) const {
  if (!is_identifier(id) || (!acting.empty() && !is_identifier(acting))) {
    e.error = errc::invalid_request;
    if (is_identifier(id)) e.note = "malformed actor";
    return nullptr;
  }
  const auto it = holds.find(id);
  if (it != holds.end() && (acting.empty() || acting == it->second.customer)) return &it->second;
  e.error = errc::hold_not_found;
  e.message = "no hold \"" + id + "\" in this event (a released or expired hold is kept " +
              std::to_string(hold_retention_ms / ms_per_s) + " s)";
  if (it != holds.end())
    e.note = "another customer's hold not found";
  else if (forgotten.count(id) != 0)
    e.note = "forgotten hold not found";
  return nullptr;
}

const model_reservation* reference_model::find_reservation(const std::string& id,
                                                           const std::string& acting,
                                                           expectation& e) const {
  if (!is_identifier(id) || (!acting.empty() && !is_identifier(acting))) {
    e.error = errc::invalid_request;
    if (is_identifier(id)) e.note = "malformed actor";
    return nullptr;
  }
  const auto it = reservations.find(id);
  if (it != reservations.end() &&
      (acting.empty() || acting == holds.at(it->second.hold_id).customer))
    return &it->second;
  e.error = errc::reservation_not_found;
  if (it != reservations.end()) e.note = "another customer's reservation not found";
  return nullptr;
}

expectation reference_model::read_hold(const std::string& id, const std::string& acting) const {
  expectation e;
  if (const model_hold* h = find_hold(id, acting, e)) e.hold = view(*h);
  return e;
}

expectation reference_model::read_reservation(const std::string& id,
                                              const std::string& acting) const {
  expectation e;
  if (const model_reservation* r = find_reservation(id, acting, e)) e.reservation = view(*r);
  return e;
}

expectation reference_model::extend(const act::extend_command& c, std::int64_t now_ms) {
  expectation e;
  e.expired_first = advance(now_ms);
  if (answered_by_key(c.idempotency_key, c.request_fingerprint, "extend", e)) return e;
  if (c.ttl_s < 1 || c.ttl_s > spec.max_hold_ttl_s) return failed(e, errc::invalid_request);
  const model_hold* found = find_hold(c.hold_id, c.acting_customer, e);
  if (!found) return e;
  model_hold* h = &holds.at(found->id);
  if (h->status == "expired") return failed(e, errc::hold_expired);
  if (h->status == "released") return failed(e, errc::hold_released);
  if (h->status != "active") return failed(e, errc::hold_already_confirmed);
  h->expires_ms =
      std::min(clock + c.ttl_s * ms_per_s, h->created_ms + spec.max_hold_ttl_s * ms_per_s);
  due_at(h->expires_ms);
  e.hold = view(*h);
  remember_answer(c.idempotency_key, c.request_fingerprint, "extend", e);
  return e;
}

expectation reference_model::release(const act::release_command& c, std::int64_t now_ms) {
  expectation e;
  e.expired_first = advance(now_ms);
  if (answered_by_key(c.idempotency_key, c.request_fingerprint, "release", e)) return e;
  const model_hold* found = find_hold(c.hold_id, c.acting_customer, e);
  if (!found) return e;
  model_hold* h = &holds.at(found->id);
  if (h->status == "expired") return failed(e, errc::hold_expired);
  if (h->status == "confirmed" || h->status == "cancelled")
    return failed(e, errc::hold_already_confirmed);
  if (h->status == "active") {
    for (std::size_t s : h->seats)
      state[s] = seat_state::available;
    h->status = "released";
    h->ended_ms = clock;
    due_at(h->ended_ms + hold_retention_ms);
  }
  e.hold = view(*h);
  remember_answer(c.idempotency_key, c.request_fingerprint, "release", e);
  return e;
}

expectation reference_model::confirm(const act::confirm_command& c, std::int64_t now_ms) {
  expectation e;
  e.expired_first = advance(now_ms);
  if (answered_by_key(c.idempotency_key, c.request_fingerprint, "confirm", e)) {
    if (e.replay) e.created = true;
    return e;
  }
  if (c.payment_ref.empty() || c.payment_ref.size() > payment_ref_max ||
      !is_printable(c.payment_ref))
    return failed(e, errc::invalid_request);
  const model_hold* found = find_hold(c.hold_id, c.acting_customer, e);
  if (!found) return e;
  model_hold* h = &holds.at(found->id);
  if (h->status == "expired") return failed(e, errc::hold_expired);
  if (h->status == "released") return failed(e, errc::hold_released);
  if (h->status == "confirmed" || h->status == "cancelled") {
    const model_reservation& r = reservations.at(h->reservation_id);
    if (!c.idempotency_key.empty() || r.payment_ref != c.payment_ref)
      return failed(e, errc::hold_already_confirmed);
    e.reservation = view(r);
    e.created = false;
    e.note = "confirm repeated (200)";
    return e;
  }
  for (std::size_t s : h->seats)
    state[s] = seat_state::sold;
  h->status = "confirmed";
  model_reservation r;
  r.id = new_reservation_id(reservations.size(), c.secret);
  r.hold_id = h->id;
  r.payment_ref = c.payment_ref;
  r.confirmed_ms = clock;
  h->reservation_id = r.id;
  e.reservation = view(r);
  e.created = true;
  e.new_reservation = true;
  e.publishes = true;
  reservations.emplace(r.id, r);
  reservation_ids.push_back(r.id);
  remember_answer(c.idempotency_key, c.request_fingerprint, "confirm", e);
  return e;
}

expectation reference_model::cancel(const act::cancel_command& c, std::int64_t now_ms) {
  expectation e;
  e.expired_first = advance(now_ms);
  if (answered_by_key(c.idempotency_key, c.request_fingerprint, "cancel", e)) return e;
  if (c.reason.size() > reason_max || !is_printable(c.reason))
    return failed(e, errc::invalid_request);
  const model_reservation* found = find_reservation(c.reservation_id, c.acting_customer, e);
  if (!found) return e;
  model_reservation& r = reservations.at(found->id);
  if (r.cancelled) return failed(e, errc::reservation_already_cancelled);
  model_hold& h = holds.at(r.hold_id);
  for (std::size_t s : h.seats)
    state[s] = seat_state::available;
  h.status = "cancelled";
  r.cancelled = true;
  r.cancelled_ms = clock;
  e.reservation = view(r);
  e.publishes = true;
  remember_answer(c.idempotency_key, c.request_fingerprint, "cancel", e);
  return e;
}

expectation reference_model::block(const act::block_command& c, std::int64_t now_ms) {
  expectation e;
  e.expired_first = advance(now_ms);
  const std::string op = c.block ? "block" : "unblock";
  if (answered_by_key(c.idempotency_key, c.request_fingerprint, op, e)) return e;
  std::vector<std::size_t> seats;
  if (const auto code = resolve(c.seats, per_block_max, e, seats)) return failed(e, *code);
  if (c.block) {
    for (std::size_t s : seats)
      if (state[s] == seat_state::held || state[s] == seat_state::sold) e.unavailable.push_back(s);
    if (!e.unavailable.empty()) return failed(e, errc::seats_unavailable);
    for (std::size_t s : seats)
      state[s] = seat_state::blocked;
  } else {
    for (std::size_t s : seats)
      if (state[s] == seat_state::blocked) state[s] = seat_state::available;
  }
  e.seats.emplace();
  for (std::size_t s : seats)
    e.seats->push_back({seat_ids[s], state[s]});
  remember_answer(c.idempotency_key, c.request_fingerprint, op, e);
  return e;
}

expectation reference_model::apply(const act::command& command, std::int64_t now_ms) {
  return std::visit(
      [&](const auto& c) -> expectation {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, act::hold_command>)
          return hold(c, now_ms);
        else if constexpr (std::is_same_v<T, act::extend_command>)
          return extend(c, now_ms);
        else if constexpr (std::is_same_v<T, act::release_command>)
          return release(c, now_ms);
        else if constexpr (std::is_same_v<T, act::confirm_command>)
          return confirm(c, now_ms);
        else if constexpr (std::is_same_v<T, act::cancel_command>)
          return cancel(c, now_ms);
        else if constexpr (std::is_same_v<T, act::block_command>)
          return block(c, now_ms);
        else {  // expire, and a stream ack (the model leaves the stream out): time moves
          expectation e;
          e.expired_first = advance(now_ms);
          e.holds_expired = e.expired_first;
          return e;
        }
      },
      command);
}

}  // namespace seatd::sim

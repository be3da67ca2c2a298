#include "actors/inventory_errc.hpp"

#include <array>

namespace seatd::actors {
namespace {

constexpr std::array<std::string_view, errc_count + 1> names{
    "ok",
    "invalid_request",
    "unknown_seat",
    "event_not_found",
    "hold_not_found",
    "reservation_not_found",
    "hold_expired",
    "customer_limit_exceeded",
    "seats_unavailable",
    "no_seats_match",
    "ga_sold_out",
    "hold_already_confirmed",
    "hold_released",
    "reservation_already_cancelled",
    "event_conflict",
    "idempotency_key_reused",
};

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "seatd.inventory"; }
  std::string message(int value) const override {
    if (value < 1 || value > errc_count) return "unknown inventory error";
    return std::string(names[static_cast<std::size_t>(value)]);
  }
};

}  // namespace

std::string_view errc_name(errc code) {
  const auto index = static_cast<std::size_t>(code);
  SEATD_ASSERT(index >= 1 && index <= errc_count, "errc out of range");
  return names[index];
}

const std::error_category& inventory_category() {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc code) {
  return {static_cast<int>(code), inventory_category()};
}

}  // namespace seatd::actors

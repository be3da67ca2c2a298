#include "actors/log_port.hpp"

namespace seatd::actors {

std::string_view log_status_name(log_status status) {
  switch (status) {
    case log_status::committed:
      return "committed";
    case log_status::not_leader:
      return "not_leader";
    case log_status::leadership_lost:
      return "leadership_lost";
    case log_status::io_error:
      return "io_error";
  }
  return "unknown";
}

}  // namespace seatd::actors

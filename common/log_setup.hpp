#pragma once
// The binaries' log lines (logfmt, UTC with milliseconds): one format for every process of a
// deployment. Header-only, for main()s, which link spdlog; the libraries never log this way.

#include <spdlog/spdlog.h>

#include <string>

namespace seatd::common {

inline void use_log_format() {
  spdlog::set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
}

// spdlog reads an unknown level name as "off"; this tells the two apart.
inline bool is_log_level(const std::string& name) {
  return spdlog::level::from_str(name) != spdlog::level::off || name == "off";
}

}  // namespace seatd::common

#pragma once
// A config file's scalar as text, for settings passed through to another library as strings
// (librdkafka properties): a string as it is, an integer in decimal, a boolean as
// "true"/"false"; nullopt for any other kind of value. Header-only, for the binaries' config
// readers, which link toml++.

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>

namespace seatd::common {

inline std::optional<std::string> scalar_text(const toml::node& value) {
  if (const auto text = value.value_exact<std::string>()) return *text;
  if (const auto number = value.value_exact<std::int64_t>()) return std::to_string(*number);
  if (const auto flag = value.value_exact<bool>()) return std::string(*flag ? "true" : "false");
  return std::nullopt;
}

}  // namespace seatd::common

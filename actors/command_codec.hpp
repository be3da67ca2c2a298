#pragma once
// Binary encoding of the commands that go into a shard's log, and of event definitions
// (shared with snapshots). A log entry's payload is one encoded log_command; replaying the
// payloads with their stamps rebuilds every event exactly. Decoding never trusts its input.

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "actors/event_machine.hpp"
#include "common/byte_codec.hpp"

namespace seatd::actors {

struct create_command {
  event_spec spec;
  std::uint64_t id_salt = 0;
  std::int64_t hold_retention_ms = event_machine::default_hold_retention_ms;
  bool operator==(const create_command&) const = default;
};

using log_command =
    std::variant<create_command, hold_command, extend_command, release_command, confirm_command,
                 cancel_command, block_command, expire_command, stream_ack_command>;

std::vector<std::uint8_t> encode_command(const log_command& logged);
common::result<log_command, std::string> decode_command(std::span<const std::uint8_t> bytes);

// The log command of a machine command.
log_command machine_command_to_log(const command& c);
// The machine command inside a log command (nullopt for create).
std::optional<command> machine_command(log_command logged);

namespace codec {
inline constexpr std::size_t text_max = 1 << 20;
inline constexpr std::size_t count_max = 1u << 26;
void encode_spec(common::byte_writer& w, const event_spec& spec);
event_spec decode_spec(common::byte_reader& r);
std::uint32_t u32_of(common::byte_reader& r);  // a varint that must fit 32 bits
}  // namespace codec

}  // namespace seatd::actors

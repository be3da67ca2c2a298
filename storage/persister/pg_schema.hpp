#pragma once
// The persister's PostgreSQL schema (API.md, "PostgreSQL (written by the persister)"), as
// numbered migrations. pg_sink applies the ones a database lacks at start, in one transaction
// under an advisory lock, and records each in seat_persister_migrations. A shipped migration
// never changes: a change is a new migration with the next number.

#include <cstdint>
#include <span>
#include <string_view>

namespace seatd::storage::persister {

struct migration {
  std::int32_t version;  // 1, 2, 3, ... without gaps
  std::string_view name;
  std::string_view sql;  // one or more statements
};

std::span<const migration> migrations();

// The key of pg_advisory_xact_lock while migrating: persisters starting together take turns.
inline constexpr std::int64_t migration_lock_key = 0x7365617470657273;  // "seatpers"

}  // namespace seatd::storage::persister

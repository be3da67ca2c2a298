// Recovery time of a node: 10 events of 100,000 seats (1,000,000 seats) and 100,000 log
// entries of holds and confirms, in a real RocksDB data dir, recovered as seatd starts:
// cluster::open_shard_log() (the shards' committed machines) and node::start() (a copy of
// every event in its actor). Two shapes: (A) everything in the log; (B) a snapshot of every
// event (as a checkpoint leaves it) plus 100,000 more entries after it.
// Run: scripts/bench.sh (or build/release/tests/bench/seatd_recovery_bench [seed])

#include <caf/all.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "actors/command_codec.hpp"
#include "actors/snapshot_codec.hpp"
#include "actors/venues.hpp"
#include "cluster/node.hpp"
#include "cluster/placement.hpp"
#include "common/checksum.hpp"
#include "common/prng.hpp"
#include "storage/rocksdb_store.hpp"

using namespace seatd;

namespace {

constexpr std::uint32_t shards = 16;
constexpr int events = 10;

struct writer {
  explicit writer(storage::store& s) : store(s) {}
  storage::store& store;
  std::vector<std::uint64_t> last_index = std::vector<std::uint64_t>(shards, 0);
  storage::write_batch batch;
  void add(std::uint32_t shard, const std::string& event_id, std::int64_t stamp,
           const actors::log_command& command) {
    batch.entries.push_back(
        {shard, ++last_index[shard], 0, stamp, event_id, actors::encode_command(command)});
    if (batch.entries.size() >= 2000) flush();
  }
  void flush() {
    if (batch.empty()) return;
    // As a running node leaves it once Kafka has every record: each shard's outbox mark at
    // its last entry, so recovery makes no record again (a node killed with records
    // undelivered also has them in its outbox, and makes again only those past the mark).
    for (std::uint32_t s = 0; s < shards; ++s)
      batch.outbox_marks.push_back({s, last_index[s]});
    store.write(batch);
    batch = {};
  }
};

std::uint32_t shard_of(const std::string& id) {
  return seatd::cluster::shard_of_event(id, shards);
}

// Appends `count` successful holds and confirms, applied to the machines as they go.
void append_traffic(writer& w, std::vector<actors::event_machine>& machines, int count,
                    common::splitmix64& random, std::int64_t& now) {
  int written = 0;
  while (written < count) {
    auto& m = machines[random.below(machines.size())];
    const std::string& id = m.event_id();
    actors::hold_command hold;
    hold.customer_id = "c" + std::to_string(random.below(100000));
    hold.ttl_s = 1800;
    const auto k = 2 + random.below(3);
    const auto first = random.below(100 - k + 1) + 1;
    const std::string row =
        std::to_string(1 + random.below(50)) + "-" + std::to_string(1 + random.below(20));
    std::vector<std::string> seats;
    for (auto s = first; s < first + k; ++s)
      seats.push_back(row + "-" + std::to_string(s));
    hold.selector = actors::explicit_seats{seats};
    hold.secret = {static_cast<std::uint32_t>(random.next()), 0, 0};
    auto held = m.hold(hold, ++now);
    if (!held) continue;
    w.add(shard_of(id), id, now, hold);
    ++written;
    actors::confirm_command confirm{held->hold_id, "pay-" + std::to_string(now), "", 0,
                                    static_cast<std::uint32_t>(random.next())};
    if (m.confirm(confirm, ++now)) {
      w.add(shard_of(id), id, now, confirm);
      ++written;
    }
  }
  w.flush();
}

double recover_seconds(const std::string& dir, std::size_t& replayed, std::size_t& snapshots) {
  auto store = storage::open_rocksdb_store(dir, shards);
  caf::actor_system_config config;
  caf::actor_system system{config};
  common::metrics_registry metrics;
  cluster::node node({}, system, metrics,
                     {[] { return std::int64_t{1'790'000'000'000}; },
                      [n = std::uint32_t{0}]() mutable {
                        return actors::id_secret{++n, 7, 7};
                      }});
  const auto start = std::chrono::steady_clock::now();
  auto opened = cluster::open_shard_log(
      *store, {}, {}, [](const actors::stream_change&) { return std::string("{}"); }, metrics,
      [](const std::string& why) {
        std::fprintf(stderr, "fatal: %s\n", why.c_str());
        std::abort();
      });
  node.start(*opened.log, nullptr);  // every event into its actor, as seatd starts
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  replayed = opened.report.entries_replayed;
  snapshots = opened.report.snapshots;
  if (opened.report.events != events) std::abort();
  node.stop();
  return seconds;
}

std::uintmax_t dir_bytes(const std::string& dir) {
  std::uintmax_t total = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir))
    if (f.is_regular_file()) total += f.file_size();
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 42;
  char pattern[] = "/tmp/seatd-recovery-bench-XXXXXX";
  const std::string dir = std::string(::mkdtemp(pattern)) + "/data";
  common::splitmix64 random(seed);
  std::int64_t now = 1'790'000'000'000;
  std::vector<actors::event_machine> machines;
  {
    auto store = storage::open_rocksdb_store(dir, shards);
    writer w(*store);
    for (int e = 0; e < events; ++e) {
      const std::string id = "event-" + std::to_string(e);
      const auto spec = test::flash_venue(50, 20, 100);
      const std::uint64_t salt = random.next();
      machines.push_back(actors::event_machine::create(id, spec, now, salt).value());
      w.add(shard_of(id), id, now, actors::create_command{spec, salt});
    }
    append_traffic(w, machines, 100'000, random, now);
  }
  std::size_t replayed = 0, snapshots = 0;
  std::printf(
      "seatd recovery benchmark (seed %llu): %d events x 100,000 seats = 1,000,000 seats\n\n",
      static_cast<unsigned long long>(seed), events);
  const double a = recover_seconds(dir, replayed, snapshots);
  std::printf(
      "A. log only: %zu entries replayed, %zu snapshots: %.2f s (%.0f entries/s); data dir %.1f "
      "MB\n",
      replayed, snapshots, a, static_cast<double>(replayed) / a,
      static_cast<double>(dir_bytes(dir)) / 1e6);
  {
    // A checkpoint: a snapshot of every event, the log truncated below, then more traffic.
    auto store = storage::open_rocksdb_store(dir, shards);
    auto state = store->recover();
    writer w(*store);
    for (const auto& entry : state.entries)
      w.last_index[entry.shard] = std::max(w.last_index[entry.shard], entry.index);
    storage::write_batch checkpoint;
    for (auto& m : machines) {
      const auto shard = shard_of(m.event_id());
      checkpoint.snapshots.push_back(
          {m.event_id(), shard, w.last_index[shard], actors::snapshot_codec::encode(m)});
    }
    for (std::uint32_t s = 0; s < shards; ++s)
      checkpoint.truncations.push_back({s, w.last_index[s] + 1});
    store->write(checkpoint);
    append_traffic(w, machines, 100'000, random, now);
  }
  const double b = recover_seconds(dir, replayed, snapshots);
  std::printf("B. snapshots + log: %zu snapshots, %zu entries replayed: %.2f s; data dir %.1f MB\n",
              snapshots, replayed, b, static_cast<double>(dir_bytes(dir)) / 1e6);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
  return 0;
}

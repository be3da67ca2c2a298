// raft_host (cluster/raft_host.hpp) on one node: the owners of a lead propose with its
// hosting, and the log refuses any other, so that owners of an earlier lead (not yet told of
// the step-down, their state maybe ahead of what committed) can add nothing.

#include "cluster/raft_host.hpp"

#include <catch2/catch.hpp>

#include "cluster/event_script.hpp"
#include "storage/memory_store.hpp"

namespace raft = seatd::cluster::raft;
using seatd::actors::log_status;
using seatd::cluster::raft_host;
using seatd::cluster::raft_shards;
using seatd::cluster::raft_shards_config;
using seatd::cluster::shard_lead;
using seatd::test::event_script;

TEST_CASE("raft_host: only the current hosting's owners may propose or ask for a barrier",
          "[unit][raft]") {
  raft_shards_config config;
  config.self = 1;
  config.members = {1};
  config.shard_count = 1;
  config.replication_factor = 1;
  seatd::storage::memory_store store(1);
  auto shards = raft_shards::restore(config, store.recover(), 7);
  REQUIRE(shards.ok());
  auto made = raft_host::make(std::move(shards).value());
  REQUIRE(made.ok());
  raft_host& host = *made.value();
  std::vector<log_status> statuses;
  auto run_turns = [&] {
    while (auto turn = host.take_turn()) {
      store.write(turn->batch);
      auto done = host.written(turn->id);
      for (auto& [finish, status] : done.completions)
        if (finish) finish(status);
    }
  };
  std::vector<shard_lead> leads;
  for (int t = 0; t < 100 && leads.empty(); ++t) {
    host.tick();
    run_turns();
    leads = host.take_leads();
  }
  REQUIRE(leads.size() == 1);
  const std::uint64_t hosting = leads.front().hosting;
  CHECK(hosting > 0);
  CHECK(host.hosting_of(0) == hosting);

  event_script script;
  auto create = script.create(0, "ev");
  auto done = [&](log_status s) { statuses.push_back(s); };
  for (const std::uint64_t stale : {std::uint64_t{0}, hosting + 1}) {
    INFO("hosting " << stale);
    create.hosting = stale;
    CHECK(host.propose(create, done) == log_status::not_leader);
    CHECK(host.barrier(0, stale, done) == log_status::not_leader);
  }
  create.hosting = hosting;
  CHECK_FALSE(host.propose(create, done));
  CHECK_FALSE(host.barrier(0, hosting, done));
  run_turns();
  CHECK(statuses == std::vector<log_status>{log_status::committed, log_status::committed});
  REQUIRE(host.machine(0) != nullptr);
  CHECK(host.machine(0)->event_count() == 1);
}

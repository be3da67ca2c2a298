// seatd: one node of the seat inventory cluster. Flags (they override the config file):
// see `seatd --help` and docs/OPERATIONS.md.

#include <pthread.h>

#include <utility>  // before Boost.Asio under C++20 (docs/decisions/0001)
// clang-format off
#include <boost/asio.hpp>
// clang-format on
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <caf/all.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "api/forwarder.hpp"
#include "api/router.hpp"
#include "cluster/membership.hpp"
#include "cluster/node.hpp"
#include "cluster/peer_transport.hpp"
#include "cluster/raft_loop.hpp"
#include "cluster/stream_records.hpp"
#include "common/host_port.hpp"
#include "common/http_server.hpp"
#include "common/identifier.hpp"
#include "common/log_setup.hpp"
#include "common/toml_text.hpp"
#include "storage/rocksdb_store.hpp"
#include "storage/stream_record.hpp"

namespace {

using namespace seatd;

// The admin listener's own limits: probes and scrapes send no body and need few connections.
constexpr std::size_t admin_connections_max = 64;
constexpr std::size_t admin_body_bytes_max = 4096;

struct settings {
  std::string config_file;
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./seatd-data";
  std::string node_id = "n1";
  std::string peers;
  std::string peer_listen;               // default: this node's own entry in --peers
  std::uint32_t replication_factor = 0;  // 0: 3, or the member count when smaller
  std::uint64_t raft_snapshot_entries = 10'000;
  std::uint32_t leader_balance_s = 10;  // 0: never
  bool rejoin = false;                  // this node's data dir was lost (docs/OPERATIONS.md)
  std::string cluster_secret;           // SEATD_CLUSTER_SECRET or cluster_secret in the file
  std::string kafka_brokers;
  std::string kafka_topic = "seat.reservations";
  std::vector<std::pair<std::string, std::string>> kafka_properties;  // [kafka] in the file
  std::size_t outbox_high_water = 0;
  bool insecure_no_auth = false;
  std::uint32_t shards = 16;
  unsigned http_threads = 2;
  unsigned actor_threads = 2;
  std::string log_level = "info";
  std::size_t body_bytes_max = 1 << 20;
  std::size_t connections_max = 4096;
  std::int64_t request_timeout_ms = 15'000;
  std::int64_t idle_timeout_ms = 5'000;
  std::string admin_listen;
  std::int64_t event_queue_max = 2'000;
  std::uint32_t hold_retention_s = 3600;
  bool require_customer_id = false;
  std::uint64_t checkpoint_entries = 10'000;
  std::unordered_map<std::string, api::role> tokens;
};

std::optional<api::role> role_named(const std::string& name) {
  if (name == "admin") return api::role::admin;
  if (name == "gateway") return api::role::gateway;
  return std::nullopt;
}

// Values from the config file, for every setting no flag gave. Throws on a bad file.
void apply_config_file(settings& s, const CLI::App& app) {
  toml::table file;
  try {
    file = toml::parse_file(s.config_file);
  } catch (const toml::parse_error& e) {
    throw std::runtime_error(s.config_file + ": " + std::string(e.description()));
  }
  auto take = [&](const char* key, const char* flag, auto& field) {
    using T = std::decay_t<decltype(field)>;
    if (app.count(flag) > 0) return;
    if (const auto value = file[key].value<T>()) field = *value;
  };
  take("listen", "--listen", s.listen);
  take("data_dir", "--data-dir", s.data_dir);
  take("node_id", "--node-id", s.node_id);
  take("peers", "--peers", s.peers);
  take("peer_listen", "--peer-listen", s.peer_listen);
  take("replication_factor", "--replication-factor", s.replication_factor);
  take("raft_snapshot_entries", "--raft-snapshot-entries", s.raft_snapshot_entries);
  take("leader_balance_s", "--leader-balance-s", s.leader_balance_s);
  take("rejoin", "--rejoin", s.rejoin);
  if (const auto secret = file["cluster_secret"].value<std::string>()) s.cluster_secret = *secret;
  take("kafka_brokers", "--kafka-brokers", s.kafka_brokers);
  take("kafka_topic", "--kafka-topic", s.kafka_topic);
  take("outbox_high_water", "--outbox-high-water", s.outbox_high_water);
  take("insecure_no_auth", "--insecure-no-auth", s.insecure_no_auth);
  take("shards", "--shards", s.shards);
  take("http_threads", "--http-threads", s.http_threads);
  take("actor_threads", "--actor-threads", s.actor_threads);
  take("log_level", "--log-level", s.log_level);
  take("body_bytes_max", "--body-bytes-max", s.body_bytes_max);
  take("connections_max", "--connections-max", s.connections_max);
  take("request_timeout_ms", "--request-timeout-ms", s.request_timeout_ms);
  take("idle_timeout_ms", "--idle-timeout-ms", s.idle_timeout_ms);
  take("admin_listen", "--admin-listen", s.admin_listen);
  take("event_queue_max", "--event-queue-max", s.event_queue_max);
  take("hold_retention_s", "--hold-retention-s", s.hold_retention_s);
  take("require_customer_id", "--require-customer-id", s.require_customer_id);
  take("checkpoint_entries", "--checkpoint-entries", s.checkpoint_entries);
  // librdkafka properties, passed through (security.protocol, sasl.*, ssl.*, ...).
  if (const auto* kafka = file["kafka"].as_table()) {
    for (const auto& [name, value] : *kafka) {
      auto text = common::scalar_text(value);
      if (!text)
        throw std::runtime_error("kafka." + std::string(name.str()) +
                                 ": a librdkafka property must be a string, integer or boolean");
      s.kafka_properties.emplace_back(name.str(), std::move(*text));
    }
  }
  if (const auto* tokens = file["tokens"].as_table()) {
    for (const auto& [token, role] : *tokens) {
      const auto name = role.value<std::string>();
      const auto parsed = name ? role_named(*name) : std::nullopt;
      if (!parsed)
        throw std::runtime_error("tokens: the role of a token must be \"admin\" or \"gateway\"");
      s.tokens[std::string(token.str())] = *parsed;
    }
  }
}

void emitter_log(cluster::log_level level, std::string message) {
  std::replace(message.begin(), message.end(), '"', '\'');  // keep the log line's quoting
  const auto to = level == cluster::log_level::error  ? spdlog::level::err
                  : level == cluster::log_level::warn ? spdlog::level::warn
                                                      : spdlog::level::info;
  spdlog::log(to, "msg=\"{}\"", message);
}

// Each committed confirm and cancel becomes the stream record seat-persister parses.
std::string render_stream_record(const actors::stream_change& change) {
  return storage::render_stream_record(
      cluster::stream_record_of(change.event_id, change.seq, change.reservation));
}

// 96 unpredictable bits from the kernel's CSPRNG (an id's secret, a salt), in one getrandom
// call, from any thread. Blocks only until the pool is first seeded at boot; any other
// failure stops the process, since an id without its secret would be guessable.
actors::id_secret random_secret() {
  actors::id_secret value{};
  auto* bytes = reinterpret_cast<char*>(value.data());
  std::size_t have = 0;
  while (have < sizeof value) {
    const ssize_t got = ::getrandom(bytes + have, sizeof value - have, 0);
    if (got > 0) {
      have += static_cast<std::size_t>(got);
    } else if (errno != EINTR) {
      spdlog::critical("msg=\"getrandom failed\" errno={}", errno);
      std::abort();
    }
  }
  return value;
}

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --admin-listen: the operations endpoints on a listener of their own, with a small cap of
// their own, so that a flood of gateway connections never starves the probes and the scrape.
std::unique_ptr<common::http_server> open_admin_listener(const settings& s,
                                                         boost::asio::io_context& io,
                                                         common::http_limits limits,
                                                         api::router& router,
                                                         common::metrics_registry& metrics) {
  if (s.admin_listen.empty()) return nullptr;
  auto address = common::parse_host_port(s.admin_listen);
  if (!address) throw std::runtime_error("--admin-listen: " + address.error());
  const auto [host, port] = std::move(address).value();
  limits.body_bytes_max = admin_body_bytes_max;
  limits.connections_max = admin_connections_max;
  return std::make_unique<common::http_server>(
      io, host, port, limits,
      [&router](common::http_request request, common::responder respond) {
        router.handle_operations(std::move(request), std::move(respond));
      },
      metrics, "admin");
}

// --peers: the Raft side of the node over its store (refused when the store was written by
// another cluster or by a single node), and its authenticated peer connections.
void open_replication(settings& s, const std::vector<cluster::member>& members,
                      storage::store& store, common::metrics_registry& metrics,
                      std::unique_ptr<cluster::raft_loop>& raft,
                      std::unique_ptr<cluster::peer_transport>& peers,
                      cluster::peer_frame_handler other_frames,
                      std::function<void(cluster::raft::node_id)> peer_lost) {
  std::vector<cluster::raft::node_id> ids;
  const cluster::member* self = nullptr;
  for (const auto& m : members) {
    ids.push_back(m.id);
    if (m.name == s.node_id) self = &m;
  }
  if (s.replication_factor == 0)
    s.replication_factor = std::min<std::uint32_t>(3, static_cast<std::uint32_t>(ids.size()));
  cluster::raft_shards_config config;
  config.self = self->id;
  config.members = ids;
  config.shard_count = store.shard_count();
  config.replication_factor = s.replication_factor;
  config.snapshot_entries = s.raft_snapshot_entries;
  config.rejoin = s.rejoin;
  const auto seed_bits = random_secret();
  auto shards = cluster::raft_shards::restore(config, store.recover(),
                                              (std::uint64_t{seed_bits[0]} << 32) | seed_bits[1]);
  if (!shards) throw std::runtime_error("replication: " + shards.error());
  if (s.rejoin) {
    std::size_t waiting = 0;
    for (std::uint32_t shard = 0; shard < config.shard_count; ++shard)
      if (const auto* core = shards.value()->core_of(shard); core && core->rejoining()) ++waiting;
    spdlog::info(
        "msg=\"rejoining after a lost data dir: replicas vote once caught up\" "
        "replicas_waiting={}",
        waiting);
  }
  cluster::raft_loop_options options;
  for (const auto& m : members)
    options.names[m.id] = m.name;
  options.balance_every = std::chrono::seconds(s.leader_balance_s);
  raft = std::make_unique<cluster::raft_loop>(std::move(shards).value(), store, options, metrics,
                                              [](const std::string& why) {
                                                spdlog::critical("msg=\"stopping: {}\"", why);
                                                std::abort();
                                              });
  cluster::peer_transport_config transport;
  transport.identity = {
      self->id, cluster::peer::cluster_fingerprint(config.shard_count, s.replication_factor, ids),
      ids, s.cluster_secret.empty() ? std::string("insecure-no-auth") : s.cluster_secret};
  if (s.peer_listen.empty())
    s.peer_listen = self->peer_address.host + ":" + std::to_string(self->peer_address.port);
  auto listen = common::parse_host_port(s.peer_listen);
  if (!listen) throw std::runtime_error("--peer-listen: " + listen.error());
  transport.listen = std::move(listen).value();
  for (const auto& m : members) {
    if (m.id != self->id) transport.members[m.id] = m.peer_address;
    transport.names[m.id] = m.name;
  }
  transport.on_peer_lost = std::move(peer_lost);
  peers = std::make_unique<cluster::peer_transport>(
      std::move(transport),
      [loop = raft.get(), other = std::move(other_frames)](cluster::raft::node_id from,
                                                           cluster::peer::frame f) {
        if (f.kind == cluster::peer::frame_kind::raft ||
            f.kind == cluster::peer::frame_kind::snapshot_piece)
          loop->receive(from, f);
        else
          other(from, std::move(f));
      },
      metrics);
}

// GET /v1/cluster on a replicated node: the members as this node reaches them, and each
// shard's replicas, leader, term and commit index as this node knows them.
api::cluster_view replicated_view(const cluster::raft_loop& raft,
                                  const cluster::peer_transport& peers,
                                  const std::vector<cluster::member>& members,
                                  const std::string& self) {
  std::map<cluster::raft::node_id, std::string> names;
  for (const auto& m : members)
    names[m.id] = m.name;
  auto name_of = [&](cluster::raft::node_id id) {
    const auto found = names.find(id);
    return found == names.end() ? std::string() : found->second;
  };
  api::cluster_view view;
  const auto links = peers.status();
  for (const auto& m : members) {
    bool up = m.name == self;
    for (const auto& link : links)
      if (link.id == m.id) up = link.sending && link.receiving;
    view.nodes.push_back({m.name, up ? "up" : "unreachable"});
  }
  const auto known = raft.status();
  for (std::uint32_t shard = 0; shard < raft.shard_count(); ++shard) {
    api::cluster_view::shard_state state;
    state.id = shard;
    for (auto id : raft.replicas_of(shard))
      state.replicas.push_back(name_of(id));
    for (const auto& k : known) {
      if (k.shard != shard) continue;
      state.leader = name_of(k.leader);
      state.term = k.term;
      state.commit_index = k.commit;
      for (const auto& [follower, match] : k.match)
        state.match_index.emplace_back(name_of(follower), match);
    }
    view.shards.push_back(std::move(state));
  }
  return view;
}

int run(settings s) {
  common::use_log_format();
  // Checked before it is set: an unknown name reads as "off", which would hide this very error.
  if (!common::is_log_level(s.log_level)) {
    spdlog::error("msg=\"--log-level must be trace, debug, info, warn, error, critical or off\"");
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(s.log_level));
  if (!common::is_identifier(s.node_id)) {
    spdlog::error("msg=\"--node-id must be 1 to 64 of [A-Za-z0-9._:-]\"");
    return 2;
  }
  if (s.raft_snapshot_entries == 0) {  // a config file's value skips the flag's range check
    spdlog::error("msg=\"raft_snapshot_entries must be at least 1\"");
    return 2;
  }
  std::vector<cluster::member> members;
  if (!s.peers.empty()) {
    auto parsed = cluster::parse_members(s.peers, s.node_id);
    if (!parsed) {
      spdlog::error("msg=\"{}\"", parsed.error());
      return 2;
    }
    members = std::move(parsed).value();
    if (s.cluster_secret.empty() && members.size() > 1 && !s.insecure_no_auth) {
      spdlog::error(
          "msg=\"--peers needs the cluster secret: set SEATD_CLUSTER_SECRET or cluster_secret in "
          "the config file (or pass --insecure-no-auth)\"");
      return 2;
    }
  }
  if (s.hold_retention_s < 1 || s.hold_retention_s > 30 * 24 * 3600) {
    spdlog::error("msg=\"hold_retention_s must be 1 to 2592000 (30 days)\"");
    return 2;
  }
  if (s.tokens.empty() && !s.insecure_no_auth) {
    spdlog::error(
        "msg=\"no token configured: set SEATD_ADMIN_TOKEN / SEATD_GATEWAY_TOKEN or [tokens] in the "
        "config file, or pass --insecure-no-auth\"");
    return 2;
  }
  if (s.kafka_brokers.empty() && s.outbox_high_water > 0)
    spdlog::warn("msg=\"--outbox-high-water applies only with --kafka-brokers; ignored\"");
  if (s.kafka_brokers.empty())
    spdlog::warn(
        "msg=\"no --kafka-brokers: confirmed and cancelled reservations stay in the outbox until "
        "a start with brokers publishes them\"");
  auto listen = common::parse_host_port(s.listen);
  if (!listen) throw std::runtime_error("--listen: " + listen.error());
  const auto [host, port] = std::move(listen).value();

  // Declared first, destroyed last: sessions and pending handlers that outlive the node's
  // objects still need the io_context's services.
  boost::asio::io_context io;
  common::metrics_registry metrics;
  auto store = storage::open_rocksdb_store(s.data_dir, s.shards);
  caf::actor_system_config actor_config;
  actor_config.set("scheduler.max-threads", static_cast<std::size_t>(s.actor_threads));
  // An idle CAF worker polls its queue 500 times with a 50 us sleep between tries before it
  // waits on its condition variable: on two cores those sleeps are context switches that
  // take the cores from the HTTP and log threads (docs/BENCHMARKS.md, the cluster profile).
  // Straight to the condition variable after the short busy poll instead.
  actor_config.set("work-stealing.moderate-poll-attempts", std::size_t{0});
  caf::actor_system actors_system{actor_config};

  cluster::node_config node_config;
  node_config.event_queue_max = s.event_queue_max;
  node_config.outbox_high_water = s.outbox_high_water;
  node_config.hold_retention_ms = std::int64_t{s.hold_retention_s} * 1000;
  cluster::kafka_settings kafka;
  kafka.brokers = s.kafka_brokers;
  kafka.topic = s.kafka_topic;
  kafka.properties = s.kafka_properties;
  // Declared before the node, destroyed after it: the node's stop still uses them.
  cluster::opened_log opened;
  std::unique_ptr<cluster::kafka_emitter> emitter;
  std::unique_ptr<cluster::raft_loop> raft;
  std::unique_ptr<cluster::peer_transport> peers;
  std::unique_ptr<api::forwarder> forwarding;  // set before the peers start
  cluster::node node(node_config, actors_system, metrics, {wall_clock_ms, random_secret});
  api::router_config router_config;
  router_config.auth = {s.tokens, s.insecure_no_auth};
  router_config.node_id = s.node_id;
  router_config.require_customer_id = s.require_customer_id;
  api::router router(router_config, node, metrics);

  common::http_limits limits;
  limits.body_bytes_max = s.body_bytes_max;
  limits.connections_max = s.connections_max;
  limits.request_timeout = std::chrono::milliseconds(s.request_timeout_ms);
  limits.idle_timeout = std::chrono::milliseconds(s.idle_timeout_ms);
  common::http_server server(
      io, host, port, limits,
      [&router](common::http_request request, common::responder respond) {
        router.handle(std::move(request), std::move(respond));
      },
      metrics);
  const auto admin_server = open_admin_listener(s, io, limits, router, metrics);
  // Serve /healthz and /readyz (503) while recovering; /v1 answers 503 until ready.
  server.start();
  if (admin_server) admin_server->start();
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < std::max(1u, s.http_threads); ++i)
    threads.emplace_back([&io] {
      pthread_setname_np(pthread_self(), "seatd-http");
      io.run();
    });

  // Recovery, then the log, the emitter and the node, in the order they depend on each
  // other; node.stop() stops them in the reverse order.
  try {
    if (!members.empty()) {
      open_replication(
          s, members, *store, metrics, raft, peers,
          [&forwarding, &router](cluster::raft::node_id from, cluster::peer::frame f) {
            if (!forwarding) return;
            if (f.kind == cluster::peer::frame_kind::forward_request)
              forwarding->on_request(
                  from, f.body, [&router](common::http_request request, common::responder respond) {
                    router.handle(std::move(request), std::move(respond));
                  });
            else if (f.kind == cluster::peer::frame_kind::forward_response)
              forwarding->on_response(from, f.body);
          },
          [&forwarding](cluster::raft::node_id member) {
            if (forwarding) forwarding->peer_lost(member);
          });
      forwarding = std::make_unique<api::forwarder>(
          io,
          [&peers](cluster::raft::node_id to, cluster::peer::frame_kind kind,
                   std::span<const std::uint8_t> body) { return peers->send(to, kind, body); },
          std::chrono::seconds(2), metrics);
      router.set_cluster_view([&raft, &peers, &members, &s] {
        return replicated_view(*raft, *peers, members, s.node_id);
      });
      // A setting librdkafka refuses stops the start here. Delivered records become stream
      // acks of their events' owners (the node), logged for every replica.
      emitter = std::make_unique<cluster::kafka_emitter>(
          kafka, [&node](std::vector<storage::outbox_key> keys) { node.stream_delivered(keys); },
          metrics, emitter_log);
      router.set_forwarding(
          [&forwarding](cluster::raft::node_id leader, const common::http_request& request,
                        common::responder respond,
                        std::function<void(const std::string&, bool)> failed) {
            forwarding->forward(leader, request, std::move(respond), std::move(failed));
          },
          [&forwarding](std::chrono::milliseconds delay, std::function<void()> run) {
            forwarding->after(delay, std::move(run));
          });
    } else {
      opened = cluster::open_shard_log(*store, {}, {s.checkpoint_entries}, render_stream_record,
                                       metrics, [](const std::string& why) {
                                         spdlog::critical("msg=\"stopping: {}\"", why);
                                         std::abort();
                                       });
      // A setting librdkafka refuses stops the start here.
      emitter = std::make_unique<cluster::kafka_emitter>(
          kafka,
          [log = opened.log.get()](std::vector<storage::outbox_key> keys) {
            log->forget_outbox(std::move(keys));
          },
          metrics, emitter_log);
    }
  } catch (...) {
    // Stop serving before the error leaves: joinable threads must not be destroyed.
    io.stop();
    for (auto& t : threads)
      t.join();
    throw;
  }
  if (raft) {
    emitter->start({});
    node.start_replicated(
        *raft,
        [&peers](cluster::raft::node_id to, cluster::peer::frame_kind kind,
                 std::span<const std::uint8_t> body) { return peers->send(to, kind, body); },
        [&peers](cluster::raft::node_id member) { return peers->sending_to(member); },
        emitter.get(), render_stream_record);
    peers->start();
    spdlog::info("msg=\"replicating\" node_id={} members={} peer_listen={} peer_port={} shards={}",
                 s.node_id, members.size(), s.peer_listen, peers->port(), node.shard_count());
  } else {
    const cluster::recovery_report report = opened.report;
    emitter->start(std::move(opened.outbox));
    node.start(*opened.log, emitter.get());
    spdlog::info(
        "msg=\"recovered\" events={} snapshots={} entries_replayed={} outbox_records={} "
        "seconds={:.3f} shards={}",
        report.events, report.snapshots, report.entries_replayed, report.outbox_records,
        report.seconds, node.shard_count());
  }
  spdlog::info("msg=\"serving\" listen={}:{} admin_listen={} node_id={} data_dir={}", host,
               server.port(), admin_server ? s.admin_listen : "off", s.node_id, s.data_dir);
  if (!s.kafka_brokers.empty())
    spdlog::info("msg=\"publishing the reservation stream\" brokers=\"{}\" topic={}",
                 s.kafka_brokers, s.kafka_topic);

  // SIGTERM: stop accepting, let started requests finish, write everything, exit 0.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer drain(io);
  std::function<void(int)> wait_for_drain = [&](int rounds_left) {
    if (server.requests_in_flight() == 0 || rounds_left == 0) {
      node.stop();
      if (peers) peers->stop();
      spdlog::info("msg=\"stopped\"");
      io.stop();
      return;
    }
    drain.expires_after(std::chrono::milliseconds(10));
    drain.async_wait(
        [&, rounds_left](const boost::system::error_code&) { wait_for_drain(rounds_left - 1); });
  };
  // Replicated: first the leadership of this node's shards goes to other replicas (at most
  // 3 s), so that requests move on without waiting for an election.
  std::function<void(int)> wait_for_hand_off = [&](int rounds_left) {
    if (node.handed_off()) {
      if (peers) spdlog::info("msg=\"leadership handed off\"");
      return wait_for_drain(1000);
    }
    // With no peer connected (the others stopped first) there is nobody to hand over to.
    const auto links = peers ? peers->status() : std::vector<cluster::peer_status>{};
    if (std::none_of(links.begin(), links.end(), [](const auto& l) { return l.sending; })) {
      spdlog::info("msg=\"no peer to hand leadership to\" shards_led={}", node.shards_led());
      return wait_for_drain(1000);
    }
    if (rounds_left == 0) {
      spdlog::warn("msg=\"leadership not handed off: the others elect a leader\" shards_led={}",
                   node.shards_led());
      return wait_for_drain(1000);
    }
    drain.expires_after(std::chrono::milliseconds(10));
    drain.async_wait(
        [&, rounds_left](const boost::system::error_code&) { wait_for_hand_off(rounds_left - 1); });
  };
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("msg=\"shutting down\" signal={}", signal);
    server.stop_accepting();
    node.hand_off_leadership();
    // The admin listener stays open: /readyz answers 503 in the drain's last step.
    wait_for_hand_off(300);
  });

  work.reset();
  for (auto& t : threads)
    t.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"seatd: one node of the seat inventory cluster (gateway API over HTTP/JSON)"};
  app.add_option("--config", s.config_file, "TOML config file; flags override it");
  app.add_option("--listen", s.listen, "gateway API address HOST:PORT")->capture_default_str();
  app.add_option("--data-dir", s.data_dir, "RocksDB directory (log, snapshots, outbox)")
      ->capture_default_str();
  app.add_option("--node-id", s.node_id, "this node's id")->capture_default_str();
  app.add_option("--peers", s.peers,
                 "replication: NAME=HOST:PORT,... every member's peer address, this node's "
                 "included (the secret: SEATD_CLUSTER_SECRET)");
  app.add_option("--peer-listen", s.peer_listen,
                 "HOST:PORT accepting peers (default: this node's entry in --peers)");
  app.add_option("--replication-factor", s.replication_factor,
                 "replicas per shard (default: 3, or the member count when smaller)")
      ->check(CLI::Range(1, 64));
  app.add_option("--raft-snapshot-entries", s.raft_snapshot_entries,
                 "a replicated shard's log is compacted each time it grew by this many entries")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}))
      ->capture_default_str();
  app.add_option("--leader-balance-s", s.leader_balance_s,
                 "every this many seconds a node that leads two or more shards more than "
                 "another hands one over (0: never)")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  app.add_flag("--rejoin", s.rejoin,
               "this node lost its data dir and starts empty: its replicas vote only once they "
               "have caught up with a leader (never for a new cluster's first start)");
  app.add_option("--kafka-brokers", s.kafka_brokers, "reservation stream brokers (off when empty)");
  app.add_option("--kafka-topic", s.kafka_topic, "reservation stream topic")->capture_default_str();
  app.add_option("--outbox-high-water", s.outbox_high_water,
                 "confirms answer 503 while this many records wait for Kafka (0: never)")
      ->capture_default_str();
  app.add_flag("--insecure-no-auth", s.insecure_no_auth, "serve without tokens (development only)");
  app.add_option("--shards", s.shards, "shards of a new data dir (fixed once created)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--http-threads", s.http_threads, "threads serving HTTP")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--actor-threads", s.actor_threads, "CAF scheduler threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--log-level", s.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--body-bytes-max", s.body_bytes_max, "largest request body (413 above)")
      ->capture_default_str();
  app.add_option("--connections-max", s.connections_max, "open HTTP connections (503 above)")
      ->capture_default_str();
  app.add_option("--request-timeout-ms", s.request_timeout_ms,
                 "time to send a whole request, from its first byte (and to read one answer)")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}));
  app.add_option("--idle-timeout-ms", s.idle_timeout_ms,
                 "time a connection may wait for the first byte of its next request")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}));
  app.add_option("--admin-listen", s.admin_listen,
                 "HOST:PORT serving /healthz, /readyz and /metrics apart from the gateway's "
                 "connections (off when empty)");
  app.add_flag("--require-customer-id", s.require_customer_id,
               "every hold and reservation request must name its customer (X-Customer-Id or "
               "customer_id); another customer's hold or reservation is never found");
  app.add_option("--hold-retention-s", s.hold_retention_s,
                 "how long a released or expired hold stays readable before it is forgotten "
                 "(fixed per event when it is created)")
      ->capture_default_str()
      ->check(CLI::Range(1, 30 * 24 * 3600));
  app.add_option("--event-queue-max", s.event_queue_max, "requests queued per event (429 above)")
      ->capture_default_str();
  app.add_option("--checkpoint-entries", s.checkpoint_entries,
                 "log entries per shard between checkpoints")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (!s.config_file.empty()) apply_config_file(s, app);
    if (const char* admin = std::getenv("SEATD_ADMIN_TOKEN"); admin && *admin)
      s.tokens[admin] = api::role::admin;
    if (const char* gateway = std::getenv("SEATD_GATEWAY_TOKEN"); gateway && *gateway)
      s.tokens[gateway] = api::role::gateway;
    if (const char* secret = std::getenv("SEATD_CLUSTER_SECRET"); secret && *secret)
      s.cluster_secret = secret;
    return run(std::move(s));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seatd: %s\n", e.what());
    return 1;
  }
}

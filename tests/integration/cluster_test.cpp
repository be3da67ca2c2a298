// Process tests of replication: three seatd nodes on loopback (--peers), each with its own
// RocksDB data dir. Any node serves any event (a node that does not lead the event's shard
// forwards the request to the leader); a node killed with -9, leader or not, loses nothing
// acknowledged, the others keep serving within seconds, and it catches up after a restart;
// wrong setups are refused at start. Every wait is bounded.

#include <algorithm>
#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cluster_fixture.hpp"
#include "harness.hpp"

using namespace seatd::test;
using json = nlohmann::json;

namespace {

const std::string admin = admin_token;
const std::string gateway = gateway_token;

// One writer thread holding one general-admission place of ev1 per customer (at most 4,000
// of the area's 5,000: no answer may be a 409), through the nodes in turn. As a load balancer
// does (readiness, and a pre-stop pause), it sends only to the nodes in service.
struct hold_writer {
  explicit hold_writer(three_node_cluster& cluster) {
    for (auto& node : cluster.nodes)
      ports.push_back(node->port());
    thread = std::thread([this] { run(); });
  }
  ~hold_writer() { stop(); }
  hold_writer(const hold_writer&) = delete;
  hold_writer& operator=(const hold_writer&) = delete;

  void stop() {
    stopping = true;
    if (thread.joinable()) thread.join();
  }
  std::size_t held_count() {
    std::lock_guard lock(mutex);
    return held.size();
  }
  // Every request answered 201, and every connection taken.
  void check_none_failed() {
    WARN(held.size() << " holds answered 201, " << connection_errors << " connection errors, "
                     << refusals.size() << " other answers");
    CHECK(held.size() > 50);
    for (const auto& refusal : refusals)
      UNSCOPED_INFO(refusal);
    CHECK(refusals.empty());
    CHECK(connection_errors == 0);
  }

  std::array<std::atomic<bool>, 3> in_service{true, true, true};
  std::vector<std::string> held;                               // the hold ids answered 201
  std::vector<std::chrono::steady_clock::time_point> held_at;  // when each was answered
  std::vector<std::string> refusals;                           // node, status and body
  std::map<unsigned, int> other_statuses;                      // any answer but a 201
  int connection_errors = 0;

 private:
  void run() {
    std::size_t next = 0;
    for (int k = 0; !stopping && k < 4000; ++k) {
      while (!in_service[next % 3])
        ++next;
      const std::size_t node = next++ % 3;
      try {
        http_client c("127.0.0.1", ports[node]);
        const auto got = c.request(
            "POST", "/v1/events/ev1/holds",
            R"({"customer_id":"c)" + std::to_string(k) + R"(","ga":{"area":"FLOOR","count":1}})",
            gateway);
        std::lock_guard lock(mutex);
        if (got.status == 201) {
          held.push_back(json::parse(got.body)["hold_id"]);
          held_at.push_back(std::chrono::steady_clock::now());
        } else {
          ++other_statuses[got.status];
          refusals.push_back("n" + std::to_string(node + 1) + " " + std::to_string(got.status) +
                             ": " + got.body);
        }
      } catch (const std::exception&) {
        {
          std::lock_guard lock(mutex);
          ++connection_errors;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }
  std::vector<std::uint16_t> ports;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::thread thread;
};

}  // namespace

TEST_CASE("cluster: every node serves every event, and a kill -9 of any node loses nothing",
          "[integration][cluster]") {
  three_node_cluster cluster;
  http_reply r;
  cluster.create_event();
  // Whichever node is asked, the answer is the leader's (forwarded over the peer link).
  std::string first_answer;
  for (auto& node : cluster.nodes) {
    auto c = node->client();
    const auto got = c.request("GET", "/v1/events/ev1", "", gateway);
    REQUIRE(got.status == 200);
    if (first_answer.empty()) first_answer = got.body;
    CHECK(got.body == first_answer);
  }

  // /v1/cluster: every node names the same leader for every shard, sees the others up, and
  // says where the event lives.
  auto views_agree = [&] {
    std::vector<json> views;
    for (auto& node : cluster.nodes) {
      auto c = node->client();
      const auto got = c.request("GET", "/v1/cluster?event=ev1", "", admin);
      if (got.status != 200) return false;
      views.push_back(json::parse(got.body));
    }
    for (const auto& v : views) {
      for (const auto& n : v["nodes"])
        if (n["state"] != "up") return false;
      for (std::size_t i = 0; i < v["shards"].size(); ++i) {
        const auto& shard = v["shards"][i];
        if (shard["leader"].is_null() || shard["term"].get<int>() < 1) return false;
        if (shard["replicas"].size() != 3) return false;
        if (shard["leader"] != views[0]["shards"][i]["leader"]) return false;
        // The leader's own view shows how far each other replica has the log.
        if (shard["leader"] == v["node_id"] && shard["match_index"].size() != 2) return false;
      }
      if (v["event"]["leader"] != v["shards"][v["event"]["shard"].get<std::size_t>()]["leader"])
        return false;
    }
    return true;
  };
  bool agreed = false;
  for (int attempt = 0; attempt < 100 && !agreed; ++attempt) {
    agreed = views_agree();
    if (!agreed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(agreed);

  // Each node in turn is killed with -9 right after a confirm made through the others; the
  // survivors keep serving, and every reservation confirmed so far is there.
  std::vector<std::string> reservations;
  std::vector<std::string> sold;
  for (std::size_t round = 0; round < 3; ++round) {
    INFO("round " << round);
    const std::string seat = "A-1-" + std::to_string(round + 1);
    auto holder = cluster.nodes[(round + 1) % 3]->client();
    const auto held = holder.request(
        "POST", "/v1/events/ev1/holds",
        R"({"customer_id":"c)" + std::to_string(round) + R"(","seats":[")" + seat + R"("]})",
        gateway);
    REQUIRE(held.status == 201);
    const std::string hold_id = json::parse(held.body)["hold_id"];
    // Keyed by the Idempotency-Key header, which travels with a forwarded request.
    const std::map<std::string, std::string> key{{"Idempotency-Key", "k" + std::to_string(round)}};
    auto confirmer = cluster.nodes[(round + 2) % 3]->client();
    const auto confirmed = confirmer.request("POST", "/v1/events/ev1/holds/" + hold_id + "/confirm",
                                             R"({"payment_ref":"pay"})", gateway, key);
    REQUIRE(confirmed.status == 201);
    reservations.push_back(json::parse(confirmed.body)["reservation_id"]);
    sold.push_back(seat);

    cluster.nodes[round]->kill_hard();
    const auto killed_at = std::chrono::steady_clock::now();
    REQUIRE(cluster.serving("POST", "/v1/events/ev1/holds",
                            R"({"customer_id":"probe","seats":["A-2-1"],"ttl_s":60})", gateway,
                            r) >= 0);
    const double gap =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
    WARN("a write answered " << gap << " s after node " << round + 1 << "'s kill -9 (status "
                             << r.status << ")");
    CHECK((r.status == 201 || r.status == 409));  // 409: an earlier round's probe holds it
    // The confirm retried with its key through whichever node answers, after the kill: the
    // same reservation, not a second one or a 409.
    REQUIRE(cluster.serving("POST", "/v1/events/ev1/holds/" + hold_id + "/confirm",
                            R"({"payment_ref":"pay"})", gateway, r, std::chrono::seconds(15),
                            key) >= 0);
    CHECK(r.status == 201);
    CHECK(r.body == confirmed.body);
    for (const auto& id : reservations) {
      REQUIRE(cluster.serving("GET", "/v1/events/ev1/reservations/" + id, "", gateway, r) >= 0);
      CHECK(r.status == 200);
    }
    cluster.nodes[round]->start();
    REQUIRE(cluster.nodes[round]->wait_ready());
  }
  // SIGTERM of the shard's leader hands its leadership over before it exits: it stops only
  // once another node leads every shard (its log says so; an election after it vanished
  // would not need it), and the survivors name that node.
  const std::string leader_name = cluster.leader_of("ev1");
  REQUIRE(!leader_name.empty());
  const std::size_t leaving = static_cast<std::size_t>(leader_name.back() - '1');
  CHECK(cluster.nodes[leaving]->terminate() == 0);
  CHECK_THAT(cluster.nodes[leaving]->log(), Catch::Contains("leadership handed off"));
  {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    json view;
    auto c = cluster.nodes[(leaving + 1) % 3]->client();
    do {
      view = json::parse(c.request("GET", "/v1/cluster?event=ev1", "", admin).body);
      if (!view["event"]["leader"].is_null() && view["event"]["leader"] != leader_name) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < until);
    INFO("the leaving node's log:\n" << cluster.nodes[leaving]->log());
    CHECK_FALSE(view["event"]["leader"].is_null());
    CHECK(view["event"]["leader"] != leader_name);
  }
  cluster.nodes[leaving]->start();
  REQUIRE(cluster.nodes[leaving]->wait_ready());

  REQUIRE(cluster.serving("GET", "/v1/events/ev1/seats?section=A", "", gateway, r) >= 0);
  REQUIRE(r.status == 200);
  const auto seats = json::parse(r.body)["seats"];
  for (std::size_t i = 0; i < sold.size(); ++i)
    CHECK(seats[i]["state"] == "sold");
  CHECK(seats[3]["state"] == "available");
}

TEST_CASE(
    "cluster: a node whose data dir was lost rejoins by the leader's snapshot, and then leads "
    "with everything confirmed before",
    "[integration][cluster]") {
  // Logs compacted every 4 entries: the leader no longer has what the empty node lacks.
  three_node_cluster cluster({"--raft-snapshot-entries", "4"});
  http_reply r;
  cluster.create_event();
  const std::string leader_name = cluster.leader_of("ev1");
  REQUIRE(!leader_name.empty());
  const std::size_t leader = static_cast<std::size_t>(leader_name.back() - '1');
  const std::size_t lost = (leader + 1) % 3;
  std::vector<std::string> reservations;
  // Through any node that answers (a 503 while a leadership settles is retried; the confirm
  // carries an idempotency key, so a retry is safe).
  auto confirm_seat = [&](int seat) {
    http_reply held;
    REQUIRE(cluster.serving("POST", "/v1/events/ev1/holds",
                            R"({"customer_id":"c)" + std::to_string(seat) +
                                R"(","idempotency_key":"h)" + std::to_string(seat) +
                                R"(","seats":["A-1-)" + std::to_string(seat) + R"("]})",
                            gateway, held) >= 0);
    INFO(held.body);
    REQUIRE(held.status == 201);
    http_reply confirmed;
    REQUIRE(cluster.serving(
                "POST",
                "/v1/events/ev1/holds/" + json::parse(held.body)["hold_id"].get<std::string>() +
                    "/confirm",
                R"({"payment_ref":"p","idempotency_key":"k)" + std::to_string(seat) + R"("})",
                gateway, confirmed) >= 0);
    REQUIRE(confirmed.status == 201);
    reservations.push_back(json::parse(confirmed.body)["reservation_id"]);
  };
  for (int seat = 1; seat <= 4; ++seat)
    confirm_seat(seat);

  cluster.nodes[lost]->kill_hard();
  std::filesystem::remove_all(cluster.nodes[lost]->data_dir());
  for (int seat = 5; seat <= 6; ++seat)
    confirm_seat(seat);
  // As docs/OPERATIONS.md says: a node whose data dir was lost starts with --rejoin, and
  // votes only once caught up (here it must, to be made leader below).
  cluster.nodes[lost]->add_args({"--rejoin"});
  cluster.nodes[lost]->start();
  REQUIRE(cluster.nodes[lost]->wait_ready());
  bool installed = false;
  for (int attempt = 0; attempt < 100 && !installed; ++attempt) {
    const auto metrics = cluster.nodes[lost]->client().request("GET", "/metrics").body;
    installed = metrics.find("seatd_raft_snapshots_installed_total 0") == std::string::npos &&
                metrics.find("seatd_raft_snapshots_installed_total") != std::string::npos;
    if (!installed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO("the rejoined node's log:\n" << cluster.nodes[lost]->log());
  REQUIRE(installed);
  CHECK_THAT(cluster.nodes[lost]->log(), Catch::Contains("snapshot installed"));
  CHECK_THAT(cluster.nodes[lost]->log(), Catch::Contains("rejoining after a lost data dir"));
  CHECK_THAT(cluster.nodes[leader]->log(), Catch::Contains("snapshot sent"));

  // The rejoined node takes over, and its answers then come from the state the snapshot
  // gave it. The third node is paused and one more confirm commits on the leader and the
  // rejoined node alone: the rejoined node is then the most caught-up follower, the one the
  // leader hands the shard to on SIGTERM.
  const std::string lost_name = "n" + std::to_string(lost + 1);
  const std::string now = cluster.leader_of("ev1");
  REQUIRE(!now.empty());
  if (now != lost_name) {
    const std::size_t leading = static_cast<std::size_t>(now.back() - '1');
    const std::size_t third = 3 - leading - lost;
    cluster.nodes[third]->send_signal(SIGSTOP);
    auto c = cluster.nodes[leading]->client();
    const auto held = c.request("POST", "/v1/events/ev1/holds",
                                R"({"customer_id":"c7","seats":["A-1-7"]})", gateway);
    REQUIRE(held.status == 201);
    const auto confirmed = c.request(
        "POST",
        "/v1/events/ev1/holds/" + json::parse(held.body)["hold_id"].get<std::string>() + "/confirm",
        R"({"payment_ref":"p","idempotency_key":"k7"})", gateway);
    REQUIRE(confirmed.status == 201);
    reservations.push_back(json::parse(confirmed.body)["reservation_id"]);
    CHECK(cluster.nodes[leading]->terminate() == 0);
    cluster.nodes[third]->send_signal(SIGCONT);
  } else {
    confirm_seat(7);
  }
  // The node just woken may name the old leader until the new one's first heartbeat.
  bool lost_leads = false;
  for (int attempt = 0; attempt < 50 && !lost_leads; ++attempt) {
    lost_leads = cluster.leader_of("ev1") == lost_name;
    if (!lost_leads) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(lost_leads);
  for (const auto& id : reservations) {
    REQUIRE(cluster.serving("GET", "/v1/events/ev1/reservations/" + id, "", gateway, r) >= 0);
    CHECK(r.status == 200);
  }
  REQUIRE(cluster.serving("GET", "/v1/events/ev1/seats?section=A", "", gateway, r) >= 0);
  REQUIRE(r.status == 200);
  const auto seats = json::parse(r.body)["seats"];
  for (std::size_t i = 0; i < 7; ++i)
    CHECK(seats[i]["state"] == "sold");
  CHECK(seats[7]["state"] == "available");
}

TEST_CASE("cluster: a leader paused past an election confirms nothing when it wakes",
          "[integration][cluster]") {
  three_node_cluster cluster;
  http_reply r;
  REQUIRE(cluster.serving("PUT", "/v1/events/ev1", concert_json(), admin, r) >= 0);
  const std::string leader_name = cluster.leader_of("ev1");
  REQUIRE(!leader_name.empty());
  const std::size_t paused = static_cast<std::size_t>(leader_name.back() - '1');
  seatd_process& old_leader = *cluster.nodes[paused];

  // A client's connection to the leader, opened before the pause; its hold waits in the
  // socket while the process is stopped.
  auto stale = std::make_unique<http_client>("127.0.0.1", old_leader.port());
  old_leader.send_signal(SIGSTOP);
  auto stale_answer = std::async(std::launch::async, [&] {
    return stale->request("POST", "/v1/events/ev1/holds",
                          R"({"customer_id":"stale","seats":["A-1-1"]})", gateway);
  });
  // Meanwhile the others elect a leader and sell the seat.
  const std::size_t other = (paused + 1) % 3;
  std::string reservation;
  std::vector<std::string> refused;  // what the others answered meanwhile, for a failure
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (reservation.empty() && std::chrono::steady_clock::now() < until) {
    auto c = cluster.nodes[other]->client();
    const auto held = c.request("POST", "/v1/events/ev1/holds",
                                R"({"customer_id":"fresh","seats":["A-1-1"]})", gateway);
    if (held.status != 201) {
      refused.push_back(std::to_string(held.status) + " " + held.body);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    const std::string hold_id = json::parse(held.body)["hold_id"];
    const auto confirmed = c.request("POST", "/v1/events/ev1/holds/" + hold_id + "/confirm",
                                     R"({"payment_ref":"pay-fresh"})", gateway);
    REQUIRE(confirmed.status == 201);
    reservation = json::parse(confirmed.body)["reservation_id"];
  }
  for (const auto& answer : refused)
    UNSCOPED_INFO(answer);
  REQUIRE(!reservation.empty());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  old_leader.send_signal(SIGCONT);

  // The woken leader's hold is never granted: it was deposed (503, outcome unknown, and it
  // did not commit) or, once it knows, the new leader answers that the seat is sold.
  REQUIRE(stale_answer.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  const auto woke = stale_answer.get();
  INFO("the woken leader answered " << woke.status << " " << woke.body);
  CHECK((woke.status == 503 || woke.status == 409));
  // Everyone agrees the seat was sold once, to the customer the new leader served.
  for (auto& node : cluster.nodes) {
    REQUIRE(cluster.serving("GET", "/v1/events/ev1/reservations/" + reservation, "", gateway, r) >=
            0);
    CHECK(r.status == 200);
    auto c = node->client();
    const auto seats = c.request("GET", "/v1/events/ev1/seats?section=A&limit=1", "", gateway);
    if (seats.status == 200) CHECK(json::parse(seats.body)["seats"][0]["state"] == "sold");
  }
}

TEST_CASE("cluster: setups that cannot work are refused at start, saying why",
          "[integration][cluster]") {
  const std::string peers = "n1=127.0.0.1:" + std::to_string(free_port()) +
                            ",n2=127.0.0.1:" + std::to_string(free_port());
  auto refused = [&](std::vector<std::string> extra,
                     const std::map<std::string, std::string>& environment) {
    std::vector<std::string> args{seatd_binary(), "--listen", "127.0.0.1:0", "--data-dir",
                                  "/tmp/seatd-cluster-refused-never-created"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::map<std::string, std::string> env{{"SEATD_ADMIN_TOKEN", admin}};
    env.insert(environment.begin(), environment.end());
    return run_command(args, env);
  };
  SECTION("no cluster secret") {
    const auto r = refused({"--node-id", "n1", "--peers", peers}, {});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.out + r.err, Catch::Contains("SEATD_CLUSTER_SECRET"));
  }
  SECTION("--peers without this node") {
    const auto r = refused({"--node-id", "n3", "--peers", peers}, secret);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.out + r.err, Catch::Contains("does not list this node"));
  }
  SECTION("a malformed --peers") {
    const auto r = refused({"--node-id", "n1", "--peers", "n1=127.0.0.1"}, secret);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.out + r.err, Catch::Contains("--peers: n1"));
  }
  SECTION("compaction and balancing settings out of range") {
    for (const auto& bad :
         std::vector<std::vector<std::string>>{{"--raft-snapshot-entries", "0"},
                                               {"--raft-snapshot-entries", "many"},
                                               {"--leader-balance-s", "-1"},
                                               {"--leader-balance-s", "3601"}}) {
      INFO(bad[0] << " " << bad[1]);
      auto args = bad;
      args.insert(args.end(), {"--node-id", "n1", "--peers", peers});
      const auto r = refused(args, secret);
      CHECK(r.exit_code == 105);  // CLI11's code for a value out of range (OPERATIONS.md)
      CHECK_THAT(r.out + r.err, Catch::Contains(bad[0]));
    }
  }
  SECTION("a config file's raft_snapshot_entries of 0, which skips the flag's check") {
    const std::string config =
        "/tmp/seatd-cluster-refused-" + std::to_string(free_port()) + ".toml";
    std::ofstream(config) << "raft_snapshot_entries = 0\n";
    const auto r = refused({"--config", config, "--node-id", "n1", "--peers", peers}, secret);
    std::filesystem::remove(config);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.out + r.err, Catch::Contains("raft_snapshot_entries must be at least 1"));
  }
}

TEST_CASE("cluster: a data dir is never opened in the other mode", "[integration][cluster]") {
  // A one-member cluster needs no secret: it has no peer to prove itself to.
  const std::string alone = "n1=127.0.0.1:" + std::to_string(free_port());
  seatd_process replicated({"--node-id", "n1", "--peers", alone});
  REQUIRE(replicated.wait_ready());
  http_reply r;
  {
    auto c = replicated.client();
    REQUIRE(c.request("PUT", "/v1/events/ev1", concert_json(), admin).status == 201);
  }
  CHECK(replicated.terminate() == 0);
  auto single = run_command({seatd_binary(), "--listen", "127.0.0.1:0", "--data-dir",
                             replicated.data_dir(), "--insecure-no-auth"});
  CHECK(single.exit_code == 1);
  CHECK_THAT(single.out + single.err, Catch::Contains("written by a replicated node"));

  seatd_process plain;
  REQUIRE(plain.wait_ready());
  {
    auto c = plain.client();
    REQUIRE(c.request("PUT", "/v1/events/ev1", concert_json(), admin).status == 201);
  }
  CHECK(plain.terminate() == 0);
  auto joined =
      run_command({seatd_binary(), "--listen", "127.0.0.1:0", "--data-dir", plain.data_dir(),
                   "--insecure-no-auth", "--node-id", "n1", "--peers", alone});
  CHECK(joined.exit_code == 1);
  CHECK_THAT(joined.out + joined.err, Catch::Contains("written by a single node"));
}

TEST_CASE(
    "cluster: with two of three nodes down the survivor answers 503 with Retry-After, never "
    "hangs, and after a kill -9 of all three everything acknowledged is there",
    "[integration][cluster]") {
  three_node_cluster cluster;
  http_reply r;
  cluster.create_event();
  REQUIRE(cluster.serving("POST", "/v1/events/ev1/holds",
                          R"({"customer_id":"c1","idempotency_key":"h1","seats":["A-1-1"]})",
                          gateway, r) >= 0);
  REQUIRE(r.status == 201);
  const std::string hold_id = json::parse(r.body)["hold_id"];
  REQUIRE(cluster.serving("POST", "/v1/events/ev1/holds/" + hold_id + "/confirm",
                          R"({"payment_ref":"p","idempotency_key":"k1"})", gateway, r) >= 0);
  REQUIRE(r.status == 201);
  const std::string reservation = json::parse(r.body)["reservation_id"];

  // Two nodes down: no shard has a majority. Every request to the survivor ends 503 with
  // Retry-After within the forwarding deadline (2 s) plus slack, reads and writes alike.
  cluster.nodes[1]->kill_hard();
  cluster.nodes[2]->kill_hard();
  auto survivor = cluster.nodes[0]->client();
  for (int i = 0; i < 3; ++i) {
    for (const auto& [method, target, body] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"POST", "/v1/events/ev1/holds", R"({"customer_id":"c2","seats":["A-1-2"]})"},
             {"GET", "/v1/events/ev1/reservations/" + reservation, ""},
             {"GET", "/v1/events/ev1", ""}}) {
      INFO(method << " " << target);
      const auto started = std::chrono::steady_clock::now();
      const auto got = survivor.request(method, target, body, gateway);
      const double took =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      CHECK(got.status == 503);
      CHECK(got.headers.count("retry-after") == 1);
      CHECK(json::parse(got.body)["error"] == "unavailable");
      CHECK(took < 10.0);  // bounded; the deadline is 2 s
    }
  }
  CHECK(survivor.request("GET", "/readyz").status == 503);

  // kill -9 of the last one too, then all three start from their data dirs.
  cluster.nodes[0]->kill_hard();
  for (auto& node : cluster.nodes)
    node->start();
  for (auto& node : cluster.nodes)
    REQUIRE(node->wait_ready());
  REQUIRE(cluster.serving("GET", "/v1/events/ev1/reservations/" + reservation, "", gateway, r) >=
          0);
  CHECK(r.status == 200);
  REQUIRE(cluster.serving("GET", "/v1/events/ev1/seats?section=A", "", gateway, r) >= 0);
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["seats"][0]["state"] == "sold");
  // A change answered 503 has an unknown outcome: the hold may have reached the survivor's
  // log and committed after the restart.
  const std::string second = json::parse(r.body)["seats"][1]["state"];
  CHECK((second == "available" || second == "held"));
}

TEST_CASE("cluster: after a restart, leadership spreads over the nodes again, failing no request",
          "[integration][cluster]") {
  three_node_cluster cluster({"--leader-balance-s", "1"});
  // The leaders each node sees, by node name.
  auto leaders = [&](std::size_t asked) {
    std::map<std::string, int> led;
    auto c = cluster.nodes[asked]->client();
    const auto got = c.request("GET", "/v1/cluster", "", admin);
    if (got.status != 200) return led;
    const json view = json::parse(got.body);
    for (const auto& shard : view["shards"])
      if (!shard["leader"].is_null()) ++led[shard["leader"].get<std::string>()];
    return led;
  };
  auto spread = [&](std::size_t asked) {
    const auto led = leaders(asked);
    int total = 0, low = 4, high = 0;
    for (const char* name : {"n1", "n2", "n3"}) {
      const auto found = led.find(name);
      const int n = found == led.end() ? 0 : found->second;
      total += n;
      low = std::min(low, n);
      high = std::max(high, n);
    }
    return total == 4 && high - low <= 1;  // 4 shards: 2, 1, 1
  };
  // n1 stops (SIGTERM hands its shards to the others) and comes back leading nothing.
  cluster.create_event();
  CHECK(cluster.nodes[0]->terminate() == 0);
  cluster.nodes[0]->start();
  REQUIRE(cluster.nodes[0]->wait_ready());
  // Requests keep coming through every node while leaderships move: those a leader refuses
  // as it hands a shard over go on to the new leader, and none fails.
  hold_writer writer(cluster);
  bool spread_out = false;
  for (int attempt = 0; attempt < 200 && !spread_out; ++attempt) {
    spread_out = spread(0) && spread(1) && spread(2);
    if (!spread_out) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Enough requests to mean something, however fast the moves were.
  CHECK(eventually([&] { return writer.held_count() >= 100; }, std::chrono::seconds(20)));
  writer.stop();
  writer.check_none_failed();
  INFO("n1 sees " << json(leaders(0)).dump());
  CHECK(spread_out);
  CHECK(leaders(0)["n1"] >= 1);
  // It settles: no node moves leadership again once no two differ by two.
  const auto settled = leaders(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(leaders(0) == settled);
}

TEST_CASE(
    "cluster: a rolling SIGTERM restart of every node under load fails no request and loses no "
    "acknowledged hold",
    "[integration][cluster]") {
  three_node_cluster cluster;
  http_reply r;
  cluster.create_event();
  hold_writer writer(cluster);
  bool restarted = true;
  for (std::size_t i = 0; i < cluster.nodes.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    writer.in_service[i] = false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    restarted = restarted && cluster.nodes[i]->terminate() == 0;
    cluster.nodes[i]->start();
    restarted = restarted && cluster.nodes[i]->wait_ready();
    writer.in_service[i] = true;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  writer.stop();
  REQUIRE(restarted);
  // Requests sent while a shard's leadership moved went on to the new leader, and those in
  // flight learned their outcome: none failed.
  writer.check_none_failed();
  const auto& held = writer.held;
  // Every acknowledged hold is there, on whichever node answers.
  for (std::size_t i = 0; i < held.size(); i += 7) {
    REQUIRE(cluster.serving("GET", "/v1/events/ev1/holds/" + held[i], "", gateway, r) >= 0);
    CHECK(r.status == 200);
  }
  REQUIRE(cluster.serving("GET", "/v1/events/ev1", "", gateway, r) >= 0);
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["ga"]["FLOOR"]["held"].get<std::size_t>() == held.size());
}

TEST_CASE("cluster: each node's Raft metrics follow its replicas of the shards",
          "[integration][cluster]") {
  three_node_cluster cluster;
  cluster.create_event();
  http_reply r;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(cluster.serving("POST", "/v1/events/ev1/holds",
                            R"({"customer_id":"m)" + std::to_string(i) +
                                R"(","ga":{"area":"FLOOR","count":1}})",
                            gateway, r) >= 0);
    REQUIRE(r.status == 201);
  }
  REQUIRE(cluster.serving("GET", "/v1/cluster?event=ev1", "", admin, r) >= 0);
  const std::string shard = std::to_string(json::parse(r.body)["event"]["shard"].get<int>());
  const std::string leader = cluster.leader_of("ev1");
  REQUIRE(!leader.empty());
  const std::string label = "{shard=\"" + shard + "\"}";
  double elections = 0;
  for (std::size_t i = 0; i < cluster.nodes.size(); ++i) {
    const std::string name = "n" + std::to_string(i + 1);
    INFO("node " << name);
    auto metrics = [&] { return cluster.nodes[i]->client().request("GET", "/metrics").body; };
    // The creation, the leader's no-op and five holds at least; every replica applies what
    // it knows committed.
    REQUIRE(eventually([&] {
      const std::string body = metrics();
      const auto commit = metric_in(body, "seatd_raft_commit_index" + label);
      return commit && *commit >= 7 &&
             metric_in(body, "seatd_raft_applied_index" + label) == commit;
    }));
    const std::string body = metrics();
    CHECK(metric_in(body, "seatd_raft_term" + label).value_or(0) >= 1);
    elections += metric_in(body, "seatd_raft_elections_total").value_or(0);
    for (const char* peer : {"n1", "n2", "n3"}) {
      const auto lag =
          metric_in(body, std::string("seatd_raft_follower_lag_entries{peer=\"") + peer + "\"}");
      CHECK(lag.has_value() == (name != peer));  // one per other member
    }
    if (name == leader) {
      CHECK(metric_in(body, "seatd_raft_commit_seconds_count").value_or(0) >= 5);
      CHECK(metric_in(body, "seatd_raft_entries_per_write_count").value_or(0) >= 1);
    }
  }
  CHECK(elections >= 1);  // someone was elected for every shard
}

TEST_CASE(
    "cluster: a kill -9 of the event's leader under load loses no acknowledged hold and sells "
    "nothing twice, and the write gap is printed",
    "[integration][cluster]") {
  three_node_cluster cluster;
  http_reply r;
  cluster.create_event();
  const std::string leader = cluster.leader_of("ev1");
  REQUIRE(!leader.empty());
  const std::size_t victim = static_cast<std::size_t>(leader[1] - '1');
  hold_writer writer(cluster);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  // The writer stops sending to the victim just before the kill (a request of its own there
  // would just be a refused connection); requests other nodes forwarded to it are in flight.
  writer.in_service[victim] = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto killed_at = std::chrono::steady_clock::now();
  cluster.nodes[victim]->kill_hard();
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  cluster.nodes[victim]->start();
  REQUIRE(cluster.nodes[victim]->wait_ready());
  writer.in_service[victim] = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  writer.stop();

  // The write gap: the longest time between two holds answered 201, which the kill makes (a
  // request forwarded to the dead leader fails at once, 503 with its outcome unknown, since
  // its connection ended; the next waits for the election).
  double gap = 0;
  for (std::size_t i = 1; i < writer.held_at.size(); ++i)
    gap = std::max(
        gap, std::chrono::duration<double>(writer.held_at[i] - writer.held_at[i - 1]).count());
  REQUIRE(!writer.held_at.empty());
  CHECK(writer.held_at.back() > killed_at);  // writes went on after the kill
  WARN("write gap around the leader's kill -9: " << gap << " s; " << writer.held.size()
                                                 << " holds answered 201, "
                                                 << writer.refusals.size() << " other answers");
  // Only 503s: requests in flight on the dead leader (outcome unknown) or waiting past 2 s.
  for (const auto& [status, count] : writer.other_statuses) {
    INFO(count << " answers of " << status);
    CHECK(status == 503);
  }
  CHECK(writer.connection_errors == 0);
  // Every acknowledged hold is there; the area holds at least those (a 503's outcome may be
  // either) and never more than its capacity.
  for (std::size_t i = 0; i < writer.held.size(); i += 5) {
    REQUIRE(cluster.serving("GET", "/v1/events/ev1/holds/" + writer.held[i], "", gateway, r) >= 0);
    CHECK(r.status == 200);
  }
  REQUIRE(cluster.serving("GET", "/v1/events/ev1", "", gateway, r) >= 0);
  const auto floor = json::parse(r.body)["ga"]["FLOOR"];
  CHECK(floor["held"].get<std::size_t>() >= writer.held.size());
  CHECK(floor["held"].get<std::size_t>() <=
        writer.held.size() + static_cast<std::size_t>(writer.other_statuses[503]));
  CHECK(floor["held"].get<std::size_t>() + floor["sold"].get<std::size_t>() <=
        floor["capacity"].get<std::size_t>());
}

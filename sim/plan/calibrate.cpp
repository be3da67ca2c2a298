#include "sim/plan/calibrate.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

namespace seatd::plan {

namespace {

using json = nlohmann::json;

// Reads fields of one JSON object, remembering the first error as "FILE: FIELD: what".
class reader {
 public:
  reader(std::string_view file, std::string* error) : file_(file), error_(error) {}

  bool failed() const { return !error_->empty(); }
  void fail(const std::string& where, const std::string& what) {
    if (error_->empty()) *error_ = std::string(file_) + ": " + where + ": " + what;
  }
  const json* field(const json& o, const std::string& where, const std::string& key) {
    if (failed()) return nullptr;
    const auto it = o.find(key);
    if (it == o.end()) {
      fail(where + key, "missing");
      return nullptr;
    }
    return &*it;
  }
  double number(const json& o, const std::string& where, const std::string& key) {
    const auto* v = field(o, where, key);
    if (v == nullptr) return 0;
    if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() < 0) {
      fail(where + key, "a number of at least 0, not " + v->dump());
      return 0;
    }
    return v->get<double>();
  }
  std::uint64_t count(const json& o, const std::string& where, const std::string& key) {
    const auto* v = field(o, where, key);
    if (v == nullptr) return 0;
    if (!v->is_number_unsigned()) {
      fail(where + key, "a whole number of at least 0, not " + v->dump());
      return 0;
    }
    return v->get<std::uint64_t>();
  }
  std::string text(const json& o, const std::string& where, const std::string& key) {
    const auto* v = field(o, where, key);
    if (v == nullptr) return {};
    if (!v->is_string()) {
      fail(where + key, "a string, not " + v->dump());
      return {};
    }
    return v->get<std::string>();
  }
  std::vector<double> numbers(const json& o, const std::string& where, const std::string& key,
                              std::size_t size) {
    const auto* v = field(o, where, key);
    if (v == nullptr) return {};
    if (!v->is_array() || v->size() != size) {
      fail(where + key, "a list of " + std::to_string(size) + " numbers, not " + v->dump());
      return {};
    }
    std::vector<double> out;
    for (std::size_t i = 0; i < size; ++i) {
      const auto& e = (*v)[i];
      if (!e.is_number() || !std::isfinite(e.get<double>()) || e.get<double>() < 0) {
        fail(where + key + "[" + std::to_string(i) + "]",
             "a number of at least 0, not " + e.dump());
        return {};
      }
      out.push_back(e.get<double>());
    }
    return out;
  }

 private:
  std::string_view file_;
  std::string* error_;
};

measured_run read_run(reader& r, const json& runs, const std::string& name, std::size_t nodes) {
  measured_run run;
  const auto* o = r.field(runs, "runs.", name);
  if (o == nullptr) return run;
  const std::string where = "runs." + name + ".";
  if (!o->is_object()) {
    r.fail("runs." + name, "an object");
    return run;
  }
  run.attempts = r.count(*o, where, "attempts");
  run.holds = r.count(*o, where, "holds");
  run.confirms = r.count(*o, where, "confirms");
  run.releases = r.count(*o, where, "releases");
  run.wall_s = r.number(*o, where, "wall_s");
  run.tool_cpu_s = r.number(*o, where, "tool_cpu_s");
  run.node_cpu_s = r.numbers(*o, where, "node_cpu_s", nodes);
  run.entries = r.numbers(*o, where, "entries", nodes);
  run.write_ms = r.numbers(*o, where, "write_ms", nodes);
  run.rounds = r.numbers(*o, where, "rounds", nodes);
  run.leader = static_cast<std::uint32_t>(r.count(*o, where, "leader"));
  if (!r.failed() && run.leader >= nodes)
    r.fail(where + "leader", "a node index below " + std::to_string(nodes));
  if (nodes > 1) run.commit_ms = r.number(*o, where, "commit_ms");
  run.hold_p50_ms = r.number(*o, where, "hold_p50_ms");
  run.hold_p99_ms = r.number(*o, where, "hold_p99_ms");
  if (!r.failed() && run.requests() == 0) r.fail(where + "attempts", "no requests in the run");
  return run;
}

double mean_of_followers(const measured_run& run, const std::vector<double>& per_node) {
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < per_node.size(); ++i)
    if (i != run.leader) {
      sum += per_node[i];
      ++n;
    }
  return n == 0 ? 0 : sum / static_cast<double>(n);
}

// A node's CPU as a part per request and a part per synced write, from two runs whose
// requests per write differ (a few clients: a few requests a write; many: many):
// cpu = request x requests + round x rounds, solved for the two. Should the runs not tell
// them apart (or give a negative part), all of it per request, as the busier run has it.
struct cpu_split {
  double request_us = 0;
  double round_us = 0;
};

template <class Of>
cpu_split split_cpu(const measured_run& light, const measured_run& heavy, Of of) {
  const auto [cpu_l, rounds_l] = of(light);
  const auto [cpu_h, rounds_h] = of(heavy);
  const auto req_l = static_cast<double>(light.requests());
  const auto req_h = static_cast<double>(heavy.requests());
  const double det = req_l * rounds_h - req_h * rounds_l;
  if (std::abs(det) > 1e-9 * req_l * req_h) {
    const double request_s = (cpu_l * rounds_h - cpu_h * rounds_l) / det;
    const double round_s = (req_l * cpu_h - req_h * cpu_l) / det;
    if (request_s >= 0 && round_s >= 0) return {request_s * 1e6, round_s * 1e6};
  }
  return {cpu_h * 1e6 / req_h, 0};
}

}  // namespace

common::result<calibration_measurements, std::string> parse_measurements(std::string_view text,
                                                                         std::string_view file) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return common::fail(std::string(file) + ": not a JSON object");
  std::string error;
  reader r(file, &error);
  calibration_measurements m;
  m.machine = r.text(doc, "", "machine");
  m.measured_at = r.text(doc, "", "measured_at");
  m.cores = static_cast<std::uint32_t>(r.count(doc, "", "cores"));
  if (!r.failed() && (m.cores == 0 || m.cores > 1'024)) r.fail("cores", "from 1 to 1024");
  m.venue_seats = r.number(doc, "", "venue_seats");
  m.rss_empty = r.number(doc, "", "rss_empty");
  m.rss_venue = r.number(doc, "", "rss_venue");
  m.rss_end = r.number(doc, "", "rss_end");
  m.disk_bytes = r.number(doc, "", "disk_bytes");
  const auto* runs = r.field(doc, "", "runs");
  if (runs != nullptr && !runs->is_object()) r.fail("runs", "an object");
  if (!r.failed()) {
    m.single_light = read_run(r, *runs, "single_light", 1);
    m.single_mid = read_run(r, *runs, "single_mid", 1);
    m.single = read_run(r, *runs, "single", 1);
    m.leader_light = read_run(r, *runs, "leader_light", 3);
    m.leader_mid = read_run(r, *runs, "leader_mid", 3);
    m.leader = read_run(r, *runs, "leader", 3);
    m.forwarded = read_run(r, *runs, "forwarded", 3);
  }
  if (!r.failed() && !(m.venue_seats > 0)) r.fail("venue_seats", "above 0");
  if (r.failed()) return common::fail(error);
  return m;
}

common::result<node_profile, std::string> derive_profile(const calibration_measurements& m,
                                                         const node_profile& base) {
  // What parse_measurements checks, for measurements built another way.
  const std::pair<const measured_run*, std::size_t> shapes[] = {
      {&m.single_light, 1}, {&m.single_mid, 1}, {&m.single, 1},   {&m.leader_light, 3},
      {&m.leader_mid, 3},   {&m.leader, 3},     {&m.forwarded, 3}};
  for (const auto& [run, nodes] : shapes)
    if (run->requests() == 0 || run->node_cpu_s.size() != nodes || run->entries.size() != nodes ||
        run->write_ms.size() != nodes || run->rounds.size() != nodes || run->leader >= nodes ||
        !(m.venue_seats > 0))
      return common::fail(
          std::string("measurements: a run without requests or with figures "
                      "for the wrong number of nodes"));
  node_profile p = base;
  p.machine = m.machine;
  p.measured_at = m.measured_at;
  p.cores = m.cores;
  // One node: every kind of request costs the same here (W1's mix gives one equation).
  const auto& one = m.single_light;
  const auto alone = split_cpu(m.single_mid, m.single, [](const measured_run& r) {
    return std::pair{r.node_cpu_s[0], r.rounds[0]};
  });
  if (!(alone.request_us >= 0.01))
    return common::fail(std::string("runs.single: no server CPU used"));
  p.hold_cpu_us = p.confirm_cpu_us = p.release_cpu_us = p.failed_cpu_us = alone.request_us;
  p.round_cpu_us = alone.round_us;
  p.load_tool_cpu_us = m.single.tool_cpu_s * 1e6 / static_cast<double>(m.single.requests());
  p.fsync_ms = one.write_ms[0];
  if (!(p.fsync_ms >= 0.001)) return common::fail(std::string("runs.single_light: no log writes"));
  // One client: each request's time (the run's wall time over its requests) beyond what
  // the model puts on its path (the load tool's CPU, the request's, the sync; one node's
  // write round's CPU is on other threads) is the threads' hand-offs.
  p.handoff_ms = std::max(0.0, one.wall_s * 1e3 / static_cast<double>(one.requests()) - p.fsync_ms -
                                   (alone.request_us + p.load_tool_cpu_us) / 1e3);
  // With one client nothing queues: what spreads its holds' times is the sync's (and the
  // scheduler's) variation. Taken as an exponential part, p99 - p50 = (ln 100 - ln 2) x its
  // mean.
  p.fsync_spread_ms =
      std::clamp((one.hold_p99_ms - one.hold_p50_ms) / std::log(50.0), 0.0, p.fsync_ms);

  // Three nodes through the leader: what the leader spends per request beyond one node's,
  // each follower's per request it replicates, and a Raft loop's turn on either.
  const auto leading = split_cpu(m.leader_mid, m.leader, [](const measured_run& r) {
    return std::pair{r.node_cpu_s[r.leader], r.rounds[r.leader]};
  });
  const auto following = split_cpu(m.leader_mid, m.leader, [](const measured_run& r) {
    return std::pair{mean_of_followers(r, r.node_cpu_s), mean_of_followers(r, r.rounds)};
  });
  p.leader_entry_cpu_us = std::max(0.0, leading.request_us - alone.request_us);
  p.follower_cpu_us = following.request_us;
  p.raft_round_cpu_us = (leading.round_us + following.round_us) / 2;
  // Through a follower: the cluster's CPU per request beyond the run through the leader
  // (both with many clients).
  auto all_nodes_us = [](const measured_run& r) {
    double sum = 0;
    for (const double s : r.node_cpu_s)
      sum += s;
    return sum * 1e6 / static_cast<double>(r.requests());
  };
  p.forward_cpu_us = std::max(0.01, all_nodes_us(m.forwarded) - all_nodes_us(m.leader));
  // One client: from proposal to commit is the leader's send, the trip out and back, the
  // follower's CPU and its synced write; what is left of it (the loops' turns included) is
  // the round trip.
  p.rtt_ms = std::max(0.01, m.leader_light.commit_ms - p.fsync_ms -
                                (p.follower_cpu_us + p.leader_entry_cpu_us) / 1e3);

  p.bytes_per_seat = std::max(0.0, m.rss_venue - m.rss_empty) / m.venue_seats;
  if (m.single.confirms > 0)
    p.bytes_per_reservation =
        std::max(0.0, m.rss_end - m.rss_venue) / static_cast<double>(m.single.confirms);
  if (m.single.entries[0] > 0) p.bytes_per_log_entry = m.disk_bytes / m.single.entries[0];
  return p;
}

}  // namespace seatd::plan

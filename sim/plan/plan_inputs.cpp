#include "sim/plan/plan_inputs.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace seatd::plan {

double rate_curve::at(double t_s) const {
  if (points.empty() || t_s < 0 || t_s > points.back().first) return 0;
  for (std::size_t i = 1; i < points.size(); ++i) {
    const auto& [t0, r0] = points[i - 1];
    const auto& [t1, r1] = points[i];
    if (t_s <= t1) return t1 > t0 ? r0 + (r1 - r0) * (t_s - t0) / (t1 - t0) : r1;
  }
  return points.back().second;
}

double rate_curve::total() const {
  double sum = 0;
  for (std::size_t i = 1; i < points.size(); ++i)
    sum += (points[i].first - points[i - 1].first) * (points[i].second + points[i - 1].second) / 2;
  return sum;
}

double traffic_profile::duration_s() const {
  // The last fans to arrive may wait in the waiting room, then pay or let their hold expire.
  double admitted_by = arrival.end_s();
  if (admission_per_s > 0) admitted_by = std::max(admitted_by, arrival.total() / admission_per_s);
  const double retrying = behaviour.retries * behaviour.retry_wait_s;
  return admitted_by + retrying +
         std::max<double>(behaviour.hold_ttl_s, behaviour.payment_mean_s * 10);
}

const price_entry* price_table::find(std::string_view name, std::string_view kind) const {
  for (const auto& e : entries)
    if (e.name == name && e.kind == kind) return &e;
  return nullptr;
}

namespace {

std::string shown(const toml::node& n) {
  std::ostringstream out;
  if (const auto* s = n.as_string())
    out << '"' << s->get() << '"';
  else if (n.is_table())
    out << "a table";
  else if (n.is_array())
    out << "an array";
  else
    n.visit([&](const auto& v) { out << v; });
  return out.str();
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The fields of one table: each getter marks its key known, checks the value and returns it
// (or the fallback, when absent). The first error is kept, naming the field by its path.
class fields {
 public:
  fields(const toml::table& table, std::string prefix, std::string& error)
      : table_(table), prefix_(std::move(prefix)), error_(error) {}

  std::string path(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }
  bool failed() const { return !error_.empty(); }
  std::string& error() { return error_; }
  void fail(const std::string& path, const std::string& what) {
    if (error_.empty()) error_ = path + ": " + what;
  }

  const toml::node* find(std::string_view key, bool required) {
    known_.insert(std::string(key));
    const toml::node* n = table_.get(key);
    if (n == nullptr && required) fail(path(key), "missing");
    return n;
  }

  double number(std::string_view key, double fallback, double min, double max,
                bool required = false) {
    const toml::node* n = find(key, required);
    if (n == nullptr) return fallback;
    return number_at(*n, path(key), min, max).value_or(fallback);
  }
  std::optional<double> number_at(const toml::node& n, const std::string& where, double min,
                                  double max) {
    const auto v = n.is_integer() || n.is_floating_point() ? n.value<double>() : std::nullopt;
    if (!v || !std::isfinite(*v) || *v < min || *v > max) {
      fail(where,
           "a number from " + number_text(min) + " to " + number_text(max) + ", not " + shown(n));
      return std::nullopt;
    }
    return *v;
  }
  std::uint32_t whole(std::string_view key, std::uint32_t fallback, std::uint32_t min,
                      std::uint32_t max, bool required = false) {
    const toml::node* n = find(key, required);
    if (n == nullptr) return fallback;
    const auto v = n->value_exact<std::int64_t>();
    if (!v || *v < min || *v > max) {
      fail(path(key), "a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                          ", not " + shown(*n));
      return fallback;
    }
    return static_cast<std::uint32_t>(*v);
  }
  std::string text(std::string_view key, std::string fallback, bool required = false) {
    const toml::node* n = find(key, required);
    if (n == nullptr) return fallback;
    const auto v = n->value_exact<std::string>();
    if (!v || v->empty()) {
      fail(path(key), "a non-empty string, not " + shown(*n));
      return fallback;
    }
    return *v;
  }
  const toml::table* table(std::string_view key, bool required = false) {
    const toml::node* n = find(key, required);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) fail(path(key), "a table, not " + shown(*n));
    return n->as_table();
  }
  const toml::array* array(std::string_view key, bool required = false) {
    const toml::node* n = find(key, required);
    if (n == nullptr) return nullptr;
    if (!n->is_array()) fail(path(key), "an array, not " + shown(*n));
    return n->as_array();
  }
  // Every key of the table must have been asked for.
  void no_others() {
    for (const auto& [key, value] : table_)
      if (!known_.contains(std::string(key.str()))) fail(path(key.str()), "unknown key");
  }

 private:
  const toml::table& table_;
  std::string prefix_;
  std::string& error_;
  std::set<std::string> known_;
};

// Parses the text, then reads it with `read`; errors as "file: field: what".
template <class T, class Read>
common::result<T, std::string> parse_with(std::string_view text, std::string_view file, Read read) {
  toml::table root;
  try {
    root = toml::parse(text, std::string(file));
  } catch (const toml::parse_error& e) {
    return common::fail(std::string(file) + ":" + std::to_string(e.source().begin.line) + ": " +
                        std::string(e.description()));
  }
  std::string error;
  fields top(root, "", error);
  T value = read(top);
  top.no_others();
  if (!error.empty()) return common::fail(std::string(file) + ": " + error);
  return value;
}

// Reads a sub-table's fields with `read`, when the table is there.
template <class Read>
void with_table(fields& parent, std::string_view key, Read read, bool required = false) {
  if (const auto* t = parent.table(key, required)) {
    fields f(*t, parent.path(key), parent.error());
    read(f);
    f.no_others();
  }
}

// [[t, rate], ...] with t from 0, increasing.
rate_curve read_curve(fields& f, std::string_view key) {
  rate_curve curve;
  const auto* a = f.array(key, true);
  if (a == nullptr) return curve;
  const std::string where = f.path(key);
  for (std::size_t i = 0; i < a->size() && !f.failed(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const auto* pair = a->get(i)->as_array();
    if (pair == nullptr || pair->size() != 2) {
      f.fail(at, "a pair [seconds, fans per second]");
      break;
    }
    const auto t = f.number_at(*pair->get(0), at + "[0]", 0, 1e7);
    const auto r = f.number_at(*pair->get(1), at + "[1]", 0, 1e8);
    if (!t || !r) break;
    if (curve.points.empty() ? *t != 0 : *t <= curve.points.back().first) {
      f.fail(at + "[0]",
             curve.points.empty() ? "the first point is at 0 seconds" : "times must increase");
      break;
    }
    curve.points.emplace_back(*t, *r);
  }
  if (!f.failed() && (curve.points.size() < 2 || curve.total() <= 0))
    f.fail(where, "at least two points, with some fans arriving");
  return curve;
}

event_profile read_event(fields& f) {
  event_profile e;
  e.name = f.text("name", "", true);
  e.count = f.whole("count", 1, 1, 10'000);
  e.sections = f.whole("sections", 0, 0, 1'000);
  e.rows_per_section = f.whole("rows_per_section", 0, 0, 1'000);
  e.seats_per_row = f.whole("seats_per_row", 0, 0, 1'000);
  e.ga_capacity = f.whole("ga_capacity", 0, 0, 1'000'000);
  e.max_seats_per_customer = f.whole("max_seats_per_customer", 0, 0, 10'000);
  e.demand_share = f.number("demand_share", 1, 0, 1e6);
  if (f.failed()) return e;
  const bool some_seats = e.sections > 0 || e.rows_per_section > 0 || e.seats_per_row > 0;
  if (some_seats && e.seats() == 0)
    f.fail(f.path("sections"), "sections, rows_per_section and seats_per_row all above 0");
  else if (e.seats() == 0 && e.ga_capacity == 0)
    f.fail(f.path("sections"),
           "an event needs seats (sections, rows_per_section, "
           "seats_per_row) or ga_capacity");
  else if (e.seats() > 1'000'000)
    f.fail(f.path("sections"),
           "at most 1,000,000 seats per event, not " + std::to_string(e.seats()));
  return e;
}

}  // namespace

common::result<traffic_profile, std::string> parse_traffic(std::string_view text,
                                                           std::string_view file) {
  return parse_with<traffic_profile>(text, file, [](fields& top) {
    traffic_profile t;
    t.name = top.text("name", "on-sale");
    if (const auto* events = top.array("events", true)) {
      for (std::size_t i = 0; i < events->size() && !top.failed(); ++i) {
        const std::string where = "events[" + std::to_string(i) + "]";
        const auto* table = events->get(i)->as_table();
        if (table == nullptr) {
          top.fail(where, "a table ([[events]])");
          break;
        }
        fields f(*table, where, top.error());
        t.events.push_back(read_event(f));
        f.no_others();
      }
      if (!top.failed() && t.events.empty()) top.fail("events", "at least one event");
    }
    with_table(
        top, "arrival",
        [&](fields& f) {
          t.arrival = read_curve(f, "fans_per_s");
          t.admission_per_s = f.number("admission_per_s", 0, 0, 1e8);
        },
        true);
    with_table(top, "behaviour", [&](fields& f) {
      auto& b = t.behaviour;
      if (const auto* orders = f.array("seats_per_order")) {
        b.seats_per_order.clear();
        const std::string where = f.path("seats_per_order");
        for (std::size_t i = 0; i < orders->size() && !f.failed(); ++i) {
          const std::string at = where + "[" + std::to_string(i) + "]";
          const auto* pair = orders->get(i)->as_array();
          const auto seats =
              pair && pair->size() == 2 ? pair->get(0)->value_exact<std::int64_t>() : std::nullopt;
          if (!seats || *seats < 1 || *seats > 50) {
            f.fail(at, "a pair [seats from 1 to 50, weight]");
            break;
          }
          const auto weight = f.number_at(*pair->get(1), at + "[1]", 0, 1e9);
          if (weight) b.seats_per_order.emplace_back(static_cast<std::uint32_t>(*seats), *weight);
        }
        double sum = 0;
        for (const auto& [seats, weight] : b.seats_per_order)
          sum += weight;
        if (!f.failed() && sum <= 0) f.fail(where, "at least one pair with a weight above 0");
      }
      b.best_available_share = f.number("best_available_share", b.best_available_share, 0, 1);
      b.pick_mean_s = f.number("pick_mean_s", b.pick_mean_s, 0, 3'600);
      b.confirm_share = f.number("confirm_share", b.confirm_share, 0, 1);
      b.release_share = f.number("release_share", b.release_share, 0, 1);
      b.payment_mean_s = f.number("payment_mean_s", b.payment_mean_s, 0.001, 86'400);
      b.hold_ttl_s = f.whole("hold_ttl_s", b.hold_ttl_s, 1, 86'400);
      b.retries = f.whole("retries", b.retries, 0, 100);
      b.retry_wait_s = f.number("retry_wait_s", b.retry_wait_s, 0, 3'600);
    });
    with_table(top, "targets", [&](fields& f) {
      auto& g = t.targets;
      g.hold_percentile = f.number("hold_percentile", g.hold_percentile, 1, 99.99);
      g.hold_latency_ms = f.number("hold_latency_ms", g.hold_latency_ms, 0.001, 1e6);
      g.availability = f.number("availability", g.availability, 0, 1);
      g.rpo_s = f.number("rpo_s", g.rpo_s, 0, 1e6);
      g.rto_s = f.number("rto_s", g.rto_s, 0, 1e6);
    });
    return t;
  });
}

common::result<deployment, std::string> parse_deployment(std::string_view text,
                                                         std::string_view file) {
  return parse_with<deployment>(text, file, [](fields& f) {
    deployment d;
    d.instance = f.text("instance", d.instance);
    d.nodes = f.whole("nodes", d.nodes, 1, 64);
    d.shards = f.whole("shards", d.shards, 1, 1'024);
    d.replication_factor = f.whole("replication_factor", d.replication_factor, 1, 7);
    d.kafka = f.text("kafka", d.kafka);
    d.kafka_brokers = f.whole("kafka_brokers", d.kafka_brokers, 1, 64);
    d.postgres = f.text("postgres", d.postgres);
    d.region = f.text("region", d.region);
    d.disk_gb = f.whole("disk_gb", d.disk_gb, 1, 65'536);
    d.event_queue_max = f.whole("event_queue_max", d.event_queue_max, 1, 1'000'000);
    if (f.find("fail_node_at_s", false) != nullptr)
      d.fail_node_at_s = f.number("fail_node_at_s", 0, 0, 1e7);
    if (!f.failed() && d.replication_factor > d.nodes)
      f.fail("replication_factor", "at most nodes (" + std::to_string(d.nodes) + "), not " +
                                       std::to_string(d.replication_factor));
    if (!f.failed() && d.fail_node_at_s && d.nodes < 2)
      f.fail("fail_node_at_s", "losing a node needs at least 2 nodes");
    return d;
  });
}

common::result<node_profile, std::string> parse_node_profile(std::string_view text,
                                                             std::string_view file) {
  return parse_with<node_profile>(text, file, [](fields& top) {
    node_profile p;
    p.machine = top.text("machine", "", true);
    p.measured_at = top.text("measured_at", "", true);
    p.cores = top.whole("cores", p.cores, 1, 1'024, true);
    p.event_actor_share = top.number("event_actor_share", p.event_actor_share, 0, 1, true);
    with_table(
        top, "cpu_us",
        [&](fields& f) {
          p.hold_cpu_us = f.number("hold", 0, 0.01, 1e6, true);
          p.confirm_cpu_us = f.number("confirm", 0, 0.01, 1e6, true);
          p.release_cpu_us = f.number("release", 0, 0.01, 1e6, true);
          p.failed_cpu_us = f.number("failed", 0, 0.01, 1e6, true);
          p.forward_cpu_us = f.number("forward", 0, 0.01, 1e6, true);
          p.follower_cpu_us = f.number("follower_entry", 0, 0, 1e6, true);
          p.leader_entry_cpu_us = f.number("leader_entry", 0, 0, 1e6);
          p.round_cpu_us = f.number("round", 0, 0, 1e6);
          p.raft_round_cpu_us = f.number("raft_round", 0, 0, 1e6);
          p.load_tool_cpu_us = f.number("load_tool", 0, 0, 1e6);
        },
        true);
    with_table(
        top, "latency_ms",
        [&](fields& f) {
          p.fsync_ms = f.number("fsync", 0, 0.001, 1e4, true);
          p.rtt_ms = f.number("peer_round_trip", 0, 0, 1e4, true);
          p.election_ms = f.number("failover", 0, 1, 1e6, true);
          p.handoff_ms = f.number("handoff", 0, 0, 1e4);
          p.fsync_spread_ms = f.number("fsync_spread", 0, 0, 1e4);
        },
        true);
    with_table(
        top, "bytes",
        [&](fields& f) {
          p.bytes_per_seat = f.number("per_seat", 0, 0, 1e6, true);
          p.bytes_per_hold = f.number("per_hold", 0, 0, 1e6, true);
          p.bytes_per_reservation = f.number("per_reservation", 0, 0, 1e6, true);
          p.bytes_per_log_entry = f.number("per_log_entry", 0, 0, 1e6, true);
          p.bytes_per_kafka_record = f.number("per_kafka_record", 0, 0, 1e6, true);
        },
        true);
    return p;
  });
}

common::result<price_table, std::string> parse_prices(std::string_view text,
                                                      std::string_view file) {
  return parse_with<price_table>(text, file, [](fields& top) {
    price_table t;
    t.region = top.text("region", "", true);
    t.as_of = top.text("as_of", "", true);
    with_table(
        top, "disk",
        [&](fields& f) {
          t.disk_usd_per_gb_month = f.number("usd_per_gb_month", 0, 0, 1e4, true);
          t.disk_source = f.text("source", "", true);
        },
        true);
    const auto* entries = top.array("prices", true);
    for (std::size_t i = 0; entries != nullptr && i < entries->size() && !top.failed(); ++i) {
      const std::string where = "prices[" + std::to_string(i) + "]";
      const auto* table = entries->get(i)->as_table();
      if (table == nullptr) {
        top.fail(where, "a table ([[prices]])");
        break;
      }
      fields f(*table, where, top.error());
      price_entry e;
      e.name = f.text("name", "", true);
      e.kind = f.text("kind", "", true);
      if (!f.failed() && e.kind != "compute" && e.kind != "kafka" && e.kind != "postgres")
        f.fail(f.path("kind"), "compute, kafka or postgres, not \"" + e.kind + "\"");
      e.usd_per_hour = f.number("usd_per_hour", 0, 0, 1e5, true);
      e.vcpus = f.whole("vcpus", 0, e.kind == "compute" ? 1 : 0, 1'024, e.kind == "compute");
      e.memory_gib = f.number("memory_gib", 0, 0, 1e5, e.kind == "compute");
      e.speed = f.number("speed", 1, 0.01, 100);
      e.source = f.text("source", "", true);
      f.no_others();
      if (!top.failed() && t.find(e.name, e.kind) != nullptr)
        top.fail(where + ".name", "\"" + e.name + "\" is listed twice");
      t.entries.push_back(std::move(e));
    }
    return t;
  });
}

std::string node_profile_toml(const node_profile& p) {
  auto n = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    std::string s = buf;
    // TOML floats need a dot or exponent; integers would read back the same anyway.
    if (s.find_first_of(".en") == std::string::npos) s += ".0";
    return s;
  };
  auto q = [](const std::string& s) {
    std::string out = "\"";
    for (const char c : s)
      out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
    return out + "\"";
  };
  std::ostringstream o;
  o << "# A seatd node profile: what one request costs on the machine below (seatsim\n"
       "# calibrate writes it; docs/PLANNING.md says how each figure is measured).\n"
    << "machine = " << q(p.machine) << "\nmeasured_at = " << q(p.measured_at)
    << "\ncores = " << p.cores << "\n# the share of a request's CPU in its event's actor (serial)\n"
    << "event_actor_share = " << n(p.event_actor_share)
    << "\n\n[cpu_us]  # server CPU per request\n"
    << "hold = " << n(p.hold_cpu_us) << "\nconfirm = " << n(p.confirm_cpu_us)
    << "\nrelease = " << n(p.release_cpu_us) << "\nfailed = " << n(p.failed_cpu_us)
    << "\nforward = " << n(p.forward_cpu_us) << "\nfollower_entry = " << n(p.follower_cpu_us)
    << "\nleader_entry = " << n(p.leader_entry_cpu_us) << "\nround = " << n(p.round_cpu_us)
    << "\nraft_round = " << n(p.raft_round_cpu_us) << "\nload_tool = " << n(p.load_tool_cpu_us)
    << "\n\n[latency_ms]\nfsync = " << n(p.fsync_ms) << "\npeer_round_trip = " << n(p.rtt_ms)
    << "\nfailover = " << n(p.election_ms) << "\nhandoff = " << n(p.handoff_ms)
    << "\nfsync_spread = " << n(p.fsync_spread_ms)
    << "\n\n[bytes]\nper_seat = " << n(p.bytes_per_seat) << "\nper_hold = " << n(p.bytes_per_hold)
    << "\nper_reservation = " << n(p.bytes_per_reservation)
    << "\nper_log_entry = " << n(p.bytes_per_log_entry)
    << "\nper_kafka_record = " << n(p.bytes_per_kafka_record) << "\n";
  return o.str();
}

}  // namespace seatd::plan

#include "sim/plan/plan_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace seatd::plan {

namespace {

constexpr double hours_per_month = 730;

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// 1234567 -> "1,234,567"
std::string grouped(double v) {
  const auto whole = static_cast<long long>(std::llround(v));
  std::string digits = std::to_string(whole < 0 ? -whole : whole);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3)
    digits.insert(static_cast<std::size_t>(at), ",");
  return (whole < 0 ? "-" : "") + digits;
}

std::string usd(double v) {
  return "$" + grouped(v);
}

std::string percent(double share) {
  return fixed(share * 100, 1) + "%";
}

std::string escape_xml(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The report as a document, rendered twice.
struct block {
  enum class kind : std::uint8_t { heading, paragraph, bullets, table, figure };
  kind what = kind::paragraph;
  std::string text;                            // heading, paragraph, figure's file
  std::vector<std::string> items;              // bullets; a table's header
  std::vector<std::vector<std::string>> rows;  // a table's rows
};

class document {
 public:
  void heading(std::string t) { blocks_.push_back({block::kind::heading, std::move(t), {}, {}}); }
  void paragraph(std::string t) {
    blocks_.push_back({block::kind::paragraph, std::move(t), {}, {}});
  }
  void bullets(std::vector<std::string> items) {
    blocks_.push_back({block::kind::bullets, {}, std::move(items), {}});
  }
  void table(std::vector<std::string> header, std::vector<std::vector<std::string>> rows) {
    blocks_.push_back({block::kind::table, {}, std::move(header), std::move(rows)});
  }
  void figure(std::string file) {
    blocks_.push_back({block::kind::figure, std::move(file), {}, {}});
  }

  std::string markdown(const std::string& title) const {
    std::ostringstream o;
    o << "# " << title << "\n";
    for (const auto& b : blocks_) {
      o << "\n";
      switch (b.what) {
        case block::kind::heading:
          o << "## " << b.text << "\n";
          break;
        case block::kind::paragraph:
          o << b.text << "\n";
          break;
        case block::kind::bullets:
          for (const auto& i : b.items)
            o << "- " << i << "\n";
          break;
        case block::kind::table: {
          auto row = [&](const std::vector<std::string>& cells) {
            o << "|";
            for (const auto& c : cells)
              o << " " << c << " |";
            o << "\n";
          };
          row(b.items);
          o << "|";
          for (std::size_t i = 0; i < b.items.size(); ++i)
            o << (i == 0 ? " --- |" : " ---: |");
          o << "\n";
          for (const auto& r : b.rows)
            row(r);
          break;
        }
        case block::kind::figure:
          o << "![" << b.text << "](" << b.text << ")\n";
          break;
      }
    }
    return o.str();
  }

  std::string html(const std::string& title,
                   const std::vector<std::pair<std::string, std::string>>& svgs) const {
    std::ostringstream o;
    o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
      << escape_xml(title)
      << "</title>\n<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;"
         "padding:0 1rem;color:#222}table{border-collapse:collapse;margin:1rem 0}"
         "td,th{border:1px solid #bbb;padding:.25rem .6rem;text-align:right}"
         "td:first-child,th:first-child{text-align:left}th{background:#eee}"
         "svg{max-width:100%;height:auto;margin:1rem 0}</style></head><body>\n<h1>"
      << escape_xml(title) << "</h1>\n";
    for (const auto& b : blocks_) {
      switch (b.what) {
        case block::kind::heading:
          o << "<h2>" << escape_xml(b.text) << "</h2>\n";
          break;
        case block::kind::paragraph:
          o << "<p>" << escape_xml(b.text) << "</p>\n";
          break;
        case block::kind::bullets:
          o << "<ul>";
          for (const auto& i : b.items)
            o << "<li>" << escape_xml(i) << "</li>";
          o << "</ul>\n";
          break;
        case block::kind::table:
          o << "<table><tr>";
          for (const auto& h : b.items)
            o << "<th>" << escape_xml(h) << "</th>";
          o << "</tr>";
          for (const auto& r : b.rows) {
            o << "<tr>";
            for (const auto& c : r)
              o << "<td>" << escape_xml(c) << "</td>";
            o << "</tr>";
          }
          o << "</table>\n";
          break;
        case block::kind::figure: {
          // Inline, without the XML declaration: the page stands alone.
          const auto it = std::find_if(svgs.begin(), svgs.end(),
                                       [&](const auto& f) { return f.first == b.text; });
          if (it == svgs.end()) break;
          const auto at = it->second.find("<svg");
          o << it->second.substr(at == std::string::npos ? 0 : at) << "\n";
          break;
        }
      }
    }
    o << "</body></html>\n";
    return o.str();
  }

 private:
  std::vector<block> blocks_;
};

double refused_share(const plan_result& r) {
  return r.requests == 0 ? 0 : static_cast<double>(r.refused) / static_cast<double>(r.requests);
}

double busiest_cpu_peak(const plan_result& r) {
  double peak = 0;
  for (const auto& n : r.nodes)
    peak = std::max(peak, n.cpu_peak);
  return peak;
}

std::string sold_text(const plan_result& r) {
  const double total = static_cast<double>(r.seats_total + r.ga_total);
  const double sold = static_cast<double>(r.seats_sold + r.ga_sold);
  std::string s = grouped(sold) + " of " + grouped(total) + " sold (" +
                  percent(total > 0 ? sold / total : 0) + ")";
  if (r.sold_out_s >= 0) s += ", sold out at " + fixed(r.sold_out_s, 0) + " s";
  return s;
}

}  // namespace

double monthly_cost::total() const {
  double sum = 0;
  for (const auto& l : lines)
    sum += l.usd_per_month;
  return sum;
}

common::result<monthly_cost, std::string> price_deployment(const deployment& d,
                                                           const price_table& prices) {
  const auto* vm = prices.find(d.instance, "compute");
  if (vm == nullptr)
    return common::fail("instance \"" + d.instance + "\" is not in the price table");
  const auto* kafka = prices.find(d.kafka, "kafka");
  if (kafka == nullptr) return common::fail("kafka \"" + d.kafka + "\" is not in the price table");
  const auto* pg = prices.find(d.postgres, "postgres");
  if (pg == nullptr)
    return common::fail("postgres \"" + d.postgres + "\" is not in the price table");
  monthly_cost c;
  c.lines.push_back({"compute", std::to_string(d.nodes) + " x " + d.instance,
                     d.nodes * vm->usd_per_hour * hours_per_month, vm->source});
  c.lines.push_back({"disks", std::to_string(d.nodes) + " x " + std::to_string(d.disk_gb) + " GB",
                     d.nodes * d.disk_gb * prices.disk_usd_per_gb_month, prices.disk_source});
  c.lines.push_back({"Kafka", std::to_string(d.kafka_brokers) + " x " + d.kafka,
                     d.kafka_brokers * kafka->usd_per_hour * hours_per_month, kafka->source});
  c.lines.push_back(
      {"PostgreSQL", "1 x " + d.postgres, pg->usd_per_hour * hours_per_month, pg->source});
  return c;
}

common::result<model_options, std::string> options_for(const deployment& d,
                                                       const price_table& prices,
                                                       std::uint64_t seed) {
  const auto* vm = prices.find(d.instance, "compute");
  if (vm == nullptr)
    return common::fail("instance \"" + d.instance + "\" is not in the price table");
  model_options o;
  o.seed = seed;
  o.cores = vm->vcpus;
  o.cpu_speed = vm->speed;
  return o;
}

bool meets_targets(const plan_result& r, const plan_targets& t) {
  return r.hold_percentile_ms <= t.hold_latency_ms && refused_share(r) <= 1 - t.availability;
}

std::string line_chart_svg(const std::string& title, const std::string& x_label,
                           const std::string& y_label, const std::vector<chart_series>& series) {
  constexpr double width = 720, height = 300, left = 70, right = 150, top = 30, bottom = 45;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  double x_min = 0, x_max = 0, y_max = 0;
  bool first = true;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      x_min = first ? x : std::min(x_min, x);
      x_max = first ? x : std::max(x_max, x);
      y_max = std::max(y_max, y);
      first = false;
    }
  if (x_max <= x_min) x_max = x_min + 1;
  const double x_span = x_max - x_min;
  // A round top for the y axis: 1, 2 or 5 times a power of ten.
  double step = std::pow(10.0, std::floor(std::log10(y_max > 0 ? y_max : 1)));
  double y_top = step;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * step >= y_max) {
      y_top = m * step;
      break;
    }
  const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
       "width=\""
    << width << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << " " << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << left << "\" y=\"18\" font-size=\"13\" font-weight=\"bold\">"
    << escape_xml(title) << "</text>\n";
  // Axes, with five ticks on each.
  o << "<g stroke=\"#888\"><line x1=\"" << left << "\" y1=\"" << top + plot_h << "\" x2=\""
    << left + plot_w << "\" y2=\"" << top + plot_h << "\"/><line x1=\"" << left << "\" y1=\"" << top
    << "\" x2=\"" << left << "\" y2=\"" << top + plot_h << "\"/></g>\n";
  for (int i = 0; i <= 5; ++i) {
    const double fy = top + plot_h - plot_h * i / 5.0;
    const double fx = left + plot_w * i / 5.0;
    o << "<line x1=\"" << left << "\" y1=\"" << fy << "\" x2=\"" << left + plot_w << "\" y2=\""
      << fy << "\" stroke=\"#eee\"/>";
    o << "<text x=\"" << left - 6 << "\" y=\"" << fy + 4 << "\" text-anchor=\"end\">"
      << fixed(y_top * i / 5.0, y_top < 5 ? 2 : 0) << "</text>";
    o << "<text x=\"" << fx << "\" y=\"" << top + plot_h + 15 << "\" text-anchor=\"middle\">"
      << fixed(x_min + x_span * i / 5.0, 0) << "</text>\n";
  }
  o << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << height - 8 << "\" text-anchor=\"middle\">"
    << escape_xml(x_label) << "</text>\n"
    << "<text transform=\"translate(14," << top + plot_h / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << escape_xml(y_label) << "</text>\n";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const char* colour = colours[i % 6];
    o << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.5\" points=\"";
    for (const auto& [x, y] : series[i].points)
      o << fixed(left + plot_w * (x - x_min) / x_span, 1) << ","
        << fixed(top + plot_h - plot_h * std::min(y, y_top) / y_top, 1) << " ";
    o << "\"/>\n<text x=\"" << left + plot_w + 10 << "\" y=\"" << top + 12 + 16.0 * double(i)
      << "\" fill=\"" << colour << "\">" << escape_xml(series[i].name) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

std::string what_if_table(const std::vector<what_if>& rows, const plan_targets& targets) {
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line, "%6s %7s %4s %14s %10s %10s %9s %12s  %s\n", "nodes", "shards",
                "rf", "instance", "hold p", "refused", "cpu peak", "per month", "meets");
  o << line;
  for (const auto& w : rows) {
    std::snprintf(line, sizeof line, "%6u %7u %4u %14s %8.1fms %9.2f%% %8.0f%% %12s  %s\n",
                  w.deploy.nodes, w.deploy.shards, w.deploy.replication_factor,
                  w.deploy.instance.c_str(), w.result.hold_percentile_ms,
                  refused_share(w.result) * 100, busiest_cpu_peak(w.result) * 100,
                  usd(w.cost.total()).c_str(), meets_targets(w.result, targets) ? "yes" : "no");
    o << line;
  }
  return o.str();
}

report_files render_report(const report_inputs& in) {
  const auto& t = in.traffic;
  const auto& r = in.chosen.result;
  const auto& d = in.chosen.deploy;
  const std::string pct =
      "p" + fixed(t.targets.hold_percentile,
                  t.targets.hold_percentile == std::floor(t.targets.hold_percentile) ? 0 : 1);
  report_files out;
  document doc;

  doc.paragraph("Traffic " + in.traffic_file + " (" + grouped(t.arrival.total()) +
                " fans), deployment " + in.deployment_file + ", node profile " + in.profile_file +
                " (" + in.profile.machine + "; " + in.profile.measured_at + "), prices " +
                in.prices_file + " (" + in.prices.region + ", as of " + in.prices.as_of +
                "), seed " + std::to_string(in.seed) + ".");

  doc.heading("Verdict");
  const bool meets = meets_targets(r, t.targets);
  doc.paragraph(std::to_string(d.nodes) + " x " + d.instance + ", " + std::to_string(d.shards) +
                " shards, replication factor " + std::to_string(d.replication_factor) + ": " +
                (meets ? "meets the targets." : "does NOT meet the targets."));
  doc.bullets({
      "hold " + pct + ": " + fixed(r.hold_percentile_ms, 1) + " ms (target " +
          fixed(t.targets.hold_latency_ms, 1) + " ms); p50 " + fixed(r.hold_p50_ms, 1) +
          " ms, p99.9 " + fixed(r.hold_p999_ms, 1) + " ms, max " + fixed(r.hold_max_ms, 1) + " ms",
      "requests refused (429, 503, lost): " + grouped(static_cast<double>(r.refused)) + " of " +
          grouped(static_cast<double>(r.requests)) + " (" + percent(refused_share(r)) +
          "; the availability target allows " + percent(1 - t.targets.availability) + ")",
      "seats: " + sold_text(r),
      "fans: " + grouped(static_cast<double>(r.fans)) + " arrived, " +
          grouped(static_cast<double>(r.fans_with_seats)) + " bought, " +
          grouped(static_cast<double>(r.fans_sold_out)) + " found nothing left, " +
          grouped(static_cast<double>(r.fans_gave_up)) + " gave up after retries, " +
          grouped(static_cast<double>(r.expiries + r.releases + r.confirms_late)) +
          " held and did not buy",
      "peak load: " + grouped(r.peak_requests_per_s) + " requests/s; busiest node's CPU peak " +
          percent(busiest_cpu_peak(r)) + " (headroom " + percent(1 - busiest_cpu_peak(r)) + ")",
      "confirm p99: " + fixed(r.confirm_p99_ms, 1) + " ms",
  });

  if (!in.sweep.empty()) {
    doc.heading("The smallest deployment that meets the targets");
    const what_if* smallest = nullptr;
    std::vector<std::vector<std::string>> rows;
    for (const auto& w : in.sweep) {
      const bool ok = meets_targets(w.result, t.targets);
      if (ok && smallest == nullptr) smallest = &w;
      rows.push_back({std::to_string(w.deploy.nodes) + " x " + w.deploy.instance,
                      std::to_string(w.deploy.shards), fixed(w.result.hold_percentile_ms, 1),
                      percent(refused_share(w.result)), percent(busiest_cpu_peak(w.result)),
                      usd(w.cost.total()), ok ? "yes" : "no"});
    }
    doc.paragraph(smallest == nullptr
                      ? "None of the deployments tried meets the targets: try a larger instance "
                        "or more shards."
                      : "The smallest is " + std::to_string(smallest->deploy.nodes) + " x " +
                            smallest->deploy.instance + " at " + usd(smallest->cost.total()) +
                            " a month, its busiest node at " +
                            percent(busiest_cpu_peak(smallest->result)) + " CPU at the peak.");
    doc.table(
        {"nodes", "shards", "hold " + pct + " ms", "refused", "CPU peak", "per month", "meets"},
        rows);
  }

  if (in.failure) {
    const auto& f = in.failure->result;
    doc.heading("Losing a node at the peak");
    doc.paragraph("The node leading the most events stops at " +
                  fixed(*in.failure->deploy.fail_node_at_s, 0) +
                  " s; its shards' followers take over after the profile's failover time (" +
                  fixed(in.profile.election_ms, 0) +
                  " ms), and fans retry through the live nodes after the gateway's timeout.");
    doc.table(
        {"", "without the failure", "with it"},
        {{"longest write gap of a shard", "-", fixed(f.write_gap_s, 2) + " s"},
         {"refused in the 10 s after", "-", grouped(static_cast<double>(f.refused_after_failure))},
         {"worst hold p99 in those 10 s", "-", fixed(f.p99_after_failure_ms, 1) + " ms"},
         {"hold " + pct + " overall", fixed(r.hold_percentile_ms, 1) + " ms",
          fixed(f.hold_percentile_ms, 1) + " ms"},
         {"seats", sold_text(r), sold_text(f)},
         {"RTO target", "",
          fixed(t.targets.rto_s, 1) +
              " s: " + (f.write_gap_s <= t.targets.rto_s ? "met" : "missed")}});
  }

  doc.heading("Monthly cost");
  std::vector<std::vector<std::string>> cost_rows;
  for (const auto& l : in.chosen.cost.lines)
    cost_rows.push_back({l.component, l.what, usd(l.usd_per_month), l.source});
  cost_rows.push_back({"total", "", usd(in.chosen.cost.total()), ""});
  doc.table({"component", "what", "per month", "price source"}, cost_rows);

  doc.heading("Per node");
  const auto* vm = in.prices.find(d.instance, "compute");
  std::vector<std::vector<std::string>> node_rows;
  for (std::size_t n = 0; n < r.nodes.size(); ++n) {
    const auto& s = r.nodes[n];
    node_rows.push_back({std::to_string(n + 1), std::to_string(s.leader_shards),
                         percent(s.cpu_mean), percent(s.cpu_peak),
                         fixed(s.memory_peak_bytes / 1e6, 1) + " MB" +
                             (vm ? " of " + fixed(vm->memory_gib, 0) + " GiB" : ""),
                         fixed(s.disk_peak_bytes_per_s / 1e6, 2) + " MB/s"});
  }
  doc.table(
      {"node", "leads shards", "CPU mean", "CPU peak", "seat state (peak)", "log writes (peak)"},
      node_rows);
  doc.paragraph("Kafka: " + grouped(r.kafka_peak_records_per_s) + " records/s at the peak, " +
                fixed(r.kafka_peak_records_per_s * in.profile.bytes_per_kafka_record / 1e6, 2) +
                " MB/s.");

  // The plots.
  chart_series offered{"offered", {}}, served{"served", {}}, refused{"refused", {}};
  chart_series p50{"hold p50", {}}, p99{"hold p99", {}}, queue{"longest CPU queue", {}};
  chart_series sold{"sold", {}};
  std::vector<chart_series> cpu(r.nodes.size());
  for (std::size_t n = 0; n < cpu.size(); ++n)
    cpu[n].name = "node " + std::to_string(n + 1);
  for (const auto& b : r.series) {
    offered.points.emplace_back(b.t_s, static_cast<double>(b.offered));
    served.points.emplace_back(b.t_s, static_cast<double>(b.served));
    refused.points.emplace_back(b.t_s, static_cast<double>(b.refused));
    p50.points.emplace_back(b.t_s, b.hold_p50_ms);
    p99.points.emplace_back(b.t_s, b.hold_p99_ms);
    queue.points.emplace_back(b.t_s, static_cast<double>(b.queue_max));
    sold.points.emplace_back(b.t_s, static_cast<double>(b.seats_sold));
    for (std::size_t n = 0; n < cpu.size(); ++n)
      cpu[n].points.emplace_back(b.t_s, b.node_cpu[n] * 100);
  }
  out.svgs.emplace_back("load.svg",
                        line_chart_svg("Offered and served load", "seconds", "requests per bucket",
                                       {offered, served, refused}));
  out.svgs.emplace_back("latency.svg", line_chart_svg("Hold latency", "seconds", "ms", {p50, p99}));
  out.svgs.emplace_back("queue.svg",
                        line_chart_svg("Queue depth", "seconds", "requests waiting", {queue}));
  out.svgs.emplace_back("sold.svg",
                        line_chart_svg("Sell-out curve", "seconds", "seats sold", {sold}));
  out.svgs.emplace_back("cpu.svg", line_chart_svg("CPU per node", "seconds", "% of cores", cpu));
  if (in.failure) {
    chart_series fp99{"hold p99, losing a node", {}}, frefused{"refused, losing a node", {}};
    // From 30 s before the failure to 60 s after it.
    const double at = *in.failure->deploy.fail_node_at_s;
    for (const auto& b : in.failure->result.series) {
      if (b.t_s < at - 30 || b.t_s > at + 60) continue;
      fp99.points.emplace_back(b.t_s, b.hold_p99_ms);
      frefused.points.emplace_back(b.t_s, static_cast<double>(b.refused));
    }
    out.svgs.emplace_back("failure.svg",
                          line_chart_svg("Losing a node at the peak", "seconds from the on-sale",
                                         "ms; requests", {fp99, frefused}));
  }
  doc.heading("Plots");
  for (const auto& [file, svg] : out.svgs)
    doc.figure(file);

  doc.heading("Assumptions");
  doc.bullets({
      "Every request's CPU is the node profile's, on the instance's vCPUs scaled by its speed "
      "relative to the calibrated machine; a node is one first-come-first-served station of "
      "those cores.",
      "A request reaching a node that does not lead its event's shard is forwarded (the "
      "profile's forwarding CPU and a round trip).",
      "An entry commits when a quorum has synced it (each node's log is a group commit of one "
      "sync per round); an answer that changed nothing waits for a commit round too.",
      "The on-sale runs on seatd's own inventory core: conflicts, best-available choices, "
      "limits and expiries are the real ones. Fans who pick seats decide after looking at the "
      "map; others may take those seats meanwhile.",
      "Not modelled: the gateway, Kafka and PostgreSQL load (priced only), garbage from "
      "idempotency keys, snapshots and network loss.",
  });

  const std::string title = "Capacity plan: " + t.name;
  out.markdown = doc.markdown(title);
  out.html = doc.html(title, out.svgs);
  return out;
}

}  // namespace seatd::plan

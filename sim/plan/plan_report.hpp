#pragma once
// The capacity planner's report (docs/PLANNING.md, "Reading the report"): the verdict
// against the targets, the smallest deployment that meets them, what losing a node at the
// peak does, the monthly cost by component, per-node resources, and plots as SVG; written
// once as a document and rendered as Markdown and as a self-contained HTML page. Pure: text
// in, text out; seatsim writes the files.

#include <string>
#include <vector>

#include "common/result.hpp"
#include "sim/plan/onsale_model.hpp"
#include "sim/plan/plan_inputs.hpp"

namespace seatd::plan {

struct cost_line {
  std::string component;  // compute, disks, Kafka, PostgreSQL
  std::string what;       // e.g. "3 x c6i.2xlarge"
  double usd_per_month = 0;
  std::string source;
};

struct monthly_cost {
  std::vector<cost_line> lines;
  double total() const;
};

// Prices the deployment; an error names the instance, broker or database the table lacks.
common::result<monthly_cost, std::string> price_deployment(const deployment& d,
                                                           const price_table& prices);

// The model's options for a deployment: the instance's vCPUs and core speed.
common::result<model_options, std::string> options_for(const deployment& d,
                                                       const price_table& prices,
                                                       std::uint64_t seed);

// Whether a plan meets the targets: the hold latency percentile, and refusals within the
// availability target.
bool meets_targets(const plan_result& r, const plan_targets& t);

// One row of a what-if table: a deployment, its plan and its cost.
struct what_if {
  deployment deploy;
  plan_result result;
  monthly_cost cost;
};

struct report_inputs {
  std::string traffic_file, profile_file, deployment_file, prices_file;
  traffic_profile traffic;
  node_profile profile;
  price_table prices;
  what_if chosen;                  // the deployment asked about
  std::vector<what_if> sweep;      // the deployments tried (nodes), smallest first
  std::optional<what_if> failure;  // the chosen deployment losing a node at the peak
  std::uint64_t seed = 1;
};

struct report_files {
  std::string markdown;
  std::string html;
  std::vector<std::pair<std::string, std::string>> svgs;  // (file name, content), in order
};

report_files render_report(const report_inputs& in);

// A line chart: series of (x, y) points, axes labelled, as a standalone SVG document.
struct chart_series {
  std::string name;
  std::vector<std::pair<double, double>> points;
};
std::string line_chart_svg(const std::string& title, const std::string& x_label,
                           const std::string& y_label, const std::vector<chart_series>& series);

// The what-if table as text, for the terminal.
std::string what_if_table(const std::vector<what_if>& rows, const plan_targets& targets);

}  // namespace seatd::plan

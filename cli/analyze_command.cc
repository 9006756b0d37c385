// `ruvector-dag analyze`: reads a plan in any supported format and prints a
// plan table (text) or a machine-readable report (json).
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_io.h"
#include "commands.h"
#include "ruvector_dag/dag.h"

namespace ruvector_dag::cli {
namespace {

struct AnalyzeOptions {
  std::string input;
  std::string format = "text";
};

struct Analysis {
  std::vector<NodeId> order;
  std::vector<uint32_t> depths;
  CriticalPath critical;
  std::vector<bool> on_critical;
};

Result<Analysis> Analyze(const QueryDag& dag) {
  Analysis a;
  a.order = dag.TopologicalSort();
  a.depths = dag.Depths();
  RUVECTOR_ASSIGN_OR_RETURN(a.critical, dag.ComputeCriticalPath());
  a.on_critical.assign(dag.id_bound(), false);
  for (NodeId id : a.critical.nodes) a.on_critical[id] = true;
  return a;
}

nlohmann::ordered_json OptionalJson(const std::optional<double>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

std::string JsonReport(const QueryDag& dag, const Analysis& a, DagFormat format) {
  nlohmann::ordered_json out;
  out["input_format"] = std::string(DagFormatName(format));
  out["node_count"] = dag.node_count();
  out["edge_count"] = dag.edge_count();
  out["max_depth"] = dag.MaxDepth();
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (NodeId id : dag.NodeIds()) {
    const OperatorNode& n = *dag.node(id);
    nlohmann::ordered_json j;
    j["id"] = id;
    j["type"] = std::string(OperatorTypeName(n.type));
    if (!n.relation.empty()) j["relation"] = n.relation;
    if (!n.index.empty()) j["index"] = n.index;
    if (!n.subplan_name.empty()) j["subplan"] = n.subplan_name;
    j["estimated_rows"] = n.estimated_rows;
    j["estimated_cost"] = n.estimated_cost;
    j["total_cost"] = n.total_cost;
    j["actual_rows"] = OptionalJson(n.actual_rows);
    j["actual_time_ms"] = OptionalJson(n.actual_time_ms);
    j["actual_loops"] = OptionalJson(n.actual_loops);
    j["depth"] = a.depths[id];
    j["inputs"] = dag.parents(id);
    j["on_critical_path"] = static_cast<bool>(a.on_critical[id]);
    nodes.push_back(std::move(j));
  }
  out["nodes"] = std::move(nodes);
  nlohmann::ordered_json edges = nlohmann::ordered_json::array();
  for (const auto& [from, to] : dag.Edges()) edges.push_back({from, to});
  out["edges"] = std::move(edges);
  out["sources"] = dag.Sources();
  out["sinks"] = dag.Sinks();
  out["topological_order"] = a.order;
  out["critical_path"] = {{"nodes", a.critical.nodes}, {"cost", a.critical.cost}};
  return out.dump(2) + "\n";
}

std::string Rows(const std::optional<double>& v) { return v ? fmt::format("{:.0f}", *v) : "-"; }

std::string Truncate(std::string s, size_t width) {
  if (s.size() > width) s = s.substr(0, width - 1) + "~";
  return s;
}

std::string TextReport(const QueryDag& dag, const Analysis& a, DagFormat format) {
  std::string out = fmt::format("plan: {} nodes, {} edges, max depth {} (read as {})\n\n",
                                dag.node_count(), dag.edge_count(), dag.MaxDepth(),
                                DagFormatName(format));
  out += fmt::format("{:>2} {:>5}  {:<36} {:<24} {:>12} {:>12} {:>12} {:>5}\n", "", "node", "type",
                     "relation/index", "est rows", "actual rows", "own cost", "depth");
  // Topological order reads bottom-up: inputs first, the plan's top last.
  for (NodeId id : a.order) {
    const OperatorNode& n = *dag.node(id);
    std::string type(OperatorTypeName(n.type));
    if (!n.subplan_name.empty()) type += " [" + n.subplan_name + "]";
    std::string rel = n.relation;
    if (!n.index.empty()) rel += (rel.empty() ? "" : " / ") + n.index;
    out += fmt::format("{:>2} {:>5}  {:<36} {:<24} {:>12.0f} {:>12} {:>12.2f} {:>5}\n",
                       a.on_critical[id] ? "*" : "", id, Truncate(type, 36), Truncate(rel, 24),
                       n.estimated_rows, Rows(n.actual_rows), n.estimated_cost, a.depths[id]);
  }
  std::string path;
  for (size_t i = 0; i < a.critical.nodes.size(); ++i) {
    if (i) path += " -> ";
    path += std::to_string(a.critical.nodes[i]);
  }
  out += fmt::format("\ncritical path (*): {}  cost {:.2f}\n", path, a.critical.cost);
  return out;
}

int RunAnalyze(const AnalyzeOptions& opt) {
  DagFormat format = DagFormat::kJson;
  Result<QueryDag> dag = LoadDag(opt.input, &format);
  if (!dag.ok()) return ReportError("analyze", dag.status());
  if (dag->empty()) return ReportError("analyze", Status::InvalidArgument(opt.input + ": the plan has no nodes"));
  Result<Analysis> analysis = Analyze(*dag);
  if (!analysis.ok()) return ReportError("analyze", analysis.status().WithContext(opt.input));
  const std::string report = opt.format == "json" ? JsonReport(*dag, *analysis, format)
                                                  : TextReport(*dag, *analysis, format);
  Status written = WriteOutput("-", report);
  return written.ok() ? kExitOk : ReportError("analyze", written);
}

}  // namespace

void RegisterAnalyze(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<AnalyzeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "analyze",
      "Analyze a query plan: EXPLAIN (FORMAT JSON) output, ruvector-dag JSON or binary, or the "
      "original crate's JSON (detected automatically). Prints the plan table with the critical "
      "path marked, or a JSON report.");
  cmd->add_option("input", opt->input, "plan file, or - for stdin")->required();
  cmd->add_option("--format,-f", opt->format, "output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->callback([opt, exit_code] { *exit_code = RunAnalyze(*opt); });
}

}  // namespace ruvector_dag::cli

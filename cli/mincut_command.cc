// `ruvector-dag mincut`: the minimum vertex cut of a plan (max-flow on the
// node-split DAG), tension, bottlenecks and redundancy suggestions.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_io.h"
#include "commands.h"
#include "ruvector_dag/mincut.h"

namespace ruvector_dag::cli {
namespace {

struct MinCutOptionsCli {
  std::string input;
  std::string capacity = "bottleneck";
  std::string format = "text";
};

std::string JsonReport(const QueryDag& dag, const BottleneckAnalysis& a) {
  const MinCutResult& cut = a.cut;
  nlohmann::ordered_json out;
  out["capacity"] = std::string(CapacityModeName(cut.mode));
  out["node_count"] = dag.node_count();
  out["cut_value"] = cut.cut_value;
  out["cut_nodes"] = cut.cut_nodes;
  out["tension"] = {{"tension", cut.tension.tension},
                    {"misestimation", cut.tension.misestimation},
                    {"concentration", cut.tension.concentration},
                    {"cut_work_share", cut.tension.cut_work_share},
                    {"nodes_with_actuals", cut.tension.nodes_with_actuals}};
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (NodeId id : dag.NodeIds()) {
    nodes.push_back({{"id", id},
                     {"type", std::string(OperatorTypeName(dag.node(id)->type))},
                     {"capacity", cut.capacity[id]},
                     {"flow", cut.flow[id]},
                     {"criticality", cut.criticality.empty() ? 0.0 : cut.criticality[id]}});
  }
  out["nodes"] = std::move(nodes);
  nlohmann::ordered_json bottlenecks = nlohmann::ordered_json::array();
  for (const Bottleneck& b : a.bottlenecks) {
    bottlenecks.push_back({{"node", b.node},
                           {"type", std::string(OperatorTypeName(b.type))},
                           {"work_share", b.work_share},
                           {"criticality", b.criticality},
                           {"q_error", b.q_error},
                           {"in_cut", b.in_cut},
                           {"action", std::string(SuggestedActionName(b.action))},
                           {"reason", b.reason}});
  }
  out["bottlenecks"] = std::move(bottlenecks);
  nlohmann::ordered_json redundancy = nlohmann::ordered_json::array();
  for (const RedundancySuggestion& r : a.redundancy) {
    redundancy.push_back({{"kind", std::string(RedundancyKindName(r.kind))},
                          {"nodes", r.nodes},
                          {"reason", r.reason}});
  }
  out["redundancy"] = std::move(redundancy);
  return out.dump(2) + "\n";
}

std::string TextReport(const QueryDag& dag, const BottleneckAnalysis& a) {
  const MinCutResult& cut = a.cut;
  std::string nodes;
  for (NodeId id : cut.cut_nodes) {
    nodes += fmt::format("{}{} ({})", nodes.empty() ? "" : ", ", id,
                         OperatorTypeName(dag.node(id)->type));
  }
  std::string out = fmt::format("min cut ({} capacity): value {:.4g}, nodes: {}\n",
                                CapacityModeName(cut.mode), cut.cut_value, nodes);
  out += fmt::format(
      "tension {:.3f}  (misestimation {:.3f}, concentration {:.3f}, cut work share {:.3f}, "
      "{} nodes with actuals)\n",
      cut.tension.tension, cut.tension.misestimation, cut.tension.concentration,
      cut.tension.cut_work_share, cut.tension.nodes_with_actuals);
  if (!a.bottlenecks.empty()) out += "\nbottlenecks:\n";
  for (const Bottleneck& b : a.bottlenecks) {
    out += fmt::format("  node {:>4} {:<22} share {:5.1f}%  criticality {:.2f}{}  -> {}: {}\n",
                       b.node, OperatorTypeName(b.type), 100.0 * b.work_share, b.criticality,
                       b.in_cut ? " [cut]" : "", SuggestedActionName(b.action), b.reason);
  }
  if (!a.redundancy.empty()) out += "\nredundancy:\n";
  for (const RedundancySuggestion& r : a.redundancy) {
    std::string ids;
    for (NodeId id : r.nodes) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    out += fmt::format("  {:<16} nodes {}: {}\n", RedundancyKindName(r.kind), ids, r.reason);
  }
  return out;
}

int RunMinCut(const MinCutOptionsCli& opt) {
  const std::optional<CapacityMode> mode = CapacityModeFromName(opt.capacity);
  if (!mode) return ReportError("mincut", Status::InvalidArgument("unknown capacity " + opt.capacity));
  DagFormat format = DagFormat::kJson;
  Result<QueryDag> dag = LoadDag(opt.input, &format);
  if (!dag.ok()) return ReportError("mincut", dag.status());
  MinCutEngine engine;
  Result<BottleneckAnalysis> analysis = engine.AnalyzeBottlenecks(*dag, *mode);
  if (!analysis.ok()) return ReportError("mincut", analysis.status().WithContext(opt.input));
  const std::string report =
      opt.format == "json" ? JsonReport(*dag, *analysis) : TextReport(*dag, *analysis);
  Status written = WriteOutput("-", report);
  return written.ok() ? kExitOk : ReportError("mincut", written);
}

}  // namespace

void RegisterMinCut(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<MinCutOptionsCli>();
  CLI::App* cmd = app.add_subcommand(
      "mincut",
      "Minimum vertex cut of a plan (max-flow on the node-split DAG): the cheapest set of operators "
      "every source-to-sink path passes through, with tension, bottlenecks and suggestions. "
      "See docs/mincut.md.");
  cmd->add_option("input", opt->input, "plan file (any supported format), or - for stdin")
      ->required();
  cmd->add_option("--capacity,-c", opt->capacity, "operator capacity")
      ->check(CLI::IsMember({"bottleneck", "cost", "rows", "time", "unit"}))
      ->capture_default_str();
  cmd->add_option("--format,-f", opt->format, "output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->callback([opt, exit_code] { *exit_code = RunMinCut(*opt); });
}

}  // namespace ruvector_dag::cli

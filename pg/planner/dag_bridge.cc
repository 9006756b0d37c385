// C++ zone: no PostgreSQL headers here (see dag_bridge.h).
#include "planner/dag_bridge.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "ruvector_dag/core.h"

namespace ruvector_pg {

using ruvector_dag::AttentionMechanism;
using ruvector_dag::AttentionScores;
using ruvector_dag::CapacityMode;
using ruvector_dag::MinCutEngine;
using ruvector_dag::MinCutResult;
using ruvector_dag::NodeId;
using ruvector_dag::OperatorNode;
using ruvector_dag::OperatorType;
using ruvector_dag::QueryDag;
using ruvector_dag::Status;

namespace {

std::string Str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

std::string FormatDouble(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

/// "Seq Scan on orders", "Index Scan using i on t", "Hash Join".
std::string NodeLabel(const OperatorNode& n) {
  std::string label(ruvector_dag::OperatorTypeName(n.type));
  if (!n.index.empty()) label += " using " + n.index;
  if (!n.relation.empty()) label += " on " + n.relation;
  if (!n.subplan_name.empty()) label = n.subplan_name + ": " + label;
  return label;
}

}  // namespace

Status BuildDag(const PlanSnapshot& snapshot, QueryDag* dag) {
  dag->Clear();
  if (snapshot.count <= 0 || snapshot.nodes == nullptr) {
    return Status::FailedPrecondition("the plan has no nodes");
  }
  const int32_t n = snapshot.count;
  // Own cost = total cost minus the inputs' total costs (clamped at 0).
  std::vector<double> input_total(static_cast<size_t>(n), 0.0);
  for (int32_t i = 0; i < n; ++i) {
    const PlanNodeSnapshot& s = snapshot.nodes[i];
    if (s.parent >= i || s.parent < -1) {
      return Status::Internal("plan node " + std::to_string(i) + " has parent index " +
                              std::to_string(s.parent) + " (must precede it)");
    }
    if (s.type >= ruvector_dag::kOperatorTypeCount) {
      return Status::Internal("plan node " + std::to_string(i) + " has unknown operator type " +
                              std::to_string(s.type));
    }
    if (s.parent >= 0 && std::isfinite(s.total_cost)) input_total[static_cast<size_t>(s.parent)] += s.total_cost;
  }
  for (int32_t i = 0; i < n; ++i) {
    const PlanNodeSnapshot& s = snapshot.nodes[i];
    OperatorNode node = OperatorNode::Make(static_cast<OperatorType>(s.type));
    node.relation = Str(s.relation);
    node.alias = Str(s.alias);
    node.index = Str(s.index);
    node.detail = Str(s.detail);
    node.subplan_name = Str(s.subplan_name);
    node.predicate = Str(s.predicate);
    node.parameter = s.parameter;
    node.parallel_aware = s.parallel_aware;
    node.workers_planned = s.workers_planned;
    node.workers_launched = s.workers_launched;
    auto finite = [](double v) { return std::isfinite(v) ? v : 0.0; };
    node.estimated_rows = std::max(0.0, finite(s.plan_rows));
    node.startup_cost = finite(s.startup_cost);
    node.total_cost = finite(s.total_cost);
    node.estimated_cost = std::max(0.0, node.total_cost - input_total[static_cast<size_t>(i)]);
    node.width = std::max(0.0, finite(s.width));
    if (s.has_actuals) {
      node.actual_rows = std::max(0.0, finite(s.actual_rows));
      node.actual_loops = std::max(0.0, finite(s.actual_loops));
      if (s.has_time) node.actual_time_ms = std::max(0.0, finite(s.actual_time_ms));
    }
    RUVECTOR_ASSIGN_OR_RETURN(NodeId id, dag->AddNode(std::move(node)));
    if (id != static_cast<NodeId>(i)) return Status::Internal("DAG ids are not dense");
    if (s.parent >= 0) {
      RUVECTOR_RETURN_IF_ERROR(dag->AddEdge(static_cast<NodeId>(i), static_cast<NodeId>(s.parent)));
    }
  }
  return Status::Ok();
}

uint32_t ParamBucket(const QueryDag& dag) {
  double scan_rows = 0.0;
  dag.ForEachNode([&](const OperatorNode& n) {
    if (ruvector_dag::IsScan(n.type) && std::isfinite(n.estimated_rows)) scan_rows += n.estimated_rows;
  });
  double b = std::floor(std::log2(1.0 + std::max(0.0, scan_rows)));
  if (!std::isfinite(b) || b < 0) b = 0;
  return static_cast<uint32_t>(std::min(63.0, b));
}

uint64_t ScopePatternKey(uint64_t statement_key, uint32_t database_oid, uint32_t role_oid) {
  uint64_t key = ruvector_dag::HashCombine(ruvector_dag::HashCombine(statement_key, database_oid), role_oid);
  // Keys are shown as signed bigint in SQL; 0 is reserved for "empty slot".
  return key == 0 ? 1 : key;
}

void SetConstantsKey(uint64_t constants_hash, PlanIdentity* id) {
  id->constants_statement_key = constants_hash != 0 ? ruvector_dag::HashCombine(id->statement_key, constants_hash) : 0;
  id->constants_hash = constants_hash;
  id->by_constants = false;
}

PlanIdentity IdentifyPlan(uint64_t query_id, const QueryDag& dag, uint32_t database_oid, uint32_t role_oid) {
  PlanIdentity id;
  id.shape_hash = dag.ShapeHash();
  id.param_bucket = ParamBucket(dag);
  uint64_t base = query_id != 0 ? query_id : id.shape_hash;
  id.statement_key = ruvector_dag::HashCombine(base, id.param_bucket);
  id.database_oid = database_oid;
  id.role_oid = role_oid;
  id.pattern_key = ScopePatternKey(id.statement_key, database_oid, role_oid);
  return id;
}

Status IdentifySnapshot(const PlanSnapshot& snapshot, PlanIdentity* out) {
  if (snapshot.count <= 0 || snapshot.nodes == nullptr) return Status::FailedPrecondition("the plan has no nodes");
  const int32_t n = snapshot.count;
  // QueryDag::ShapeHash of the DAG BuildDag makes: node i has id i and one
  // outgoing edge, to its consumer.
  uint64_t h = ruvector_dag::HashCombine(0x5EED, static_cast<uint64_t>(n));
  double scan_rows = 0.0;
  for (int32_t i = 0; i < n; ++i) {
    const PlanNodeSnapshot& s = snapshot.nodes[i];
    if (s.parent >= i || s.parent < -1) {
      return Status::Internal("plan node " + std::to_string(i) + " has parent index " + std::to_string(s.parent) +
                              " (must precede it)");
    }
    if (s.type >= ruvector_dag::kOperatorTypeCount) {
      return Status::Internal("plan node " + std::to_string(i) + " has unknown operator type " +
                              std::to_string(s.type));
    }
    h = ruvector_dag::HashCombine(h, static_cast<uint64_t>(i));
    h = ruvector_dag::HashCombine(h, static_cast<uint64_t>(s.type));
    if (s.parent >= 0) h = ruvector_dag::HashCombine(h, static_cast<uint64_t>(s.parent));
    if (ruvector_dag::IsScan(static_cast<OperatorType>(s.type)) && std::isfinite(s.plan_rows)) {
      scan_rows += std::max(0.0, s.plan_rows);
    }
  }
  // ParamBucket without the DAG.
  double b = std::floor(std::log2(1.0 + std::max(0.0, scan_rows)));
  if (!std::isfinite(b) || b < 0) b = 0;
  PlanIdentity id;
  id.shape_hash = h;
  id.param_bucket = static_cast<uint32_t>(std::min(63.0, b));
  uint64_t base = snapshot.query_id != 0 ? snapshot.query_id : id.shape_hash;
  id.statement_key = ruvector_dag::HashCombine(base, id.param_bucket);
  id.database_oid = snapshot.database_oid;
  id.role_oid = snapshot.role_oid;
  id.pattern_key = ScopePatternKey(id.statement_key, id.database_oid, id.role_oid);
  SetConstantsKey(snapshot.constants_hash, &id);
  *out = id;
  return Status::Ok();
}

void TemplateFromSnapshot(const PlanSnapshot& snapshot, uint64_t shape_hash, PlanTemplate* out) {
  out->shape_hash = shape_hash;
  out->node_count = static_cast<uint32_t>(std::max(0, snapshot.count));
  out->flags = snapshot.count > kMaxTrajectoryNodes ? kTrajectoryTruncated : 0;
  if (snapshot.may_stop_early) out->flags |= kTrajectoryMayStopEarly;
  for (int i = 0; i < snapshot.count; ++i) {
    const uint8_t t = snapshot.nodes[i].type;
    if (t == static_cast<uint8_t>(OperatorType::kGather) || t == static_cast<uint8_t>(OperatorType::kGatherMerge)) {
      out->flags |= kTrajectoryParallel;
    }
  }
  const int kept = std::min(snapshot.count, kMaxTrajectoryNodes);
  std::memset(out->index_of_id, 0, sizeof(out->index_of_id));
  out->ids_mapped = true;
  for (int i = 0; i < kept; ++i) {
    const PlanNodeSnapshot& n = snapshot.nodes[i];
    out->node_type[i] = n.type;
    out->estimated_rows[i] = static_cast<float>(n.plan_rows);
    out->parent_plus_one[i] = n.parent >= 0 && n.parent < i ? static_cast<uint8_t>(n.parent + 1) : 0;
    out->relset[i] = n.relset;
    out->relset_size[i] = n.relation_count;
    if (n.plan_node_id >= 0 && n.plan_node_id < PlanTemplate::kMappedIds &&
        out->index_of_id[n.plan_node_id] == 0) {
      out->index_of_id[n.plan_node_id] = static_cast<uint8_t>(i + 1);
    } else {
      out->ids_mapped = false;
    }
  }
}

void FillFromTemplate(const PlanTemplate& t, TrajectoryRecord* rec) {
  rec->shape_hash = t.shape_hash;
  rec->node_count = static_cast<uint16_t>(std::min<uint32_t>(t.node_count, 65535));
  rec->flags |= t.flags;
  const int kept = static_cast<int>(std::min<uint32_t>(t.node_count, kMaxTrajectoryNodes));
  std::memcpy(rec->node_type, t.node_type, static_cast<size_t>(kept));
  std::memcpy(rec->estimated_rows, t.estimated_rows, sizeof(float) * static_cast<size_t>(kept));
  std::memcpy(rec->parent_plus_one, t.parent_plus_one, static_cast<size_t>(kept));
  std::memcpy(rec->relset, t.relset, sizeof(uint32_t) * static_cast<size_t>(kept));
  std::memcpy(rec->relset_size, t.relset_size, static_cast<size_t>(kept));
  for (int i = 0; i < kept; ++i) rec->actual_rows[i] = -1.0f;
}

Status AnalyzeSnapshot(const PlanSnapshot& snapshot, PlanReport* report) {
  RUVECTOR_RETURN_IF_ERROR(BuildDag(snapshot, &report->dag));
  const QueryDag& dag = report->dag;
  report->identity = IdentifyPlan(snapshot.query_id, dag, snapshot.database_oid, snapshot.role_oid);
  SetConstantsKey(snapshot.constants_hash, &report->identity);
  RUVECTOR_ASSIGN_OR_RETURN(report->critical_path, dag.ComputeCriticalPath());
  MinCutEngine engine;
  RUVECTOR_ASSIGN_OR_RETURN(report->analysis, engine.AnalyzeBottlenecks(dag, CapacityMode::kBottleneck));
  const MinCutResult& cut = report->analysis.cut;

  std::vector<double> work = ruvector_dag::OperatorWork(dag);
  double total_work = 0.0, max_work = 0.0;
  for (NodeId id : dag.NodeIds()) {
    total_work += work[id];
    max_work = std::max(max_work, work[id]);
  }
  std::vector<bool> on_path(dag.id_bound(), false);
  for (NodeId id : report->critical_path.nodes) on_path[id] = true;
  std::vector<bool> in_cut(dag.id_bound(), false);
  for (NodeId id : cut.cut_nodes) in_cut[id] = true;

  report->nodes.clear();
  for (NodeId id : dag.NodeIds()) {
    const OperatorNode& n = *dag.node(id);
    NodeReport r;
    r.id = id;
    r.type = std::string(ruvector_dag::OperatorTypeName(n.type));
    r.relation = n.relation;
    r.index = n.index;
    r.detail = n.detail;
    r.parameter = n.parameter;
    r.self_cost = n.estimated_cost;
    r.startup_cost = n.startup_cost;
    r.total_cost = n.total_cost;
    r.rows = n.estimated_rows;
    r.criticality = id < cut.criticality.size() ? cut.criticality[id] : 0.0;
    r.bottleneck_score = max_work > 0 ? work[id] / max_work : 0.0;
    r.work_share = total_work > 0 ? work[id] / total_work : 0.0;
    r.in_cut = in_cut[id];
    r.on_critical_path = on_path[id];
    r.inputs = dag.parents(id);
    r.consumers = dag.children(id);
    for (const auto& b : report->analysis.bottlenecks) {
      if (b.node == id) {
        r.recommendations.push_back(std::string(ruvector_dag::SuggestedActionName(b.action)) + ": " + b.reason);
      }
    }
    for (const auto& s : report->analysis.redundancy) {
      if (std::find(s.nodes.begin(), s.nodes.end(), id) != s.nodes.end()) {
        r.recommendations.push_back(std::string(ruvector_dag::RedundancyKindName(s.kind)) + ": " + s.reason);
      }
    }
    report->nodes.push_back(std::move(r));
  }
  return Status::Ok();
}

Status MinCutWithMode(const QueryDag& dag, std::string_view mode, MinCutResult* out) {
  std::optional<CapacityMode> m = ruvector_dag::CapacityModeFromName(mode);
  if (!m) {
    return Status::InvalidArgument("unknown capacity mode \"" + std::string(mode) +
                                   "\"; valid: bottleneck, cost, rows, time, unit");
  }
  MinCutEngine engine;
  RUVECTOR_ASSIGN_OR_RETURN(*out, engine.Analyze(dag, *m));
  return Status::Ok();
}

std::string AttentionNames() {
  std::string names = "auto";
  for (AttentionMechanism m : ruvector_dag::kAllAttentionMechanisms) {
    names += ", ";
    names += ruvector_dag::AttentionMechanismName(m);
  }
  return names;
}

bool IsValidAttentionName(std::string_view name) {
  return name == "auto" || ruvector_dag::AttentionMechanismFromName(name).has_value();
}

Status ComputeAttentionFor(const QueryDag& dag, std::string_view name, bool edge_weights,
                           AttentionScores* scores, AttentionChoice* choice) {
  if (!IsValidAttentionName(name)) {
    return Status::InvalidArgument("unknown attention mechanism \"" + std::string(name) +
                                   "\"; valid: " + AttentionNames());
  }
  MinCutEngine engine;
  RUVECTOR_ASSIGN_OR_RETURN(ruvector_dag::TensionReport tension, engine.ComputeTension(dag));
  choice->tension = tension.tension;
  if (name == "auto") {
    RUVECTOR_ASSIGN_OR_RETURN(ruvector_dag::PreparedDag prepared, ruvector_dag::PreparedDag::Build(dag));
    ruvector_dag::ExecutionFeedback feedback = ruvector_dag::FeedbackFromActuals(dag);
    RUVECTOR_ASSIGN_OR_RETURN(ruvector_dag::PolicySignals signals,
                              ruvector_dag::SignalsFromPlan(prepared, &feedback, &engine));
    ruvector_dag::AttentionPolicy policy;
    ruvector_dag::PolicyDecision decision = policy.Decide(signals);
    choice->mechanism = decision.mechanism;
    choice->automatic = true;
    choice->reason = std::string(ruvector_dag::PolicyReasonName(decision.reason));
  } else {
    choice->mechanism = *ruvector_dag::AttentionMechanismFromName(name);
    choice->automatic = false;
    choice->reason = "requested";
  }
  ruvector_dag::AttentionParams params;
  params.edge_weights = edge_weights;
  ruvector_dag::ExecutionFeedback feedback = ruvector_dag::FeedbackFromActuals(dag);
  RUVECTOR_ASSIGN_OR_RETURN(*scores, ruvector_dag::ComputeAttention(dag, choice->mechanism, params, &feedback));
  return Status::Ok();
}

namespace {

std::string DotEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out;
}

std::string MermaidEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"') out += "#quot;";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string RenderDot(const QueryDag& dag, const AttentionScores& scores, const AttentionChoice& choice) {
  double max_w = 0.0;
  for (double w : scores.weights) max_w = std::max(max_w, w);
  std::string out = "digraph plan {\n  label=\"attention: " +
                    std::string(ruvector_dag::AttentionMechanismName(choice.mechanism)) +
                    "\";\n  rankdir=BT;\n  node [shape=box, style=filled];\n";
  for (size_t i = 0; i < scores.nodes.size(); ++i) {
    NodeId id = scores.nodes[i];
    double w = scores.weights[i];
    int alpha = max_w > 0 ? static_cast<int>(std::lround(40 + 215 * (w / max_w))) : 40;
    char color[16];
    std::snprintf(color, sizeof(color), "#ff8c00%02x", std::clamp(alpha, 0, 255));
    out += "  n" + std::to_string(id) + " [label=\"" + std::to_string(id) + ": " +
           DotEscape(NodeLabel(*dag.node(id))) + "\\nweight=" + FormatDouble(w, 4) +
           "\", fillcolor=\"" + color + "\"];\n";
  }
  for (const auto& [from, to] : dag.Edges()) {
    out += "  n" + std::to_string(from) + " -> n" + std::to_string(to) + ";\n";
  }
  out += "}\n";
  return out;
}

std::string RenderMermaid(const QueryDag& dag, const AttentionScores& scores) {
  std::string out = "graph BT\n";
  for (size_t i = 0; i < scores.nodes.size(); ++i) {
    NodeId id = scores.nodes[i];
    out += "  n" + std::to_string(id) + "[\"" + std::to_string(id) + ": " +
           MermaidEscape(NodeLabel(*dag.node(id))) + " (" + FormatDouble(scores.weights[i], 4) + ")\"]\n";
  }
  for (const auto& [from, to] : dag.Edges()) {
    out += "  n" + std::to_string(from) + " --> n" + std::to_string(to) + "\n";
  }
  return out;
}

std::string RenderJson(const QueryDag& dag, const AttentionScores& scores, const AttentionChoice& choice) {
  nlohmann::ordered_json doc;
  doc["mechanism"] = std::string(ruvector_dag::AttentionMechanismName(choice.mechanism));
  doc["automatic"] = choice.automatic;
  doc["reason"] = choice.reason;
  doc["tension"] = choice.tension;
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (size_t i = 0; i < scores.nodes.size(); ++i) {
    const OperatorNode& n = *dag.node(scores.nodes[i]);
    nlohmann::ordered_json node;
    node["id"] = scores.nodes[i];
    node["type"] = std::string(ruvector_dag::OperatorTypeName(n.type));
    node["label"] = NodeLabel(n);
    node["weight"] = scores.weights[i];
    nodes.push_back(std::move(node));
  }
  doc["nodes"] = std::move(nodes);
  nlohmann::ordered_json edges = nlohmann::ordered_json::array();
  for (const auto& [from, to] : dag.Edges()) edges.push_back({from, to});
  doc["edges"] = std::move(edges);
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string RenderAscii(const QueryDag& dag, const AttentionScores& scores, const AttentionChoice& choice) {
  double max_w = 0.0;
  for (double w : scores.weights) max_w = std::max(max_w, w);
  std::string out = "attention: " + std::string(ruvector_dag::AttentionMechanismName(choice.mechanism)) +
                    " (" + choice.reason + ")\n";
  // Top-down from the sinks; a node's inputs are printed below it.
  std::function<void(NodeId, const std::string&, bool, bool)> print =
      [&](NodeId id, const std::string& prefix, bool last, bool root) {
        double w = scores.WeightOf(id);
        int bar = max_w > 0 ? static_cast<int>(std::lround(20.0 * w / max_w)) : 0;
        out += prefix;
        if (!root) out += last ? "`- " : "|- ";
        out += "[" + std::to_string(id) + "] " + NodeLabel(*dag.node(id)) + "  " + FormatDouble(w, 4) + " " +
               std::string(static_cast<size_t>(bar), '#') + "\n";
        const std::vector<NodeId>& inputs = dag.parents(id);
        std::string next = prefix + (root ? "" : (last ? "   " : "|  "));
        for (size_t i = 0; i < inputs.size(); ++i) print(inputs[i], next, i + 1 == inputs.size(), false);
      };
  for (NodeId sink : dag.Sinks()) print(sink, "", true, true);
  return out;
}

}  // namespace

Status VisualizeAttention(const QueryDag& dag, const AttentionScores& scores, const AttentionChoice& choice,
                          std::string_view format, std::string* out) {
  if (format == "dot") {
    *out = RenderDot(dag, scores, choice);
  } else if (format == "json") {
    *out = RenderJson(dag, scores, choice);
  } else if (format == "ascii") {
    *out = RenderAscii(dag, scores, choice);
  } else if (format == "mermaid") {
    *out = RenderMermaid(dag, scores);
  } else {
    return Status::InvalidArgument("unknown format \"" + std::string(format) +
                                   "\"; valid: dot, json, ascii, mermaid");
  }
  return Status::Ok();
}

Status SummarizeForExplain(const PlanSnapshot& snapshot, std::string_view attention_setting,
                           ExplainSummary* out) {
  QueryDag dag;
  RUVECTOR_RETURN_IF_ERROR(BuildDag(snapshot, &dag));
  out->identity = IdentifyPlan(snapshot.query_id, dag, snapshot.database_oid, snapshot.role_oid);
  SetConstantsKey(snapshot.constants_hash, &out->identity);
  out->node_count = dag.node_count();
  MinCutEngine engine;
  RUVECTOR_ASSIGN_OR_RETURN(ruvector_dag::BottleneckAnalysis analysis, engine.AnalyzeBottlenecks(dag));
  out->tension = analysis.cut.tension.tension;
  out->misestimation = analysis.cut.tension.misestimation;
  out->measured = analysis.cut.tension.nodes_with_actuals > 0;
  if (!analysis.bottlenecks.empty()) {
    const auto& b = analysis.bottlenecks.front();
    out->bottleneck = std::string(ruvector_dag::OperatorTypeName(b.type)) + " (node " + std::to_string(b.node) +
                      ", " + FormatDouble(100.0 * b.work_share, 1) + "% of work)";
  }
  AttentionScores scores;
  RUVECTOR_RETURN_IF_ERROR(ComputeAttentionFor(dag, attention_setting, false, &scores, &out->attention));
  return Status::Ok();
}

}  // namespace ruvector_pg

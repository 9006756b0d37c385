// MinCutEngine: capacities, cut analysis, criticality, tension, bottlenecks
// and redundancy suggestions. Formulas: docs/mincut.md.
#include "ruvector_dag/mincut.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "mincut/internal/tree_min_cut.h"
#include "ruvector_dag/core.h"

namespace ruvector_dag {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// kBottleneck: work floor relative to the plan's total work (keeps
// capacities finite for operators that did no measurable work).
constexpr double kWorkFloorFraction = 1e-6;
// Rows from which a scan or aggregate without Gather above it is "large".
constexpr double kParallelRowsThreshold = 100000.0;
// Loops from which a re-executed input is worth materializing.
constexpr double kMaterializeLoopsThreshold = 10.0;

std::string Fmt(double v) { return FormatSignificant(v, 3); }

std::string NodeLabel(const QueryDag& dag, NodeId id) {
  const OperatorNode* n = dag.node(id);
  std::string s = "node " + std::to_string(id) + " (" + std::string(OperatorTypeName(n->type));
  if (!n->relation.empty()) s += " on " + n->relation;
  return s + ")";
}

double Loops(const OperatorNode& n) {
  return n.actual_loops.has_value() && *n.actual_loops > 0 ? *n.actual_loops : 1.0;
}

// +1-smoothed q-error of rows; 1 when the node has no actual rows.
double QError(const OperatorNode& n) {
  if (!n.actual_rows.has_value()) return 1.0;
  const double a = std::max(0.0, *n.actual_rows) + 1.0;
  const double e = std::max(0.0, n.estimated_rows) + 1.0;
  if (!std::isfinite(a) || !std::isfinite(e)) return 1.0;
  return std::max(a, e) / std::min(a, e);
}

double RowsOf(const OperatorNode& n) {
  return n.actual_rows.has_value() ? *n.actual_rows : n.estimated_rows;
}

bool HasGatherAbove(const QueryDag& dag, NodeId id) {
  auto desc = dag.Descendants(id);
  if (!desc.ok()) return false;
  for (NodeId d : *desc) {
    const OperatorType t = dag.node(d)->type;
    if (t == OperatorType::kGather || t == OperatorType::kGatherMerge) return true;
  }
  return false;
}

Status ValidateOptions(const MinCutOptions& o) {
  auto bad = [](const char* field, double v, const char* rule) {
    return Status::InvalidArgument(std::string("MinCutOptions.") + field + " = " + Fmt(v) +
                                   ": " + rule);
  };
  auto finite_nonneg = [](double v) { return std::isfinite(v) && v >= 0.0; };
  if (!finite_nonneg(o.tension_misestimation_weight))
    return bad("tension_misestimation_weight", o.tension_misestimation_weight, "must be finite and >= 0");
  if (!finite_nonneg(o.tension_concentration_weight))
    return bad("tension_concentration_weight", o.tension_concentration_weight, "must be finite and >= 0");
  if (o.tension_misestimation_weight + o.tension_concentration_weight <= 0.0)
    return bad("tension_misestimation_weight", o.tension_misestimation_weight,
               "the two tension weights must not both be 0");
  if (!(std::isfinite(o.misestimation_scale) && o.misestimation_scale > 0.0))
    return bad("misestimation_scale", o.misestimation_scale, "must be finite and > 0");
  if (!(finite_nonneg(o.bottleneck_share_threshold) && o.bottleneck_share_threshold <= 1.0))
    return bad("bottleneck_share_threshold", o.bottleneck_share_threshold, "must be in [0,1]");
  if (!(finite_nonneg(o.criticality_threshold) && o.criticality_threshold <= 1.0))
    return bad("criticality_threshold", o.criticality_threshold, "must be in [0,1]");
  if (!(std::isfinite(o.misestimate_q_threshold) && o.misestimate_q_threshold >= 1.0))
    return bad("misestimate_q_threshold", o.misestimate_q_threshold, "must be finite and >= 1");
  if (!(std::isfinite(o.work_mem_bytes) && o.work_mem_bytes > 0.0))
    return bad("work_mem_bytes", o.work_mem_bytes, "must be finite and > 0");
  if (o.min_ef_search < 0) return bad("min_ef_search", static_cast<double>(o.min_ef_search), "must be >= 0");
  return Status::Ok();
}

}  // namespace

std::string_view CapacityModeName(CapacityMode mode) {
  switch (mode) {
    case CapacityMode::kBottleneck: return "bottleneck";
    case CapacityMode::kCost: return "cost";
    case CapacityMode::kRows: return "rows";
    case CapacityMode::kTime: return "time";
    case CapacityMode::kUnit: return "unit";
  }
  return "unknown";
}

std::optional<CapacityMode> CapacityModeFromName(std::string_view name) {
  if (name == "default" || name == "bottleneck") return CapacityMode::kBottleneck;
  if (name == "cost") return CapacityMode::kCost;
  if (name == "rows") return CapacityMode::kRows;
  if (name == "time") return CapacityMode::kTime;
  if (name == "unit") return CapacityMode::kUnit;
  return std::nullopt;
}

std::string_view SuggestedActionName(SuggestedAction action) {
  switch (action) {
    case SuggestedAction::kAddIndex: return "add_index";
    case SuggestedAction::kRunAnalyze: return "run_analyze";
    case SuggestedAction::kUseHashJoin: return "use_hash_join";
    case SuggestedAction::kRaiseWorkMem: return "raise_work_mem";
    case SuggestedAction::kRaiseEfSearch: return "raise_ef_search";
    case SuggestedAction::kRaiseNprobe: return "raise_nprobe";
    case SuggestedAction::kAddParallelism: return "add_parallelism";
    case SuggestedAction::kReviewOperator: return "review_operator";
  }
  return "unknown";
}

std::string_view RedundancyKindName(RedundancyKind kind) {
  switch (kind) {
    case RedundancyKind::kMaterialize: return "materialize";
    case RedundancyKind::kPrefetch: return "prefetch";
    case RedundancyKind::kReplicate: return "replicate";
    case RedundancyKind::kAlternativePath: return "alternative_path";
  }
  return "unknown";
}

bool HasCompleteActualTimes(const QueryDag& dag) {
  if (dag.empty()) return false;
  bool all = true;
  dag.ForEachNode([&](const OperatorNode& n) {
    if (!n.actual_time_ms.has_value() || !std::isfinite(*n.actual_time_ms)) all = false;
  });
  return all;
}

std::vector<double> OperatorWork(const QueryDag& dag) {
  std::vector<double> work(dag.id_bound(), 0.0);
  if (HasCompleteActualTimes(dag)) {
    // EXPLAIN times are inclusive and per loop: own = total - inputs' totals.
    dag.ForEachNode([&](const OperatorNode& n) {
      double own = std::max(0.0, *n.actual_time_ms) * Loops(n);
      for (NodeId p : dag.parents(n.id)) {
        const OperatorNode* in = dag.node(p);
        own -= std::max(0.0, *in->actual_time_ms) * Loops(*in);
      }
      work[n.id] = std::max(0.0, own);
    });
  } else {
    dag.ForEachNode([&](const OperatorNode& n) {
      work[n.id] = std::isfinite(n.estimated_cost) ? std::max(0.0, n.estimated_cost) : 0.0;
    });
  }
  return work;
}

Result<std::vector<double>> ComputeCapacities(const QueryDag& dag, CapacityMode mode) {
  if (dag.empty()) return Status::FailedPrecondition("min cut of an empty DAG");
  std::vector<double> cap(dag.id_bound(), 0.0);
  switch (mode) {
    case CapacityMode::kCost:
      dag.ForEachNode([&](const OperatorNode& n) { cap[n.id] = n.estimated_cost; });
      break;
    case CapacityMode::kRows:
      dag.ForEachNode([&](const OperatorNode& n) { cap[n.id] = n.estimated_rows; });
      break;
    case CapacityMode::kUnit:
      dag.ForEachNode([&](const OperatorNode& n) { cap[n.id] = 1.0; });
      break;
    case CapacityMode::kTime:
      if (HasCompleteActualTimes(dag)) {
        cap = OperatorWork(dag);
      } else {
        dag.ForEachNode([&](const OperatorNode& n) { cap[n.id] = n.estimated_cost; });
      }
      break;
    case CapacityMode::kBottleneck: {
      // Validate the raw inputs first so errors name the node.
      Status bad;
      const bool measured = HasCompleteActualTimes(dag);
      dag.ForEachNode([&](const OperatorNode& n) {
        if (bad.ok() && !measured &&
            (!std::isfinite(n.estimated_cost) || n.estimated_cost < 0.0)) {
          bad = Status::InvalidArgument(NodeLabel(dag, n.id) + " has estimated_cost " +
                                        Fmt(n.estimated_cost) + ": must be finite and >= 0");
        }
      });
      RUVECTOR_RETURN_IF_ERROR(bad);
      const std::vector<double> work = OperatorWork(dag);
      double total = 0.0;
      for (double w : work) total += w;
      if (!(total > 0.0) || !std::isfinite(total)) {
        dag.ForEachNode([&](const OperatorNode& n) { cap[n.id] = 1.0; });
      } else {
        const double floor = kWorkFloorFraction * total;
        dag.ForEachNode([&](const OperatorNode& n) { cap[n.id] = total / (work[n.id] + floor); });
      }
      break;
    }
  }
  Status bad;
  dag.ForEachNode([&](const OperatorNode& n) {
    const double c = cap[n.id];
    if (bad.ok() && (!std::isfinite(c) || c < 0.0)) {
      bad = Status::InvalidArgument(NodeLabel(dag, n.id) + " has capacity " + Fmt(c) +
                                    " under mode '" + std::string(CapacityModeName(mode)) +
                                    "': capacities must be finite and >= 0");
    }
  });
  RUVECTOR_RETURN_IF_ERROR(bad);
  return cap;
}

TensionReport TensionForCut(const QueryDag& dag, const std::vector<NodeId>& cut,
                            const MinCutOptions& options);

MinCutEngine::MinCutEngine() = default;

Result<MinCutEngine> MinCutEngine::Create(const MinCutOptions& options) {
  RUVECTOR_RETURN_IF_ERROR(ValidateOptions(options));
  return MinCutEngine(options);
}

namespace {

// Fills cut/flow/criticality of `out` from a solved network.
void FillFromNetwork(DynamicMinCut& net, const QueryDag& dag, MinCutResult* out) {
  const NodeId bound = dag.id_bound();
  out->cut_value = 0.0;
  out->cut_nodes = net.CutNodes();
  // Report the cut value as the sum of the cut's capacities (exactly the
  // max flow up to rounding; summed in id order for determinism).
  for (NodeId id : out->cut_nodes) out->cut_value += net.capacity(id);
  out->capacity.assign(bound, 0.0);
  out->flow.assign(bound, 0.0);
  out->flow_share.assign(bound, 0.0);
  out->criticality.assign(bound, 0.0);
  const double f_total = net.cut_value();
  dag.ForEachNode([&](const OperatorNode& n) {
    out->capacity[n.id] = net.capacity(n.id);
    out->flow[n.id] = net.flow(n.id);
    if (f_total > 0.0) out->flow_share[n.id] = std::clamp(net.flow(n.id) / f_total, 0.0, 1.0);
  });
}

}  // namespace

Result<MinCutResult> MinCutEngine::AnalyzeWithCapacities(const QueryDag& dag,
                                                         const std::vector<double>& capacities) const {
  MinCutResult result;
  result.custom_capacities = true;
  // In-trees (nearly every imported plan): the exact replay of Dinic on the
  // tree (docs/mincut.md, "Fast path for in-trees"). Declines on anything
  // else, including invalid capacities, whose errors Dinic's Build reports.
  if (!mincut_internal::DinicForced() &&
      mincut_internal::TreeMinCut(dag, capacities, options_.compute_criticality, &result)) {
    if (!skip_tension_) {
      RUVECTOR_ASSIGN_OR_RETURN(result.tension, ComputeTension(dag));
    }
    return result;
  }
  RUVECTOR_ASSIGN_OR_RETURN(DynamicMinCut net, DynamicMinCut::Build(dag, capacities));
  FillFromNetwork(net, dag, &result);
  // Criticality: relax each cut node to infinite capacity, augment from the
  // current flow, then restore (MinCutEngine is DynamicMinCut's friend).
  if (options_.compute_criticality) {
    const double f = net.flow_value_;
    const std::vector<double> saved_flow = net.flow_;
    for (NodeId id : result.cut_nodes) {
      if (std::binary_search(net.isolated_.begin(), net.isolated_.end(), id)) {
        // Source and sink at once: relaxing it makes the flow unbounded.
        result.criticality[id] = 1.0;
        continue;
      }
      const uint32_t e = net.split_edge_[id];
      const double old_cap = net.cap_[e];
      net.cap_[e] = kInf;
      net.RunDinic();
      const double fv = net.flow_value_;
      net.cap_[e] = old_cap;
      net.flow_ = saved_flow;
      net.flow_value_ = f;
      result.criticality[id] = fv > 0.0 && std::isfinite(fv) ? std::clamp(1.0 - f / fv, 0.0, 1.0)
                                                             : (std::isfinite(fv) ? 0.0 : 1.0);
    }
  }
  if (!skip_tension_) {
    RUVECTOR_ASSIGN_OR_RETURN(result.tension, ComputeTension(dag));
  }
  return result;
}

Result<MinCutResult> MinCutEngine::Analyze(const QueryDag& dag, CapacityMode mode) const {
  RUVECTOR_ASSIGN_OR_RETURN(std::vector<double> caps, ComputeCapacities(dag, mode));
  MinCutEngine inner(options_);
  // The kBottleneck cut is the tension's cut: reuse it instead of a second flow.
  inner.skip_tension_ = mode == CapacityMode::kBottleneck;
  RUVECTOR_ASSIGN_OR_RETURN(MinCutResult result, inner.AnalyzeWithCapacities(dag, caps));
  if (inner.skip_tension_) result.tension = TensionForCut(dag, result.cut_nodes, options_);
  result.custom_capacities = false;
  result.mode = mode;
  return result;
}

Result<TensionReport> MinCutEngine::ComputeTension(const QueryDag& dag) const {
  RUVECTOR_ASSIGN_OR_RETURN(std::vector<double> caps,
                            ComputeCapacities(dag, CapacityMode::kBottleneck));
  if (!mincut_internal::DinicForced()) {
    MinCutResult cut;
    if (mincut_internal::TreeMinCut(dag, caps, /*compute_criticality=*/false, &cut)) {
      return TensionForCut(dag, cut.cut_nodes, options_);
    }
  }
  RUVECTOR_ASSIGN_OR_RETURN(DynamicMinCut net, DynamicMinCut::Build(dag, caps));
  return TensionForCut(dag, net.CutNodes(), options_);
}

TensionReport TensionForCut(const QueryDag& dag, const std::vector<NodeId>& cut,
                            const MinCutOptions& options) {
  const std::vector<double> work = OperatorWork(dag);
  double total = 0.0;
  for (double w : work) total += w;

  TensionReport r;
  // Misestimation: work-weighted mean of log10 q-error over nodes with
  // actual rows (uniform weights if they all did zero work).
  double wsum = 0.0, acc = 0.0, usum = 0.0, uacc = 0.0;
  dag.ForEachNode([&](const OperatorNode& n) {
    if (!n.actual_rows.has_value()) return;
    ++r.nodes_with_actuals;
    const double lq = std::log10(QError(n));
    wsum += work[n.id];
    acc += work[n.id] * lq;
    usum += 1.0;
    uacc += lq;
  });
  double mean_log_q = 0.0;
  if (wsum > 0.0) {
    mean_log_q = acc / wsum;
  } else if (usum > 0.0) {
    mean_log_q = uacc / usum;
  }
  r.misestimation = mean_log_q / (mean_log_q + options.misestimation_scale);

  // Concentration: the cut's work share above its fair share |cut| / n.
  double cut_work = 0.0;
  for (NodeId id : cut) cut_work += work[id];
  r.cut_work_share = total > 0.0 ? std::clamp(cut_work / total, 0.0, 1.0) : 0.0;
  const double fair = static_cast<double>(cut.size()) / static_cast<double>(dag.node_count());
  r.concentration = fair >= 1.0 ? 0.0 : std::clamp((r.cut_work_share - fair) / (1.0 - fair), 0.0, 1.0);

  const double a = options.tension_misestimation_weight;
  const double b = options.tension_concentration_weight;
  r.tension = std::clamp((a * r.misestimation + b * r.concentration) / (a + b), 0.0, 1.0);
  return r;
}

Result<BottleneckAnalysis> MinCutEngine::AnalyzeBottlenecks(const QueryDag& dag,
                                                            CapacityMode mode) const {
  BottleneckAnalysis out;
  RUVECTOR_ASSIGN_OR_RETURN(out.cut, Analyze(dag, mode));
  MinCutResult bn_storage;
  const MinCutResult* bn = &out.cut;
  if (mode != CapacityMode::kBottleneck || !options_.compute_criticality) {
    MinCutOptions o = options_;
    o.compute_criticality = true;
    RUVECTOR_ASSIGN_OR_RETURN(bn_storage, MinCutEngine(o).Analyze(dag, CapacityMode::kBottleneck));
    bn = &bn_storage;
  }
  const std::vector<double> work = OperatorWork(dag);
  double total = 0.0;
  for (double w : work) total += w;
  auto share = [&](NodeId id) { return total > 0.0 ? work[id] / total : 0.0; };
  const bool measured = HasCompleteActualTimes(dag);
  const std::string work_word = measured ? "of measured time" : "of estimated cost";

  std::vector<bool> in_cut(dag.id_bound(), false);
  for (NodeId id : bn->cut_nodes) in_cut[id] = true;

  for (NodeId id : dag.NodeIds()) {
    const OperatorNode& n = *dag.node(id);
    const double s = share(id);
    const double crit = bn->criticality[id];
    const bool hit = (in_cut[id] && s >= options_.bottleneck_share_threshold) ||
                     (crit >= options_.criticality_threshold && crit > 0.0);
    if (!hit) continue;
    Bottleneck b;
    b.node = id;
    b.type = n.type;
    b.work_share = s;
    b.criticality = crit;
    b.q_error = QError(n);
    b.in_cut = in_cut[id];
    const std::string where = NodeLabel(dag, id) + " takes " + Fmt(100.0 * s) + "% " + work_word +
                              (b.in_cut ? " and is in the bottleneck cut" : "") +
                              (crit > 0.0 ? " (criticality " + Fmt(crit) + ")" : "");
    const double q_thr = options_.misestimate_q_threshold;
    const double rows = RowsOf(n);
    const double bytes = std::max(0.0, rows) * std::max(1.0, n.width);
    const std::vector<NodeId>& inputs = dag.parents(id);
    const OperatorNode* outer = inputs.empty() ? nullptr : dag.node(inputs[0]);
    const OperatorNode* inner = inputs.size() < 2 ? nullptr : dag.node(inputs[1]);
    const bool memory_op = n.type == OperatorType::kSort || n.type == OperatorType::kIncrementalSort ||
                           n.type == OperatorType::kHash || n.type == OperatorType::kMaterialize ||
                           n.type == OperatorType::kSetOp || n.type == OperatorType::kWindowAgg ||
                           (n.type == OperatorType::kAggregate && n.detail == "Hashed");
    if (n.type == OperatorType::kNestedLoop && outer != nullptr &&
        (QError(*outer) >= q_thr || (inner != nullptr && Loops(*inner) >= 1000.0))) {
      b.action = SuggestedAction::kUseHashJoin;
      b.reason = where + "; its outer input " + NodeLabel(dag, inputs[0]) + " has rows q-error " +
                 Fmt(QError(*outer)) +
                 (inner != nullptr ? " and the inner side ran " + Fmt(Loops(*inner)) + " loops" : "") +
                 ": a hash join (or ANALYZE on the outer relation) avoids the repeated inner scans";
    } else if (memory_op && bytes > options_.work_mem_bytes) {
      b.action = SuggestedAction::kRaiseWorkMem;
      b.reason = where + "; it holds about " + Fmt(bytes / 1024.0) + " kB, above work_mem (" +
                 Fmt(options_.work_mem_bytes / 1024.0) + " kB), so it spills to disk";
    } else if (n.type == OperatorType::kHnswScan &&
               (n.parameter < options_.min_ef_search ||
                (n.actual_rows.has_value() && *n.actual_rows < n.estimated_rows))) {
      b.action = SuggestedAction::kRaiseEfSearch;
      b.reason = where + "; ef_search = " + std::to_string(n.parameter) +
                 (n.actual_rows.has_value() ? " returned " + Fmt(*n.actual_rows) + " of " +
                                                  Fmt(n.estimated_rows) + " expected rows"
                                            : std::string(" is below ") +
                                                  std::to_string(options_.min_ef_search));
    } else if (n.type == OperatorType::kIvfFlatScan && n.actual_rows.has_value() &&
               *n.actual_rows < n.estimated_rows) {
      b.action = SuggestedAction::kRaiseNprobe;
      b.reason = where + "; nprobe = " + std::to_string(n.parameter) + " returned " +
                 Fmt(*n.actual_rows) + " of " + Fmt(n.estimated_rows) + " expected rows";
    } else if (n.type == OperatorType::kSeqScan && !n.predicate.empty()) {
      b.action = SuggestedAction::kAddIndex;
      b.reason = where + "; it filters '" + n.predicate + "' row by row (" + Fmt(rows) +
                 " rows kept): an index on the filtered columns avoids reading the whole of " +
                 n.relation;
    } else if (b.q_error >= q_thr) {
      b.action = SuggestedAction::kRunAnalyze;
      b.reason = where + "; estimated " + Fmt(n.estimated_rows) + " rows, actual " +
                 Fmt(n.actual_rows.value_or(0.0)) + " (q-error " + Fmt(b.q_error) +
                 "): statistics are stale or columns are correlated (ANALYZE, extended statistics)";
    } else if ((IsScan(n.type) || n.type == OperatorType::kAggregate) &&
               rows * Loops(n) >= kParallelRowsThreshold && !HasGatherAbove(dag, id)) {
      b.action = SuggestedAction::kAddParallelism;
      b.reason = where + "; it processes " + Fmt(rows * Loops(n)) +
                 " rows without a Gather above it: parallel workers could share it";
    } else {
      b.action = SuggestedAction::kReviewOperator;
      b.reason = where + "; no specific rule applies";
    }
    out.bottlenecks.push_back(std::move(b));
  }
  std::stable_sort(out.bottlenecks.begin(), out.bottlenecks.end(),
                   [](const Bottleneck& x, const Bottleneck& y) {
                     if (x.work_share != y.work_share) return x.work_share > y.work_share;
                     return x.node < y.node;
                   });

  // Redundancy suggestions, derived from the plan.
  std::vector<RedundancySuggestion>& red = out.redundancy;
  for (NodeId id : dag.NodeIds()) {
    const OperatorNode& n = *dag.node(id);
    if (n.type == OperatorType::kMaterialize || n.type == OperatorType::kMemoize) continue;
    const size_t consumers = dag.children(id).size();
    // Parameterized lookups (index scans under a nested loop) differ per
    // loop, so only other re-executed operators are materialization candidates.
    const bool parameterized = n.type == OperatorType::kIndexScan ||
                               n.type == OperatorType::kIndexOnlyScan ||
                               n.type == OperatorType::kBitmapIndexScan ||
                               n.type == OperatorType::kBitmapHeapScan;
    if (Loops(n) >= kMaterializeLoopsThreshold && !parameterized) {
      red.push_back({RedundancyKind::kMaterialize, {id},
                     NodeLabel(dag, id) + " is re-executed " + Fmt(Loops(n)) +
                         " times: materialize or memoize its result"});
    } else if (consumers >= 2) {
      red.push_back({RedundancyKind::kMaterialize, {id},
                     NodeLabel(dag, id) + " feeds " + std::to_string(consumers) +
                         " operators: compute it once and share the materialized result"});
    }
  }
  auto critical = dag.ComputeCriticalPath([&](const OperatorNode& n) { return work[n.id]; });
  if (critical.ok()) {
    for (NodeId id : critical->nodes) {
      const OperatorType t = dag.node(id)->type;
      if (t == OperatorType::kIndexScan || t == OperatorType::kBitmapHeapScan ||
          t == OperatorType::kIndexOnlyScan) {
        red.push_back({RedundancyKind::kPrefetch, {id},
                       NodeLabel(dag, id) + " reads pages in random order on the critical path: "
                                            "prefetch (effective_io_concurrency) or a warm cache "
                                            "hides its latency"});
      }
    }
  }
  if (bn->cut_nodes.size() == 1 && dag.node_count() > 1) {
    const NodeId id = bn->cut_nodes[0];
    if (bn->criticality[id] >= options_.criticality_threshold) {
      red.push_back({RedundancyKind::kReplicate, {id},
                     NodeLabel(dag, id) + " alone carries every data path (criticality " +
                         Fmt(bn->criticality[id]) + "): replicate or parallelize it"});
    }
  }
  for (NodeId id : bn->cut_nodes) {
    const OperatorType t = dag.node(id)->type;
    if (!IsJoin(t) && t != OperatorType::kSeqScan) continue;
    if (share(id) < options_.bottleneck_share_threshold) continue;
    std::string alt = t == OperatorType::kSeqScan ? "an index or bitmap scan"
                      : t == OperatorType::kNestedLoop ? "a hash or merge join"
                      : t == OperatorType::kHashJoin  ? "a merge join on sorted inputs or a nested loop with an index"
                                                      : "a hash join";
    red.push_back({RedundancyKind::kAlternativePath, {id},
                   NodeLabel(dag, id) + " is in the bottleneck cut: " + alt +
                       " gives the data an alternative path around it"});
  }
  std::stable_sort(red.begin(), red.end(), [](const RedundancySuggestion& x, const RedundancySuggestion& y) {
    if (x.kind != y.kind) return x.kind < y.kind;
    return x.nodes.front() < y.nodes.front();
  });
  return out;
}

}  // namespace ruvector_dag

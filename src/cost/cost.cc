// Cost models (PostgreSQL, embedded, chip) and DAG cost analysis. Every
// formula here is written out in docs/cost.md; keep the two in sync.
#include "ruvector_dag/cost.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

namespace ruvector_dag {
namespace {

// Row width assumed when the plan does not say (bytes).
constexpr double kDefaultWidth = 32.0;
// Heap tuple overhead per row (header + item pointer), bytes.
constexpr double kTupleOverhead = 28.0;
// Index tuple size per row, bytes.
constexpr double kIndexTupleBytes = 20.0;
// PostgreSQL's defaults when it knows nothing: selectivity of an inequality
// (DEFAULT_INEQ_SEL), of an equality join clause (DEFAULT_EQ_SEL), number of
// distinct groups (DEFAULT_NUM_DISTINCT), and rows of an unknown relation.
constexpr double kDefaultIneqSel = 1.0 / 3.0;
constexpr double kDefaultEqSel = 0.005;
constexpr double kDefaultNumDistinct = 200.0;
constexpr double kDefaultRelationTuples = 1000.0;
// tuplesort's merge buffers: 32 blocks per input tape plus one block.
constexpr double kMergeBufferBlocks = 32.0;
constexpr double kMinMergeOrder = 6.0;
// IVF lists assumed by the embedded and chip models (PostgreSQL's is a parameter).
constexpr double kDefaultIvfLists = 100.0;

// Fraction of an IVF index an IvfFlatScan reads: nprobe / lists.
double IvfFraction(const OperatorNode& op, double lists) {
  return std::clamp(static_cast<double>(std::max<int64_t>(1, op.parameter)), 1.0, lists) / lists;
}

double Width(double w) { return w > 0.0 && std::isfinite(w) ? w : kDefaultWidth; }

// Number of predicate clauses: 0 for none, else 1 + the number of " AND ".
double NumQuals(const std::string& predicate) {
  if (predicate.empty()) return 0.0;
  std::string upper(predicate.size(), ' ');
  std::transform(predicate.begin(), predicate.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  double n = 1.0;
  for (size_t pos = upper.find(" AND "); pos != std::string::npos; pos = upper.find(" AND ", pos + 5)) {
    n += 1.0;
  }
  return n;
}

double InputRows(const CostContext& ctx, size_t i) {
  return i < ctx.input_rows.size() ? std::max(0.0, ctx.input_rows[i]) : 0.0;
}
double InputWidth(const CostContext& ctx, size_t i) {
  return Width(i < ctx.input_widths.size() ? ctx.input_widths[i] : 0.0);
}
double SumInputRows(const CostContext& ctx) {
  double n = 0.0;
  for (size_t i = 0; i < ctx.input_rows.size(); ++i) n += InputRows(ctx, i);
  return n;
}
// This operator's output rows: the model cardinality AnalyzeCost put in the
// context, else the plan's estimate.
double Out(const OperatorNode& op, const CostContext& ctx) {
  const double r = ctx.output_rows >= 0.0 ? ctx.output_rows : op.estimated_rows;
  return std::isfinite(r) ? std::max(0.0, r) : 0.0;
}
// Rows an operator processes: its inputs, or its own output for a leaf.
double Processed(const OperatorNode& op, const CostContext& ctx) {
  return ctx.input_rows.empty() ? Out(op, ctx) : SumInputRows(ctx);
}
double Log2AtLeast1(double x) { return std::log2(std::max(2.0, x)); }

bool IsIndexAccess(OperatorType t) {
  return t == OperatorType::kIndexScan || t == OperatorType::kIndexOnlyScan ||
         t == OperatorType::kBitmapIndexScan || t == OperatorType::kBitmapHeapScan;
}

// Size of the relation a scan reads: statistics when given, else derived
// from the output rows by inverting the default selectivity.
TableStats RelationSize(const OperatorNode& op, const CostContext& ctx, double block_size) {
  TableStats t;
  if (ctx.tables != nullptr && !op.relation.empty()) {
    auto it = ctx.tables->find(op.relation);
    if (it != ctx.tables->end()) t = it->second;
  }
  if (!(t.tuples > 0.0)) {
    const double out = std::max(1.0, Out(op, ctx));
    t.tuples = NumQuals(op.predicate) > 0.0 ? out / kDefaultIneqSel : out;
  }
  if (!(t.pages > 0.0)) {
    t.pages = std::max(1.0, std::ceil(t.tuples * (Width(op.width) + kTupleOverhead) / block_size));
  }
  if (!(t.index_pages > 0.0)) {
    t.index_pages = std::max(1.0, std::ceil(t.tuples * kIndexTupleBytes / block_size));
  }
  return t;
}

Status CheckParams(std::initializer_list<std::pair<const char*, double>> nonneg,
                   std::initializer_list<std::pair<const char*, double>> positive, const char* model) {
  for (const auto& [name, v] : nonneg) {
    if (!std::isfinite(v) || v < 0.0)
      return Status::InvalidArgument(std::string(model) + " cost parameter " + name + " = " +
                                     std::to_string(v) + ": must be finite and >= 0");
  }
  for (const auto& [name, v] : positive) {
    if (!std::isfinite(v) || v <= 0.0)
      return Status::InvalidArgument(std::string(model) + " cost parameter " + name + " = " +
                                     std::to_string(v) + ": must be finite and > 0");
  }
  return Status::Ok();
}

}  // namespace

// ------------------------------------------------------------ cardinality

double CostModel::EstimateCardinality(const OperatorNode& op, const CostContext& ctx) const {
  if (op.estimated_rows > 0.0 && std::isfinite(op.estimated_rows)) return op.estimated_rows;
  const double n = SumInputRows(ctx);
  const double first = InputRows(ctx, 0);
  const double quals = NumQuals(op.predicate);
  switch (op.type) {
    case OperatorType::kLimit:
      return op.parameter > 0 ? std::min(static_cast<double>(op.parameter), first) : first;
    case OperatorType::kFilter:
      return n * std::pow(kDefaultIneqSel, std::max(1.0, quals));
    case OperatorType::kNestedLoop:
    case OperatorType::kHashJoin:
    case OperatorType::kMergeJoin: {
      const double cross = first * InputRows(ctx, 1);
      if (op.type == OperatorType::kNestedLoop && quals == 0.0) return cross;
      return cross > 0.0 ? std::max(1.0, cross * kDefaultEqSel) : 0.0;
    }
    case OperatorType::kAggregate:
      if (op.detail == "Hashed" || op.detail == "Sorted" || op.detail == "Mixed")
        return std::min(kDefaultNumDistinct, n);
      return 1.0;
    case OperatorType::kGroup:
    case OperatorType::kGroupBy:
    case OperatorType::kUnique:
    case OperatorType::kSetOp:
      return std::min(kDefaultNumDistinct, n);
    case OperatorType::kHnswScan:
    case OperatorType::kIvfFlatScan:
      return op.parameter > 0 ? static_cast<double>(op.parameter) : 10.0;
    default:
      break;
  }
  if (ctx.input_rows.empty()) {
    if (IsScan(op.type)) {
      double tuples = kDefaultRelationTuples;
      if (ctx.tables != nullptr) {
        auto it = ctx.tables->find(op.relation);
        if (it != ctx.tables->end() && it->second.tuples > 0.0) tuples = it->second.tuples;
      }
      return tuples * (quals > 0.0 ? std::pow(kDefaultIneqSel, quals) : 1.0);
    }
    return 1.0;  // Result without input: one row
  }
  return n;  // pass-through operators (Sort, Hash, Gather, Append, Project, ...)
}

// ------------------------------------------------------------ PostgreSQL

PostgresCostModel::PostgresCostModel() = default;

Result<PostgresCostModel> PostgresCostModel::Create(const PostgresCostParams& p) {
  RUVECTOR_RETURN_IF_ERROR(CheckParams(
      {{"seq_page_cost", p.seq_page_cost},
       {"random_page_cost", p.random_page_cost},
       {"cpu_tuple_cost", p.cpu_tuple_cost},
       {"cpu_index_tuple_cost", p.cpu_index_tuple_cost},
       {"cpu_operator_cost", p.cpu_operator_cost},
       {"parallel_tuple_cost", p.parallel_tuple_cost},
       {"parallel_setup_cost", p.parallel_setup_cost},
       {"vector_distance_factor", p.vector_distance_factor},
       {"rerank_cost_per_row", p.rerank_cost_per_row}},
      {{"work_mem_kb", p.work_mem_kb},
       {"block_size", p.block_size},
       {"hnsw_nodes_per_page", p.hnsw_nodes_per_page},
       {"ivfflat_lists", p.ivfflat_lists},
       {"overhead", p.overhead}},
      "postgres"));
  return PostgresCostModel(p);
}

double PostgresCostModel::EstimateCost(const OperatorNode& op, const CostContext& ctx) const {
  const PostgresCostParams& p = p_;
  const double out = Out(op, ctx);
  const double quals = NumQuals(op.predicate);
  const double work_mem = p.work_mem_kb * 1024.0;
  auto pages_of = [&](double rows, double width) { return std::ceil(rows * Width(width) / p.block_size); };
  // cost_sort: comparisons N log2 N at 2 * cpu_operator_cost, plus an
  // external merge when the input exceeds work_mem.
  auto sort_cost = [&](double n, double width) {
    n = std::max(2.0, n);
    double cost = 2.0 * p.cpu_operator_cost * n * std::log2(n) + p.cpu_operator_cost * n;
    const double bytes = n * Width(width);
    if (bytes > work_mem) {
      const double npages = std::ceil(bytes / p.block_size);
      const double nruns = bytes / work_mem;
      const double merge_order = std::max(
          kMinMergeOrder, std::floor(work_mem / ((kMergeBufferBlocks + 1.0) * p.block_size)));
      const double log_runs = nruns > merge_order ? std::ceil(std::log(nruns) / std::log(merge_order)) : 1.0;
      const double page_accesses = 2.0 * npages * log_runs;
      cost += page_accesses * (0.75 * p.seq_page_cost + 0.25 * p.random_page_cost);
    }
    return cost;
  };
  const double n = Processed(op, ctx);
  switch (op.type) {
    case OperatorType::kSeqScan:
    case OperatorType::kSampleScan:
    case OperatorType::kTidRangeScan: {
      const TableStats t = RelationSize(op, ctx, p.block_size);
      return t.pages * p.seq_page_cost + t.tuples * (p.cpu_tuple_cost + quals * p.cpu_operator_cost);
    }
    case OperatorType::kIndexScan:
    case OperatorType::kIndexOnlyScan: {
      const TableStats t = RelationSize(op, ctx, p.block_size);
      const double sel = std::min(1.0, out / std::max(1.0, t.tuples));
      const double index_pages = std::max(1.0, std::ceil(sel * t.index_pages));
      double cost = index_pages * p.random_page_cost +
                    out * (p.cpu_index_tuple_cost + std::max(1.0, quals) * p.cpu_operator_cost) +
                    out * p.cpu_tuple_cost;
      if (op.type == OperatorType::kIndexScan) cost += std::min(out, t.pages) * p.random_page_cost;
      return cost;
    }
    case OperatorType::kBitmapIndexScan: {
      const TableStats t = RelationSize(op, ctx, p.block_size);
      const double sel = std::min(1.0, out / std::max(1.0, t.tuples));
      return std::max(1.0, std::ceil(sel * t.index_pages)) * p.random_page_cost +
             out * (p.cpu_index_tuple_cost + std::max(1.0, quals) * p.cpu_operator_cost);
    }
    case OperatorType::kBitmapHeapScan: {
      const TableStats t = RelationSize(op, ctx, p.block_size);
      const double fetched_tuples = ctx.input_rows.empty() ? out : SumInputRows(ctx);
      // Mackert-Lohman style estimate of distinct heap pages touched.
      const double pages = std::min(t.pages, 2.0 * t.pages * fetched_tuples / (2.0 * t.pages + fetched_tuples));
      const double per_page = p.random_page_cost -
                              (p.random_page_cost - p.seq_page_cost) * std::sqrt(pages / t.pages);
      return pages * per_page + fetched_tuples * (p.cpu_tuple_cost + quals * p.cpu_operator_cost);
    }
    case OperatorType::kBitmapAnd:
    case OperatorType::kBitmapOr:
      return SumInputRows(ctx) * p.cpu_operator_cost;
    case OperatorType::kHnswScan: {
      const TableStats t = RelationSize(op, ctx, p.block_size);
      const double ef = std::max(1.0, static_cast<double>(op.parameter));
      const double visited = ef * Log2AtLeast1(t.tuples);
      return visited * (p.vector_distance_factor * p.cpu_operator_cost +
                        p.random_page_cost / p.hnsw_nodes_per_page) +
             out * p.cpu_tuple_cost;
    }
    case OperatorType::kIvfFlatScan: {
      const TableStats t = RelationSize(op, ctx, p.block_size);
      const double frac = IvfFraction(op, p.ivfflat_lists);
      return frac * t.pages * p.seq_page_cost +
             frac * t.tuples * (p.vector_distance_factor * p.cpu_operator_cost + p.cpu_tuple_cost);
    }
    case OperatorType::kSort:
      return sort_cost(n, ctx.input_widths.empty() ? op.width : InputWidth(ctx, 0));
    case OperatorType::kIncrementalSort: {
      // Sorts presorted groups one at a time: groups of n / min(200, n).
      const double groups = std::max(1.0, std::min(kDefaultNumDistinct, n));
      return groups * sort_cost(n / groups, op.width);
    }
    case OperatorType::kHash: {
      double cost = n * (p.cpu_operator_cost + p.cpu_tuple_cost);
      const double bytes = n * Width(op.width);
      if (bytes > work_mem) cost += pages_of(n, op.width) * p.seq_page_cost;  // batches written
      return cost;
    }
    case OperatorType::kHashJoin: {
      const double outer = InputRows(ctx, 0), inner = InputRows(ctx, 1);
      double cost = outer * p.cpu_operator_cost * std::max(1.0, quals) + out * p.cpu_tuple_cost;
      if (inner * InputWidth(ctx, 1) > work_mem) {
        cost += 2.0 * p.seq_page_cost *
                (pages_of(inner, InputWidth(ctx, 1)) + pages_of(outer, InputWidth(ctx, 0)));
      }
      return cost;
    }
    case OperatorType::kMergeJoin: {
      const double outer = InputRows(ctx, 0), inner = InputRows(ctx, 1);
      return (outer + inner) * p.cpu_operator_cost * std::max(1.0, quals) + out * p.cpu_tuple_cost;
    }
    case OperatorType::kNestedLoop: {
      const double outer = InputRows(ctx, 0), inner = InputRows(ctx, 1);
      double cost = outer * inner * quals * p.cpu_operator_cost + out * p.cpu_tuple_cost;
      const bool inner_measured = ctx.input_loops_measured.size() > 1 && ctx.input_loops_measured[1];
      if (ctx.input_subtree_costs.size() > 1 && !inner_measured) {
        cost += std::max(0.0, outer - 1.0) * ctx.input_subtree_costs[1];  // rescans
      }
      return cost;
    }
    case OperatorType::kMaterialize: {
      double cost = 2.0 * p.cpu_operator_cost * n;
      if (n * Width(op.width) > work_mem) cost += pages_of(n, op.width) * p.seq_page_cost;
      return cost;
    }
    case OperatorType::kMemoize:
      return p.cpu_operator_cost * n;
    case OperatorType::kAggregate:
    case OperatorType::kGroup:
    case OperatorType::kGroupBy: {
      const double nkeys = std::max(1.0, static_cast<double>(op.keys.size()));
      const bool hashed = op.detail == "Hashed" || op.detail == "Mixed";
      double cost = n * p.cpu_operator_cost * (nkeys + (hashed ? 1.0 : 0.0)) + out * p.cpu_tuple_cost;
      if (hashed && out * Width(op.width) > work_mem) cost += 2.0 * pages_of(n, op.width) * p.seq_page_cost;
      return cost;
    }
    case OperatorType::kWindowAgg:
    case OperatorType::kUnique:
    case OperatorType::kSetOp: {
      const double nkeys = std::max(1.0, static_cast<double>(op.keys.size()));
      return n * p.cpu_operator_cost * nkeys + out * p.cpu_tuple_cost;
    }
    case OperatorType::kLimit:
      return 0.0;  // PostgreSQL charges a Limit nothing of its own
    case OperatorType::kGather:
    case OperatorType::kGatherMerge:
      return p.parallel_setup_cost + out * p.parallel_tuple_cost;
    case OperatorType::kFilter:
      return n * std::max(1.0, quals) * p.cpu_operator_cost;
    case OperatorType::kVectorDistance:
      return n * p.vector_distance_factor * p.cpu_operator_cost;
    case OperatorType::kRerank:
      return n * p.rerank_cost_per_row;
    default:
      // Result, Project, ProjectSet, Append, scans of functions/values/CTEs,
      // LockRows, ModifyTable, ...: one cpu_tuple_cost per row handled.
      return std::max(n, out) * p.cpu_tuple_cost;
  }
}

// ------------------------------------------------------------ embedded

EmbeddedCostModel::EmbeddedCostModel() = default;

Result<EmbeddedCostModel> EmbeddedCostModel::Create(const EmbeddedCostParams& p) {
  RUVECTOR_RETURN_IF_ERROR(CheckParams(
      {{"flash_latency_ns", p.flash_latency_ns},
       {"cpu_ns_per_row", p.cpu_ns_per_row},
       {"cpu_ns_per_comparison", p.cpu_ns_per_comparison}},
      {{"ram_kb", p.ram_kb},
       {"ram_bandwidth_mb_s", p.ram_bandwidth_mb_s},
       {"flash_page_bytes", p.flash_page_bytes},
       {"flash_bandwidth_mb_s", p.flash_bandwidth_mb_s},
       {"overhead", p.overhead}},
      "embedded"));
  return EmbeddedCostModel(p);
}

double EmbeddedCostModel::EstimateCost(const OperatorNode& op, const CostContext& ctx) const {
  const EmbeddedCostParams& p = p_;
  // Bandwidths in bytes per ns: MB/s * 1e6 / 1e9.
  const double ram_bpns = p.ram_bandwidth_mb_s * 1e-3;
  const double flash_bpns = p.flash_bandwidth_mb_s * 1e-3;
  const double ram_bytes = p.ram_kb * 1024.0;
  auto flash_read_ns = [&](double bytes, double page_reads) {
    return page_reads * p.flash_latency_ns + bytes / flash_bpns;
  };
  // Writing and reading back a working set that does not fit in RAM.
  auto spill_ns = [&](double bytes) {
    if (bytes <= ram_bytes) return 0.0;
    return 2.0 * flash_read_ns(bytes, std::ceil(bytes / p.flash_page_bytes));
  };
  const double out = Out(op, ctx);
  const double width = Width(op.width);
  const double n = Processed(op, ctx);
  double in_bytes = 0.0;
  for (size_t i = 0; i < ctx.input_rows.size(); ++i) in_bytes += InputRows(ctx, i) * InputWidth(ctx, i);
  const double out_bytes = out * width;
  double ns = 0.0;
  if (IsScan(op.type) && ctx.input_rows.empty() && !IsIndexAccess(op.type) &&
      op.type != OperatorType::kHnswScan) {
    // Base data streams from flash (an IVF scan reads nprobe/lists of it and
    // computes one distance per tuple read).
    const TableStats t = RelationSize(op, ctx, p.flash_page_bytes);
    const bool ivf = op.type == OperatorType::kIvfFlatScan;
    const double tuples = ivf ? t.tuples * IvfFraction(op, kDefaultIvfLists) : t.tuples;
    const double bytes = tuples * width;
    ns = flash_read_ns(bytes, std::ceil(bytes / p.flash_page_bytes)) + tuples * p.cpu_ns_per_row +
         tuples * (NumQuals(op.predicate) + (ivf ? 1.0 : 0.0)) * p.cpu_ns_per_comparison;
  } else if (IsIndexAccess(op.type) || op.type == OperatorType::kHnswScan) {
    // Random page reads: one per output tuple, at most the relation's pages.
    const TableStats t = RelationSize(op, ctx, p.flash_page_bytes);
    double reads = std::min(std::max(out, 1.0), t.pages);
    if (op.type == OperatorType::kHnswScan) {
      reads = std::max(1.0, static_cast<double>(op.parameter)) * Log2AtLeast1(t.tuples);
    }
    ns = flash_read_ns(reads * p.flash_page_bytes, reads) + out * p.cpu_ns_per_row;
  } else {
    // In-RAM operator: move its input and output through RAM, touch every row.
    ns = (in_bytes + out_bytes) / ram_bpns + std::max(n, out) * p.cpu_ns_per_row;
    switch (op.type) {
      case OperatorType::kSort:
      case OperatorType::kIncrementalSort:
        ns += std::max(2.0, n) * Log2AtLeast1(n) * p.cpu_ns_per_comparison + spill_ns(in_bytes);
        break;
      case OperatorType::kHash:
      case OperatorType::kMaterialize:
        ns += spill_ns(in_bytes);
        break;
      case OperatorType::kHashJoin:
        ns += InputRows(ctx, 0) * p.cpu_ns_per_comparison +
              spill_ns(InputRows(ctx, 1) * InputWidth(ctx, 1));
        break;
      case OperatorType::kMergeJoin:
        ns += SumInputRows(ctx) * p.cpu_ns_per_comparison;
        break;
      case OperatorType::kNestedLoop:
        ns += InputRows(ctx, 0) * InputRows(ctx, 1) * p.cpu_ns_per_comparison;
        break;
      case OperatorType::kAggregate:
      case OperatorType::kGroup:
      case OperatorType::kGroupBy:
        ns += n * p.cpu_ns_per_comparison + (op.detail == "Hashed" ? spill_ns(out_bytes) : 0.0);
        break;
      case OperatorType::kFilter:
        ns += n * std::max(1.0, NumQuals(op.predicate)) * p.cpu_ns_per_comparison;
        break;
      default:
        break;
    }
  }
  return ns / 1000.0;  // microseconds
}

// ------------------------------------------------------------ chip

ChipCostModel::ChipCostModel() = default;

Result<ChipCostModel> ChipCostModel::Create(const ChipCostParams& p) {
  RUVECTOR_RETURN_IF_ERROR(CheckParams(
      {{"pipeline_depth", p.pipeline_depth},
       {"branch_mispredict_rate", p.branch_mispredict_rate},
       {"miss_latency_cycles", p.miss_latency_cycles},
       {"stream_cycles_per_line", p.stream_cycles_per_line}},
      {{"clock_mhz", p.clock_mhz},
       {"cache_line_bytes", p.cache_line_bytes},
       {"cache_bytes", p.cache_bytes},
       {"overhead", p.overhead}},
      "chip"));
  if (p.branch_mispredict_rate > 1.0) {
    return Status::InvalidArgument("chip cost parameter branch_mispredict_rate = " +
                                   std::to_string(p.branch_mispredict_rate) + ": must be <= 1");
  }
  for (size_t i = 0; i < kChipOpClassCount; ++i) {
    if (!std::isfinite(p.cycles_per_tuple[i]) || p.cycles_per_tuple[i] < 0.0) {
      return Status::InvalidArgument("chip cost parameter cycles_per_tuple[" + std::to_string(i) +
                                     "] must be finite and >= 0");
    }
  }
  return ChipCostModel(p);
}

double ChipCostModel::EstimateCycles(const OperatorNode& op, const CostContext& ctx) const {
  const ChipCostParams& p = p_;
  auto cpt = [&](ChipOpClass c) { return p.cycles_per_tuple[static_cast<size_t>(c)]; };
  const double mispredict = p.branch_mispredict_rate * p.pipeline_depth;  // per branch
  auto stream = [&](double bytes) { return std::ceil(bytes / p.cache_line_bytes) * p.stream_cycles_per_line; };
  // A random access misses the cache when the structure it lands in does
  // not fit: one miss_latency per access.
  auto random = [&](double accesses, double structure_bytes) {
    return structure_bytes > p.cache_bytes ? accesses * p.miss_latency_cycles : 0.0;
  };
  const double out = Out(op, ctx);
  const double width = Width(op.width);
  const double n = Processed(op, ctx);
  const double quals = NumQuals(op.predicate);
  switch (op.type) {
    case OperatorType::kIndexScan:
    case OperatorType::kIndexOnlyScan:
    case OperatorType::kBitmapIndexScan:
    case OperatorType::kBitmapHeapScan: {
      const TableStats t = RelationSize(op, ctx, 8192.0);
      return out * cpt(ChipOpClass::kIndex) + out * quals * (cpt(ChipOpClass::kFilter) + mispredict) +
             random(out * Log2AtLeast1(t.tuples), t.tuples * width);
    }
    case OperatorType::kHnswScan: {
      const TableStats t = RelationSize(op, ctx, 8192.0);
      const double visited = std::max(1.0, static_cast<double>(op.parameter)) * Log2AtLeast1(t.tuples);
      return visited * cpt(ChipOpClass::kVector) + random(visited, t.tuples * width) +
             out * cpt(ChipOpClass::kOther);
    }
    case OperatorType::kHash:
      return n * cpt(ChipOpClass::kHashBuild) + random(n, n * width);
    case OperatorType::kHashJoin: {
      const double outer = InputRows(ctx, 0), inner = InputRows(ctx, 1);
      return outer * (cpt(ChipOpClass::kHashProbe) + mispredict) +
             random(outer, inner * InputWidth(ctx, 1)) + out * cpt(ChipOpClass::kOther);
    }
    case OperatorType::kMergeJoin:
      return SumInputRows(ctx) * (cpt(ChipOpClass::kSortCompare) + mispredict) + out * cpt(ChipOpClass::kOther);
    case OperatorType::kNestedLoop: {
      const double pairs = InputRows(ctx, 0) * InputRows(ctx, 1);
      return pairs * quals * (cpt(ChipOpClass::kFilter) + mispredict) + out * cpt(ChipOpClass::kOther);
    }
    case OperatorType::kSort:
    case OperatorType::kIncrementalSort: {
      const double m = std::max(2.0, n);
      const double bytes = m * width;
      // Each merge pass beyond the cache streams the data once more.
      const double passes = bytes > p.cache_bytes ? std::ceil(std::log2(bytes / p.cache_bytes)) : 0.0;
      return m * std::log2(m) * (cpt(ChipOpClass::kSortCompare) + mispredict) + passes * stream(bytes);
    }
    case OperatorType::kAggregate:
    case OperatorType::kGroup:
    case OperatorType::kGroupBy: {
      const double nkeys = std::max(1.0, static_cast<double>(op.keys.size()));
      double c = n * nkeys * cpt(ChipOpClass::kAggregate);
      if (op.detail == "Hashed" || op.detail == "Mixed") {
        c += n * cpt(ChipOpClass::kHashProbe) + random(n, out * width);
      }
      return c;
    }
    case OperatorType::kFilter:
      return n * std::max(1.0, quals) * (cpt(ChipOpClass::kFilter) + mispredict);
    case OperatorType::kVectorDistance:
      return n * cpt(ChipOpClass::kVector);
    case OperatorType::kRerank:
      return n * 10.0 * cpt(ChipOpClass::kVector);
    default:
      break;
  }
  if (IsScan(op.type) && ctx.input_rows.empty()) {
    const TableStats t = RelationSize(op, ctx, 8192.0);
    const bool ivf = op.type == OperatorType::kIvfFlatScan;
    const double tuples = ivf ? t.tuples * IvfFraction(op, kDefaultIvfLists) : t.tuples;
    double c = tuples * cpt(ChipOpClass::kScan) + stream(tuples * width) +
               tuples * quals * (cpt(ChipOpClass::kFilter) + mispredict);
    if (ivf) c += tuples * cpt(ChipOpClass::kVector);
    return c;
  }
  return std::max(n, out) * cpt(ChipOpClass::kOther);
}

double ChipCostModel::EstimateCost(const OperatorNode& op, const CostContext& ctx) const {
  return EstimateCycles(op, ctx) / p_.clock_mhz;  // cycles / (cycles per us)
}

// ------------------------------------------------------------ analysis

Result<CostAnalysis> AnalyzeCost(const QueryDag& dag, const CostModel& model,
                                 const std::map<std::string, TableStats, std::less<>>* tables) {
  if (dag.empty()) return Status::FailedPrecondition("cost analysis of an empty DAG");
  const double overhead = model.PlatformOverhead();
  if (!std::isfinite(overhead) || overhead < 0.0) {
    return Status::InvalidArgument("cost model '" + std::string(model.name()) +
                                   "' has a platform overhead that is negative or not finite");
  }
  CostAnalysis a;
  a.model = std::string(model.name());
  a.unit = std::string(model.unit());
  const NodeId bound = dag.id_bound();
  a.cardinality.assign(bound, 0.0);
  a.cost.assign(bound, 0.0);
  std::vector<double> subtree(bound, 0.0);  // one execution of the subtree
  CostContext ctx;
  ctx.tables = tables;
  for (NodeId id : dag.TopologicalSort()) {
    const OperatorNode& n = *dag.node(id);
    ctx.input_rows.clear();
    ctx.input_widths.clear();
    ctx.input_subtree_costs.clear();
    ctx.input_loops_measured.clear();
    double inputs_cost = 0.0;
    for (NodeId in : dag.parents(id)) {
      const OperatorNode& p = *dag.node(in);
      ctx.input_rows.push_back(a.cardinality[in]);
      ctx.input_widths.push_back(p.width);
      ctx.input_subtree_costs.push_back(subtree[in]);
      ctx.input_loops_measured.push_back(p.actual_loops.has_value());
      inputs_cost += subtree[in];
    }
    if (!std::isfinite(n.estimated_rows) || n.estimated_rows < 0.0 || !std::isfinite(n.width) ||
        n.width < 0.0) {
      return Status::InvalidArgument("node " + std::to_string(id) + " (" +
                                     std::string(OperatorTypeName(n.type)) +
                                     ") has estimated_rows or width that is negative or not finite");
    }
    ctx.output_rows = -1.0;
    const double rows = model.EstimateCardinality(n, ctx);
    ctx.output_rows = rows;
    const double own = model.EstimateCost(n, ctx);
    auto where = [&] {
      return "cost model '" + std::string(model.name()) + "' on node " + std::to_string(id) + " (" +
             std::string(OperatorTypeName(n.type)) + ")";
    };
    if (!std::isfinite(rows) || rows < 0.0) {
      return Status::InvalidArgument(where() + " gave cardinality " + std::to_string(rows) +
                                     ": check the node's estimated_rows");
    }
    if (!std::isfinite(own) || own < 0.0) {
      return Status::InvalidArgument(where() + " gave cost " + std::to_string(own) +
                                     ": check the node's rows, width and parameter");
    }
    a.cardinality[id] = rows;
    const double loops = n.actual_loops.has_value() && *n.actual_loops > 0 ? *n.actual_loops : 1.0;
    a.cost[id] = own * loops * overhead;
    subtree[id] = own + inputs_cost;
    a.total += a.cost[id];
  }
  RUVECTOR_ASSIGN_OR_RETURN(a.critical_path,
                            dag.ComputeCriticalPath([&](const OperatorNode& n) { return a.cost[n.id]; }));
  return a;
}

}  // namespace ruvector_dag

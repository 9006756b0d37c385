// Cost models: estimate an operator's cost and cardinality on a platform.
//
// A CostModel prices one execution of one operator given its inputs'
// cardinalities (CostContext). Three models ship: PostgresCostModel (the
// planner's cost units, in the spirit of PostgreSQL's costsize.c),
// EmbeddedCostModel (memory/flash bound, microseconds) and ChipCostModel
// (cycle-level, microseconds at a clock). AnalyzeCost prices a whole DAG with
// any model. Every formula is written out in docs/cost.md.
//
// Thread-safety: models are immutable after Create; const methods may run
// concurrently. Complexity: EstimateCost/EstimateCardinality O(1) (plus the
// predicate length); AnalyzeCost O((V+E) log V).
#ifndef RUVECTOR_DAG_COST_H_
#define RUVECTOR_DAG_COST_H_

#include <array>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag {

/// Statistics of one relation (pg_class.reltuples / relpages and the size of
/// the index a scan uses). Zero means unknown.
struct TableStats {
  double tuples = 0.0;
  double pages = 0.0;
  double index_pages = 0.0;
};

/// What a model may know about an operator's surroundings.
struct CostContext {
  /// Output cardinality of each input (one execution), in input order
  /// (outer first for joins).
  std::vector<double> input_rows;
  /// Average row width of each input in bytes (0 = unknown).
  std::vector<double> input_widths;
  /// Cumulative cost of each input's subtree (one execution), in the model's
  /// unit; used to price nested-loop rescans.
  std::vector<double> input_subtree_costs;
  /// Whether each input's re-executions are already charged (the input has
  /// measured actual_loops); if not, a nested loop charges the rescans.
  std::vector<bool> input_loops_measured;
  /// This operator's output rows (AnalyzeCost sets it from
  /// EstimateCardinality); < 0 means use op.estimated_rows.
  double output_rows = -1.0;
  /// Optional per-relation statistics keyed by relation name (not owned;
  /// nullptr = derive sizes from the plan, see docs/cost.md).
  const std::map<std::string, TableStats, std::less<>>* tables = nullptr;
};

/// Interface of all cost models.
class CostModel {
 public:
  virtual ~CostModel() = default;
  /// "postgres", "embedded", "chip".
  virtual std::string_view name() const = 0;
  /// Unit of EstimateCost: "pg_cost" or "us".
  virtual std::string_view unit() const = 0;
  /// Own cost of one execution of `op` (inputs excluded), >= 0.
  virtual double EstimateCost(const OperatorNode& op, const CostContext& ctx) const = 0;
  /// Output rows of one execution. Default: op.estimated_rows when > 0 (the
  /// planner knows best), otherwise derived from the inputs with
  /// PostgreSQL's default selectivities (docs/cost.md, "Cardinality").
  virtual double EstimateCardinality(const OperatorNode& op, const CostContext& ctx) const;
  /// Factor applied to every cost by AnalyzeCost (scheduling, interrupts,
  /// bus contention on the platform). Default 1.
  virtual double PlatformOverhead() const { return 1.0; }
};

/// PostgreSQL planner parameters (same names and defaults as the GUCs).
struct PostgresCostParams {
  double seq_page_cost = 1.0;
  double random_page_cost = 4.0;
  double cpu_tuple_cost = 0.01;
  double cpu_index_tuple_cost = 0.005;
  double cpu_operator_cost = 0.0025;
  double parallel_tuple_cost = 0.1;
  double parallel_setup_cost = 1000.0;
  double work_mem_kb = 4096.0;
  double block_size = 8192.0;
  /// Vector extensions: a distance costs this many cpu_operator_cost.
  double vector_distance_factor = 10.0;
  /// HNSW graph nodes per page read, IVF lists.
  double hnsw_nodes_per_page = 8.0;
  double ivfflat_lists = 100.0;
  /// Rerank: cost per row (a model call is expensive).
  double rerank_cost_per_row = 1.0;
  double overhead = 1.0;
};

class PostgresCostModel final : public CostModel {
 public:
  PostgresCostModel();  // defaults
  /// kInvalidArgument naming a parameter that is negative, zero where it
  /// must be positive, or not finite.
  static Result<PostgresCostModel> Create(const PostgresCostParams& params);
  const PostgresCostParams& params() const { return p_; }
  std::string_view name() const override { return "postgres"; }
  std::string_view unit() const override { return "pg_cost"; }
  double EstimateCost(const OperatorNode& op, const CostContext& ctx) const override;
  double PlatformOverhead() const override { return p_.overhead; }

 private:
  explicit PostgresCostModel(const PostgresCostParams& p) : p_(p) {}
  PostgresCostParams p_;
};

/// A memory-bound device: base data on flash, working memory in a small RAM.
struct EmbeddedCostParams {
  double ram_kb = 512.0;
  double ram_bandwidth_mb_s = 400.0;
  double flash_latency_ns = 100000.0;  // per page read (100 us)
  double flash_page_bytes = 4096.0;
  double flash_bandwidth_mb_s = 50.0;
  double cpu_ns_per_row = 50.0;         // per tuple touched
  double cpu_ns_per_comparison = 20.0;  // sort/merge comparisons, join predicates
  double overhead = 1.0;
};

class EmbeddedCostModel final : public CostModel {
 public:
  EmbeddedCostModel();
  static Result<EmbeddedCostModel> Create(const EmbeddedCostParams& params);
  const EmbeddedCostParams& params() const { return p_; }
  std::string_view name() const override { return "embedded"; }
  std::string_view unit() const override { return "us"; }
  double EstimateCost(const OperatorNode& op, const CostContext& ctx) const override;
  double PlatformOverhead() const override { return p_.overhead; }

 private:
  explicit EmbeddedCostModel(const EmbeddedCostParams& p) : p_(p) {}
  EmbeddedCostParams p_;
};

/// Operator classes the chip model prices per tuple.
enum class ChipOpClass : uint8_t {
  kScan = 0,    // sequential read of tuples
  kIndex,       // index descent per output tuple
  kFilter,      // predicate evaluation
  kHashBuild,   // insert into a hash table
  kHashProbe,   // probe a hash table (hash join, hashed aggregate)
  kSortCompare, // one comparison
  kAggregate,   // one transition-function step
  kVector,      // one vector distance
  kOther,       // projection, limit, gather, ...
};
inline constexpr size_t kChipOpClassCount = 9;

/// A pipelined core with one cache level in front of DRAM.
struct ChipCostParams {
  double clock_mhz = 1000.0;
  double pipeline_depth = 14.0;         // cycles lost per branch mispredict
  double branch_mispredict_rate = 0.05; // per data-dependent branch
  double cache_line_bytes = 64.0;
  double cache_bytes = 1024.0 * 1024.0; // last-level cache
  double miss_latency_cycles = 200.0;   // DRAM access on a random miss
  double stream_cycles_per_line = 4.0;  // prefetched sequential line
  /// Cycles per tuple per ChipOpClass (index = ChipOpClass).
  std::array<double, kChipOpClassCount> cycles_per_tuple = {4, 40, 3, 25, 20, 12, 8, 400, 2};
  double overhead = 1.0;
};

class ChipCostModel final : public CostModel {
 public:
  ChipCostModel();
  static Result<ChipCostModel> Create(const ChipCostParams& params);
  const ChipCostParams& params() const { return p_; }
  std::string_view name() const override { return "chip"; }
  std::string_view unit() const override { return "us"; }
  double EstimateCost(const OperatorNode& op, const CostContext& ctx) const override;
  /// Cycles of one execution (EstimateCost = cycles / clock_mhz).
  double EstimateCycles(const OperatorNode& op, const CostContext& ctx) const;
  double PlatformOverhead() const override { return p_.overhead; }

 private:
  explicit ChipCostModel(const ChipCostParams& p) : p_(p) {}
  ChipCostParams p_;
};

/// A DAG priced by one model. Per-id vectors have dag.id_bound() entries.
struct CostAnalysis {
  std::string model;
  std::string unit;
  /// Per id: model cardinality of one execution.
  std::vector<double> cardinality;
  /// Per id: own cost x loops (actual_loops when measured, else 1) x
  /// PlatformOverhead().
  std::vector<double> cost;
  double total = 0.0;
  /// The most expensive source-to-sink path under these costs.
  CriticalPath critical_path;
};

/// Prices every operator of `dag` in topological order (inputs first).
/// kFailedPrecondition on an empty DAG; kInvalidArgument naming the node
/// when its estimated_rows or width is negative or not finite, or when the
/// model returns a negative or non-finite cost or cardinality.
/// `tables` is passed to the model (may be nullptr).
Result<CostAnalysis> AnalyzeCost(const QueryDag& dag, const CostModel& model,
                                 const std::map<std::string, TableStats, std::less<>>* tables = nullptr);

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_COST_H_

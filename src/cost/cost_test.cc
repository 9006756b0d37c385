#include "ruvector_dag/cost.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

namespace ruvector_dag {
namespace {

using Tables = std::map<std::string, TableStats, std::less<>>;

CostContext Inputs(std::vector<double> rows, std::vector<double> widths = {}) {
  CostContext c;
  c.input_rows = std::move(rows);
  c.input_widths = std::move(widths);
  return c;
}

// ------------------------------------------------------------ PostgreSQL

TEST(PostgresCostTest, SeqScanMatchesCostsizeFormula) {
  PostgresCostModel pg;
  Tables tables{{"t", {10000, 100, 0}}};
  CostContext ctx;
  ctx.tables = &tables;
  auto scan = OperatorNode::SeqScan("t").WithEstimates(3333, 0);
  // pages * seq_page_cost + tuples * (cpu_tuple_cost + quals * cpu_operator_cost)
  EXPECT_DOUBLE_EQ(pg.EstimateCost(scan, ctx), 100 + 10000 * 0.01);  // no qual: 200
  scan.predicate = "(a > 1)";
  EXPECT_DOUBLE_EQ(pg.EstimateCost(scan, ctx), 225.0);
  scan.predicate = "((a > 1) AND (b < 2))";
  EXPECT_DOUBLE_EQ(pg.EstimateCost(scan, ctx), 250.0);
  // Parameters are honoured.
  PostgresCostParams p;
  p.seq_page_cost = 2.0;
  auto pg2 = PostgresCostModel::Create(p).value();
  EXPECT_DOUBLE_EQ(pg2.EstimateCost(scan, ctx), 350.0);
}

TEST(PostgresCostTest, SortInMemoryAndSpilled) {
  PostgresCostModel pg;
  auto sort = OperatorNode::Sort({"x"}).WithEstimates(1000, 0);
  sort.width = 100;
  // 2 * cpu_operator_cost * N log2 N + cpu_operator_cost * N
  EXPECT_NEAR(pg.EstimateCost(sort, Inputs({1000}, {100})), 52.32892142331044, 1e-9);
  // 1e6 rows x 100 B = 1e8 B > 4 MB: 12208 pages, 23.8 runs, merge order 15,
  // 2 passes: 2 * 12208 * 2 page accesses at 0.75*1 + 0.25*4.
  sort.estimated_rows = 1e6;
  EXPECT_NEAR(pg.EstimateCost(sort, Inputs({1e6}, {100})), 102157.84284662087 + 85456.0, 1e-6);
  // With 1 GB of work_mem the same sort stays in memory.
  PostgresCostParams p;
  p.work_mem_kb = 1024 * 1024;
  EXPECT_NEAR(PostgresCostModel::Create(p).value().EstimateCost(sort, Inputs({1e6}, {100})),
              102157.84284662087, 1e-6);
}

TEST(PostgresCostTest, JoinsAndRescans) {
  PostgresCostModel pg;
  auto hj = OperatorNode::HashJoin("(a.x = b.x)").WithEstimates(800, 0);
  // outer * cpu_operator_cost * quals + out * cpu_tuple_cost
  EXPECT_DOUBLE_EQ(pg.EstimateCost(hj, Inputs({1000, 500}, {32, 32})), 2.5 + 8.0);
  // Inner of 1e8 bytes spills: 2 * seq_page_cost * (12208 + 12208) pages.
  hj.estimated_rows = 1e6;
  EXPECT_DOUBLE_EQ(pg.EstimateCost(hj, Inputs({2e6, 1e6}, {50, 100})), 5000 + 10000 + 48832);

  auto nl = OperatorNode::NestedLoopJoin().WithEstimates(10, 0);
  CostContext ctx = Inputs({10, 1}, {32, 32});
  ctx.input_subtree_costs = {3.0, 5.0};
  ctx.input_loops_measured = {false, false};
  // out * cpu_tuple_cost + (outer - 1) rescans of the inner subtree.
  EXPECT_DOUBLE_EQ(pg.EstimateCost(nl, ctx), 0.1 + 9 * 5.0);
  ctx.input_loops_measured = {false, true};  // rescans already measured
  EXPECT_DOUBLE_EQ(pg.EstimateCost(nl, ctx), 0.1);
}

TEST(PostgresCostTest, IndexScanAndGather) {
  PostgresCostModel pg;
  Tables tables{{"big", {1e6, 10000, 2000}}};
  CostContext ctx;
  ctx.tables = &tables;
  auto ix = OperatorNode::IndexScan("big_pkey", "big").WithEstimates(100, 0);
  ix.predicate = "(id = 5)";
  // 1 index page * 4 + 100 * (0.005 + 0.0025) + 100 * 0.01 + min(100, 10000) * 4
  EXPECT_DOUBLE_EQ(pg.EstimateCost(ix, ctx), 4 + 0.75 + 1 + 400);
  auto gather = OperatorNode::Make(OperatorType::kGather).WithEstimates(5000, 0);
  EXPECT_DOUBLE_EQ(pg.EstimateCost(gather, Inputs({5000})), 1000 + 500);
}

TEST(PostgresCostTest, BadParametersAreNamed) {
  PostgresCostParams p;
  p.random_page_cost = -1;
  auto r = PostgresCostModel::Create(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("random_page_cost"), std::string::npos);
  p = PostgresCostParams{};
  p.work_mem_kb = 0;
  EXPECT_FALSE(PostgresCostModel::Create(p).ok());
  p = PostgresCostParams{};
  p.cpu_tuple_cost = std::nan("");
  EXPECT_FALSE(PostgresCostModel::Create(p).ok());
}

// ------------------------------------------------------------ embedded

TEST(EmbeddedCostTest, FlashScanAndRamSort) {
  EmbeddedCostModel emb;
  Tables tables{{"t", {1000, 0, 0}}};
  CostContext ctx;
  ctx.tables = &tables;
  auto scan = OperatorNode::SeqScan("t").WithEstimates(1000, 0);
  scan.width = 100;
  // 1e5 bytes: 25 pages x 100 us + 1e5 B / 0.05 B/ns + 1000 rows x 50 ns.
  EXPECT_DOUBLE_EQ(emb.EstimateCost(scan, ctx), (2.5e6 + 2e6 + 5e4) / 1000.0);

  auto sort = OperatorNode::Sort({"k"}).WithEstimates(1000, 0);
  sort.width = 100;
  // (1e5 in + 1e5 out) / 0.4 B/ns + 1000 x 50 ns + N log2 N x 20 ns.
  EXPECT_NEAR(emb.EstimateCost(sort, Inputs({1000}, {100})), 749.3156856932417, 1e-9);
  // 1e6 B > 512 KB of RAM: spill = 2 x (245 pages x 100 us + 1e6 B / 0.05 B/ns).
  sort.estimated_rows = 10000;
  EXPECT_NEAR(emb.EstimateCost(sort, Inputs({10000}, {100})), 97157.54247590989, 1e-6);
  // HnswScan: ef_search * log2(tuples) random page reads of 4 KB, then CPU per row.
  Tables vec{{"items", {1024, 0, 0}}};
  CostContext vctx;
  vctx.tables = &vec;
  auto hnsw = OperatorNode::HnswScan("items_emb", 40).WithEstimates(10, 0);
  hnsw.relation = "items";
  const double reads = 40 * 10;  // log2(1024) = 10
  EXPECT_DOUBLE_EQ(emb.EstimateCost(hnsw, vctx), (reads * 1e5 + reads * 4096 / 0.05 + 10 * 50) / 1000.0);
  // IvfFlatScan with nprobe 10 reads 10% of the 1024 tuples and compares each.
  auto ivf = OperatorNode::IvfFlatScan("items_ivf", 10).WithEstimates(10, 0);
  ivf.relation = "items";
  ivf.width = 100;
  const double tuples = 102.4, bytes = tuples * 100;
  EXPECT_NEAR(emb.EstimateCost(ivf, vctx),
              (std::ceil(bytes / 4096) * 1e5 + bytes / 0.05 + tuples * 50 + tuples * 20) / 1000.0, 1e-9);
  EmbeddedCostParams p;
  p.ram_kb = 0;
  EXPECT_FALSE(EmbeddedCostModel::Create(p).ok());
}

// ------------------------------------------------------------ chip

TEST(ChipCostTest, CyclesOfScanAndHashJoin) {
  ChipCostModel chip;
  Tables tables{{"t", {1e6, 0, 0}}};
  CostContext ctx;
  ctx.tables = &tables;
  auto scan = OperatorNode::SeqScan("t").WithEstimates(1e5, 0);
  scan.width = 64;
  scan.predicate = "(x > 5)";
  // 1e6 x 4 cycles + 1e6 lines x 4 + 1e6 x (3 + 0.05 x 14) = 11.7e6 cycles at 1000 MHz.
  EXPECT_DOUBLE_EQ(chip.EstimateCycles(scan, ctx), 11.7e6);
  EXPECT_DOUBLE_EQ(chip.EstimateCost(scan, ctx), 11700.0);

  auto hj = OperatorNode::HashJoin("(a = b)").WithEstimates(1e5, 0);
  // Probe 1e5 x (20 + 0.7); the 3.2 MB inner misses the 1 MB cache on every
  // probe (200 cycles); output 1e5 x 2.
  EXPECT_NEAR(chip.EstimateCycles(hj, Inputs({1e5, 1e5}, {32, 32})), 2.07e6 + 2e7 + 2e5, 1e-3);
  // A 32 KB inner stays in cache.
  EXPECT_NEAR(chip.EstimateCycles(hj, Inputs({1e5, 1000}, {32, 32})), 2.07e6 + 2e5, 1e-3);
  ChipCostParams p;
  p.clock_mhz = 2000;
  EXPECT_NEAR(ChipCostModel::Create(p).value().EstimateCost(hj, Inputs({1e5, 1000}, {32, 32})),
              2.27e6 / 2000.0, 1e-9);
  p.branch_mispredict_rate = 2;
  EXPECT_FALSE(ChipCostModel::Create(p).ok());
}

// ------------------------------------------------------------ cardinality

TEST(CardinalityTest, DefaultsWhenThePlanHasNoEstimate) {
  PostgresCostModel pg;
  auto filter = OperatorNode::Filter("x > 1");
  EXPECT_DOUBLE_EQ(pg.EstimateCardinality(filter, Inputs({300})), 100.0);
  auto limit = OperatorNode::Limit(10);
  EXPECT_DOUBLE_EQ(pg.EstimateCardinality(limit, Inputs({300})), 10.0);
  EXPECT_DOUBLE_EQ(pg.EstimateCardinality(limit, Inputs({3})), 3.0);
  auto hj = OperatorNode::HashJoin("a = b");
  EXPECT_DOUBLE_EQ(pg.EstimateCardinality(hj, Inputs({1000, 2000})), 1000 * 2000 * 0.005);
  auto agg = OperatorNode::Aggregate({"count(*)"});
  EXPECT_DOUBLE_EQ(pg.EstimateCardinality(agg, Inputs({5000})), 1.0);
  agg.detail = "Hashed";
  EXPECT_DOUBLE_EQ(pg.EstimateCardinality(agg, Inputs({5000})), 200.0);
  auto scan = OperatorNode::SeqScan("unknown");
  EXPECT_DOUBLE_EQ(pg.EstimateCardinality(scan, CostContext{}), 1000.0);
  // The planner's estimate wins when present.
  EXPECT_DOUBLE_EQ(pg.EstimateCardinality(OperatorNode::Filter("x").WithEstimates(42, 0), Inputs({300})), 42.0);
}

// ------------------------------------------------------------ analysis

// scan t (0) -> sort (1) -> limit (2)
QueryDag SortPlan() {
  QueryDag dag;
  auto scan = OperatorNode::SeqScan("t").WithEstimates(1000, 0);
  scan.width = 100;
  auto sort = OperatorNode::Sort({"x"}).WithEstimates(1000, 0);
  sort.width = 100;
  EXPECT_TRUE(dag.AddNode(scan).ok());
  EXPECT_TRUE(dag.AddNode(sort).ok());
  EXPECT_TRUE(dag.AddNode(OperatorNode::Limit(10).WithEstimates(10, 0)).ok());
  EXPECT_TRUE(dag.AddEdge(0, 1).ok());
  EXPECT_TRUE(dag.AddEdge(1, 2).ok());
  return dag;
}

TEST(AnalyzeCostTest, PostgresTotalsAndCriticalPath) {
  QueryDag dag = SortPlan();
  Tables tables{{"t", {1000, 10, 0}}};
  auto a = AnalyzeCost(dag, PostgresCostModel(), &tables);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->model, "postgres");
  EXPECT_EQ(a->unit, "pg_cost");
  EXPECT_DOUBLE_EQ(a->cost[0], 10 + 1000 * 0.01);
  EXPECT_NEAR(a->cost[1], 52.32892142331044, 1e-9);
  EXPECT_DOUBLE_EQ(a->cost[2], 0.0);
  EXPECT_NEAR(a->total, 20 + 52.32892142331044, 1e-9);
  EXPECT_EQ(a->critical_path.nodes, (std::vector<NodeId>{0, 1, 2}));
  EXPECT_NEAR(a->critical_path.cost, a->total, 1e-9);
  EXPECT_DOUBLE_EQ(a->cardinality[2], 10.0);

  // Loops and platform overhead multiply.
  dag.mutable_node(1)->actual_loops = 3;
  PostgresCostParams p;
  p.overhead = 2.0;
  auto b = AnalyzeCost(dag, PostgresCostModel::Create(p).value(), &tables);
  ASSERT_TRUE(b.ok());
  EXPECT_NEAR(b->cost[1], 2 * 3 * 52.32892142331044, 1e-9);
  EXPECT_DOUBLE_EQ(b->cost[0], 2 * 20.0);
}

TEST(AnalyzeCostTest, EveryModelPricesEveryPlan) {
  QueryDag dag = SortPlan();
  std::vector<std::unique_ptr<CostModel>> models;
  models.push_back(std::make_unique<PostgresCostModel>());
  models.push_back(std::make_unique<EmbeddedCostModel>());
  models.push_back(std::make_unique<ChipCostModel>());
  for (const auto& m : models) {
    auto a = AnalyzeCost(dag, *m);
    ASSERT_TRUE(a.ok()) << m->name();
    EXPECT_GT(a->total, 0.0) << m->name();
    EXPECT_FALSE(a->critical_path.nodes.empty());
    double sum = 0.0;
    for (double c : a->cost) {
      EXPECT_GE(c, 0.0);
      sum += c;
    }
    EXPECT_NEAR(sum, a->total, 1e-9 * sum);
  }
  // Embedded: the flash-resident scan dominates; chip: the sort does not
  // touch flash, so the relative order of scan and sort differs by model.
  auto emb = AnalyzeCost(dag, EmbeddedCostModel()).value();
  EXPECT_GT(emb.cost[0], emb.cost[1]);
}

TEST(AnalyzeCostTest, ErrorsAreClear) {
  QueryDag empty;
  auto r = AnalyzeCost(empty, PostgresCostModel());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  QueryDag dag;
  ASSERT_TRUE(dag.AddNode(OperatorNode::Filter("x").WithEstimates(std::nan(""), 0)).ok());
  EXPECT_EQ(AnalyzeCost(dag, PostgresCostModel()).status().code(), StatusCode::kInvalidArgument);
  QueryDag inf;
  ASSERT_TRUE(inf.AddNode(OperatorNode::SeqScan("t").WithEstimates(INFINITY, 0)).ok());
  auto bad = AnalyzeCost(inf, PostgresCostModel());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("node 0 (Seq Scan)"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace ruvector_dag

// Unit tests for the EXPLAIN (FORMAT JSON) importer: hand-written plans,
// every error class, hostile nesting and numbers. Real PostgreSQL output is
// covered by tests/explain_golden_test.cc.
#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"
#include "ruvector_dag/formats.h"

namespace ruvector_dag {
namespace {

using ::testing::HasSubstr;

// A hash join as PostgreSQL 15 prints it with ANALYZE (trimmed).
constexpr char kHashJoin[] = R"json([
  {
    "Plan": {
      "Node Type": "Hash Join", "Parallel Aware": false, "Async Capable": false,
      "Join Type": "Inner", "Startup Cost": 30.5, "Total Cost": 120.25,
      "Plan Rows": 1000, "Plan Width": 16,
      "Actual Startup Time": 0.5, "Actual Total Time": 3.25, "Actual Rows": 950, "Actual Loops": 1,
      "Inner Unique": true, "Hash Cond": "(o.o_custkey = c.c_custkey)",
      "Plans": [
        {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": false,
         "Relation Name": "orders", "Alias": "o", "Startup Cost": 0.0, "Total Cost": 60.0,
         "Plan Rows": 3000, "Plan Width": 8, "Actual Total Time": 1.0, "Actual Rows": 3000,
         "Actual Loops": 1, "Filter": "(o_totalprice > '10'::numeric)", "Rows Removed by Filter": 7},
        {"Node Type": "Hash", "Parent Relationship": "Inner", "Parallel Aware": false,
         "Startup Cost": 20.0, "Total Cost": 20.0, "Plan Rows": 500, "Plan Width": 8,
         "Actual Total Time": 0.4, "Actual Rows": 500, "Actual Loops": 1,
         "Plans": [
           {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": false,
            "Relation Name": "customer", "Alias": "c", "Startup Cost": 0.0, "Total Cost": 15.0,
            "Plan Rows": 500, "Plan Width": 8, "Actual Total Time": 0.2, "Actual Rows": 500,
            "Actual Loops": 1}
         ]}
      ]
    },
    "Planning Time": 0.123,
    "Triggers": [],
    "Execution Time": 3.5
  }
])json";

Status ImportError(const std::string& text, const ParseLimits& limits = {}) {
  Result<ExplainPlan> r = ImportExplain(text, limits);
  EXPECT_FALSE(r.ok()) << "accepted: " << text.substr(0, 200);
  return r.ok() ? Status::Ok() : r.status();
}

// Wraps one plan node object into a bare statement.
std::string Bare(const std::string& plan) { return R"({"Plan": )" + plan + "}"; }

TEST(ExplainImportTest, ImportsHashJoinWithAllFields) {
  Result<ExplainPlan> r = ImportExplain(kHashJoin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const QueryDag& dag = r->dag;
  ASSERT_EQ(dag.node_count(), 4u);
  EXPECT_EQ(dag.edge_count(), 3u);
  ASSERT_TRUE(dag.Validate().ok());
  EXPECT_EQ(dag.Sinks(), std::vector<NodeId>{0});
  EXPECT_EQ(dag.Sources(), (std::vector<NodeId>{1, 3}));
  // Pre-order numbering; inputs outer before inner.
  EXPECT_EQ(dag.parents(0), (std::vector<NodeId>{1, 2}));
  EXPECT_EQ(dag.parents(2), std::vector<NodeId>{3});

  const OperatorNode& join = *dag.node(0);
  EXPECT_EQ(join.type, OperatorType::kHashJoin);
  EXPECT_EQ(join.detail, "Inner");
  EXPECT_EQ(join.predicate, "(o.o_custkey = c.c_custkey)");
  EXPECT_DOUBLE_EQ(join.startup_cost, 30.5);
  EXPECT_DOUBLE_EQ(join.total_cost, 120.25);
  EXPECT_DOUBLE_EQ(join.estimated_rows, 1000);
  EXPECT_DOUBLE_EQ(join.width, 16);
  // Own cost = 120.25 - (60 + 20).
  EXPECT_DOUBLE_EQ(join.estimated_cost, 40.25);
  EXPECT_EQ(join.actual_rows, 950.0);
  EXPECT_EQ(join.actual_time_ms, 3.25);
  EXPECT_EQ(join.actual_loops, 1.0);

  const OperatorNode& orders = *dag.node(1);
  EXPECT_EQ(orders.type, OperatorType::kSeqScan);
  EXPECT_EQ(orders.relation, "orders");
  EXPECT_EQ(orders.alias, "o");
  EXPECT_EQ(orders.predicate, "(o_totalprice > '10'::numeric)");
  EXPECT_DOUBLE_EQ(orders.estimated_cost, 60.0);

  EXPECT_EQ(dag.node(2)->type, OperatorType::kHash);
  EXPECT_DOUBLE_EQ(dag.node(2)->estimated_cost, 5.0);  // 20 - 15
  EXPECT_EQ(dag.node(3)->relation, "customer");

  EXPECT_EQ(r->planning_time_ms, 0.123);
  EXPECT_EQ(r->execution_time_ms, 3.5);

  Result<CriticalPath> path = dag.ComputeCriticalPath();
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path->nodes, (std::vector<NodeId>{1, 0}));
  EXPECT_DOUBLE_EQ(path->cost, 100.25);
}

TEST(ExplainImportTest, BareStatementObjectAndImportExplainJsonAgree) {
  const std::string text = Bare(R"({"Node Type": "Result", "Total Cost": 0.01, "Plan Rows": 1})");
  Result<ExplainPlan> r = ImportExplain(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dag.node_count(), 1u);
  EXPECT_FALSE(r->planning_time_ms.has_value());
  EXPECT_FALSE(r->execution_time_ms.has_value());
  EXPECT_FALSE(r->dag.node(0)->actual_rows.has_value());
  Result<QueryDag> dag = ImportExplainJson(text);
  ASSERT_TRUE(dag.ok());
  EXPECT_TRUE(*dag == r->dag);
  Result<QueryDag> from_array = ImportExplainJson(kHashJoin);
  ASSERT_TRUE(from_array.ok());
  EXPECT_TRUE(*from_array == ImportExplain(kHashJoin)->dag);
}

TEST(ExplainImportTest, MapsDetailsKeysAndSubplans) {
  const std::string text = Bare(R"json({
    "Node Type": "ModifyTable", "Operation": "Insert", "Relation Name": "t", "Alias": "t",
    "Total Cost": 100, "Plans": [
      {"Node Type": "Limit", "Total Cost": 90, "Plans": [
        {"Node Type": "Sort", "Sort Key": ["a DESC", "b", "c DESC NULLS LAST", "d NULLS FIRST"],
         "Total Cost": 80, "Plans": [
          {"Node Type": "Aggregate", "Strategy": "Hashed", "Partial Mode": "Simple",
           "Group Key": ["a", "b"], "Total Cost": 70, "Plans": [
             {"Node Type": "SetOp", "Command": "Intersect All", "Strategy": "Hashed", "Total Cost": 60,
              "Plans": [{"Node Type": "Custom Scan", "Custom Plan Provider": "columnar",
                         "Relation Name": "c", "Total Cost": 10}]},
             {"Node Type": "Seq Scan", "Parent Relationship": "SubPlan", "Subplan Name": "SubPlan 1",
              "Relation Name": "s", "Index Name": "ignored_here", "Total Cost": 5,
              "Recheck Cond": "r", "Join Filter": "j"}
           ]}
        ]}
      ]},
      {"Node Type": "Incremental Sort", "Parent Relationship": "InitPlan",
       "Subplan Name": "InitPlan 1 (returns $0)", "Sort Key": ["x", "y DESC"], "Presorted Key": ["x"],
       "Total Cost": 3, "Plans": [
         {"Node Type": "Memoize", "Cache Key": "o.k", "Total Cost": 2, "Plans": [
           {"Node Type": "CTE Scan", "CTE Name": "w", "Alias": "w1", "Total Cost": 1}]}
       ]},
      {"Node Type": "Foreign Scan", "Operation": "Select", "Relation Name": "f", "Total Cost": 1},
      {"Node Type": "Function Scan", "Function Name": "generate_series", "Total Cost": 1},
      {"Node Type": "Gather Merge", "Workers Planned": 2, "Workers Launched": 2, "Total Cost": 1,
       "Sort Key": ["z"],
       "Plans": [{"Node Type": "Index Only Scan", "Parallel Aware": true, "Index Name": "idx",
                  "Relation Name": "r", "Index Cond": "(k = 1)", "Filter": "(v > 0)", "Total Cost": 1}]},
      {"Node Type": "Merge Join", "Join Type": "Semi", "Merge Cond": "(a = b)", "Join Filter": "(c < d)",
       "Total Cost": 1}
    ]})json");
  Result<ExplainPlan> r = ImportExplain(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const QueryDag& dag = r->dag;
  ASSERT_EQ(dag.node_count(), 15u);
  ASSERT_TRUE(dag.Validate().ok());
  EXPECT_EQ(dag.Sinks(), std::vector<NodeId>{0});

  std::vector<OperatorType> types;
  dag.ForEachNode([&](const OperatorNode& n) { types.push_back(n.type); });
  EXPECT_EQ(types, (std::vector<OperatorType>{
                       OperatorType::kModifyTable, OperatorType::kLimit, OperatorType::kSort,
                       OperatorType::kAggregate, OperatorType::kSetOp, OperatorType::kCustomScan,
                       OperatorType::kSeqScan, OperatorType::kIncrementalSort, OperatorType::kMemoize,
                       OperatorType::kCteScan, OperatorType::kForeignScan, OperatorType::kFunctionScan,
                       OperatorType::kGatherMerge, OperatorType::kIndexOnlyScan, OperatorType::kMergeJoin}));
  EXPECT_EQ(dag.node(0)->detail, "Insert");
  EXPECT_EQ(dag.node(0)->relation, "t");
  EXPECT_EQ(dag.parents(0), (std::vector<NodeId>{1, 7, 10, 11, 12, 14}));
  EXPECT_EQ(dag.node(1)->parameter, 0);  // EXPLAIN does not print the LIMIT count
  EXPECT_EQ(dag.node(2)->keys, (std::vector<std::string>{"a DESC", "b", "c DESC NULLS LAST", "d NULLS FIRST"}));
  EXPECT_EQ(dag.node(2)->descending, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(dag.node(3)->detail, "Hashed");
  EXPECT_EQ(dag.node(3)->keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(dag.node(3)->descending.empty());
  EXPECT_EQ(dag.node(4)->detail, "Hashed Intersect All");
  EXPECT_EQ(dag.node(5)->detail, "columnar");
  EXPECT_EQ(dag.node(6)->subplan_name, "SubPlan 1");
  EXPECT_EQ(dag.node(6)->predicate, "r");  // Recheck Cond before Join Filter
  EXPECT_EQ(dag.node(6)->index, "ignored_here");
  EXPECT_EQ(dag.node(7)->subplan_name, "InitPlan 1 (returns $0)");
  EXPECT_EQ(dag.node(7)->keys, (std::vector<std::string>{"x", "y DESC"}));  // Sort Key wins
  EXPECT_EQ(dag.node(7)->descending, (std::vector<bool>{false, true}));
  EXPECT_EQ(dag.node(8)->keys, std::vector<std::string>{"o.k"});
  EXPECT_EQ(dag.node(9)->relation, "w");
  EXPECT_EQ(dag.node(9)->alias, "w1");
  EXPECT_EQ(dag.node(10)->detail, "Select");
  EXPECT_EQ(dag.node(11)->relation, "generate_series");
  EXPECT_EQ(dag.node(12)->workers_planned, 2);
  EXPECT_EQ(dag.node(12)->workers_launched, 2);
  EXPECT_EQ(dag.node(12)->descending, std::vector<bool>{false});
  EXPECT_TRUE(dag.node(13)->parallel_aware);
  EXPECT_EQ(dag.node(13)->workers_launched, -1);
  EXPECT_EQ(dag.node(13)->index, "idx");
  EXPECT_EQ(dag.node(13)->predicate, "(k = 1)");
  EXPECT_EQ(dag.node(14)->detail, "Semi");
  EXPECT_EQ(dag.node(14)->predicate, "(a = b)");
  // Own cost of ModifyTable: 100 - (90 + 3 + 1 + 1 + 1 + 1); of Sort: 80 - 70;
  // Aggregate: 70 - (60 + 5).
  EXPECT_DOUBLE_EQ(dag.node(0)->estimated_cost, 3.0);
  EXPECT_DOUBLE_EQ(dag.node(2)->estimated_cost, 10.0);
  EXPECT_DOUBLE_EQ(dag.node(3)->estimated_cost, 5.0);
}

TEST(ExplainImportTest, OwnCostIsClampedAtZero) {
  // A Limit stops early: its total cost is below its input's.
  Result<QueryDag> dag = ImportExplainJson(Bare(R"({"Node Type": "Limit", "Total Cost": 0.5,
      "Plans": [{"Node Type": "Seq Scan", "Relation Name": "t", "Total Cost": 1000}]})"));
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  EXPECT_EQ(dag->node(0)->estimated_cost, 0.0);
  EXPECT_EQ(dag->node(1)->estimated_cost, 1000.0);
}

TEST(ExplainImportTest, NeverExecutedNodesKeepZeroLoops) {
  Result<QueryDag> dag = ImportExplainJson(Bare(R"({"Node Type": "Nested Loop", "Join Type": "Left",
      "Actual Rows": 0, "Actual Loops": 1, "Actual Total Time": 0.01, "Plans": [
        {"Node Type": "Result", "Actual Rows": 0, "Actual Loops": 1, "Actual Total Time": 0.0},
        {"Node Type": "Index Scan", "Index Name": "i", "Relation Name": "t",
         "Actual Startup Time": 0.0, "Actual Total Time": 0.0, "Actual Rows": 0, "Actual Loops": 0}]})"));
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  EXPECT_EQ(dag->node(2)->actual_loops, 0.0);
  EXPECT_EQ(dag->node(2)->actual_rows, 0.0);
}

TEST(ExplainImportTest, AcceptsEveryPostgresNodeTypeName) {
  for (size_t i = 0; i < static_cast<size_t>(OperatorType::kHnswScan); ++i) {
    const std::string name(OperatorTypeName(static_cast<OperatorType>(i)));
    Result<QueryDag> dag = ImportExplainJson(Bare(R"({"Node Type": ")" + name + R"("})"));
    ASSERT_TRUE(dag.ok()) << name << ": " << dag.status().ToString();
    EXPECT_EQ(dag->node(0)->type, static_cast<OperatorType>(i));
  }
}

TEST(ExplainImportTest, UnknownAndNonPostgresNodeTypesNameTypeAndPath) {
  Status s = ImportError(Bare(R"({"Node Type": "Result", "Plans": [{"Node Type": "Result"},
                                   {"Node Type": "Teleport Scan"}]})"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "EXPLAIN JSON: Plan.Plans[1].Node Type: unknown PostgreSQL plan node type \"Teleport Scan\"");
  // Our own logical operators are not PostgreSQL node types.
  s = ImportError(Bare(R"({"Node Type": "HnswScan"})"));
  EXPECT_THAT(s.message(), HasSubstr("unknown PostgreSQL plan node type \"HnswScan\""));
  s = ImportError(Bare(R"({"Node Type": "Filter"})"));
  EXPECT_THAT(s.message(), HasSubstr("\"Filter\""));
  // Text-format names are not JSON node types.
  s = ImportError(Bare(R"({"Node Type": "HashAggregate"})"));
  EXPECT_THAT(s.message(), HasSubstr("Plan.Node Type"));
}

TEST(ExplainImportTest, WrongFieldTypesNameThePath) {
  Status s = ImportError(Bare(R"({"Node Type": "Append", "Plans": [{"Node Type": "Result"},
      {"Node Type": "Result", "Plan Rows": "many"}]})"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "EXPLAIN JSON: Plan.Plans[1].Plan Rows: expected a number >= 0, got string");

  struct Case {
    std::string field;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {R"("Total Cost": null)", "Plan.Total Cost: expected a number >= 0, got null"},
      {R"("Startup Cost": [1])", "Plan.Startup Cost: expected a number >= 0, got array"},
      {R"("Plan Width": {})", "Plan.Plan Width: expected a number >= 0, got object"},
      {R"("Actual Rows": true)", "Plan.Actual Rows: expected a number >= 0, got boolean"},
      {R"("Actual Loops": "1")", "Plan.Actual Loops: expected a number >= 0, got string"},
      {R"("Actual Total Time": -0.5)", "Plan.Actual Total Time: expected a number >= 0, got -0.5"},
      {R"("Actual Startup Time": "x")", "Plan.Actual Startup Time: expected a number >= 0, got string"},
      {R"("Plan Rows": -1)", "Plan.Plan Rows: expected a number >= 0, got -1"},
      {R"("Relation Name": 5)", "Plan.Relation Name: expected a string, got 5"},
      {R"("CTE Name": false)", "Plan.CTE Name: expected a string, got boolean"},
      {R"("Alias": [])", "Plan.Alias: expected a string, got array"},
      {R"("Index Name": null)", "Plan.Index Name: expected a string, got null"},
      {R"("Hash Cond": 1)", "Plan.Hash Cond: expected a string, got 1"},
      {R"("Filter": {})", "Plan.Filter: expected a string, got object"},
      {R"("Subplan Name": 2)", "Plan.Subplan Name: expected a string, got 2"},
      {R"("Parent Relationship": 2)", "Plan.Parent Relationship: expected a string, got 2"},
      {R"("Join Type": 2)", "Plan.Join Type: expected a string, got 2"},
      {R"("Strategy": [])", "Plan.Strategy: expected a string, got array"},
      {R"("Command": 0)", "Plan.Command: expected a string, got 0"},
      {R"("Operation": 0)", "Plan.Operation: expected a string, got 0"},
      {R"("Custom Plan Provider": 0)", "Plan.Custom Plan Provider: expected a string, got 0"},
      {R"("Cache Key": [])", "Plan.Cache Key: expected a string, got array"},
      {R"("Sort Key": "a")", "Plan.Sort Key: expected an array of strings, got string"},
      {R"("Group Key": ["a", 3])", "Plan.Group Key[1]: expected a string, got 3"},
      {R"("Presorted Key": {})", "Plan.Presorted Key: expected an array of strings, got object"},
      {R"("Parallel Aware": "false")", "Plan.Parallel Aware: expected a boolean, got string"},
      {R"("Workers Planned": 2.5)", "Plan.Workers Planned: expected an integer >= 0, got 2.5"},
      {R"("Workers Launched": -1)", "Plan.Workers Launched: expected an integer >= 0, got -1"},
      {R"("Workers Planned": "2")", "Plan.Workers Planned: expected an integer >= 0, got string"},
      {R"("Node Type": 7)", "Plan.Node Type: expected a string, got 7"},
      {R"("Plans": {"Node Type": "Result"})", "Plan.Plans: expected an array, got object"},
      {R"("Plans": [1])", "Plan.Plans[0]: expected an object, got 1"},
      {R"("Plans": [{"Plan Rows": 1}])", "Plan.Plans[0]: missing \"Node Type\""},
  };
  for (const Case& c : cases) {
    // Node Type first unless the case replaces it (duplicate keys: last wins).
    const std::string text = Bare(R"({"Node Type": "Sort", )" + c.field + "}");
    Status st = ImportError(text);
    EXPECT_EQ(st.message(), "EXPLAIN JSON: " + c.expected) << c.field;
  }
}

TEST(ExplainImportTest, RejectsHugeNumbers) {
  Status s = ImportError(Bare(R"({"Node Type": "Result", "Total Cost": 1e200})"));
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "EXPLAIN JSON: Plan.Total Cost: 1e+200 exceeds the limit 1e+100");
  s = ImportError(Bare(R"({"Node Type": "Result", "Workers Planned": 3000000000})"));
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_THAT(s.message(), HasSubstr("Plan.Workers Planned: 3000000000 exceeds the limit 2147483647"));
  // Beyond double range: the parser reports an overflow; never inf/NaN inside.
  s = ImportError(Bare(R"({"Node Type": "Result", "Plan Rows": 1e999})"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("invalid JSON"));
  // NaN/Infinity are not JSON.
  s = ImportError(Bare(R"({"Node Type": "Result", "Plan Rows": NaN})"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  s = ImportError(Bare(R"({"Node Type": "Result", "Plan Rows": -Infinity})"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  // Integers beyond 64 bits still parse as (finite) numbers and are range-checked.
  s = ImportError(Bare(R"({"Node Type": "Result", "Plan Rows": 1)" + std::string(120, '0') + "}"));
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << s.ToString();
  // The largest allowed value is fine.
  Result<QueryDag> ok = ImportExplainJson(Bare(R"({"Node Type": "Result", "Plan Rows": 1e100})"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->node(0)->estimated_rows, 1e100);
}

TEST(ExplainImportTest, StatementLevelErrors) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"[]", "EXPLAIN JSON: expected one statement, got an empty array"},
      {R"([{"Plan": {"Node Type": "Result"}}, {"Plan": {"Node Type": "Result"}}])",
       "EXPLAIN JSON: expected one statement, got 2 (EXPLAIN output of several statements is not supported)"},
      {"[5]", "EXPLAIN JSON: [0]: expected an object with a \"Plan\", got 5"},
      {R"("Plan")", "EXPLAIN JSON: expected an array or an object at the top level, got string"},
      {"42", "EXPLAIN JSON: expected an array or an object at the top level, got 42"},
      {R"({"Planning Time": 1})", "EXPLAIN JSON: missing \"Plan\" in the statement object"},
      {R"([{"Node Type": "Result"}])", "EXPLAIN JSON: missing \"Plan\" in the statement object"},
      {R"({"Plan": []})", "EXPLAIN JSON: Plan: expected an object, got array"},
      {R"({"Plan": {}})", "EXPLAIN JSON: Plan: missing \"Node Type\""},
      {R"({"Plan": {"Node Type": "Result"}, "Planning Time": "fast"})",
       "EXPLAIN JSON: statement.Planning Time: expected a number >= 0, got string"},
      {R"({"Plan": {"Node Type": "Result"}, "Execution Time": -3})",
       "EXPLAIN JSON: statement.Execution Time: expected a number >= 0, got -3"},
      {R"({"Plan": {"Node Type": "Result"}, "Triggers": {}})",
       "EXPLAIN JSON: statement.Triggers: expected an array, got object"},
  };
  for (const Case& c : cases) {
    Status s = ImportError(c.text);
    EXPECT_EQ(s.message(), c.expected) << c.text;
  }
  EXPECT_EQ(ImportError("").message(), "EXPLAIN JSON: empty input");
  Status truncated = ImportError(std::string(kHashJoin).substr(0, 300));
  EXPECT_EQ(truncated.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(truncated.message(), HasSubstr("invalid JSON near byte"));
}

// "Plan": {"Node Type": "Result", "Plans": [ ... ]} nested `depth` times.
std::string Nested(size_t depth) {
  std::string text;
  text.reserve(depth * 48);
  text += R"({"Plan": )";
  for (size_t i = 0; i < depth; ++i) {
    text += R"({"Node Type": "Result", "Total Cost": )" + std::to_string(depth - i);
    if (i + 1 < depth) text += R"(, "Plans": [)";
  }
  for (size_t i = 0; i < depth; ++i) text += (i == 0 ? "}" : "]}");
  text += "}";
  return text;
}

TEST(ExplainImportTest, RejectsAbsurdNestingBeforeParsing) {
  const std::string text = Nested(200000);
  Status s = ImportError(text);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_THAT(s.message(), HasSubstr("nesting deeper than 512"));
  // Unbalanced garbage of the same depth too.
  s = ImportError(std::string(200000, '['));
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
}

TEST(ExplainImportTest, DeepestAllowedPlanImportsAsAChain) {
  // Each level costs two nesting levels ({ and [), plus the outer object.
  const size_t depth = 256;
  Result<ExplainPlan> r = ImportExplain(Nested(depth));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dag.node_count(), depth);
  EXPECT_EQ(r->dag.MaxDepth(), depth - 1);
  EXPECT_EQ(r->dag.Sinks(), std::vector<NodeId>{0});
  EXPECT_EQ(r->dag.Sources(), std::vector<NodeId>{static_cast<NodeId>(depth - 1)});
  for (NodeId id = 0; id < depth; ++id) EXPECT_DOUBLE_EQ(r->dag.node(id)->estimated_cost, 1.0);
  EXPECT_FALSE(ImportExplain(Nested(depth + 1)).ok());
}

// An Append over very many members (partitions) keeps the listed order. The
// parse and the walk are linear; nlohmann's callback parser would rescan the
// "Plans" array at every member (quadratic: minutes at this width).
TEST(ExplainImportTest, WidePlansImport) {
  const size_t width = 200000;
  std::string text = R"({"Plan": {"Node Type": "Append", "Total Cost": 1e7, "Plans": [)";
  for (size_t i = 0; i < width; ++i) {
    text += i == 0 ? "" : ",";
    text += R"({"Node Type": "Seq Scan", "Total Cost": )" + std::to_string(i) + "}";
  }
  text += "]}}";
  Result<QueryDag> dag = ImportExplainJson(text);
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  ASSERT_EQ(dag->node_count(), width + 1);
  const std::vector<NodeId>& inputs = dag->parents(0);
  ASSERT_EQ(inputs.size(), width);
  for (size_t i = 0; i < width; ++i) ASSERT_EQ(inputs[i], i + 1);
  EXPECT_DOUBLE_EQ(dag->node(width)->estimated_cost, static_cast<double>(width - 1));
  EXPECT_DOUBLE_EQ(dag->node(0)->estimated_cost, 0.0);  // 1e7 < sum of inputs (~2e10)

  // Wide garbage fails with a located error, without a DOM-building rescan.
  std::string garbage = "[";
  for (size_t i = 0; i < width; ++i) garbage += "{},";
  Status s = ImportError(garbage);
  EXPECT_THAT(s.message(), HasSubstr("invalid JSON near byte"));
}

TEST(ExplainImportTest, EnforcesNodeAndStringLimits) {
  ParseLimits limits;
  limits.max_nodes = 3;
  const std::string four = Bare(R"({"Node Type": "Append", "Plans": [
      {"Node Type": "Result"}, {"Node Type": "Result"}, {"Node Type": "Result"}]})");
  Status s = ImportError(four, limits);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "EXPLAIN JSON: more than 3 plan nodes (at Plan.Plans[2])");
  limits.max_nodes = 4;
  EXPECT_TRUE(ImportExplain(four, limits).ok());

  limits = ParseLimits{};
  limits.max_string_bytes = 8;
  s = ImportError(Bare(R"({"Node Type": "Result", "Filter": "0123456789"})"), limits);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "EXPLAIN JSON: Plan.Filter: string of 10 bytes exceeds the limit 8");

  limits = ParseLimits{};
  limits.max_input_bytes = 10;
  s = ImportError(Bare(R"({"Node Type": "Result"})"), limits);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
}

// Random plan trees, written as EXPLAIN JSON, come back with the same shape:
// pre-order ids, inputs in listed order, one sink, own costs that sum back.
TEST(ExplainImportTest, RandomTreesRoundTripTheirShape) {
  Rng rng(20261121);
  for (int round = 0; round < 200; ++round) {
    const size_t n = 1 + rng.Uniform(60);
    // parent[i] < i: a random tree in pre-order is built by attaching each
    // node to a node on the current rightmost path.
    std::vector<size_t> parent(n, 0);
    std::vector<size_t> rightmost = {0};
    for (size_t i = 1; i < n; ++i) {
      rightmost.resize(1 + rng.Uniform(rightmost.size()));
      parent[i] = rightmost.back();
      rightmost.push_back(i);
    }
    std::vector<nlohmann::json> plans(n);
    std::vector<double> own(n);
    for (size_t i = 0; i < n; ++i) {
      own[i] = static_cast<double>(rng.Uniform(1000)) / 8.0;
      plans[i] = {{"Node Type", i % 3 == 0 ? "Hash Join" : (i % 3 == 1 ? "Seq Scan" : "Sort")},
                  {"Plan Rows", static_cast<double>(rng.Uniform(100000))}};
    }
    // Total cost = own + children's totals; children attached bottom-up.
    std::vector<double> total(own);
    for (size_t i = n; i-- > 1;) total[parent[i]] += total[i];
    for (size_t i = 0; i < n; ++i) plans[i]["Total Cost"] = total[i];
    for (size_t i = n; i-- > 1;) {
      nlohmann::json& kids = plans[parent[i]]["Plans"];
      if (kids.is_null()) kids = nlohmann::json::array();
      kids.insert(kids.begin(), std::move(plans[i]));
    }
    const std::string text = nlohmann::json::array({{{"Plan", plans[0]}}}).dump();
    Result<ExplainPlan> r = ImportExplain(text);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const QueryDag& dag = r->dag;
    ASSERT_EQ(dag.node_count(), n);
    ASSERT_EQ(dag.edge_count(), n - 1);
    ASSERT_TRUE(dag.Validate().ok());
    EXPECT_EQ(dag.Sinks(), std::vector<NodeId>{0});
    for (size_t i = 1; i < n; ++i) {
      ASSERT_EQ(dag.children(static_cast<NodeId>(i)), std::vector<NodeId>{static_cast<NodeId>(parent[i])});
    }
    for (size_t i = 0; i < n; ++i) {
      const std::vector<NodeId>& inputs = dag.parents(static_cast<NodeId>(i));
      EXPECT_TRUE(std::is_sorted(inputs.begin(), inputs.end()));
      EXPECT_NEAR(dag.node(static_cast<NodeId>(i))->estimated_cost, own[i], 1e-6 * (1 + total[i]));
    }
  }
}

}  // namespace
}  // namespace ruvector_dag

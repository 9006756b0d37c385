// Unit tests for the DAG formats: our JSON, the crate's JSON, binary, and
// format detection. Every reader error class has a test that checks the
// status code and that the message names the problem.
#include "ruvector_dag/formats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ruvector_dag/core.h"

namespace ruvector_dag {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

// A small plan: two scans joined, filtered, sorted, limited. Node 3 (hash
// join) has inputs in the order 1, 0 (outer before inner matters).
QueryDag SamplePlan() {
  QueryDag dag;
  dag.AddNode(OperatorNode::SeqScan("users").WithEstimates(1000, 15.5)).value();
  dag.AddNode(OperatorNode::IndexScan("orders_pkey", "orders").WithEstimates(250, 4.25)).value();
  dag.AddNode(OperatorNode::Hash()).value();
  dag.AddNode(OperatorNode::HashJoin("users.id = orders.user_id").WithEstimates(200, 30).WithActuals(180, 1.5))
      .value();
  dag.AddNode(OperatorNode::Sort({"total", "name"}, {true, false})).value();
  dag.AddNode(OperatorNode::Limit(10)).value();
  EXPECT_TRUE(dag.AddEdge(0, 2).ok());
  EXPECT_TRUE(dag.AddEdge(1, 3).ok());
  EXPECT_TRUE(dag.AddEdge(2, 3).ok());
  EXPECT_TRUE(dag.AddEdge(3, 4).ok());
  EXPECT_TRUE(dag.AddEdge(4, 5).ok());
  return dag;
}

// A node with every field set to a non-default value.
OperatorNode FullNode() {
  OperatorNode n = OperatorNode::Make(OperatorType::kGatherMerge);
  n.relation = "rel \"quoted\"\n\\";
  n.alias = "r";
  n.index = "idx_\xC3\xA9t\xC3\xA9";  // UTF-8
  n.predicate = "(a > 1) AND (b < 2)";
  n.keys = {"a", "b DESC", ""};
  n.descending = {false, true, false};
  n.detail = "Inner";
  n.parameter = std::numeric_limits<int64_t>::min();
  n.subplan_name = "InitPlan 1 (returns $0)";
  n.parallel_aware = true;
  n.workers_planned = 4;
  n.workers_launched = 3;
  n.estimated_rows = 0.1;
  n.estimated_cost = 1.7976931348623157e308;
  n.startup_cost = 4.9406564584124654e-324;  // smallest denormal
  n.total_cost = 123456789.123456789;
  n.width = -0.0;
  n.actual_rows = 0.0;
  n.actual_time_ms = 1.0 / 3.0;
  n.actual_loops = 7;
  n.embedding = {0.1f, -2.5f, 3.4028235e38f, -0.0f, 1e-45f};
  return n;
}

QueryDag FullDag() {
  QueryDag dag;
  dag.AddNode(FullNode()).value();
  OperatorNode other = FullNode();
  other.parameter = std::numeric_limits<int64_t>::max();
  other.workers_launched = -1;
  other.actual_rows.reset();
  other.embedding.clear();
  dag.AddNode(other).value();
  dag.AddNode(OperatorNode::Result()).value();
  EXPECT_TRUE(dag.AddEdge(1, 2).ok());
  EXPECT_TRUE(dag.AddEdge(0, 2).ok());
  return dag;
}

void ExpectError(const Status& s, StatusCode code, const std::string& fragment) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(fragment));
}

template <typename T>
void ExpectError(const Result<T>& r, StatusCode code, const std::string& fragment) {
  ASSERT_FALSE(r.ok()) << "expected an error containing: " << fragment;
  ExpectError(r.status(), code, fragment);
}

// ============================================================================
// Our JSON
// ============================================================================

TEST(JsonFormatTest, RoundTripsEveryFieldExactly) {
  const QueryDag dag = FullDag();
  const std::string text = WriteJson(dag);
  Result<QueryDag> back = ReadJson(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == dag);
  const OperatorNode* n = back->node(0);
  ASSERT_NE(n, nullptr);
  EXPECT_TRUE(std::signbit(n->width));  // -0.0 kept
  EXPECT_EQ(n->startup_cost, 4.9406564584124654e-324);
  EXPECT_EQ(n->embedding, FullNode().embedding);
  EXPECT_EQ(back->parents(2), (std::vector<NodeId>{1, 0}));
  EXPECT_EQ(WriteJson(*back), text);
}

TEST(JsonFormatTest, DocumentShapeIsVersionedAndOrdered) {
  const std::string text = WriteJson(SamplePlan());
  EXPECT_EQ(text.rfind("{\"format\":\"ruvector-dag\",\"version\":1,\"id_bound\":6,\"nodes\":[", 0), 0u) << text;
  const json doc = json::parse(text);
  EXPECT_EQ(doc["nodes"][3]["type"], "Hash Join");
  EXPECT_EQ(doc["nodes"][3]["predicate"], "users.id = orders.user_id");
  EXPECT_TRUE(doc["nodes"][0]["actual_rows"].is_null());
  // Grouped by target ascending, each target's inputs in input order.
  EXPECT_EQ(doc["edges"], json::parse("[[0,2],[1,3],[2,3],[3,4],[4,5]]"));
}

TEST(JsonFormatTest, PrettyOutputReadsBack) {
  const QueryDag dag = SamplePlan();
  const std::string pretty = WriteJson(dag, 2);
  EXPECT_NE(pretty.find("\n  \"version\": 1"), std::string::npos);
  Result<QueryDag> back = ReadJson(pretty);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == dag);
}

TEST(JsonFormatTest, KeepsInputOrderAndRemovedTrailingIds) {
  QueryDag dag = SamplePlan();
  // Node 3's inputs are 1 then 2; reorder them to 2 then 1.
  ASSERT_TRUE(dag.RemoveEdge(1, 3).ok());
  ASSERT_TRUE(dag.AddEdge(1, 3).ok());
  ASSERT_TRUE(dag.RemoveNode(5).ok());
  ASSERT_TRUE(dag.RemoveNode(4).ok());
  Result<QueryDag> back = ReadJson(WriteJson(dag));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == dag);
  EXPECT_EQ(back->parents(3), (std::vector<NodeId>{2, 1}));
  EXPECT_EQ(back->id_bound(), 6u);
  EXPECT_EQ(back->AddNode(OperatorNode::Result()).value(), 6u);
}

TEST(JsonFormatTest, EmptyDagRoundTrips) {
  QueryDag empty;
  Result<QueryDag> back = ReadJson(WriteJson(empty));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == empty);
  QueryDag all_removed;
  all_removed.AddNode(OperatorNode::Result()).value();
  ASSERT_TRUE(all_removed.RemoveNode(0).ok());
  back = ReadJson(WriteJson(all_removed));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id_bound(), 1u);
  EXPECT_TRUE(*back == all_removed);
}

TEST(JsonFormatTest, AbsentOptionalFieldsTakeDefaults) {
  Result<QueryDag> dag = ReadJson(
      R"({"format":"ruvector-dag","version":1,"id_bound":2,)"
      R"("nodes":[{"id":1,"type":"Seq Scan","relation":"t","actual_rows":12},{"id":0,"type":"Result"}],)"
      R"("edges":[[1,0]]})");
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  const OperatorNode* scan = dag->node(1);
  ASSERT_NE(scan, nullptr);
  EXPECT_EQ(scan->type, OperatorType::kSeqScan);
  EXPECT_EQ(scan->relation, "t");
  EXPECT_EQ(scan->actual_rows, 12.0);
  EXPECT_EQ(scan->workers_launched, -1);
  EXPECT_FALSE(scan->actual_time_ms.has_value());
  EXPECT_EQ(dag->parents(0), std::vector<NodeId>{1});
}

std::string Doc(const std::string& nodes, const std::string& edges = "[]", const std::string& id_bound = "8") {
  return R"({"format":"ruvector-dag","version":1,"id_bound":)" + id_bound + R"(,"nodes":)" + nodes +
         R"(,"edges":)" + edges + "}";
}

TEST(JsonFormatTest, RejectsEmptyTruncatedAndGarbage) {
  ExpectError(ReadJson(""), StatusCode::kInvalidArgument, "empty input");
  const std::string text = WriteJson(SamplePlan());
  for (size_t cut : {size_t{1}, text.size() / 3, text.size() / 2, text.size() - 1}) {
    ExpectError(ReadJson(text.substr(0, cut)), StatusCode::kInvalidArgument, "invalid JSON near byte");
  }
  ExpectError(ReadJson("\x01\xff garbage"), StatusCode::kInvalidArgument, "invalid JSON");
  ExpectError(ReadJson("[1,2,3]"), StatusCode::kInvalidArgument, "top level must be an object, got array");
}

TEST(JsonFormatTest, RejectsUnknownVersionAndFormat) {
  std::string text = WriteJson(SamplePlan());
  std::string v2 = text;
  v2.replace(v2.find("\"version\":1"), 11, "\"version\":2");
  ExpectError(ReadJson(v2), StatusCode::kInvalidArgument, "unsupported version 2 (this build reads version 1)");
  std::string other = text;
  other.replace(other.find("ruvector-dag"), 12, "something");
  ExpectError(ReadJson(other), StatusCode::kInvalidArgument, "field \"format\" must be \"ruvector-dag\"");
  ExpectError(ReadJson(R"({"format":"ruvector-dag","version":"1","id_bound":0,"nodes":[],"edges":[]})"),
              StatusCode::kInvalidArgument, "field \"version\" must be an integer");
  ExpectError(ReadJson(R"({"format":"ruvector-dag","version":1,"nodes":[],"edges":[]})"),
              StatusCode::kInvalidArgument, "missing field \"id_bound\"");
  ExpectError(ReadJson(R"({"format":"ruvector-dag","version":1,"id_bound":0,"nodes":[],"edges":[],"x":1})"),
              StatusCode::kInvalidArgument, "unknown field \"x\"");
}

TEST(JsonFormatTest, RejectsWrongTypesForEveryField) {
  struct Case {
    const char* field;
    const char* bad_value;
  };
  const Case cases[] = {
      {"type", "3"},           {"relation", "1"},        {"alias", "null"},          {"index", "[]"},
      {"predicate", "{}"},     {"keys", "\"a\""},         {"keys", "[1]"},            {"descending", "[1]"},
      {"descending", "true"},  {"detail", "false"},       {"parameter", "1.5"},       {"parameter", "\"7\""},
      {"subplan_name", "2"},   {"parallel_aware", "1"},   {"workers_planned", "-1"},  {"workers_planned", "1e3"},
      {"workers_launched", "-2"}, {"estimated_rows", "\"1\""}, {"estimated_cost", "-1"}, {"startup_cost", "null"},
      {"total_cost", "[]"},    {"width", "true"},         {"actual_rows", "\"x\""},   {"actual_time_ms", "-0.5"},
      {"actual_loops", "{}"},  {"embedding", "null"},     {"embedding", "[\"x\"]"},   {"embedding", "[1e39]"},
      {"id", "\"0\""},         {"id", "-1"},              {"id", "0.5"},              {"id", "16777216"},
  };
  for (const Case& c : cases) {
    const std::string field = c.field;
    std::string node = R"({"id":0,"type":"Result",")" + field + "\":" + c.bad_value + "}";
    if (field == "id") node = std::string(R"({"type":"Result","id":)") + c.bad_value + "}";
    if (field == "type") node = std::string(R"({"id":0,"type":)") + c.bad_value + "}";
    Result<QueryDag> r = ReadJson(Doc("[" + node + "]"));
    ASSERT_FALSE(r.ok()) << c.field << "=" << c.bad_value;
    EXPECT_TRUE(r.status().code() == StatusCode::kInvalidArgument || r.status().code() == StatusCode::kOutOfRange)
        << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr(std::string("\"") + c.field)) << c.field << "=" << c.bad_value;
  }
  ExpectError(ReadJson(Doc("[3]")), StatusCode::kInvalidArgument, "nodes[0]: must be an object, got number");
  ExpectError(ReadJson(Doc("{}")), StatusCode::kInvalidArgument, "field \"nodes\" must be an array, got object");
  ExpectError(ReadJson(Doc("[]", "{}")), StatusCode::kInvalidArgument, "field \"edges\" must be an array");
  ExpectError(ReadJson(Doc(R"([{"id":0,"type":"Warp Drive"}])")), StatusCode::kInvalidArgument,
              "node 0: unknown operator type \"Warp Drive\"");
  ExpectError(ReadJson(Doc(R"([{"id":0,"type":"Result","colour":"red"}])")), StatusCode::kInvalidArgument,
              "node 0: unknown field \"colour\"");
  const std::string long_key(100000, 'k');
  Result<QueryDag> long_key_result = ReadJson(Doc(R"([{"id":0,"type":"Result",")" + long_key + R"(":1}])"));
  ExpectError(long_key_result, StatusCode::kInvalidArgument, "... (100000 bytes)");
  EXPECT_LT(long_key_result.status().message().size(), 200u);
  ExpectError(ReadJson(Doc(R"([{"type":"Result"}])")), StatusCode::kInvalidArgument,
              "nodes[0]: missing field \"id\"");
  ExpectError(ReadJson(Doc(R"([{"id":0,"type":"Sort","keys":["a","b"],"descending":[true]}])")),
              StatusCode::kInvalidArgument, "node 0: field \"descending\" has 1 flags for 2 keys");
}

TEST(JsonFormatTest, RejectsNonFiniteNegativeAndHugeNumbers) {
  ExpectError(ReadJson(Doc(R"([{"id":0,"type":"Result","estimated_rows":-3}])")), StatusCode::kInvalidArgument,
              "node 0: field \"estimated_rows\" must be a finite number >= 0");
  // NaN and Infinity are not JSON; 1e400 overflows a double.
  for (const char* bad : {"NaN", "Infinity", "-Infinity", "1e400"}) {
    ExpectError(ReadJson(Doc(std::string(R"([{"id":0,"type":"Result","estimated_cost":)") + bad + "}]")),
                StatusCode::kInvalidArgument, "invalid JSON");
  }
  ExpectError(ReadJson(Doc(R"([{"id":0,"type":"Result","parameter":99999999999999999999}])")),
              StatusCode::kInvalidArgument, "field \"parameter\" must be an integer");
  ExpectError(ReadJson(Doc("[]", "[]", "-1")), StatusCode::kOutOfRange, "field \"id_bound\"");
  ExpectError(ReadJson(Doc("[]", "[]", "16777217")), StatusCode::kOutOfRange, "field \"id_bound\"");
}

TEST(JsonFormatTest, RejectsBadIdsAndEdgesWithNamedErrors) {
  const std::string two = R"([{"id":0,"type":"Seq Scan"},{"id":1,"type":"Result"}])";
  ExpectError(ReadJson(Doc(R"([{"id":1,"type":"Result"},{"id":1,"type":"Hash"}])")), StatusCode::kAlreadyExists,
              "duplicate node id 1");
  ExpectError(ReadJson(Doc(two, "[[0,5]]")), StatusCode::kNotFound, "edge 0->5: unknown node 5");
  ExpectError(ReadJson(Doc(two, "[[0,99999999]]")), StatusCode::kNotFound, "unknown node 99999999");
  ExpectError(ReadJson(Doc(two, "[[1,1]]")), StatusCode::kInvalidArgument, "edge 1->1 is a self-loop");
  ExpectError(ReadJson(Doc(two, "[[0,1],[0,1]]")), StatusCode::kAlreadyExists, "edge 0->1 already exists");
  ExpectError(ReadJson(Doc(two, "[[0,1],[1,0]]")), StatusCode::kFailedPrecondition, "would create a cycle");
  ExpectError(ReadJson(Doc(two, "[[0]]")), StatusCode::kInvalidArgument, "edges[0] must be [from, to]");
  ExpectError(ReadJson(Doc(two, "[[0,-1]]")), StatusCode::kInvalidArgument, "edges[0] must be [from, to]");
  ExpectError(ReadJson(Doc(two, R"([["0",1]])")), StatusCode::kInvalidArgument, "edges[0] must be [from, to]");
  ExpectError(ReadJson(Doc(two, "[]", "1")), StatusCode::kInvalidArgument,
              "id_bound 1 must be greater than the largest node id 1");
}

TEST(JsonFormatTest, ReportsTheCycleItFinds) {
  // 0 -> 1 -> 2 -> 3 -> 1 (a cycle not through node 0).
  const std::string nodes =
      R"([{"id":0,"type":"Result"},{"id":1,"type":"Result"},{"id":2,"type":"Result"},{"id":3,"type":"Result"}])";
  Result<QueryDag> r = ReadJson(Doc(nodes, "[[0,1],[1,2],[2,3],[3,1]]"));
  ExpectError(r, StatusCode::kFailedPrecondition, "would create a cycle (");
  EXPECT_THAT(r.status().message(), HasSubstr("edge 3->1 would create a cycle (1 -> 2 -> 3 -> 1)"));
}

TEST(JsonFormatTest, RejectsSparseIdSpaces) {
  // One node at id 5000 would need 5001 slots for 1 node.
  ExpectError(ReadJson(Doc(R"([{"id":5000,"type":"Result"}])", "[]", "5001")), StatusCode::kOutOfRange,
              "too sparse");
  ExpectError(ReadJson(Doc("[]", "[]", "16777216")), StatusCode::kOutOfRange, "too sparse");
  // 8 * 1 + 1024 = 1032 ids are fine for one node.
  EXPECT_TRUE(ReadJson(Doc(R"([{"id":1031,"type":"Result"}])", "[]", "1032")).ok());
}

TEST(JsonFormatTest, SurvivesAbsurdNestingAndHugeStrings) {
  std::string deep(200000, '[');
  deep += std::string(200000, ']');
  ExpectError(ReadJson(deep), StatusCode::kOutOfRange, "nesting deeper than 512");
  std::string deep_obj = Doc("[" + std::string(200000, '[') + "]");
  ExpectError(ReadJson(deep_obj), StatusCode::kOutOfRange, "nesting");

  const std::string big(ParseLimits{}.max_string_bytes + 1, 'x');
  ExpectError(ReadJson(Doc(R"([{"id":0,"type":"Seq Scan","relation":")" + big + "\"}]")), StatusCode::kOutOfRange,
              "node 0: field \"relation\" is 1048577 bytes; the limit is 1048576");
  ParseLimits small;
  small.max_string_bytes = 4;
  ExpectError(ReadJson(Doc(R"([{"id":0,"type":"Sort","keys":["abcde"]}])"), small), StatusCode::kOutOfRange,
              "field \"keys[0]\" is 5 bytes");
  small = ParseLimits{};
  small.max_nodes = 1;
  ExpectError(ReadJson(WriteJson(SamplePlan()), small), StatusCode::kOutOfRange, "6 nodes exceed the limit of 1");
  small = ParseLimits{};
  small.max_input_bytes = 10;
  ExpectError(ReadJson(WriteJson(SamplePlan()), small), StatusCode::kOutOfRange, "the limit is 10");
}

TEST(JsonFormatTest, InvalidUtf8InMemoryIsReplacedNotThrown) {
  QueryDag dag;
  dag.AddNode(OperatorNode::SeqScan("bad\xff")).value();
  const std::string text = WriteJson(dag);
  Result<QueryDag> back = ReadJson(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->node(0)->relation, "bad\xEF\xBF\xBD");
}

TEST(JsonFormatTest, LoadIsLinearOnLongChainsInHostileOrder) {
  // A 20,000-node chain with edges listed from the top down: inserting them
  // in file order with per-edge cycle checks would be quadratic.
  const int n = 20000;
  std::string nodes = "[";
  std::string edges = "[";
  for (int i = 0; i < n; ++i) {
    nodes += (i ? "," : "") + std::string(R"({"id":)") + std::to_string(i) + R"(,"type":"Result"})";
  }
  for (int i = n - 2; i >= 0; i -= 2) edges += "[" + std::to_string(i) + "," + std::to_string(i + 1) + "],";
  for (int i = n - 3; i >= 0; i -= 2) edges += "[" + std::to_string(i) + "," + std::to_string(i + 1) + "],";
  edges.back() = ']';
  Result<QueryDag> dag = ReadJson(Doc(nodes + "]", edges, std::to_string(n)));
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  EXPECT_EQ(dag->edge_count(), static_cast<size_t>(n - 1));
  EXPECT_EQ(dag->MaxDepth(), static_cast<uint32_t>(n - 1));
}

// ============================================================================
// The Rust crate's JSON
// ============================================================================

constexpr const char* kCrateExample = R"({
  "nodes": [
    {"id": 0, "op_type": {"SeqScan": {"table": "users"}}, "estimated_rows": 1000.0, "estimated_cost": 15.5,
     "actual_rows": null, "actual_time_ms": null, "embedding": null},
    {"id": 1, "op_type": {"HashJoin": {"hash_key": "user_id"}}, "estimated_rows": 200.0, "estimated_cost": 30.0,
     "actual_rows": 187.0, "actual_time_ms": 4.5, "embedding": [0.5, -1.25]},
    {"id": 2, "op_type": {"IndexScan": {"index": "orders_pkey", "table": "orders"}}, "estimated_rows": 50.0,
     "estimated_cost": 2.0, "actual_rows": null, "actual_time_ms": null, "embedding": null},
    {"id": 3, "op_type": {"Sort": {"keys": ["date", "total"], "descending": [false, true]}},
     "estimated_rows": 200.0, "estimated_cost": 5.0, "actual_rows": null, "actual_time_ms": null, "embedding": null},
    {"id": 4, "op_type": {"Limit": {"count": 10}}, "estimated_rows": 10.0, "estimated_cost": 0.1,
     "actual_rows": null, "actual_time_ms": null, "embedding": null},
    {"id": 5, "op_type": "Result", "estimated_rows": 10.0, "estimated_cost": 0.0,
     "actual_rows": null, "actual_time_ms": null, "embedding": null}
  ],
  "edges": [[0, 1], [2, 1], [1, 3], [3, 4], [4, 5]],
  "root": 0
})";

TEST(RustJsonFormatTest, ReadsTheCratesDocument) {
  Result<QueryDag> dag = ReadRustJson(kCrateExample);
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  EXPECT_EQ(dag->node_count(), 6u);
  EXPECT_EQ(dag->edge_count(), 5u);
  const OperatorNode* scan = dag->node(0);
  EXPECT_EQ(scan->type, OperatorType::kSeqScan);
  EXPECT_EQ(scan->relation, "users");
  EXPECT_EQ(scan->estimated_rows, 1000.0);
  EXPECT_EQ(scan->estimated_cost, 15.5);
  const OperatorNode* join = dag->node(1);
  EXPECT_EQ(join->type, OperatorType::kHashJoin);
  EXPECT_EQ(join->predicate, "user_id");
  EXPECT_EQ(join->actual_rows, 187.0);
  EXPECT_EQ(join->actual_time_ms, 4.5);
  EXPECT_EQ(join->embedding, (std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(dag->node(2)->index, "orders_pkey");
  EXPECT_EQ(dag->node(2)->relation, "orders");
  EXPECT_EQ(dag->node(3)->keys, (std::vector<std::string>{"date", "total"}));
  EXPECT_EQ(dag->node(3)->descending, (std::vector<bool>{false, true}));
  EXPECT_EQ(dag->node(4)->parameter, 10);
  EXPECT_EQ(dag->node(5)->type, OperatorType::kResult);
  EXPECT_EQ(dag->parents(1), (std::vector<NodeId>{0, 2}));
}

TEST(RustJsonFormatTest, RoundTripGivesTheSameJsonValue) {
  Result<QueryDag> dag = ReadRustJson(kCrateExample);
  ASSERT_TRUE(dag.ok());
  Result<std::string> written = WriteRustJson(*dag);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(json::parse(*written), json::parse(kCrateExample)) << *written;
}

TEST(RustJsonFormatTest, EveryVariantMapsBothWays) {
  struct Case {
    const char* op_type;
    OperatorType type;
  };
  const Case cases[] = {
      {R"({"SeqScan":{"table":"t"}})", OperatorType::kSeqScan},
      {R"({"IndexScan":{"index":"i","table":"t"}})", OperatorType::kIndexScan},
      {R"({"HnswScan":{"index":"h","ef_search":4294967295}})", OperatorType::kHnswScan},
      {R"({"IvfFlatScan":{"index":"v","nprobe":8}})", OperatorType::kIvfFlatScan},
      {R"("NestedLoopJoin")", OperatorType::kNestedLoop},
      {R"({"HashJoin":{"hash_key":"k"}})", OperatorType::kHashJoin},
      {R"({"MergeJoin":{"merge_key":"m"}})", OperatorType::kMergeJoin},
      {R"x({"Aggregate":{"functions":["count(*)","sum(x)"]}})x", OperatorType::kAggregate},
      {R"({"GroupBy":{"keys":["a"]}})", OperatorType::kGroupBy},
      {R"({"Filter":{"predicate":"x > 1"}})", OperatorType::kFilter},
      {R"({"Project":{"columns":["a","b"]}})", OperatorType::kProject},
      {R"({"Sort":{"keys":["a"],"descending":[true]}})", OperatorType::kSort},
      {R"({"Limit":{"count":9223372036854775807}})", OperatorType::kLimit},
      {R"({"VectorDistance":{"metric":"cosine"}})", OperatorType::kVectorDistance},
      {R"({"Rerank":{"model":"bge"}})", OperatorType::kRerank},
      {R"("Materialize")", OperatorType::kMaterialize},
      {R"("Result")", OperatorType::kResult},
  };
  for (const Case& c : cases) {
    const std::string doc = std::string(R"({"nodes":[{"id":0,"op_type":)") + c.op_type +
                            R"(,"estimated_rows":1.0,"estimated_cost":2.0,"actual_rows":null,)"
                            R"("actual_time_ms":null,"embedding":null}],"edges":[],"root":0})";
    Result<QueryDag> dag = ReadRustJson(doc);
    ASSERT_TRUE(dag.ok()) << c.op_type << ": " << dag.status().ToString();
    EXPECT_EQ(dag->node(0)->type, c.type) << c.op_type;
    Result<std::string> back = WriteRustJson(*dag);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(json::parse(*back), json::parse(doc)) << c.op_type;
  }
  Result<QueryDag> hnsw = ReadRustJson(std::string(R"({"nodes":[{"id":0,"op_type":{"HnswScan":{"index":"h",)"
                                                   R"("ef_search":64}},"estimated_rows":1,"estimated_cost":2}],)"
                                                   R"("edges":[]})"));
  ASSERT_TRUE(hnsw.ok()) << hnsw.status().ToString();
  EXPECT_EQ(hnsw->node(0)->index, "h");
  EXPECT_EQ(hnsw->node(0)->parameter, 64);
}

TEST(RustJsonFormatTest, DeprecatedVariantsReadAsTheirReplacements) {
  Result<QueryDag> dag = ReadRustJson(
      R"({"nodes":[{"id":0,"op_type":"Scan","estimated_rows":1,"estimated_cost":1},)"
      R"({"id":1,"op_type":"Join","estimated_rows":1,"estimated_cost":1},)"
      R"({"id":2,"op_type":{"Result":null},"estimated_rows":1,"estimated_cost":1}],"edges":[[0,1],[1,2]]})");
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  EXPECT_EQ(dag->node(0)->type, OperatorType::kSeqScan);
  EXPECT_EQ(dag->node(0)->relation, "");
  EXPECT_EQ(dag->node(1)->type, OperatorType::kNestedLoop);
  EXPECT_EQ(dag->node(2)->type, OperatorType::kResult);
  const json written = json::parse(WriteRustJson(*dag).value());
  EXPECT_EQ(written["nodes"][0]["op_type"], json::parse(R"({"SeqScan":{"table":""}})"));
  EXPECT_EQ(written["nodes"][1]["op_type"], "NestedLoopJoin");
}

TEST(RustJsonFormatTest, KeepsSparseIdsAndOrdersNodes) {
  Result<QueryDag> dag = ReadRustJson(
      R"({"nodes":[{"id":40,"op_type":"Result","estimated_rows":1,"estimated_cost":1},)"
      R"({"id":7,"op_type":{"SeqScan":{"table":"a"}},"estimated_rows":1,"estimated_cost":1}],)"
      R"("edges":[[7,40]],"root":7})");
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  EXPECT_EQ(dag->NodeIds(), (std::vector<NodeId>{7, 40}));
  EXPECT_EQ(dag->id_bound(), 41u);
  const json written = json::parse(WriteRustJson(*dag).value());
  EXPECT_EQ(written["nodes"][0]["id"], 7);
  EXPECT_EQ(written["root"], 7);
}

TEST(RustJsonFormatTest, RootIsTheSmallestSourceAndIsValidated) {
  QueryDag dag = SamplePlan();
  ASSERT_TRUE(dag.RemoveNode(2).ok());  // Hash has no crate equivalent
  ASSERT_TRUE(dag.RemoveNode(0).ok());
  const json written = json::parse(WriteRustJson(dag).value());
  EXPECT_EQ(written["root"], 1);
  EXPECT_EQ(json::parse(WriteRustJson(QueryDag()).value()), json::parse(R"({"nodes":[],"edges":[],"root":null})"));

  const std::string one = R"({"nodes":[{"id":0,"op_type":"Result","estimated_rows":1,"estimated_cost":1}],"edges":[])";
  EXPECT_TRUE(ReadRustJson(one + "}").ok());
  EXPECT_TRUE(ReadRustJson(one + R"(,"root":null})").ok());
  ExpectError(ReadRustJson(one + R"(,"root":3})"), StatusCode::kNotFound, "root 3 is not a node id");
  ExpectError(ReadRustJson(one + R"(,"root":"0"})"), StatusCode::kInvalidArgument,
              "field \"root\" must be null or a node id, got string");
  ExpectError(ReadRustJson(one + R"(,"root":-1})"), StatusCode::kInvalidArgument, "field \"root\"");
}

TEST(RustJsonFormatTest, WritingUnrepresentableTypesFailsNamingTheNode) {
  for (OperatorType type : {OperatorType::kGather, OperatorType::kHash, OperatorType::kAppend,
                            OperatorType::kIndexOnlyScan, OperatorType::kBitmapHeapScan, OperatorType::kMemoize}) {
    QueryDag dag;
    dag.AddNode(OperatorNode::SeqScan("t")).value();
    dag.AddNode(OperatorNode::Make(type)).value();
    ExpectError(WriteRustJson(dag), StatusCode::kInvalidArgument,
                "node 1: operator type \"" + std::string(OperatorTypeName(type)) + "\" has no equivalent");
  }
  QueryDag dag;
  dag.AddNode(OperatorNode::Limit(-1)).value();
  ExpectError(WriteRustJson(dag), StatusCode::kInvalidArgument, "node 0: Limit count -1 is negative");
  QueryDag hnsw;
  hnsw.AddNode(OperatorNode::HnswScan("h", 1)).value();
  hnsw.mutable_node(0)->parameter = int64_t{1} << 33;
  ExpectError(WriteRustJson(hnsw), StatusCode::kInvalidArgument, "does not fit the crate's u32 field \"ef_search\"");
}

std::string RustNode(const std::string& id, const std::string& op, const std::string& rest = "") {
  return R"({"id":)" + id + R"(,"op_type":)" + op + R"(,"estimated_rows":1,"estimated_cost":1)" + rest + "}";
}
std::string RustDoc(const std::string& nodes, const std::string& edges = "[]") {
  return R"({"nodes":[)" + nodes + R"(],"edges":)" + edges + "}";
}

TEST(RustJsonFormatTest, RejectsMalformedDocumentsWithNamedErrors) {
  ExpectError(ReadRustJson(""), StatusCode::kInvalidArgument, "empty input");
  ExpectError(ReadRustJson("{\"nodes\":[{\"id\":0"), StatusCode::kInvalidArgument, "invalid JSON");
  ExpectError(ReadRustJson(R"({"edges":[]})"), StatusCode::kInvalidArgument, "missing field \"nodes\"");
  ExpectError(ReadRustJson(R"({"nodes":{},"edges":[]})"), StatusCode::kInvalidArgument, "\"nodes\" must be an array");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"("Gather")"))), StatusCode::kInvalidArgument,
              "node 0: unknown op_type \"Gather\"");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"("SeqScan")"))), StatusCode::kInvalidArgument,
              "op_type \"SeqScan\" needs its fields");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"({"Result":{"x":1}})"))), StatusCode::kInvalidArgument,
              "op_type \"Result\" takes no fields");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"({"SeqScan":{}})"))), StatusCode::kInvalidArgument,
              "missing field \"table\"");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"({"SeqScan":{"table":1}})"))), StatusCode::kInvalidArgument,
              "field \"table\" must be a string, got number");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"({"SeqScan":"t"})"))), StatusCode::kInvalidArgument,
              "op_type \"SeqScan\" must hold an object, got string");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"({"SeqScan":{"table":"t"},"Result":null})"))),
              StatusCode::kInvalidArgument, "one-key object");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", "7"))), StatusCode::kInvalidArgument, "field \"op_type\"");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"({"HnswScan":{"index":"h","ef_search":4294967296}})"))),
              StatusCode::kOutOfRange, "field \"ef_search\" must be an integer in [0, 4294967295]");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"({"Limit":{"count":-1}})"))), StatusCode::kOutOfRange,
              "field \"count\"");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"({"Sort":{"keys":["a"],"descending":[1]}})"))),
              StatusCode::kInvalidArgument, "field \"descending[0]\" must be a boolean");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"({"Sort":{"keys":["a"],"descending":[true,false]}})"))),
              StatusCode::kInvalidArgument, "\"descending\" has 2 flags for 1 keys");
  ExpectError(ReadRustJson(RustDoc(R"({"id":0,"op_type":"Result","estimated_cost":1})")),
              StatusCode::kInvalidArgument, "node 0: missing field \"estimated_rows\"");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"("Result")", R"(,"actual_rows":-1)"))),
              StatusCode::kInvalidArgument, "node 0: field \"actual_rows\" must be a finite number >= 0");
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"("Result")", R"(,"embedding":"x")"))),
              StatusCode::kInvalidArgument, "field \"embedding\" must be an array of numbers");
  ExpectError(ReadRustJson(RustDoc(RustNode("\"0\"", R"("Result")"))), StatusCode::kInvalidArgument,
              "nodes[0]: field \"id\"");
  ExpectError(ReadRustJson(RustDoc(RustNode("18446744073709551615", R"("Result")"))), StatusCode::kOutOfRange,
              "id 18446744073709551615 exceeds the maximum node id 16777215");
  ExpectError(ReadRustJson(RustDoc(RustNode("1032", R"("Result")"))), StatusCode::kOutOfRange, "too sparse");
  EXPECT_TRUE(ReadRustJson(RustDoc(RustNode("1031", R"("Result")"))).ok());
  ExpectError(ReadRustJson(RustDoc(RustNode("0", R"("Result")") + "," + RustNode("0", R"("Result")"))),
              StatusCode::kAlreadyExists, "duplicate node id 0");
  const std::string two = RustNode("0", R"("Result")") + "," + RustNode("1", R"("Result")");
  ExpectError(ReadRustJson(RustDoc(two, "[[0,2]]")), StatusCode::kNotFound, "edge 0->2: unknown node 2");
  ExpectError(ReadRustJson(RustDoc(two, "[[0,0]]")), StatusCode::kInvalidArgument, "self-loop");
  ExpectError(ReadRustJson(RustDoc(two, "[[0,1],[0,1]]")), StatusCode::kAlreadyExists, "already exists");
  ExpectError(ReadRustJson(RustDoc(two, "[[0,1],[1,0]]")), StatusCode::kFailedPrecondition, "cycle");
  ExpectError(ReadRustJson(RustDoc(two, "[[0,1,2]]")), StatusCode::kInvalidArgument, "edges[0] must be [parent, child]");
  std::string deep = "{\"nodes\":" + std::string(200000, '[');
  ExpectError(ReadRustJson(deep), StatusCode::kOutOfRange, "nesting");
}

// ============================================================================
// Binary
// ============================================================================

// Assembles a binary file from raw section payloads and a valid checksum,
// for crafting hostile inputs that get past the CRC.
class BinaryBuilder {
 public:
  BinaryBuilder& Version(uint16_t v) {
    version_ = v;
    return *this;
  }
  BinaryBuilder& Flags(uint16_t f) {
    flags_ = f;
    return *this;
  }
  BinaryBuilder& Section(uint8_t tag, const std::string& payload) {
    body_.push_back(static_cast<char>(tag));
    AppendU32(body_, static_cast<uint32_t>(payload.size()));
    body_ += payload;
    return *this;
  }
  std::string Build() const {
    std::string out = "RVDG";
    out.push_back(static_cast<char>(version_ & 0xFF));
    out.push_back(static_cast<char>(version_ >> 8));
    out.push_back(static_cast<char>(flags_ & 0xFF));
    out.push_back(static_cast<char>(flags_ >> 8));
    out += body_;
    AppendU32(out, Crc32c(out.data(), out.size()));
    return out;
  }
  static std::string Varint(uint64_t v) {
    std::string s;
    while (v >= 0x80) {
      s.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    s.push_back(static_cast<char>(v));
    return s;
  }
  static std::string F64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    std::string s;
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(bits >> (8 * i)));
    return s;
  }

 private:
  static void AppendU32(std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  }
  uint16_t version_ = 1;
  uint16_t flags_ = 0;
  std::string body_;
};

using B = BinaryBuilder;

std::string Header(uint64_t nodes, uint64_t id_bound, uint64_t edges, uint64_t strings) {
  return B::Varint(nodes) + B::Varint(id_bound) + B::Varint(edges) + B::Varint(strings);
}

// Two Result nodes 0 and 1 with the given edge section payload.
std::string TwoNodesWithEdges(uint64_t edge_count, const std::string& edges) {
  const std::string node = std::string(1, '\0') + std::string(1, static_cast<char>(OperatorType::kResult)) + B::Varint(0);
  return B()
      .Section(1, Header(2, 2, edge_count, 0))
      .Section(2, "")
      .Section(3, node + node)
      .Section(4, edges)
      .Build();
}

TEST(BinaryFormatTest, RoundTripsEveryFieldWithIdenticalBytes) {
  for (const QueryDag& dag : {FullDag(), SamplePlan(), QueryDag()}) {
    const std::string bytes = WriteBinary(dag);
    Result<QueryDag> back = ReadBinary(bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == dag);
    EXPECT_EQ(WriteBinary(*back), bytes);
  }
  Result<QueryDag> full = ReadBinary(WriteBinary(FullDag()));
  ASSERT_TRUE(full.ok());
  EXPECT_TRUE(std::signbit(full->node(0)->width));
  EXPECT_EQ(full->parents(2), (std::vector<NodeId>{1, 0}));
}

TEST(BinaryFormatTest, FrameLayoutAndCompactness) {
  const QueryDag dag = SamplePlan();
  const std::string bytes = WriteBinary(dag);
  ASSERT_GE(bytes.size(), 12u);
  EXPECT_EQ(bytes.substr(0, 4), "RVDG");
  EXPECT_EQ(bytes[4], 1);  // version, little-endian
  EXPECT_EQ(bytes[5], 0);
  EXPECT_EQ(bytes[6], 0);  // flags
  EXPECT_EQ(bytes[7], 0);
  EXPECT_EQ(bytes[8], 1);  // header section tag
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= uint32_t{static_cast<uint8_t>(bytes[bytes.size() - 4 + i])} << (8 * i);
  EXPECT_EQ(stored, Crc32c(bytes.data(), bytes.size() - 4));
  EXPECT_LT(bytes.size() * 4, WriteJson(dag).size());
  // The empty DAG: prefix, four empty-ish sections, checksum.
  EXPECT_EQ(WriteBinary(QueryDag()).size(), 8u + (5 + 4) + 5 + 5 + (5 + 1) + 4);
}

TEST(BinaryFormatTest, KeepsRemovedIds) {
  QueryDag dag = SamplePlan();
  ASSERT_TRUE(dag.RemoveNode(5).ok());
  ASSERT_TRUE(dag.RemoveNode(1).ok());
  Result<QueryDag> back = ReadBinary(WriteBinary(dag));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == dag);
  EXPECT_EQ(back->id_bound(), 6u);
}

TEST(BinaryFormatTest, EveryTruncationIsAnError) {
  const std::string bytes = WriteBinary(FullDag());
  for (size_t len = 0; len < bytes.size(); ++len) {
    Result<QueryDag> r = ReadBinary(std::string_view(bytes).substr(0, len));
    ASSERT_FALSE(r.ok()) << "prefix of " << len << " bytes was accepted";
    const StatusCode code = r.status().code();
    EXPECT_TRUE(code == StatusCode::kDataLoss || code == StatusCode::kInvalidArgument) << r.status().ToString();
  }
  ExpectError(ReadBinary(""), StatusCode::kInvalidArgument, "empty input");
  ExpectError(ReadBinary("RVDG\x01"), StatusCode::kDataLoss, "truncated: 5 bytes");
}

TEST(BinaryFormatTest, EverySingleBitFlipIsDetected) {
  const std::string bytes = WriteBinary(SamplePlan());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      Result<QueryDag> r = ReadBinary(bad);
      ASSERT_FALSE(r.ok()) << "flip of bit " << bit << " in byte " << i << " went unnoticed";
      if (i >= 8) EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
    }
  }
  std::string bad = bytes;
  bad[20] ^= 0x10;
  ExpectError(ReadBinary(bad), StatusCode::kDataLoss, "checksum mismatch");
}

TEST(BinaryFormatTest, RejectsBadFramesAndSections) {
  ExpectError(ReadBinary("XXXX\x01\x00\x00\x00\x00\x00\x00\x00"), StatusCode::kInvalidArgument, "bad magic");
  ExpectError(ReadBinary(B().Version(2).Build()), StatusCode::kInvalidArgument, "unsupported version 2");
  ExpectError(ReadBinary(B().Flags(4).Build()), StatusCode::kInvalidArgument, "unknown flags 0x0004");
  ExpectError(ReadBinary(B().Build()), StatusCode::kDataLoss, "truncated at byte 8 while reading section tag");
  ExpectError(ReadBinary(B().Section(2, "").Build()), StatusCode::kInvalidArgument,
              "at byte 8: expected section 1 (header), found tag 2");
  // A section length running past the end.
  std::string good = B().Section(1, Header(0, 0, 0, 0)).Section(2, "").Section(3, "").Section(4, B::Varint(0)).Build();
  EXPECT_TRUE(ReadBinary(good).ok());
  std::string lying = "RVDG" + std::string("\x01\x00\x00\x00", 4) + "\x01" + std::string("\xff\xff\x00\x00", 4) + "ab";
  uint32_t crc = Crc32c(lying.data(), lying.size());
  for (int i = 0; i < 4; ++i) lying.push_back(static_cast<char>(crc >> (8 * i)));
  ExpectError(ReadBinary(lying), StatusCode::kDataLoss, "header section claims 65535 bytes but only 2 remain");
  ExpectError(ReadBinary(B().Section(1, Header(0, 0, 0, 0) + "x").Section(2, "").Section(3, "").Section(4, B::Varint(0)).Build()),
              StatusCode::kInvalidArgument, "1 unread bytes at the end of the header section");
  std::string trailing = B().Section(1, Header(0, 0, 0, 0)).Section(2, "").Section(3, "").Section(4, B::Varint(0)).Section(5, "").Build();
  ExpectError(ReadBinary(trailing), StatusCode::kInvalidArgument, "unexpected bytes after the last section");
}

TEST(BinaryFormatTest, RejectsCountsBeyondLimitsAndBytes) {
  ExpectError(ReadBinary(B().Section(1, Header(uint64_t{1} << 40, 1, 0, 0)).Build()), StatusCode::kInvalidArgument,
              "node count 1099511627776 exceeds 4194304");
  ExpectError(ReadBinary(B().Section(1, Header(0, 16777216, 0, 0)).Build()), StatusCode::kOutOfRange, "too sparse");
  ExpectError(ReadBinary(B().Section(1, Header(3, 2, 0, 0)).Build()), StatusCode::kInvalidArgument,
              "node count 3 exceeds the id bound 2");
  ExpectError(ReadBinary(B().Section(1, Header(2, 2, 5, 0)).Build()), StatusCode::kInvalidArgument,
              "edge count 5 is impossible for 2 nodes");
  ExpectError(ReadBinary(B().Section(1, Header(0, 0, 0, 1000000)).Section(2, "ab").Build()),
              StatusCode::kInvalidArgument, "string count 1000000 exceeds the 2 bytes of the string table");
  ExpectError(ReadBinary(B().Section(1, Header(0, 0, 0, 1)).Section(2, B::Varint(1u << 30) + "ab").Build()),
              StatusCode::kInvalidArgument, "string 1 length 1073741824 exceeds 1048576");
  ExpectError(ReadBinary(B().Section(1, Header(0, 0, 0, 1)).Section(2, B::Varint(5) + "ab").Build()),
              StatusCode::kDataLoss, "truncated at byte");
  ExpectError(ReadBinary(B().Section(1, Header(0, 0, 0, 1)).Section(2, B::Varint(2) + "\xc3\x28").Build()),
              StatusCode::kInvalidArgument, "string 1 is not valid UTF-8");
  ExpectError(ReadBinary(B().Section(1, Header(1000, 1000, 0, 0)).Section(2, "").Section(3, "abc").Build()),
              StatusCode::kInvalidArgument, "node count 1000 does not fit the 3 bytes of the node table");
  ExpectError(ReadBinary(B().Section(1, std::string(11, '\xff')).Build()), StatusCode::kInvalidArgument,
              "node count: varint overflows 64 bits");
  ParseLimits small;
  small.max_nodes = 1;
  ExpectError(ReadBinary(WriteBinary(SamplePlan()), small), StatusCode::kInvalidArgument, "node count 6 exceeds 1");
}

std::string OneNode(uint8_t type, uint64_t bits, const std::string& fields, uint64_t id_gap = 0) {
  return B::Varint(id_gap) + std::string(1, static_cast<char>(type)) + B::Varint(bits) + fields;
}

TEST(BinaryFormatTest, RejectsBadNodeRecords) {
  auto file = [](const std::string& node, uint64_t strings = 0, const std::string& table = "") {
    return B().Section(1, Header(1, 1, 0, strings)).Section(2, table).Section(3, node).Section(4, B::Varint(0)).Build();
  };
  const auto result = static_cast<uint8_t>(OperatorType::kResult);
  EXPECT_TRUE(ReadBinary(file(OneNode(result, 0, ""))).ok());
  ExpectError(ReadBinary(file(OneNode(200, 0, ""))), StatusCode::kInvalidArgument,
              "node 0: unknown operator type code 200");
  ExpectError(ReadBinary(file(OneNode(result, 1u << 25, ""))), StatusCode::kInvalidArgument, "unknown field bits");
  ExpectError(ReadBinary(file(OneNode(result, 0, "", 1))), StatusCode::kInvalidArgument,
              "node id after -1 with gap 1 is not below the id bound 1");
  ExpectError(ReadBinary(file(OneNode(result, 1, B::Varint(1)))), StatusCode::kInvalidArgument,
              "node 0 relation string index 1 exceeds 0");
  EXPECT_TRUE(ReadBinary(file(OneNode(result, 1, B::Varint(1)), 1, B::Varint(1) + "t")).ok());
  ExpectError(ReadBinary(file(OneNode(result, 1u << 12, B::F64(std::nan(""))))), StatusCode::kInvalidArgument,
              "node 0: field \"estimated_rows\" must be a finite number >= 0");
  ExpectError(ReadBinary(file(OneNode(result, 1u << 13, B::F64(-1)))), StatusCode::kInvalidArgument,
              "field \"estimated_cost\" must be a finite number >= 0");
  ExpectError(ReadBinary(file(OneNode(result, 1u << 17, B::F64(INFINITY)))), StatusCode::kInvalidArgument,
              "field \"actual_rows\"");
  ExpectError(ReadBinary(file(OneNode(result, 1u << 20, B::Varint(1000000)))), StatusCode::kInvalidArgument,
              "embedding length 1000000 exceeds");
  const float nan_f = std::numeric_limits<float>::quiet_NaN();
  std::string nan_bytes(4, '\0');
  std::memcpy(nan_bytes.data(), &nan_f, 4);
  ExpectError(ReadBinary(file(OneNode(result, 1u << 20, B::Varint(1) + nan_bytes))), StatusCode::kInvalidArgument,
              "field \"embedding\" element 0 must be a finite 32-bit float");
  ExpectError(ReadBinary(file(OneNode(result, 1u << 4, B::Varint(500)))), StatusCode::kInvalidArgument,
              "node 0 key count 500 exceeds the");
  ExpectError(ReadBinary(file(OneNode(result, (1u << 4) | (1u << 5), B::Varint(1) + B::Varint(0) + B::Varint(2) + "\x01"))),
              StatusCode::kInvalidArgument, "\"descending\" has 2 flags for 1 keys");
  ExpectError(ReadBinary(file(OneNode(result, 1u << 10, B::Varint(1)))), StatusCode::kInvalidArgument,
              "field \"workers_planned\" must be >= 0");
  ExpectError(ReadBinary(file(OneNode(result, 1u << 10, B::Varint(uint64_t{1} << 40)))), StatusCode::kInvalidArgument,
              "workers_planned");
}

TEST(BinaryFormatTest, EdgeCountIsCheckedAgainstTheEdgeSectionBeforeReserving) {
  // 100,000 empty node records (3 bytes each) make n(n-1)/2 edges plausible
  // to the header; the edge section has 1 byte, so nothing may be reserved.
  const uint64_t n = 100000;
  std::string nodes;
  for (uint64_t i = 0; i < n; ++i) nodes += std::string(1, '\0') + std::string(1, '\x29') + std::string(1, '\0');
  const std::string file = B().Section(1, Header(n, n, n * (n - 1) / 2, 0)).Section(2, "").Section(3, nodes)
                               .Section(4, B::Varint(0)).Build();
  ExpectError(ReadBinary(file), StatusCode::kInvalidArgument,
              "edge count 4999950000 exceeds the 1 bytes of the edge section");
}

TEST(BinaryFormatTest, RejectsBadEdges) {
  auto group = [](uint64_t target_gap, std::vector<uint64_t> sources) {
    std::string s = B::Varint(target_gap) + B::Varint(sources.size());
    for (uint64_t v : sources) s += B::Varint(v);
    return s;
  };
  EXPECT_TRUE(ReadBinary(TwoNodesWithEdges(1, B::Varint(1) + group(1, {0}))).ok());
  ExpectError(ReadBinary(TwoNodesWithEdges(1, B::Varint(1) + group(1, {7}))), StatusCode::kNotFound,
              "edge 7->1: unknown node 7");
  ExpectError(ReadBinary(TwoNodesWithEdges(1, B::Varint(1) + group(1, {1}))), StatusCode::kInvalidArgument,
              "edge 1->1 is a self-loop");
  ExpectError(ReadBinary(TwoNodesWithEdges(1, B::Varint(1) + group(5, {0}))), StatusCode::kInvalidArgument,
              "edge target 5 exceeds 2");
  const std::string node = std::string(1, '\0') + std::string(1, static_cast<char>(OperatorType::kResult)) + B::Varint(0);
  // 0->1->2->0 on three nodes.
  const std::string cyclic = B().Section(1, Header(3, 3, 3, 0)).Section(2, "").Section(3, node + node + node)
                                 .Section(4, B::Varint(3) + group(0, {2}) + group(0, {0}) + group(0, {1})).Build();
  ExpectError(ReadBinary(cyclic), StatusCode::kFailedPrecondition, "edge 2->0 would create a cycle (0 -> 1 -> 2 -> 0)");
  ExpectError(ReadBinary(TwoNodesWithEdges(1, B::Varint(1) + group(1, {0, 0}))), StatusCode::kInvalidArgument,
              "input count 2 exceeds 1");
  ExpectError(ReadBinary(TwoNodesWithEdges(1, B::Varint(1) + group(1, {}))), StatusCode::kInvalidArgument,
              "edge group with no inputs");
  ExpectError(ReadBinary(TwoNodesWithEdges(1, B::Varint(0))), StatusCode::kInvalidArgument,
              "edge section holds 0 edges; the header says 1");
  // Duplicates need three nodes to be countable: 0->2 twice.
  const std::string dup = B().Section(1, Header(3, 3, 2, 0)).Section(2, "").Section(3, node + node + node)
                              .Section(4, B::Varint(1) + group(2, {0, 0})).Build();
  ExpectError(ReadBinary(dup), StatusCode::kAlreadyExists, "edge 0->2 already exists");
}

// ============================================================================
// Random bytes and mutations never crash any reader
// ============================================================================

TEST(FormatsRobustnessTest, RandomAndMutatedInputsGiveErrorsNotCrashes) {
  Rng rng(12345);
  const std::string json_doc = WriteJson(FullDag());
  const std::string binary = WriteBinary(FullDag());
  size_t accepted = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string input;
    switch (iter % 4) {
      case 0: {  // random bytes
        input.resize(rng.Uniform(64));
        for (char& c : input) c = static_cast<char>(rng.Uniform(256));
        break;
      }
      case 1:
        input = json_doc;
        break;
      case 2:
        input = std::string(kCrateExample);
        break;
      default:
        input = binary;
        break;
    }
    if (iter % 4 != 0) {
      const int edits = 1 + static_cast<int>(rng.Uniform(4));
      for (int e = 0; e < edits && !input.empty(); ++e) {
        const size_t at = rng.Uniform(input.size());
        switch (rng.Uniform(3)) {
          case 0: input[at] = static_cast<char>(rng.Uniform(256)); break;
          case 1: input.erase(at, 1 + rng.Uniform(8)); break;
          default: input.insert(at, 1, "{}[],:\"0-e9"[rng.Uniform(11)]); break;
        }
      }
    }
    for (auto* reader : {+[](std::string_view s) { return ReadJson(s).ok(); },
                         +[](std::string_view s) { return ReadRustJson(s).ok(); },
                         +[](std::string_view s) { return ReadBinary(s).ok(); },
                         +[](std::string_view s) { return ReadAnyFormat(s).ok(); }}) {
      accepted += reader(input) ? 1 : 0;
    }
  }
  // Some mutations (inside strings, digits) keep a document valid; most don't.
  EXPECT_LT(accepted, 3000u * 4);
}

// ============================================================================
// Detection
// ============================================================================

constexpr const char* kExplain =
    R"([{"Plan":{"Node Type":"Seq Scan","Relation Name":"users","Alias":"users","Startup Cost":0.0,)"
    R"("Total Cost":10.5,"Plan Rows":100,"Plan Width":4}}])";

TEST(FormatDetectTest, DetectsEachFormat) {
  const QueryDag dag = SamplePlan();
  EXPECT_EQ(DetectFormat(WriteJson(dag)).value(), DagFormat::kJson);
  EXPECT_EQ(DetectFormat(WriteJson(dag, 4)).value(), DagFormat::kJson);
  EXPECT_EQ(DetectFormat(kCrateExample).value(), DagFormat::kRustJson);
  EXPECT_EQ(DetectFormat(WriteBinary(dag)).value(), DagFormat::kBinary);
  EXPECT_EQ(DetectFormat(kExplain).value(), DagFormat::kExplainJson);
  EXPECT_EQ(DetectFormat(R"(  {"Plan": {"Node Type": "Result"}})").value(), DagFormat::kExplainJson);
  EXPECT_EQ(DetectFormat("\xEF\xBB\xBF\n[ {\"Planning Time\": 1, \"Plan\": {}} ]").value(), DagFormat::kExplainJson);
  // Key order does not matter; nested "format"/"Plan" keys do not count.
  EXPECT_EQ(DetectFormat(R"({"edges":[],"nodes":[{"format":1,"Plan":2}],"format":"ruvector-dag"})").value(),
            DagFormat::kJson);
  EXPECT_EQ(DetectFormat(R"({"edges":[],"nodes":[{"format":1,"Plan":2}]})").value(), DagFormat::kRustJson);
  EXPECT_EQ(DetectFormat(R"({"root":"}\"{","nodes":[]})").value(), DagFormat::kRustJson);
}

TEST(FormatDetectTest, RejectsUnknownInputClearly) {
  ExpectError(DetectFormat(""), StatusCode::kInvalidArgument, "empty input");
  ExpectError(DetectFormat("hello"), StatusCode::kInvalidArgument, "neither the binary magic");
  ExpectError(DetectFormat("RVD"), StatusCode::kInvalidArgument, "cannot detect the format");
  ExpectError(DetectFormat("{}"), StatusCode::kInvalidArgument, "without a \"format\", \"Plan\" or \"nodes\" key");
  ExpectError(DetectFormat("[1,2]"), StatusCode::kInvalidArgument, "first element is not an object");
  ExpectError(DetectFormat("[{\"Node Type\":1}]"), StatusCode::kInvalidArgument, "\"Plan\" key");
  ExpectError(DetectFormat("{\"a\":"), StatusCode::kInvalidArgument, "malformed JSON object");
  std::string deep(200000, '[');
  ExpectError(DetectFormat(deep), StatusCode::kInvalidArgument, "cannot detect the format");
  std::string deep_obj = "{\"x\":" + std::string(200000, '{');
  ExpectError(DetectFormat(deep_obj), StatusCode::kInvalidArgument, "cannot detect the format");
}

TEST(FormatDetectTest, ReadAnyFormatDispatches) {
  const QueryDag dag = SamplePlan();
  DagFormat detected = DagFormat::kExplainJson;
  Result<QueryDag> r = ReadAnyFormat(WriteJson(dag), &detected);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(detected, DagFormat::kJson);
  EXPECT_TRUE(*r == dag);
  r = ReadAnyFormat(WriteBinary(dag), &detected);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(detected, DagFormat::kBinary);
  EXPECT_TRUE(*r == dag);
  r = ReadAnyFormat(kCrateExample, &detected);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(detected, DagFormat::kRustJson);
  EXPECT_EQ(r->node_count(), 6u);
  r = ReadAnyFormat(kExplain, &detected);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(detected, DagFormat::kExplainJson);
  ASSERT_EQ(r->node_count(), 1u);
  EXPECT_EQ(r->node(r->NodeIds()[0])->relation, "users");
  // Limits are passed through.
  ParseLimits small;
  small.max_nodes = 2;
  ExpectError(ReadAnyFormat(WriteJson(dag), nullptr, small), StatusCode::kOutOfRange, "exceed the limit of 2");
  ExpectError(ReadAnyFormat("nonsense"), StatusCode::kInvalidArgument, "cannot detect the format");
}

TEST(FormatDetectTest, FormatNames) {
  for (DagFormat f : {DagFormat::kJson, DagFormat::kRustJson, DagFormat::kBinary, DagFormat::kExplainJson}) {
    EXPECT_EQ(DagFormatFromName(DagFormatName(f)), f);
  }
  EXPECT_EQ(DagFormatName(DagFormat::kRustJson), "rust-json");
  EXPECT_EQ(DagFormatName(DagFormat::kExplainJson), "explain-json");
  EXPECT_FALSE(DagFormatFromName("yaml").has_value());
}

}  // namespace
}  // namespace ruvector_dag

// Golden tests over real PostgreSQL 15 EXPLAIN (FORMAT JSON) output: every
// fixture listed in manifest.tsv (written by scripts/make_explain_fixtures.sh)
// is imported and checked against the raw JSON and the plan shapes its query
// file promises ("-- expect:" line).
//
// The fixture directory is tests/fixtures/explain, or $RUVECTOR_EXPLAIN_DIR
// when set: tests/live_pg_explain_test.sh points it at output generated fresh
// from a running PostgreSQL.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/formats.h"

namespace ruvector_dag {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  std::string file;
  std::string variant;  // estimate, analyze, analyze_verbose
  size_t node_count = 0;
  std::string query;  // tests/sql/queries/<query>.sql
};

fs::path SourceDir() { return fs::path(RUVECTOR_SOURCE_DIR); }

fs::path FixtureDir() {
  const char* env = std::getenv("RUVECTOR_EXPLAIN_DIR");
  if (env != nullptr && *env != '\0') return fs::path(env);
  return SourceDir() / "tests" / "fixtures" / "explain";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<Fixture> LoadManifest() {
  std::vector<Fixture> fixtures;
  std::ifstream in(FixtureDir() / "manifest.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Fixture f;
    std::string count;
    if (std::getline(fields, f.file, '\t') && std::getline(fields, f.variant, '\t') &&
        std::getline(fields, count, '\t') && std::getline(fields, f.query, '\t')) {
      f.node_count = std::stoul(count);
      fixtures.push_back(f);
    } else {
      fixtures.push_back({"<malformed manifest line: " + line + ">", "", 0, ""});
    }
  }
  return fixtures;
}

size_t CountOccurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

std::vector<std::string> Expectations(const std::string& query) {
  const std::string text = ReadFile(SourceDir() / "tests" / "sql" / "queries" / (query + ".sql"));
  const std::string marker = "-- expect:";
  std::vector<std::string> tokens;
  const size_t at = text.find(marker);
  if (at == std::string::npos) return tokens;
  const size_t end = text.find('\n', at);
  std::istringstream list(text.substr(at + marker.size(), end - at - marker.size()));
  std::string token;
  while (std::getline(list, token, ',')) {
    token.erase(0, token.find_first_not_of(' '));
    token.erase(token.find_last_not_of(' ') + 1);
    if (!token.empty()) tokens.push_back(token);
  }
  return tokens;
}

// Pre-order list of the raw plan objects (test-side, independent of the
// importer; real fixtures are shallow so recursion is fine here).
void Flatten(const nlohmann::json& plan, std::vector<const nlohmann::json*>* out) {
  out->push_back(&plan);
  if (plan.contains("Plans")) {
    for (const auto& child : plan["Plans"]) Flatten(child, out);
  }
}

void PrintTo(const Fixture& f, std::ostream* os) { *os << f.file; }

class ExplainGoldenTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(ExplainGoldenTest, ImportsRealPlan) {
  const Fixture& f = GetParam();
  const std::string text = ReadFile(FixtureDir() / f.file);
  ASSERT_FALSE(text.empty()) << "missing or empty fixture " << (FixtureDir() / f.file);
  const size_t node_types = CountOccurrences(text, "\"Node Type\"");
  EXPECT_EQ(node_types, f.node_count) << "manifest count disagrees with the file";

  Result<ExplainPlan> imported = ImportExplain(text);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  const QueryDag& dag = imported->dag;

  // Shape: a tree whose only sink is the top plan node.
  ASSERT_EQ(dag.node_count(), node_types);
  EXPECT_EQ(dag.edge_count(), node_types - 1);
  EXPECT_TRUE(dag.Validate().ok()) << dag.Validate().ToString();
  EXPECT_EQ(dag.Sinks(), std::vector<NodeId>{0});
  const std::vector<NodeId> order = dag.TopologicalSort();
  ASSERT_EQ(order.size(), dag.node_count());
  std::vector<size_t> position(dag.id_bound());
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = i;
  for (const auto& [from, to] : dag.Edges()) EXPECT_LT(position[from], position[to]);

  // Costs and the critical path.
  dag.ForEachNode([&](const OperatorNode& n) {
    EXPECT_TRUE(std::isfinite(n.estimated_cost)) << n.id;
    EXPECT_GE(n.estimated_cost, 0.0) << n.id;
    EXPECT_GE(n.total_cost, n.startup_cost) << n.id;
  });
  Result<CriticalPath> path = dag.ComputeCriticalPath();
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  ASSERT_FALSE(path->nodes.empty());
  EXPECT_TRUE(dag.parents(path->nodes.front()).empty()) << "critical path must start at a source";
  EXPECT_EQ(path->nodes.back(), 0u) << "critical path must end at the top plan node";
  EXPECT_GE(path->cost, 0.0);
  // Own cost <= cumulative cost per node, so a path never costs more than
  // the sum of its nodes' Total Cost. (It may exceed the top node's Total
  // Cost: under a Limit the inputs keep their full cost, see
  // docs/explain_import.md.)
  double path_total = 0.0;
  for (NodeId id : path->nodes) {
    EXPECT_LE(dag.node(id)->estimated_cost, dag.node(id)->total_cost) << id;
    path_total += dag.node(id)->total_cost;
  }
  EXPECT_LE(path->cost, path_total);

  // Field by field against the raw JSON, in pre-order.
  const nlohmann::json doc = nlohmann::json::parse(text);
  ASSERT_TRUE(doc.is_array());
  ASSERT_EQ(doc.size(), 1u);
  std::vector<const nlohmann::json*> raw;
  Flatten(doc[0]["Plan"], &raw);
  ASSERT_EQ(raw.size(), dag.node_count());
  const bool analyze = f.variant != "estimate";
  for (NodeId id = 0; id < raw.size(); ++id) {
    const nlohmann::json& p = *raw[id];
    const OperatorNode& n = *dag.node(id);
    SCOPED_TRACE(f.file + " node " + std::to_string(id) + " (" + p["Node Type"].get<std::string>() + ")");
    EXPECT_EQ(OperatorTypeName(n.type), p["Node Type"].get<std::string>());
    EXPECT_EQ(n.estimated_rows, p["Plan Rows"].get<double>());
    EXPECT_EQ(n.total_cost, p["Total Cost"].get<double>());
    EXPECT_EQ(n.startup_cost, p["Startup Cost"].get<double>());
    EXPECT_EQ(n.width, p["Plan Width"].get<double>());
    EXPECT_EQ(n.parallel_aware, p["Parallel Aware"].get<bool>());
    if (p.contains("Relation Name")) EXPECT_EQ(n.relation, p["Relation Name"].get<std::string>());
    if (p.contains("Index Name")) EXPECT_EQ(n.index, p["Index Name"].get<std::string>());
    if (p.contains("Alias")) EXPECT_EQ(n.alias, p["Alias"].get<std::string>());
    if (p.contains("Subplan Name")) EXPECT_EQ(n.subplan_name, p["Subplan Name"].get<std::string>());
    if (p.contains("Join Type")) EXPECT_EQ(n.detail, p["Join Type"].get<std::string>());
    if (p.contains("Hash Cond")) EXPECT_EQ(n.predicate, p["Hash Cond"].get<std::string>());
    if (p.contains("Sort Key")) EXPECT_EQ(n.keys, p["Sort Key"].get<std::vector<std::string>>());
    if (p.contains("Workers Planned")) EXPECT_EQ(n.workers_planned, p["Workers Planned"].get<int>());
    if (n.type == OperatorType::kAggregate) EXPECT_EQ(n.detail, p["Strategy"].get<std::string>());
    if (analyze) {
      ASSERT_TRUE(n.actual_rows.has_value());
      ASSERT_TRUE(n.actual_loops.has_value());
      ASSERT_TRUE(n.actual_time_ms.has_value());
      EXPECT_EQ(*n.actual_rows, p["Actual Rows"].get<double>());
      EXPECT_EQ(*n.actual_loops, p["Actual Loops"].get<double>());
      EXPECT_EQ(*n.actual_time_ms, p["Actual Total Time"].get<double>());
    } else {
      EXPECT_FALSE(n.actual_rows.has_value());
      EXPECT_FALSE(n.actual_loops.has_value());
    }
    // The node's inputs are exactly its "Plans", in order.
    const size_t children = p.contains("Plans") ? p["Plans"].size() : 0;
    EXPECT_EQ(dag.parents(id).size(), children);
  }

  if (analyze) {
    EXPECT_GE(dag.node(0)->actual_loops.value_or(0), 1.0);
    ASSERT_TRUE(imported->execution_time_ms.has_value());
    ASSERT_TRUE(imported->planning_time_ms.has_value());
    EXPECT_EQ(*imported->execution_time_ms, doc[0]["Execution Time"].get<double>());
  } else {
    EXPECT_FALSE(imported->execution_time_ms.has_value());
  }

  // The plan shapes the query file promises.
  const std::vector<std::string> expected = Expectations(f.query);
  EXPECT_FALSE(expected.empty()) << "no '-- expect:' line in " << f.query << ".sql";
  for (const std::string& token : expected) {
    bool found = false;
    dag.ForEachNode([&](const OperatorNode& n) {
      if (token == "SubPlan" || token == "InitPlan" || token == "CTE") {
        found = found || n.subplan_name.rfind(token + " ", 0) == 0;
      } else if (token == "Parallel") {
        found = found || n.parallel_aware;
      } else {
        const size_t slash = token.find('/');
        const std::string type = token.substr(0, slash);
        const bool detail_ok = slash == std::string::npos || n.detail == token.substr(slash + 1);
        found = found || (OperatorTypeName(n.type) == type && detail_ok);
      }
    });
    EXPECT_TRUE(found) << f.file << ": expected " << token;
  }
}

std::string FixtureName(const ::testing::TestParamInfo<Fixture>& info) {
  std::string name = info.param.file;
  if (name.size() > 5 && name.substr(name.size() - 5) == ".json") name.resize(name.size() - 5);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ExplainGoldenTest, ::testing::ValuesIn(LoadManifest()), FixtureName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ExplainGoldenTest);

// The manifest lists every fixture file, and every query has all variants.
TEST(ExplainGoldenManifestTest, CoversEveryFixtureAndQuery) {
  const std::vector<Fixture> fixtures = LoadManifest();
  ASSERT_FALSE(fixtures.empty()) << "no manifest.tsv entries in " << FixtureDir();
  std::set<std::string> listed;
  std::map<std::string, std::set<std::string>> variants;
  for (const Fixture& f : fixtures) {
    EXPECT_GT(f.node_count, 0u) << f.file;
    EXPECT_TRUE(listed.insert(f.file).second) << "listed twice: " << f.file;
    variants[f.query].insert(f.variant);
  }
  std::set<std::string> on_disk;
  for (const auto& entry : fs::directory_iterator(FixtureDir())) {
    if (entry.path().extension() == ".json") on_disk.insert(entry.path().filename().string());
  }
  EXPECT_EQ(listed, on_disk);
  size_t queries = 0;
  for (const auto& entry : fs::directory_iterator(SourceDir() / "tests" / "sql" / "queries")) {
    if (entry.path().extension() != ".sql") continue;
    ++queries;
    const std::string query = entry.path().stem().string();
    EXPECT_EQ(variants[query], (std::set<std::string>{"estimate", "analyze", "analyze_verbose"})) << query;
  }
  EXPECT_GE(queries, 15u);
  EXPECT_EQ(variants.size(), queries);
}

}  // namespace
}  // namespace ruvector_dag

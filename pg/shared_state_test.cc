// Tests of the PostgreSQL-free parts of the extension: the shared-state
// algorithms (pattern table, ring, state image) and the C++-zone bridge.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dag_bridge.h"
#include "shared_state.h"

namespace ruvector_pg {
namespace {

struct Region {
  Region(uint32_t max_patterns, uint32_t ring) : bytes(SharedStateSize(max_patterns, ring) + 64) {
    void* p = bytes.data();
    size_t space = bytes.size();
    void* aligned = std::align(64, SharedStateSize(max_patterns, ring), p, space);
    std::memset(aligned, 0, SharedStateSize(max_patterns, ring));
    InitSharedState(aligned, max_patterns, ring, 1000);
    state = static_cast<SharedState*>(aligned);
  }
  std::vector<char> bytes;
  SharedState* state;
};

std::string Image(const SharedState* s) {
  std::string out(SerializedSize(s), '\0');
  SerializeInto(s, 42, out.data());
  return out;
}

TEST(SharedStateTest, RecordsStatisticsPerPattern) {
  Region r(16, 32);
  RecordExecution(r.state, 7, 70, 700, 3, 5, 10.0, 1);
  RecordExecution(r.state, 7, 70, 700, 3, 5, 20.0, 2);
  RecordExecution(r.state, 7, 70, 701, 3, 5, 30.0, 3);
  const PatternEntry* e = FindPattern(r.state, 7);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->executions, 3u);
  EXPECT_DOUBLE_EQ(e->mean_ms, 20.0);
  EXPECT_DOUBLE_EQ(e->m2, 200.0);  // sample variance 100
  EXPECT_DOUBLE_EQ(e->min_ms, 10.0);
  EXPECT_DOUBLE_EQ(e->max_ms, 30.0);
  EXPECT_EQ(e->shape_changes, 1u);
  EXPECT_EQ(e->last_seen_us, 3);
  EXPECT_EQ(FindPattern(r.state, 8), nullptr);
  // Invalid observations are ignored.
  RecordExecution(r.state, 0, 1, 1, 0, 1, 1.0, 4);
  RecordExecution(r.state, 9, 1, 1, 0, 1, -1.0, 4);
  EXPECT_EQ(r.state->pattern_count, 1u);
}

TEST(SharedStateTest, EvictsLeastRecentlySeenAndKeepsProbeChains) {
  Region r(16, 8);
  // Keys colliding on the same home slot exercise backward-shift deletion.
  const uint32_t slots = r.state->slot_count;
  std::map<uint64_t, int64_t> alive;
  std::mt19937_64 rng(5);
  for (int64_t t = 1; t <= 2000; ++t) {
    uint64_t key = (rng() % 40) * slots + (rng() % 3) + 1;  // few home slots, many keys
    RecordExecution(r.state, key, 0, 0, 0, 1, 1.0, t);
    alive[key] = t;
    ASSERT_LE(r.state->pattern_count, 16u);
    if (alive.size() > 16) {
      // The table holds exactly the 16 most recently seen keys.
      std::vector<std::pair<int64_t, uint64_t>> by_time;
      for (auto& [k, seen] : alive) by_time.push_back({seen, k});
      std::sort(by_time.rbegin(), by_time.rend());
      for (size_t i = 0; i < by_time.size(); ++i) {
        bool present = FindPattern(r.state, by_time[i].second) != nullptr;
        ASSERT_EQ(present, i < 16) << "key " << by_time[i].second << " at t=" << t;
      }
      for (size_t i = 16; i < by_time.size(); ++i) alive.erase(by_time[i].second);
    }
  }
  EXPECT_GT(r.state->counters.patterns_evicted, 0u);
}

TEST(SharedStateTest, RingDropsOldestAndCountsDrops) {
  Region r(16, 4);
  for (int i = 0; i < 6; ++i) {
    TrajectoryRecord t;
    t.latency_ms = i;
    AppendTrajectory(r.state, t);
  }
  EXPECT_EQ(r.state->counters.trajectories_written, 6u);
  EXPECT_EQ(r.state->counters.trajectories_dropped, 2u);
  EXPECT_EQ(RingFirstSeq(r.state), 3u);
  EXPECT_EQ(RingRecord(r.state, 2), nullptr);
  ASSERT_NE(RingRecord(r.state, 6), nullptr);
  EXPECT_DOUBLE_EQ(RingRecord(r.state, 6)->latency_ms, 5.0);
  EXPECT_EQ(RingRecord(r.state, 7), nullptr);
}

TEST(SharedStateTest, ImageRoundTripsAndRejectsEveryCorruption) {
  Region a(64, 16);
  for (int i = 0; i < 40; ++i) {
    RecordExecution(a.state, 100 + i % 10, i, i, 1, 3, 1.0 + i, i + 1);
    TrajectoryRecord t;
    t.pattern_key = 100 + i % 10;
    t.latency_ms = 1.0 + i;
    AppendTrajectory(a.state, t);
  }
  std::string image = Image(a.state);

  Region b(64, 16);
  size_t patterns = 0, trajectories = 0;
  ASSERT_TRUE(DeserializeState(image, b.state, &patterns, &trajectories).ok());
  EXPECT_EQ(patterns, 10u);
  EXPECT_EQ(trajectories, 16u);
  EXPECT_EQ(Image(b.state), image);

  // Every single-byte change and every truncation is detected; the target
  // stays unchanged.
  Region c(64, 16);
  std::string empty = Image(c.state);
  for (size_t i = 0; i < image.size(); i += 7) {
    std::string bad = image;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    EXPECT_FALSE(DeserializeState(bad, c.state, nullptr, nullptr).ok()) << "byte " << i;
  }
  for (size_t len : {size_t{0}, size_t{10}, size_t{79}, size_t{80}, image.size() / 2, image.size() - 1}) {
    EXPECT_FALSE(DeserializeState(image.substr(0, len), c.state, nullptr, nullptr).ok()) << "length " << len;
  }
  EXPECT_FALSE(DeserializeState(image + "x", c.state, nullptr, nullptr).ok());
  EXPECT_EQ(Image(c.state), empty);
}

TEST(SharedStateTest, ImageIntoSmallerTablesKeepsNewest) {
  Region a(64, 16);
  for (int i = 0; i < 30; ++i) {
    RecordExecution(a.state, 1000 + i, 0, 0, 0, 1, 1.0, i + 1);
    TrajectoryRecord t;
    AppendTrajectory(a.state, t);
  }
  Region b(16, 4);
  size_t patterns = 0, trajectories = 0;
  ASSERT_TRUE(DeserializeState(Image(a.state), b.state, &patterns, &trajectories).ok());
  EXPECT_EQ(patterns, 16u);
  EXPECT_EQ(trajectories, 4u);
  EXPECT_NE(FindPattern(b.state, 1029), nullptr);
  EXPECT_EQ(FindPattern(b.state, 1000), nullptr);
  EXPECT_NE(RingRecord(b.state, 30), nullptr);
  EXPECT_EQ(RingRecord(b.state, 26), nullptr);
  // Appending continues the sequence.
  AppendTrajectory(b.state, TrajectoryRecord());
  EXPECT_NE(RingRecord(b.state, 31), nullptr);
}

PlanSnapshot Snapshot(std::vector<PlanNodeSnapshot>& nodes) {
  PlanSnapshot s;
  s.query_id = 99;
  s.count = static_cast<int32_t>(nodes.size());
  s.nodes = nodes.data();
  return s;
}

PlanNodeSnapshot Node(int parent, ruvector_dag::OperatorType type, double total, double rows) {
  PlanNodeSnapshot n;
  n.parent = parent;
  n.type = static_cast<uint8_t>(type);
  n.total_cost = total;
  n.plan_rows = rows;
  return n;
}

TEST(BridgeTest, BuildsTheDagInExplainOrder) {
  using ruvector_dag::OperatorType;
  std::vector<PlanNodeSnapshot> nodes = {
      Node(-1, OperatorType::kHashJoin, 100, 10), Node(0, OperatorType::kSeqScan, 40, 1000),
      Node(0, OperatorType::kHash, 30, 100), Node(2, OperatorType::kSeqScan, 30, 100)};
  nodes[1].relation = "orders";
  PlanSnapshot s = Snapshot(nodes);
  ruvector_dag::QueryDag dag;
  ASSERT_TRUE(BuildDag(s, &dag).ok());
  EXPECT_EQ(dag.node_count(), 4u);
  EXPECT_EQ(dag.parents(0), (std::vector<ruvector_dag::NodeId>{1, 2}));  // inputs, outer first
  EXPECT_DOUBLE_EQ(dag.node(0)->estimated_cost, 30.0);                    // 100 - 40 - 30
  EXPECT_DOUBLE_EQ(dag.node(2)->estimated_cost, 0.0);
  EXPECT_EQ(dag.node(1)->relation, "orders");

  PlanIdentity id = IdentifyPlan(99, dag);
  EXPECT_EQ(id.param_bucket, 10u);  // floor(log2(1 + 1100))
  EXPECT_EQ(id.shape_hash, dag.ShapeHash());
  EXPECT_EQ(IdentifyPlan(99, dag).pattern_key, id.pattern_key);
  EXPECT_NE(IdentifyPlan(98, dag).pattern_key, id.pattern_key);

  PlanReport report;
  ASSERT_TRUE(AnalyzeSnapshot(s, &report).ok());
  ASSERT_EQ(report.nodes.size(), 4u);
  EXPECT_DOUBLE_EQ(report.nodes[1].bottleneck_score, 1.0);  // largest own cost (40)
  EXPECT_EQ(report.critical_path.nodes.back(), 0u);

  for (const char* format : {"dot", "json", "ascii", "mermaid"}) {
    ruvector_dag::AttentionScores scores;
    AttentionChoice choice;
    ASSERT_TRUE(ComputeAttentionFor(dag, "auto", false, &scores, &choice).ok());
    std::string text;
    ASSERT_TRUE(VisualizeAttention(dag, scores, choice, format, &text).ok()) << format;
    EXPECT_NE(text.find("orders"), std::string::npos) << format;
  }
  ruvector_dag::AttentionScores scores;
  AttentionChoice choice;
  EXPECT_FALSE(ComputeAttentionFor(dag, "bogus", false, &scores, &choice).ok());
  std::string text;
  EXPECT_FALSE(VisualizeAttention(dag, scores, choice, "svg", &text).ok());
}

TEST(BridgeTest, RejectsMalformedSnapshots) {
  using ruvector_dag::OperatorType;
  std::vector<PlanNodeSnapshot> nodes = {Node(-1, OperatorType::kLimit, 1, 1), Node(1, OperatorType::kSeqScan, 1, 1)};
  PlanSnapshot s = Snapshot(nodes);
  ruvector_dag::QueryDag dag;
  EXPECT_FALSE(BuildDag(s, &dag).ok());  // parent does not precede the node
  nodes[1].parent = 0;
  nodes[1].type = 250;
  EXPECT_FALSE(BuildDag(s, &dag).ok());  // unknown operator type
  PlanSnapshot empty;
  EXPECT_FALSE(BuildDag(empty, &dag).ok());
}

}  // namespace
}  // namespace ruvector_pg

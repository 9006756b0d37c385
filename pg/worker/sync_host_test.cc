// The PostgreSQL-free parts of the worker's pattern sync: the peers file,
// the portable pattern identity and the embedding match.
#include "worker/sync_host.h"

#include <gtest/gtest.h>

#include "ruvector_dag/sync.h"

namespace ruvector_pg {
namespace {

namespace sync = ruvector_dag::sync;
using ruvector_dag::OperatorNode;
using ruvector_dag::OperatorType;
using ruvector_dag::QueryDag;

QueryDag JoinPlan(double rows) {
  QueryDag dag;
  OperatorNode scan_a;
  scan_a.type = OperatorType::kSeqScan;
  scan_a.relation = "rv_events";
  scan_a.estimated_rows = rows;
  OperatorNode scan_b = scan_a;
  OperatorNode join;
  join.type = OperatorType::kNestedLoop;
  join.estimated_rows = rows;
  const auto a = dag.AddNode(scan_a).value();
  const auto b = dag.AddNode(scan_b).value();
  const auto j = dag.AddNode(join).value();
  EXPECT_TRUE(dag.AddEdge(a, j).ok());
  EXPECT_TRUE(dag.AddEdge(b, j).ok());
  return dag;
}

TEST(SyncHostTest, PortableFingerprintIgnoresNamesAndFollowsShapeAndBucket) {
  const QueryDag one = JoinPlan(1.0);
  QueryDag renamed = JoinPlan(1.0);
  renamed.mutable_node(0)->relation = "another_name";  // names and OIDs are not part of it
  EXPECT_EQ(PortableFingerprint(one), PortableFingerprint(renamed));
  EXPECT_EQ(PortableFingerprint(one), PortableFingerprint(JoinPlan(1.2)));  // same bucket
  EXPECT_NE(PortableFingerprint(one), PortableFingerprint(JoinPlan(5000.0)));  // another bucket
  QueryDag hash_join = JoinPlan(1.0);
  hash_join.mutable_node(2)->type = OperatorType::kHashJoin;
  EXPECT_NE(PortableFingerprint(one), PortableFingerprint(hash_join));
  EXPECT_NE(PortableFingerprint(one), one.ShapeHash());
}

TEST(SyncHostTest, EmbeddingDistanceIgnoresRedactedEntries) {
  ruvector_dag::PlanEmbedding a{};
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 7) * 0.1f;
  std::vector<float> b(a.begin(), a.end());
  EXPECT_DOUBLE_EQ(EmbeddingDistance(a, b, {}), 0.0);
  b[66] = 9.0f;  // a redacted entry (the LIMIT count)
  EXPECT_DOUBLE_EQ(EmbeddingDistance(a, b, {66, 162}), 0.0);
  EXPECT_GT(EmbeddingDistance(a, b, {}), kSameEmbeddingDistance);
  for (float& x : b) x *= 2.0f;
  EXPECT_GT(EmbeddingDistance(a, b, {66, 162}), kSameEmbeddingDistance);
  EXPECT_GT(EmbeddingDistance(a, std::vector<float>(3, 0.0f), {}), 1.0);  // wrong size never matches
}

TEST(SyncHostTest, PeersFileTakesCompactKeysAndNamesBadLines) {
  auto id = sync::NodeIdentity::Generate("peer-b").value();
  const std::string hex = sync::ToHex(id.info().Serialize());
  auto peers = ParsePeersFile("# comment\n\n  " + hex + "  \r\n");
  ASSERT_TRUE(peers.ok()) << peers.status().ToString();
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].name, "peer-b");
  EXPECT_EQ((*peers)[0].id, id.id());
  auto odd = ParsePeersFile("# a\n" + hex + "\nabc\n");
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().ToString().find("line 3"), std::string::npos) << odd.status().ToString();
  auto bad_digit = ParsePeersFile("zz\n");
  ASSERT_FALSE(bad_digit.ok());
  EXPECT_NE(bad_digit.status().ToString().find("line 1"), std::string::npos);
  std::string flipped = hex;
  flipped[10] = flipped[10] == '0' ? '1' : '0';  // a changed key byte changes or breaks the entry
  auto changed = ParsePeersFile(flipped);
  EXPECT_TRUE(!changed.ok() || (*changed)[0].id != id.id());
  auto empty = ParsePeersFile("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace ruvector_pg

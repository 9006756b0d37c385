// Builds a small plan through the installed library and checks the result.
#include <cstdio>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/formats.h"
#include "ruvector_dag/sync.h"

int main() {
  using namespace ruvector_dag;
  QueryDag dag;
  const NodeId scan = dag.AddNode(OperatorNode::SeqScan("users").WithEstimates(1000, 20)).value();
  const NodeId filter = dag.AddNode(OperatorNode::Filter("age > 18").WithEstimates(500, 5)).value();
  const NodeId top = dag.AddNode(OperatorNode::Result()).value();
  if (!dag.AddEdge(scan, filter).ok() || !dag.AddEdge(filter, top).ok()) return 1;
  Result<QueryDag> back = ReadJson(WriteJson(dag));
  if (!back.ok() || !(*back == dag)) {
    std::fprintf(stderr, "consumer: JSON round trip failed\n");
    return 1;
  }
  // The sync module's archive carries the PQClean objects: sign and verify.
  auto keys = sync::SigGenerateKeyPair();
  const sync::Bytes msg = {1, 2, 3};
  if (!keys.ok()) return 1;
  auto sig = sync::Sign(keys->secret_key, msg, "consumer");
  if (!sig.ok() || !sync::Verify(keys->public_key, msg, *sig, "consumer").ok()) {
    std::fprintf(stderr, "consumer: ML-DSA-65 sign/verify failed\n");
    return 1;
  }
  std::printf("consumer: %zu nodes, critical path cost %.1f, ML-DSA-65 signature of %zu bytes verified\n",
              dag.node_count(), dag.ComputeCriticalPath()->cost, sig->size());
  return 0;
}

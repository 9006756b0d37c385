// Builds a small plan through the installed library and checks the result.
#include <cstdio>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/formats.h"

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
  std::printf("consumer: %zu nodes, critical path cost %.1f\n", dag.node_count(),
              dag.ComputeCriticalPath()->cost);
  return 0;
}

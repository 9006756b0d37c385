// Checks and building steps shared by the DAG readers (our JSON, the crate's
// JSON, our binary format): value validation with messages that name the node
// and field, id-space limits, and edge insertion that stays O(V + E) on
// hostile input. Private to the dag module.
#ifndef RUVECTOR_DAG_SRC_DAG_INTERNAL_FORMAT_UTIL_H_
#define RUVECTOR_DAG_SRC_DAG_INTERNAL_FORMAT_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/formats.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag::internal {

/// Largest id bound a document with `node_count` nodes may declare or imply:
/// 8 * node_count + 1024, capped at kMaxNodeId + 1. Keeps a tiny hostile file
/// from making the reader allocate one slot per id up to 2^24.
uint64_t MaxIdBoundFor(size_t node_count);

/// "node 3: " (or "node #3: " when the id is not known yet) prefix helpers.
std::string NodeWhere(uint64_t id);

/// OK when `v` is finite and >= 0; otherwise an InvalidArgument naming the
/// node and field: `node 3: field "estimated_rows" must be a finite number >= 0`.
Status CheckNonNegative(double v, uint64_t node_id, std::string_view field);

/// Checks a node's fields that every format constrains the same way:
/// estimates/actuals finite and >= 0, embedding values finite, descending
/// empty or as long as keys, workers_launched >= -1, workers_planned >= 0.
Status CheckNodeValues(const OperatorNode& node);

/// Checks a document's node count and id bound against `limits` and
/// MaxIdBoundFor. `id_bound` is one past the largest id the document uses.
Status CheckIdSpace(uint64_t id_bound, size_t node_count, const ParseLimits& limits,
                    std::string_view what);

/// Adds `edges` (from, to) to `dag`, whose nodes are all present. Each
/// node's inputs keep the order in which they appear in `edges`. Unknown ids,
/// self-loops and duplicates get QueryDag::AddEdge's messages; a cycle is
/// found up front in O(V + E) and reported with the edges that close it.
/// Edges are then inserted so that AddEdge never needs its O(V + E) cycle
/// walk, so loading stays linear in the input. Ends with dag.Validate().
Status AddEdgesInOrder(QueryDag& dag, const std::vector<std::pair<NodeId, NodeId>>& edges);

/// Edges of `dag` in the order every writer uses: grouped by target node in
/// ascending id order, each target's inputs in dag.parents() order.
std::vector<std::pair<NodeId, NodeId>> EdgesByTarget(const QueryDag& dag);

/// True when `bytes` is valid UTF-8 (no overlong forms, no surrogates, at
/// most U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

}  // namespace ruvector_dag::internal

#endif  // RUVECTOR_DAG_SRC_DAG_INTERNAL_FORMAT_UTIL_H_

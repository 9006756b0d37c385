// Checks and building steps shared by the DAG readers (our JSON, the crate's
// JSON, our binary format): value validation with messages that name the node
// and field, id-space limits, and edge insertion that stays O(V + E) on
// hostile input. Private to the dag module.
#ifndef RUVECTOR_DAG_SRC_DAG_INTERNAL_FORMAT_UTIL_H_
#define RUVECTOR_DAG_SRC_DAG_INTERNAL_FORMAT_UTIL_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/formats.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag::internal {

/// One piece of an error message for AppendFormat: a number, a text, or a
/// text whose '%' stands for a number ("string % length"). Messages are
/// assembled from a literal with '%' placeholders only when something is
/// wrong, so a check costs a comparison and a call, not an inlined string
/// concatenation (code size matters in the WASM module).
class MessageArg {
 public:
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
  MessageArg(T v) : number_(static_cast<uint64_t>(v)), kind_(kNumber) {  // NOLINT: implicit on purpose
    if constexpr (std::is_signed_v<T>) {
      if (v < 0) {
        number_ = 0 - static_cast<uint64_t>(v);
        kind_ = kNegative;
      }
    }
  }
  MessageArg(std::string_view text) : text_(text), kind_(kText) {}  // NOLINT
  MessageArg(const char* text) : text_(text), kind_(kText) {}       // NOLINT
  MessageArg(const std::string& text) : text_(text), kind_(kText) {}  // NOLINT: a temporary lives for the call
  MessageArg(std::string_view text, uint64_t number) : text_(text), number_(number), kind_(kTextNumber) {}

  void AppendTo(std::string& out) const;

 private:
  enum Kind : uint8_t { kNumber, kNegative, kText, kTextNumber };
  std::string_view text_;
  uint64_t number_ = 0;
  Kind kind_;
};

/// Appends `text` to `out` with each '%' replaced by the next of `args`.
void AppendFormat(std::string& out, std::string_view text, std::initializer_list<MessageArg> args);
/// `text` formatted as by AppendFormat.
std::string Format(std::string_view text, std::initializer_list<MessageArg> args);

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

/// Adds `edges` (from, to) to `dag`, whose nodes are all present and which
/// has no edges yet. Each node's inputs keep the order in which they appear in
/// `edges`. Unknown ids, self-loops and duplicates get QueryDag::AddEdge's
/// messages; a cycle is found up front in O(V + E) and reported with the edges
/// that close it. The adjacency lists are then filled directly (one allocation
/// per list, outputs in the order AddEdge calls in reverse topological order
/// of the targets would give), so loading is linear in the input.
Status AddEdgesInOrder(QueryDag& dag, const std::vector<std::pair<NodeId, NodeId>>& edges);

/// AddEdgesInOrder for edges already grouped by target: node v's inputs are
/// in_adj[in_start[v], in_start[v + 1]) (in_start has dag.id_bound() + 1
/// entries), the layout of the binary format's edge section. The result and
/// the messages are those of AddEdgesInOrder on the same edges listed
/// targets ascending, without building that list.
Status AddEdgesByTarget(QueryDag& dag, std::vector<uint32_t> in_start, std::vector<NodeId> in_adj);

/// Bulk construction for the readers (a friend of QueryDag): they place
/// nodes straight into the DAG's slots after sizing it once, instead of one
/// AddNodeWithId per node (with its reallocations and moves).
class DagBuilder {
 public:
  /// Sizes the empty `dag` to `id_bound` dead slots.
  static void Start(QueryDag& dag, NodeId id_bound);
  /// Makes slot `id` (below the bound given to Start, not live yet) a live
  /// node with that id and returns it for the reader to fill in.
  static OperatorNode& Place(QueryDag& dag, NodeId id);
  /// Installs edges checked by AddEdgesInOrder: node v's inputs are
  /// in_adj[in_start[v], in_start[v + 1]), its output count
  /// out_start[v + 1] - out_start[v]; outputs are appended for the targets of
  /// `order` (topological) taken in reverse.
  static void SetEdges(QueryDag& dag, const std::vector<uint32_t>& in_start, const std::vector<NodeId>& in_adj,
                       const std::vector<uint32_t>& out_start, const std::vector<NodeId>& order);
};

/// Edges of `dag` in the order every writer uses: grouped by target node in
/// ascending id order, each target's inputs in dag.parents() order.
std::vector<std::pair<NodeId, NodeId>> EdgesByTarget(const QueryDag& dag);

/// True when `bytes` is valid UTF-8 (no overlong forms, no surrogates, at
/// most U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

}  // namespace ruvector_dag::internal

#endif  // RUVECTOR_DAG_SRC_DAG_INTERNAL_FORMAT_UTIL_H_

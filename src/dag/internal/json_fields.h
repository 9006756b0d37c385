// Typed, non-throwing access to fields of a parsed JSON object for the DAG
// readers. nlohmann's get<T>() throws on a type mismatch (and aborts in a
// -fno-exceptions build), so every accessor here checks the type first and
// returns a Status naming `where` and the field. Private to the dag module.
#ifndef RUVECTOR_DAG_SRC_DAG_INTERNAL_JSON_FIELDS_H_
#define RUVECTOR_DAG_SRC_DAG_INTERNAL_JSON_FIELDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <utility>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/formats.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag::internal {

/// `s` for an error message: at most 64 bytes (cut at a UTF-8 boundary),
/// with "... (N bytes)" appended when cut, so hostile keys cannot bloat errors.
std::string Clip(std::string_view s);

/// Context for messages: `where` is e.g. "node 3" or "nodes[5]".
struct FieldReader {
  std::string where;
  const ParseLimits* limits;

  Status Error(std::string_view field, std::string_view expected, const nlohmann::json& got) const;

  /// The member `key` of `obj`, or nullptr when absent.
  static const nlohmann::json* Find(const nlohmann::json& obj, std::string_view key);
  /// The member `key` of `obj`; kInvalidArgument when absent.
  Result<const nlohmann::json*> Require(const nlohmann::json& obj, std::string_view key) const;

  Status String(const nlohmann::json& v, std::string_view field, std::string* out) const;
  Status StringArray(const nlohmann::json& v, std::string_view field, std::vector<std::string>* out) const;
  Status BoolArray(const nlohmann::json& v, std::string_view field, std::vector<bool>* out) const;
  Status Bool(const nlohmann::json& v, std::string_view field, bool* out) const;
  /// A finite number >= 0 (integers accepted).
  Status NonNegative(const nlohmann::json& v, std::string_view field, double* out) const;
  /// null -> nullopt, else NonNegative.
  Status OptionalNonNegative(const nlohmann::json& v, std::string_view field,
                             std::optional<double>* out) const;
  /// An integer in [min, max] (no fraction, no float syntax).
  Status Integer(const nlohmann::json& v, std::string_view field, int64_t min, int64_t max,
                 int64_t* out) const;
  /// A non-negative integer up to `max`.
  Status Unsigned(const nlohmann::json& v, std::string_view field, uint64_t max, uint64_t* out) const;
  /// An array of numbers, each a finite value representable as a float.
  Status FloatArray(const nlohmann::json& v, std::string_view field, std::vector<float>* out) const;
};

/// Reads a document's node array with `read_node(element, index)` (returning
/// Result<OperatorNode>) and returns the nodes sorted by id; a repeated id is
/// kAlreadyExists ("<where>: duplicate node id N").
template <typename ReadNode>
Result<std::vector<OperatorNode>> ReadSortedNodes(const FieldReader& r,
                                                  const nlohmann::json::array_t& array,
                                                  ReadNode read_node) {
  std::vector<OperatorNode> nodes;
  nodes.reserve(array.size());
  for (size_t i = 0; i < array.size(); ++i) {
    RUVECTOR_ASSIGN_OR_RETURN(OperatorNode node, read_node(array[i], i));
    nodes.push_back(std::move(node));
  }
  std::stable_sort(nodes.begin(), nodes.end(),
                   [](const OperatorNode& a, const OperatorNode& b) { return a.id < b.id; });
  for (size_t i = 1; i < nodes.size(); ++i) {
    if (nodes[i].id == nodes[i - 1].id) {
      return Status::AlreadyExists(r.where + ": duplicate node id " + std::to_string(nodes[i].id));
    }
  }
  return nodes;
}

/// A DAG holding `nodes` (sorted by id, ids unique) under their own ids.
Result<QueryDag> DagFromSortedNodes(std::vector<OperatorNode> nodes);

/// Reads an edge array [[a, b], ...] of node ids; `shape` names the pair in
/// messages ("[from, to]"). Ids are range-checked, not looked up.
Result<std::vector<std::pair<NodeId, NodeId>>> ReadEdgePairs(const FieldReader& r,
                                                             const nlohmann::json::array_t& array,
                                                             std::string_view shape);

}  // namespace ruvector_dag::internal

#endif  // RUVECTOR_DAG_SRC_DAG_INTERNAL_JSON_FIELDS_H_

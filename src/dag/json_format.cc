// Our versioned JSON format (docs/formats.md, "JSON"):
//   {"format":"ruvector-dag","version":1,"id_bound":N,"nodes":[...],"edges":[[from,to],...]}
// Every OperatorNode field is written; doubles use the shortest text that
// parses back to the same bits; edges are grouped by target node so that each
// node's input order survives a round trip.
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dag/internal/format_util.h"
#include "dag/internal/json_fields.h"
#include "dag/internal/json_util.h"
#include "ruvector_dag/formats.h"

namespace ruvector_dag {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view kFormatName = "ruvector-dag";
constexpr int64_t kJsonVersion = 1;
constexpr std::string_view kWhat = "JSON DAG";

ordered_json OptionalNumber(const std::optional<double>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json NodeToJson(const OperatorNode& n) {
  ordered_json j = ordered_json::object();
  j["id"] = n.id;
  j["type"] = std::string(OperatorTypeName(n.type));
  j["relation"] = n.relation;
  j["alias"] = n.alias;
  j["index"] = n.index;
  j["predicate"] = n.predicate;
  j["keys"] = n.keys;
  ordered_json desc = ordered_json::array();
  for (bool d : n.descending) desc.push_back(d);
  j["descending"] = std::move(desc);
  j["detail"] = n.detail;
  j["parameter"] = n.parameter;
  j["subplan_name"] = n.subplan_name;
  j["parallel_aware"] = n.parallel_aware;
  j["workers_planned"] = n.workers_planned;
  j["workers_launched"] = n.workers_launched;
  j["estimated_rows"] = n.estimated_rows;
  j["estimated_cost"] = n.estimated_cost;
  j["startup_cost"] = n.startup_cost;
  j["total_cost"] = n.total_cost;
  j["width"] = n.width;
  j["actual_rows"] = OptionalNumber(n.actual_rows);
  j["actual_time_ms"] = OptionalNumber(n.actual_time_ms);
  j["actual_loops"] = OptionalNumber(n.actual_loops);
  ordered_json emb = ordered_json::array();
  for (float f : n.embedding) emb.push_back(static_cast<double>(f));
  j["embedding"] = std::move(emb);
  return j;
}

constexpr std::array<std::string_view, 23> kNodeKeys = {
    "id",          "type",         "relation",       "alias",           "index",
    "predicate",   "keys",         "descending",     "detail",          "parameter",
    "subplan_name", "parallel_aware", "workers_planned", "workers_launched", "estimated_rows",
    "estimated_cost", "startup_cost", "total_cost",   "width",           "actual_rows",
    "actual_time_ms", "actual_loops", "embedding"};

constexpr std::array<std::string_view, 5> kTopKeys = {"format", "version", "id_bound", "nodes", "edges"};

template <size_t N>
bool Known(const std::array<std::string_view, N>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

Result<OperatorNode> NodeFromJson(const json& j, size_t index, const ParseLimits& limits) {
  internal::FieldReader r{"nodes[" + std::to_string(index) + "]", &limits};
  if (!j.is_object()) {
    return Status::InvalidArgument(r.where + ": must be an object, got " + internal::JsonTypeName(j));
  }
  OperatorNode n;
  RUVECTOR_ASSIGN_OR_RETURN(const json* id, r.Require(j, "id"));
  uint64_t id_value = 0;
  RUVECTOR_RETURN_IF_ERROR(r.Unsigned(*id, "id", kMaxNodeId, &id_value));
  n.id = static_cast<NodeId>(id_value);
  r.where = internal::NodeWhere(n.id);
  for (const auto& [key, value] : j.items()) {
    if (!Known(kNodeKeys, key)) {
      return Status::InvalidArgument(r.where + ": unknown field \"" + internal::Clip(key) + "\"");
    }
  }
  RUVECTOR_ASSIGN_OR_RETURN(const json* type, r.Require(j, "type"));
  std::string type_name;
  RUVECTOR_RETURN_IF_ERROR(r.String(*type, "type", &type_name));
  const auto parsed_type = OperatorTypeFromName(type_name);
  if (!parsed_type) {
    return Status::InvalidArgument(r.where + ": unknown operator type \"" + internal::Clip(type_name) + "\"");
  }
  n.type = *parsed_type;

  using Find = internal::FieldReader;
  if (const json* v = Find::Find(j, "relation")) RUVECTOR_RETURN_IF_ERROR(r.String(*v, "relation", &n.relation));
  if (const json* v = Find::Find(j, "alias")) RUVECTOR_RETURN_IF_ERROR(r.String(*v, "alias", &n.alias));
  if (const json* v = Find::Find(j, "index")) RUVECTOR_RETURN_IF_ERROR(r.String(*v, "index", &n.index));
  if (const json* v = Find::Find(j, "predicate")) RUVECTOR_RETURN_IF_ERROR(r.String(*v, "predicate", &n.predicate));
  if (const json* v = Find::Find(j, "keys")) RUVECTOR_RETURN_IF_ERROR(r.StringArray(*v, "keys", &n.keys));
  if (const json* v = Find::Find(j, "descending")) {
    RUVECTOR_RETURN_IF_ERROR(r.BoolArray(*v, "descending", &n.descending));
  }
  if (const json* v = Find::Find(j, "detail")) RUVECTOR_RETURN_IF_ERROR(r.String(*v, "detail", &n.detail));
  if (const json* v = Find::Find(j, "parameter")) {
    RUVECTOR_RETURN_IF_ERROR(r.Integer(*v, "parameter", std::numeric_limits<int64_t>::min(),
                                       std::numeric_limits<int64_t>::max(), &n.parameter));
  }
  if (const json* v = Find::Find(j, "subplan_name")) {
    RUVECTOR_RETURN_IF_ERROR(r.String(*v, "subplan_name", &n.subplan_name));
  }
  if (const json* v = Find::Find(j, "parallel_aware")) {
    RUVECTOR_RETURN_IF_ERROR(r.Bool(*v, "parallel_aware", &n.parallel_aware));
  }
  int64_t i64 = 0;
  if (const json* v = Find::Find(j, "workers_planned")) {
    RUVECTOR_RETURN_IF_ERROR(r.Integer(*v, "workers_planned", 0, std::numeric_limits<int32_t>::max(), &i64));
    n.workers_planned = static_cast<int32_t>(i64);
  }
  if (const json* v = Find::Find(j, "workers_launched")) {
    RUVECTOR_RETURN_IF_ERROR(r.Integer(*v, "workers_launched", -1, std::numeric_limits<int32_t>::max(), &i64));
    n.workers_launched = static_cast<int32_t>(i64);
  }
  struct DoubleField {
    std::string_view name;
    double* out;
  };
  for (const DoubleField& f : {DoubleField{"estimated_rows", &n.estimated_rows},
                               DoubleField{"estimated_cost", &n.estimated_cost},
                               DoubleField{"startup_cost", &n.startup_cost},
                               DoubleField{"total_cost", &n.total_cost}, DoubleField{"width", &n.width}}) {
    if (const json* v = Find::Find(j, f.name)) RUVECTOR_RETURN_IF_ERROR(r.NonNegative(*v, f.name, f.out));
  }
  struct OptionalField {
    std::string_view name;
    std::optional<double>* out;
  };
  for (const OptionalField& f : {OptionalField{"actual_rows", &n.actual_rows},
                                 OptionalField{"actual_time_ms", &n.actual_time_ms},
                                 OptionalField{"actual_loops", &n.actual_loops}}) {
    if (const json* v = Find::Find(j, f.name)) {
      RUVECTOR_RETURN_IF_ERROR(r.OptionalNonNegative(*v, f.name, f.out));
    }
  }
  if (const json* v = Find::Find(j, "embedding")) {
    RUVECTOR_RETURN_IF_ERROR(r.FloatArray(*v, "embedding", &n.embedding));
  }
  RUVECTOR_RETURN_IF_ERROR(internal::CheckNodeValues(n));
  return n;
}

}  // namespace

std::string WriteJson(const QueryDag& dag, int indent) {
  ordered_json doc = ordered_json::object();
  doc["format"] = kFormatName;
  doc["version"] = kJsonVersion;
  doc["id_bound"] = dag.id_bound();
  ordered_json nodes = ordered_json::array();
  dag.ForEachNode([&](const OperatorNode& node) { nodes.push_back(NodeToJson(node)); });
  doc["nodes"] = std::move(nodes);
  ordered_json edges = ordered_json::array();
  for (const auto& [from, to] : internal::EdgesByTarget(dag)) edges.push_back({from, to});
  doc["edges"] = std::move(edges);
  // Strings are arbitrary bytes in memory; JSON needs UTF-8. Invalid
  // sequences become U+FFFD rather than throwing (documented limitation).
  return doc.dump(indent < 0 ? -1 : indent, ' ', false, json::error_handler_t::replace);
}

Result<QueryDag> ReadJson(std::string_view text, const ParseLimits& limits) {
  RUVECTOR_ASSIGN_OR_RETURN(json doc, internal::ParseJson(text, limits, kWhat));
  if (!doc.is_object()) {
    return Status::InvalidArgument(std::string(kWhat) + ": top level must be an object, got " +
                                   internal::JsonTypeName(doc));
  }
  internal::FieldReader r{std::string(kWhat), &limits};
  for (const auto& [key, value] : doc.items()) {
    if (!Known(kTopKeys, key)) {
      return Status::InvalidArgument(r.where + ": unknown field \"" + internal::Clip(key) + "\"");
    }
  }
  RUVECTOR_ASSIGN_OR_RETURN(const json* format, r.Require(doc, "format"));
  if (!format->is_string() || *format->get_ptr<const json::string_t*>() != kFormatName) {
    return Status::InvalidArgument(r.where + ": field \"format\" must be \"ruvector-dag\"");
  }
  RUVECTOR_ASSIGN_OR_RETURN(const json* version, r.Require(doc, "version"));
  int64_t version_value = 0;
  RUVECTOR_RETURN_IF_ERROR(r.Integer(*version, "version", std::numeric_limits<int64_t>::min(),
                                     std::numeric_limits<int64_t>::max(), &version_value));
  if (version_value != kJsonVersion) {
    return Status::InvalidArgument(r.where + ": unsupported version " + std::to_string(version_value) +
                                   " (this build reads version " + std::to_string(kJsonVersion) + ")");
  }
  RUVECTOR_ASSIGN_OR_RETURN(const json* id_bound_json, r.Require(doc, "id_bound"));
  uint64_t id_bound = 0;
  RUVECTOR_RETURN_IF_ERROR(r.Unsigned(*id_bound_json, "id_bound", uint64_t{kMaxNodeId} + 1, &id_bound));
  RUVECTOR_ASSIGN_OR_RETURN(const json* nodes_json, r.Require(doc, "nodes"));
  if (!nodes_json->is_array()) return r.Error("nodes", "an array", *nodes_json);
  RUVECTOR_ASSIGN_OR_RETURN(const json* edges_json, r.Require(doc, "edges"));
  if (!edges_json->is_array()) return r.Error("edges", "an array", *edges_json);

  const auto& node_array = *nodes_json->get_ptr<const json::array_t*>();
  RUVECTOR_RETURN_IF_ERROR(internal::CheckIdSpace(0, node_array.size(), limits, kWhat));
  RUVECTOR_ASSIGN_OR_RETURN(
      std::vector<OperatorNode> nodes,
      internal::ReadSortedNodes(r, node_array, [&limits](const json& element, size_t i) {
        return NodeFromJson(element, i, limits);
      }));
  if (!nodes.empty() && id_bound <= nodes.back().id) {
    return Status::InvalidArgument(r.where + ": id_bound " + std::to_string(id_bound) +
                                   " must be greater than the largest node id " +
                                   std::to_string(nodes.back().id));
  }
  RUVECTOR_RETURN_IF_ERROR(internal::CheckIdSpace(id_bound, nodes.size(), limits, kWhat));

  RUVECTOR_ASSIGN_OR_RETURN(QueryDag dag, internal::DagFromSortedNodes(std::move(nodes)));
  RUVECTOR_RETURN_IF_ERROR(dag.ReserveIds(static_cast<NodeId>(id_bound)));

  const auto& edge_array = *edges_json->get_ptr<const json::array_t*>();
  RUVECTOR_ASSIGN_OR_RETURN(auto edges, internal::ReadEdgePairs(r, edge_array, "[from, to]"));
  RUVECTOR_RETURN_IF_ERROR(internal::AddEdgesInOrder(dag, edges).WithContext(kWhat));
  return dag;
}

}  // namespace ruvector_dag

// The original Rust crate's serde JSON (docs/formats.md, "Rust crate JSON"):
//   {"nodes":[{"id":0,"op_type":{"SeqScan":{"table":"users"}},"estimated_rows":0.0,
//              "estimated_cost":0.0,"actual_rows":null,"actual_time_ms":null,
//              "embedding":null}, ...],
//    "edges":[[0,1], ...], "root":0}
// op_type is serde's externally tagged enum: unit variants are strings,
// struct variants one-key objects. Mapping to OperatorNode fields follows
// dag.h (HashJoin hash_key -> predicate, Aggregate functions -> keys, ...).
#include <algorithm>
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

constexpr std::string_view kWhat = "Rust JSON DAG";
constexpr uint64_t kU32Max = std::numeric_limits<uint32_t>::max();

// --- writing -------------------------------------------------------------------

ordered_json Payload(std::initializer_list<std::pair<const char*, ordered_json>> fields) {
  ordered_json j = ordered_json::object();
  for (const auto& [k, v] : fields) j[k] = v;
  return j;
}

ordered_json Variant(const char* name, ordered_json payload) {
  ordered_json j = ordered_json::object();
  j[name] = std::move(payload);
  return j;
}

Result<ordered_json> OpTypeToRust(const OperatorNode& n) {
  const std::string where = internal::NodeWhere(n.id);
  auto u32_param = [&](const char* field) -> Result<ordered_json> {
    if (n.parameter < 0 || static_cast<uint64_t>(n.parameter) > kU32Max) {
      return Status::InvalidArgument(where + ": parameter " + std::to_string(n.parameter) +
                                     " does not fit the crate's u32 field \"" + field + "\"");
    }
    return ordered_json(static_cast<uint64_t>(n.parameter));
  };
  switch (n.type) {
    case OperatorType::kSeqScan:
      return Variant("SeqScan", Payload({{"table", n.relation}}));
    case OperatorType::kIndexScan:
      return Variant("IndexScan", Payload({{"index", n.index}, {"table", n.relation}}));
    case OperatorType::kHnswScan: {
      RUVECTOR_ASSIGN_OR_RETURN(ordered_json ef, u32_param("ef_search"));
      return Variant("HnswScan", Payload({{"index", n.index}, {"ef_search", ef}}));
    }
    case OperatorType::kIvfFlatScan: {
      RUVECTOR_ASSIGN_OR_RETURN(ordered_json nprobe, u32_param("nprobe"));
      return Variant("IvfFlatScan", Payload({{"index", n.index}, {"nprobe", nprobe}}));
    }
    case OperatorType::kNestedLoop:
      return ordered_json("NestedLoopJoin");
    case OperatorType::kHashJoin:
      return Variant("HashJoin", Payload({{"hash_key", n.predicate}}));
    case OperatorType::kMergeJoin:
      return Variant("MergeJoin", Payload({{"merge_key", n.predicate}}));
    case OperatorType::kAggregate:
      return Variant("Aggregate", Payload({{"functions", n.keys}}));
    case OperatorType::kGroupBy:
      return Variant("GroupBy", Payload({{"keys", n.keys}}));
    case OperatorType::kFilter:
      return Variant("Filter", Payload({{"predicate", n.predicate}}));
    case OperatorType::kProject:
      return Variant("Project", Payload({{"columns", n.keys}}));
    case OperatorType::kSort: {
      ordered_json desc = ordered_json::array();
      for (bool d : n.descending) desc.push_back(d);
      return Variant("Sort", Payload({{"keys", n.keys}, {"descending", desc}}));
    }
    case OperatorType::kLimit:
      if (n.parameter < 0) {
        return Status::InvalidArgument(where + ": Limit count " + std::to_string(n.parameter) +
                                       " is negative; the crate's count is unsigned");
      }
      return Variant("Limit", Payload({{"count", static_cast<uint64_t>(n.parameter)}}));
    case OperatorType::kVectorDistance:
      return Variant("VectorDistance", Payload({{"metric", n.detail}}));
    case OperatorType::kRerank:
      return Variant("Rerank", Payload({{"model", n.detail}}));
    case OperatorType::kMaterialize:
      return ordered_json("Materialize");
    case OperatorType::kResult:
      return ordered_json("Result");
    default:
      return Status::InvalidArgument(where + ": operator type \"" + std::string(OperatorTypeName(n.type)) +
                                     "\" has no equivalent in the Rust crate's format");
  }
}

ordered_json OptionalNumber(const std::optional<double>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

// --- reading -------------------------------------------------------------------

// The payload object of a struct variant, type-checked.
Result<const json*> PayloadOf(const internal::FieldReader& r, const json& payload, const std::string& variant) {
  if (!payload.is_object()) {
    return Status::InvalidArgument(r.where + ": op_type \"" + variant + "\" must hold an object, got " +
                                   internal::JsonTypeName(payload));
  }
  return &payload;
}

Status OpTypeFromRust(const internal::FieldReader& r, const json& op, OperatorNode* n) {
  std::string variant;
  const json* payload = nullptr;
  if (op.is_string()) {
    variant = *op.get_ptr<const json::string_t*>();
  } else if (op.is_object() && op.size() == 1) {
    variant = op.begin().key();
    payload = &op.begin().value();
  } else {
    return Status::InvalidArgument(r.where + ": field \"op_type\" must be a variant name or a one-key object, got " +
                                   internal::JsonTypeName(op) +
                                   (op.is_object() ? " with " + std::to_string(op.size()) + " keys" : ""));
  }
  // serde also accepts {"Result": null} for a unit variant.
  const bool unit = payload == nullptr || payload->is_null();
  auto unit_variant = [&](OperatorType type) -> Status {
    if (!unit) {
      return Status::InvalidArgument(r.where + ": op_type \"" + variant + "\" takes no fields");
    }
    n->type = type;
    return Status::Ok();
  };
  if (variant == "NestedLoopJoin") return unit_variant(OperatorType::kNestedLoop);
  if (variant == "Materialize") return unit_variant(OperatorType::kMaterialize);
  if (variant == "Result") return unit_variant(OperatorType::kResult);
  // Deprecated variants: read as their replacements (documented).
  if (variant == "Scan") return unit_variant(OperatorType::kSeqScan);
  if (variant == "Join") return unit_variant(OperatorType::kNestedLoop);

  struct Spec {
    const char* name;
    OperatorType type;
  };
  static constexpr Spec kStructVariants[] = {
      {"SeqScan", OperatorType::kSeqScan},       {"IndexScan", OperatorType::kIndexScan},
      {"HnswScan", OperatorType::kHnswScan},     {"IvfFlatScan", OperatorType::kIvfFlatScan},
      {"HashJoin", OperatorType::kHashJoin},     {"MergeJoin", OperatorType::kMergeJoin},
      {"Aggregate", OperatorType::kAggregate},   {"GroupBy", OperatorType::kGroupBy},
      {"Filter", OperatorType::kFilter},         {"Project", OperatorType::kProject},
      {"Sort", OperatorType::kSort},             {"Limit", OperatorType::kLimit},
      {"VectorDistance", OperatorType::kVectorDistance}, {"Rerank", OperatorType::kRerank},
  };
  const Spec* spec = nullptr;
  for (const Spec& s : kStructVariants) {
    if (variant == s.name) spec = &s;
  }
  if (spec == nullptr) {
    return Status::InvalidArgument(r.where + ": unknown op_type \"" + internal::Clip(variant) + "\"");
  }
  if (payload == nullptr) {
    return Status::InvalidArgument(r.where + ": op_type \"" + variant + "\" needs its fields ({\"" +
                                   variant + "\": {...}})");
  }
  RUVECTOR_ASSIGN_OR_RETURN(const json* p, PayloadOf(r, *payload, variant));
  n->type = spec->type;
  internal::FieldReader pr{r.where + ": op_type " + variant, r.limits};
  auto str = [&](const char* field, std::string* out) -> Status {
    RUVECTOR_ASSIGN_OR_RETURN(const json* v, pr.Require(*p, field));
    return pr.String(*v, field, out);
  };
  auto strs = [&](const char* field, std::vector<std::string>* out) -> Status {
    RUVECTOR_ASSIGN_OR_RETURN(const json* v, pr.Require(*p, field));
    return pr.StringArray(*v, field, out);
  };
  auto uint = [&](const char* field, uint64_t max) -> Status {
    RUVECTOR_ASSIGN_OR_RETURN(const json* v, pr.Require(*p, field));
    uint64_t value = 0;
    RUVECTOR_RETURN_IF_ERROR(pr.Unsigned(*v, field, max, &value));
    n->parameter = static_cast<int64_t>(value);
    return Status::Ok();
  };
  switch (spec->type) {
    case OperatorType::kSeqScan:
      return str("table", &n->relation);
    case OperatorType::kIndexScan:
      RUVECTOR_RETURN_IF_ERROR(str("index", &n->index));
      return str("table", &n->relation);
    case OperatorType::kHnswScan:
      RUVECTOR_RETURN_IF_ERROR(str("index", &n->index));
      return uint("ef_search", kU32Max);
    case OperatorType::kIvfFlatScan:
      RUVECTOR_RETURN_IF_ERROR(str("index", &n->index));
      return uint("nprobe", kU32Max);
    case OperatorType::kHashJoin:
      return str("hash_key", &n->predicate);
    case OperatorType::kMergeJoin:
      return str("merge_key", &n->predicate);
    case OperatorType::kAggregate:
      return strs("functions", &n->keys);
    case OperatorType::kGroupBy:
      return strs("keys", &n->keys);
    case OperatorType::kFilter:
      return str("predicate", &n->predicate);
    case OperatorType::kProject:
      return strs("columns", &n->keys);
    case OperatorType::kSort: {
      RUVECTOR_RETURN_IF_ERROR(strs("keys", &n->keys));
      RUVECTOR_ASSIGN_OR_RETURN(const json* v, pr.Require(*p, "descending"));
      return pr.BoolArray(*v, "descending", &n->descending);
    }
    case OperatorType::kLimit:
      // usize in the crate; our parameter is int64.
      return uint("count", static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
    case OperatorType::kVectorDistance:
      return str("metric", &n->detail);
    case OperatorType::kRerank:
      return str("model", &n->detail);
    default:
      return Status::Internal("unhandled crate variant " + variant);
  }
}

Result<OperatorNode> NodeFromRust(const json& j, size_t index, const ParseLimits& limits) {
  internal::FieldReader r{"nodes[" + std::to_string(index) + "]", &limits};
  if (!j.is_object()) {
    return Status::InvalidArgument(r.where + ": must be an object, got " + internal::JsonTypeName(j));
  }
  OperatorNode n;
  RUVECTOR_ASSIGN_OR_RETURN(const json* id, r.Require(j, "id"));
  uint64_t id_value = 0;
  if (id->is_number_unsigned() && *id->get_ptr<const json::number_unsigned_t*>() > kMaxNodeId) {
    return Status::OutOfRange(r.where + ": id " + std::to_string(*id->get_ptr<const json::number_unsigned_t*>()) +
                              " exceeds the maximum node id " + std::to_string(kMaxNodeId));
  }
  RUVECTOR_RETURN_IF_ERROR(r.Unsigned(*id, "id", kMaxNodeId, &id_value));
  n.id = static_cast<NodeId>(id_value);
  r.where = internal::NodeWhere(n.id);
  RUVECTOR_ASSIGN_OR_RETURN(const json* op, r.Require(j, "op_type"));
  RUVECTOR_RETURN_IF_ERROR(OpTypeFromRust(r, *op, &n));
  RUVECTOR_ASSIGN_OR_RETURN(const json* rows, r.Require(j, "estimated_rows"));
  RUVECTOR_RETURN_IF_ERROR(r.NonNegative(*rows, "estimated_rows", &n.estimated_rows));
  RUVECTOR_ASSIGN_OR_RETURN(const json* cost, r.Require(j, "estimated_cost"));
  RUVECTOR_RETURN_IF_ERROR(r.NonNegative(*cost, "estimated_cost", &n.estimated_cost));
  using Find = internal::FieldReader;
  if (const json* v = Find::Find(j, "actual_rows")) {
    RUVECTOR_RETURN_IF_ERROR(r.OptionalNonNegative(*v, "actual_rows", &n.actual_rows));
  }
  if (const json* v = Find::Find(j, "actual_time_ms")) {
    RUVECTOR_RETURN_IF_ERROR(r.OptionalNonNegative(*v, "actual_time_ms", &n.actual_time_ms));
  }
  if (const json* v = Find::Find(j, "embedding"); v != nullptr && !v->is_null()) {
    RUVECTOR_RETURN_IF_ERROR(r.FloatArray(*v, "embedding", &n.embedding));
  }
  RUVECTOR_RETURN_IF_ERROR(internal::CheckNodeValues(n));
  return n;
}

}  // namespace

Result<std::string> WriteRustJson(const QueryDag& dag) {
  ordered_json nodes = ordered_json::array();
  Status failed;
  dag.ForEachNode([&](const OperatorNode& n) {
    if (!failed.ok()) return;
    Result<ordered_json> op = OpTypeToRust(n);
    if (!op.ok()) {
      failed = op.status();
      return;
    }
    ordered_json j = ordered_json::object();
    j["id"] = n.id;
    j["op_type"] = std::move(op).value();
    j["estimated_rows"] = n.estimated_rows;
    j["estimated_cost"] = n.estimated_cost;
    j["actual_rows"] = OptionalNumber(n.actual_rows);
    j["actual_time_ms"] = OptionalNumber(n.actual_time_ms);
    if (n.embedding.empty()) {
      j["embedding"] = nullptr;
    } else {
      ordered_json emb = ordered_json::array();
      for (float f : n.embedding) emb.push_back(static_cast<double>(f));
      j["embedding"] = std::move(emb);
    }
    nodes.push_back(std::move(j));
  });
  RUVECTOR_RETURN_IF_ERROR(failed.WithContext(kWhat));
  ordered_json doc = ordered_json::object();
  doc["nodes"] = std::move(nodes);
  ordered_json edges = ordered_json::array();
  for (const auto& [from, to] : internal::EdgesByTarget(dag)) edges.push_back({from, to});
  doc["edges"] = std::move(edges);
  // The crate's root is a node without inputs; ours is the smallest such id.
  const std::vector<NodeId> sources = dag.Sources();
  doc["root"] = sources.empty() ? ordered_json(nullptr) : ordered_json(sources.front());
  // serde_json::to_string_pretty indents by two spaces.
  return doc.dump(2, ' ', false, json::error_handler_t::replace);
}

Result<QueryDag> ReadRustJson(std::string_view text, const ParseLimits& limits) {
  RUVECTOR_ASSIGN_OR_RETURN(json doc, internal::ParseJson(text, limits, kWhat));
  internal::FieldReader r{std::string(kWhat), &limits};
  if (!doc.is_object()) {
    return Status::InvalidArgument(r.where + ": top level must be an object, got " + internal::JsonTypeName(doc));
  }
  RUVECTOR_ASSIGN_OR_RETURN(const json* nodes_json, r.Require(doc, "nodes"));
  if (!nodes_json->is_array()) return r.Error("nodes", "an array", *nodes_json);
  RUVECTOR_ASSIGN_OR_RETURN(const json* edges_json, r.Require(doc, "edges"));
  if (!edges_json->is_array()) return r.Error("edges", "an array", *edges_json);

  const auto& node_array = *nodes_json->get_ptr<const json::array_t*>();
  RUVECTOR_RETURN_IF_ERROR(internal::CheckIdSpace(0, node_array.size(), limits, kWhat));
  RUVECTOR_ASSIGN_OR_RETURN(
      std::vector<OperatorNode> nodes,
      internal::ReadSortedNodes(r, node_array, [&limits](const json& element, size_t i) {
        return NodeFromRust(element, i, limits);
      }));
  const uint64_t id_bound = nodes.empty() ? 0 : uint64_t{nodes.back().id} + 1;
  RUVECTOR_RETURN_IF_ERROR(internal::CheckIdSpace(id_bound, nodes.size(), limits, kWhat));

  RUVECTOR_ASSIGN_OR_RETURN(QueryDag dag, internal::DagFromSortedNodes(std::move(nodes)));

  const auto& edge_array = *edges_json->get_ptr<const json::array_t*>();
  RUVECTOR_ASSIGN_OR_RETURN(auto edges, internal::ReadEdgePairs(r, edge_array, "[parent, child]"));
  RUVECTOR_RETURN_IF_ERROR(internal::AddEdgesInOrder(dag, edges).WithContext(kWhat));

  // "root" is Option<usize>: absent or null, or an id of a node.
  if (const json* root = internal::FieldReader::Find(doc, "root"); root != nullptr && !root->is_null()) {
    if (!root->is_number_unsigned()) return r.Error("root", "null or a node id", *root);
    const uint64_t id = *root->get_ptr<const json::number_unsigned_t*>();
    if (id > kMaxNodeId || !dag.Contains(static_cast<NodeId>(id))) {
      return Status::NotFound(r.where + ": root " + std::to_string(id) + " is not a node id");
    }
  }
  return dag;
}

}  // namespace ruvector_dag

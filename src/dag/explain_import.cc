// PostgreSQL EXPLAIN (FORMAT JSON) importer: ImportExplain/ImportExplainJson
// from ruvector_dag/formats.h. Mapping, cost rule, limits and error messages
// are documented in docs/explain_import.md.
//
// The walk over nested "Plans" is iterative (an explicit stack), so plan depth
// never turns into native recursion here; the JSON parser itself only ever
// sees input that passed the nesting pre-check (internal::CheckJsonShape).

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dag/internal/json_util.h"
#include "ruvector_dag/dag.h"
#include "ruvector_dag/formats.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kWhat = "EXPLAIN JSON";
// PostgreSQL clamps row estimates to 1e100 (MAXIMUM_ROWCOUNT); no real cost,
// time or row count comes near it. Capping every number there keeps sums over
// millions of nodes finite.
constexpr double kMaxNumber = 1e100;
constexpr double kMaxInt32 = static_cast<double>(std::numeric_limits<int32_t>::max());

// Keys whose first present value becomes OperatorNode::predicate, in order.
constexpr std::string_view kPredicateKeys[] = {
    "Hash Cond",  "Merge Cond", "Index Cond", "Recheck Cond",
    "Join Filter", "Filter",    "TID Cond",   "One-Time Filter",
};
// Keys whose first present value becomes OperatorNode::relation, in order.
constexpr std::string_view kRelationKeys[] = {
    "Relation Name", "CTE Name", "Function Name", "Table Function Name", "Tuplestore Name",
};
// Keys whose first present value (an array of strings) becomes keys.
constexpr std::string_view kKeyArrayKeys[] = {"Sort Key", "Group Key", "Presorted Key"};

Status Error(const std::string& path, std::string_view problem) {
  return Status::InvalidArgument(std::string(kWhat) + ": " + path + ": " + std::string(problem));
}

std::string FormatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.15g", v);
  return buf;
}

// "string", "array", ... or, for numbers, the value itself.
std::string Describe(const Json& v) {
  if (v.is_number()) return FormatNumber(v.get<double>());
  return internal::JsonTypeName(v);
}

std::string Join(const std::string& path, std::string_view key) {
  return path + "." + std::string(key);
}

const Json* Find(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// A number in [0, kMaxNumber]. Absent keys leave *out untouched.
Status ReadNumber(const Json& obj, std::string_view key, const std::string& path,
                  std::optional<double>* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_number()) return Error(Join(path, key), "expected a number >= 0, got " + Describe(*v));
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < 0) {
    return Error(Join(path, key), "expected a number >= 0, got " + Describe(*v));
  }
  if (d > kMaxNumber) {
    return Status::OutOfRange(std::string(kWhat) + ": " + Join(path, key) + ": " +
                              FormatNumber(d) + " exceeds the limit " + FormatNumber(kMaxNumber));
  }
  *out = d;
  return Status::Ok();
}

Status ReadNumberInto(const Json& obj, std::string_view key, const std::string& path, double* out) {
  std::optional<double> v;
  RUVECTOR_RETURN_IF_ERROR(ReadNumber(obj, key, path, &v));
  if (v) *out = *v;
  return Status::Ok();
}

// An integer in [0, INT32_MAX].
Status ReadInt32(const Json& obj, std::string_view key, const std::string& path, int32_t* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return Status::Ok();
  const std::string where = Join(path, key);
  if (!v->is_number()) return Error(where, "expected an integer >= 0, got " + Describe(*v));
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < 0 || std::floor(d) != d) {
    return Error(where, "expected an integer >= 0, got " + Describe(*v));
  }
  if (d > kMaxInt32) {
    return Status::OutOfRange(std::string(kWhat) + ": " + where + ": " + FormatNumber(d) +
                              " exceeds the limit " + FormatNumber(kMaxInt32));
  }
  *out = static_cast<int32_t>(d);
  return Status::Ok();
}

Status ReadBool(const Json& obj, std::string_view key, const std::string& path, bool* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_boolean()) return Error(Join(path, key), "expected a boolean, got " + Describe(*v));
  *out = v->get<bool>();
  return Status::Ok();
}

Status CheckStringValue(const Json& v, const std::string& where, const ParseLimits& limits) {
  if (!v.is_string()) return Error(where, "expected a string, got " + Describe(v));
  const size_t size = v.get_ref<const std::string&>().size();
  if (size > limits.max_string_bytes) {
    return Status::OutOfRange(std::string(kWhat) + ": " + where + ": string of " +
                              std::to_string(size) + " bytes exceeds the limit " +
                              std::to_string(limits.max_string_bytes));
  }
  return Status::Ok();
}

// A string; `present` (optional) tells whether the key was there.
Status ReadString(const Json& obj, std::string_view key, const std::string& path,
                  const ParseLimits& limits, std::string* out, bool* present = nullptr) {
  const Json* v = Find(obj, key);
  if (present != nullptr) *present = v != nullptr;
  if (v == nullptr) return Status::Ok();
  RUVECTOR_RETURN_IF_ERROR(CheckStringValue(*v, Join(path, key), limits));
  *out = v->get_ref<const std::string&>();
  return Status::Ok();
}

// The first present of `keys` (each must be a string when present; later
// keys are type-checked too so that a malformed document is never accepted).
template <size_t N>
Status ReadFirstString(const Json& obj, const std::string_view (&keys)[N], const std::string& path,
                       const ParseLimits& limits, std::string* out) {
  bool found = false;
  for (std::string_view key : keys) {
    std::string value;
    bool present = false;
    RUVECTOR_RETURN_IF_ERROR(ReadString(obj, key, path, limits, &value, &present));
    if (present && !found) {
      *out = std::move(value);
      found = true;
    }
  }
  return Status::Ok();
}

Status ReadStringArray(const Json& obj, std::string_view key, const std::string& path,
                       const ParseLimits& limits, std::vector<std::string>* out, bool* present) {
  const Json* v = Find(obj, key);
  *present = v != nullptr;
  if (v == nullptr) return Status::Ok();
  const std::string where = Join(path, key);
  if (!v->is_array()) return Error(where, "expected an array of strings, got " + Describe(*v));
  std::vector<std::string> values;
  values.reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& item = (*v)[i];
    RUVECTOR_RETURN_IF_ERROR(CheckStringValue(item, where + "[" + std::to_string(i) + "]", limits));
    values.push_back(item.get_ref<const std::string&>());
  }
  *out = std::move(values);
  return Status::Ok();
}

// EXPLAIN appends " DESC" to a descending sort key, then " NULLS FIRST/LAST"
// when the null ordering is not the default for that direction.
bool IsDescendingKey(std::string_view key) {
  constexpr std::string_view kDesc = " DESC";
  if (key.size() >= kDesc.size() && key.substr(key.size() - kDesc.size()) == kDesc) return true;
  for (std::string_view suffix : {std::string_view(" DESC NULLS FIRST"), std::string_view(" DESC NULLS LAST")}) {
    if (key.size() >= suffix.size() && key.substr(key.size() - suffix.size()) == suffix) return true;
  }
  return false;
}

// Fills every OperatorNode field EXPLAIN provides for one plan object.
Status FillNode(const Json& plan, const std::string& path, const ParseLimits& limits,
                OperatorNode* node) {
  const Json* type_value = Find(plan, "Node Type");
  if (type_value == nullptr) return Error(path, "missing \"Node Type\"");
  RUVECTOR_RETURN_IF_ERROR(CheckStringValue(*type_value, Join(path, "Node Type"), limits));
  const std::string& type_name = type_value->get_ref<const std::string&>();
  const std::optional<OperatorType> type = OperatorTypeFromName(type_name);
  // The vector/logical operator names are ours; PostgreSQL never prints them.
  if (!type || static_cast<size_t>(*type) >= static_cast<size_t>(OperatorType::kHnswScan)) {
    return Error(Join(path, "Node Type"),
                 "unknown PostgreSQL plan node type \"" + type_name + "\"");
  }
  node->type = *type;

  RUVECTOR_RETURN_IF_ERROR(ReadFirstString(plan, kRelationKeys, path, limits, &node->relation));
  RUVECTOR_RETURN_IF_ERROR(ReadString(plan, "Alias", path, limits, &node->alias));
  RUVECTOR_RETURN_IF_ERROR(ReadString(plan, "Index Name", path, limits, &node->index));
  RUVECTOR_RETURN_IF_ERROR(ReadFirstString(plan, kPredicateKeys, path, limits, &node->predicate));
  RUVECTOR_RETURN_IF_ERROR(ReadString(plan, "Subplan Name", path, limits, &node->subplan_name));
  std::string ignored;
  RUVECTOR_RETURN_IF_ERROR(ReadString(plan, "Parent Relationship", path, limits, &ignored));

  // Keys: the first present of Sort Key / Group Key / Presorted Key; Memoize's
  // single "Cache Key" otherwise.
  bool keys_found = false;
  bool keys_are_sort_keys = false;
  for (std::string_view key : kKeyArrayKeys) {
    std::vector<std::string> values;
    bool present = false;
    RUVECTOR_RETURN_IF_ERROR(ReadStringArray(plan, key, path, limits, &values, &present));
    if (present && !keys_found) {
      node->keys = std::move(values);
      keys_found = true;
      keys_are_sort_keys = key != "Group Key";
    }
  }
  std::string cache_key;
  bool has_cache_key = false;
  RUVECTOR_RETURN_IF_ERROR(ReadString(plan, "Cache Key", path, limits, &cache_key, &has_cache_key));
  if (has_cache_key && !keys_found) node->keys.push_back(std::move(cache_key));
  if (keys_are_sort_keys) {
    node->descending.reserve(node->keys.size());
    for (const std::string& key : node->keys) node->descending.push_back(IsDescendingKey(key));
  }

  // Detail: join type, aggregate strategy, SetOp command (with its strategy),
  // ModifyTable/Foreign Scan operation, Custom Scan provider.
  std::string join_type, operation, provider, command, strategy;
  bool has_join_type = false, has_operation = false, has_provider = false, has_command = false,
       has_strategy = false;
  RUVECTOR_RETURN_IF_ERROR(ReadString(plan, "Join Type", path, limits, &join_type, &has_join_type));
  RUVECTOR_RETURN_IF_ERROR(ReadString(plan, "Operation", path, limits, &operation, &has_operation));
  RUVECTOR_RETURN_IF_ERROR(
      ReadString(plan, "Custom Plan Provider", path, limits, &provider, &has_provider));
  RUVECTOR_RETURN_IF_ERROR(ReadString(plan, "Command", path, limits, &command, &has_command));
  RUVECTOR_RETURN_IF_ERROR(ReadString(plan, "Strategy", path, limits, &strategy, &has_strategy));
  if (has_join_type) {
    node->detail = join_type;
  } else if (has_operation) {
    node->detail = operation;
  } else if (has_provider) {
    node->detail = provider;
  } else if (has_command) {
    node->detail = has_strategy ? strategy + " " + command : command;
  } else if (has_strategy) {
    node->detail = strategy;
  }

  RUVECTOR_RETURN_IF_ERROR(ReadBool(plan, "Parallel Aware", path, &node->parallel_aware));
  RUVECTOR_RETURN_IF_ERROR(ReadInt32(plan, "Workers Planned", path, &node->workers_planned));
  RUVECTOR_RETURN_IF_ERROR(ReadInt32(plan, "Workers Launched", path, &node->workers_launched));

  RUVECTOR_RETURN_IF_ERROR(ReadNumberInto(plan, "Plan Rows", path, &node->estimated_rows));
  RUVECTOR_RETURN_IF_ERROR(ReadNumberInto(plan, "Startup Cost", path, &node->startup_cost));
  RUVECTOR_RETURN_IF_ERROR(ReadNumberInto(plan, "Total Cost", path, &node->total_cost));
  RUVECTOR_RETURN_IF_ERROR(ReadNumberInto(plan, "Plan Width", path, &node->width));

  RUVECTOR_RETURN_IF_ERROR(ReadNumber(plan, "Actual Rows", path, &node->actual_rows));
  RUVECTOR_RETURN_IF_ERROR(ReadNumber(plan, "Actual Total Time", path, &node->actual_time_ms));
  RUVECTOR_RETURN_IF_ERROR(ReadNumber(plan, "Actual Loops", path, &node->actual_loops));
  std::optional<double> startup_time;  // validated, not stored
  RUVECTOR_RETURN_IF_ERROR(ReadNumber(plan, "Actual Startup Time", path, &startup_time));
  return Status::Ok();
}

struct PendingPlan {
  const Json* plan;
  NodeId consumer;  // the node this plan feeds; kInvalidNodeId for the top
  std::string path;
};

}  // namespace

Result<ExplainPlan> ImportExplain(std::string_view text, const ParseLimits& limits) {
  RUVECTOR_ASSIGN_OR_RETURN(Json doc, internal::ParseJson(text, limits, kWhat));

  const Json* statement = &doc;
  if (doc.is_array()) {
    if (doc.empty()) {
      return Status::InvalidArgument(std::string(kWhat) + ": expected one statement, got an empty array");
    }
    if (doc.size() > 1) {
      return Status::InvalidArgument(std::string(kWhat) + ": expected one statement, got " +
                                     std::to_string(doc.size()) +
                                     " (EXPLAIN output of several statements is not supported)");
    }
    statement = &doc[0];
    if (!statement->is_object()) {
      return Error("[0]", "expected an object with a \"Plan\", got " + Describe(*statement));
    }
  } else if (!doc.is_object()) {
    return Status::InvalidArgument(std::string(kWhat) +
                                   ": expected an array or an object at the top level, got " +
                                   Describe(doc));
  }

  const Json* top = Find(*statement, "Plan");
  if (top == nullptr) {
    return Status::InvalidArgument(std::string(kWhat) + ": missing \"Plan\" in the statement object");
  }

  ExplainPlan result;
  RUVECTOR_RETURN_IF_ERROR(ReadNumber(*statement, "Planning Time", "statement", &result.planning_time_ms));
  RUVECTOR_RETURN_IF_ERROR(ReadNumber(*statement, "Execution Time", "statement", &result.execution_time_ms));
  if (const Json* triggers = Find(*statement, "Triggers"); triggers != nullptr && !triggers->is_array()) {
    return Error("statement.Triggers", "expected an array, got " + Describe(*triggers));
  }

  QueryDag& dag = result.dag;
  std::vector<PendingPlan> stack;
  stack.push_back({top, kInvalidNodeId, "Plan"});
  size_t count = 0;
  while (!stack.empty()) {
    PendingPlan pending = std::move(stack.back());
    stack.pop_back();
    const Json& plan = *pending.plan;
    if (!plan.is_object()) return Error(pending.path, "expected an object, got " + Describe(plan));
    if (++count > limits.max_nodes) {
      return Status::OutOfRange(std::string(kWhat) + ": more than " + std::to_string(limits.max_nodes) +
                                " plan nodes (at " + pending.path + ")");
    }
    OperatorNode node;
    RUVECTOR_RETURN_IF_ERROR(FillNode(plan, pending.path, limits, &node));
    RUVECTOR_ASSIGN_OR_RETURN(NodeId id, dag.AddNode(std::move(node)));
    if (pending.consumer != kInvalidNodeId) {
      // The new node has no inputs yet, so AddEdge's cycle check is O(1).
      RUVECTOR_RETURN_IF_ERROR(dag.AddEdge(id, pending.consumer));
    }
    const Json* children = Find(plan, "Plans");
    if (children == nullptr) continue;
    const std::string children_path = Join(pending.path, "Plans");
    if (!children->is_array()) {
      return Error(children_path, "expected an array, got " + Describe(*children));
    }
    // Pushed in reverse so that inputs are added (and numbered) in the order
    // EXPLAIN lists them: outer before inner.
    for (size_t i = children->size(); i-- > 0;) {
      stack.push_back({&(*children)[i], id, children_path + "[" + std::to_string(i) + "]"});
    }
  }

  // Own cost: cumulative Total Cost minus the Total Cost of the direct inputs.
  for (NodeId id : dag.NodeIds()) {
    OperatorNode* node = dag.mutable_node(id);
    double inputs = 0.0;
    for (NodeId input : dag.parents(id)) inputs += dag.node(input)->total_cost;
    const double own = node->total_cost - inputs;
    node->estimated_cost = own > 0.0 ? own : 0.0;
  }
  return result;
}

Result<QueryDag> ImportExplainJson(std::string_view text, const ParseLimits& limits) {
  RUVECTOR_ASSIGN_OR_RETURN(ExplainPlan plan, ImportExplain(text, limits));
  return std::move(plan.dag);
}

}  // namespace ruvector_dag

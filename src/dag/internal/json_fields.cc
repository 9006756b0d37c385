#include "dag/internal/json_fields.h"

#include <cmath>
#include <limits>

#include "dag/internal/json_util.h"

namespace ruvector_dag::internal {

using nlohmann::json;

std::string Clip(std::string_view s) {
  constexpr size_t kMax = 64;
  if (s.size() <= kMax) return std::string(s);
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "... (" + std::to_string(s.size()) + " bytes)";
}

Status FieldReader::Error(std::string_view field, std::string_view expected, const json& got) const {
  return Status::InvalidArgument(where + ": field \"" + std::string(field) + "\" must be " +
                                 std::string(expected) + ", got " + JsonTypeName(got));
}

const json* FieldReader::Find(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  const auto* map = obj.get_ptr<const json::object_t*>();
  auto it = map->find(std::string(key));
  return it == map->end() ? nullptr : &it->second;
}

Result<const json*> FieldReader::Require(const json& obj, std::string_view key) const {
  const json* v = Find(obj, key);
  if (v == nullptr) {
    return Status::InvalidArgument(where + ": missing field \"" + std::string(key) + "\"");
  }
  return v;
}

Status FieldReader::String(const json& v, std::string_view field, std::string* out) const {
  if (!v.is_string()) return Error(field, "a string", v);
  const auto& s = *v.get_ptr<const json::string_t*>();
  if (s.size() > limits->max_string_bytes) {
    return Status::OutOfRange(where + ": field \"" + std::string(field) + "\" is " +
                              std::to_string(s.size()) + " bytes; the limit is " +
                              std::to_string(limits->max_string_bytes));
  }
  *out = s;
  return Status::Ok();
}

Status FieldReader::StringArray(const json& v, std::string_view field, std::vector<std::string>* out) const {
  if (!v.is_array()) return Error(field, "an array of strings", v);
  const auto& arr = *v.get_ptr<const json::array_t*>();
  out->clear();
  out->reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string element = std::string(field) + "[" + std::to_string(i) + "]";
    out->emplace_back();
    RUVECTOR_RETURN_IF_ERROR(String(arr[i], element, &out->back()));
  }
  return Status::Ok();
}

Status FieldReader::BoolArray(const json& v, std::string_view field, std::vector<bool>* out) const {
  if (!v.is_array()) return Error(field, "an array of booleans", v);
  const auto& arr = *v.get_ptr<const json::array_t*>();
  out->clear();
  out->reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_boolean()) {
      return Error(std::string(field) + "[" + std::to_string(i) + "]", "a boolean", arr[i]);
    }
    out->push_back(*arr[i].get_ptr<const json::boolean_t*>());
  }
  return Status::Ok();
}

Status FieldReader::Bool(const json& v, std::string_view field, bool* out) const {
  if (!v.is_boolean()) return Error(field, "a boolean", v);
  *out = *v.get_ptr<const json::boolean_t*>();
  return Status::Ok();
}

namespace {
// The number's value as a double; false when `v` is not a number.
bool AsDouble(const json& v, double* out) {
  if (v.is_number_float()) {
    *out = *v.get_ptr<const json::number_float_t*>();
  } else if (v.is_number_unsigned()) {
    *out = static_cast<double>(*v.get_ptr<const json::number_unsigned_t*>());
  } else if (v.is_number_integer()) {
    *out = static_cast<double>(*v.get_ptr<const json::number_integer_t*>());
  } else {
    return false;
  }
  return true;
}
}  // namespace

Status FieldReader::NonNegative(const json& v, std::string_view field, double* out) const {
  double d = 0;
  if (!AsDouble(v, &d)) return Error(field, "a finite number >= 0", v);
  if (!std::isfinite(d) || d < 0.0) {
    return Status::InvalidArgument(where + ": field \"" + std::string(field) +
                                   "\" must be a finite number >= 0");
  }
  *out = d;
  return Status::Ok();
}

Status FieldReader::OptionalNonNegative(const json& v, std::string_view field,
                                        std::optional<double>* out) const {
  if (v.is_null()) {
    out->reset();
    return Status::Ok();
  }
  double d = 0;
  if (!AsDouble(v, &d)) return Error(field, "null or a finite number >= 0", v);
  RUVECTOR_RETURN_IF_ERROR(NonNegative(v, field, &d));
  *out = d;
  return Status::Ok();
}

Status FieldReader::Integer(const json& v, std::string_view field, int64_t min, int64_t max,
                            int64_t* out) const {
  const std::string range = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  if (v.is_number_unsigned()) {
    const uint64_t u = *v.get_ptr<const json::number_unsigned_t*>();
    if (max < 0 || u > static_cast<uint64_t>(max)) {
      return Status::OutOfRange(where + ": field \"" + std::string(field) + "\" must be " + range);
    }
    *out = static_cast<int64_t>(u);
    return Status::Ok();
  }
  if (v.is_number_integer()) {
    const int64_t i = *v.get_ptr<const json::number_integer_t*>();
    if (i < min || i > max) {
      return Status::OutOfRange(where + ": field \"" + std::string(field) + "\" must be " + range);
    }
    *out = i;
    return Status::Ok();
  }
  return Error(field, range, v);
}

Status FieldReader::Unsigned(const json& v, std::string_view field, uint64_t max, uint64_t* out) const {
  const std::string range = "an integer in [0, " + std::to_string(max) + "]";
  if (v.is_number_unsigned()) {
    const uint64_t u = *v.get_ptr<const json::number_unsigned_t*>();
    if (u > max) return Status::OutOfRange(where + ": field \"" + std::string(field) + "\" must be " + range);
    *out = u;
    return Status::Ok();
  }
  if (v.is_number_integer()) {
    // nlohmann stores non-negative literals as unsigned: this is negative.
    return Status::OutOfRange(where + ": field \"" + std::string(field) + "\" must be " + range);
  }
  return Error(field, range, v);
}

Status FieldReader::FloatArray(const json& v, std::string_view field, std::vector<float>* out) const {
  if (!v.is_array()) return Error(field, "an array of numbers", v);
  const auto& arr = *v.get_ptr<const json::array_t*>();
  out->clear();
  out->reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    double d = 0;
    const std::string element = std::string(field) + "[" + std::to_string(i) + "]";
    if (!AsDouble(arr[i], &d)) return Error(element, "a number", arr[i]);
    if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
      return Status::InvalidArgument(where + ": field \"" + element +
                                     "\" must be a finite 32-bit float");
    }
    out->push_back(static_cast<float>(d));
  }
  return Status::Ok();
}

Result<QueryDag> DagFromSortedNodes(std::vector<OperatorNode> nodes) {
  QueryDag dag;
  for (OperatorNode& node : nodes) {
    const NodeId id = node.id;
    RUVECTOR_RETURN_IF_ERROR(dag.AddNodeWithId(id, std::move(node)));
  }
  return dag;
}

Result<std::vector<std::pair<NodeId, NodeId>>> ReadEdgePairs(const FieldReader& r,
                                                             const nlohmann::json::array_t& array,
                                                             std::string_view shape) {
  using json = nlohmann::json;
  std::vector<std::pair<NodeId, NodeId>> edges;
  edges.reserve(array.size());
  for (size_t i = 0; i < array.size(); ++i) {
    const json& e = array[i];
    const std::string where = r.where + ": edges[" + std::to_string(i) + "]";
    if (!e.is_array() || e.size() != 2 || !e[0].is_number_unsigned() || !e[1].is_number_unsigned()) {
      return Status::InvalidArgument(where + " must be " + std::string(shape) +
                                     " with two non-negative integer node ids");
    }
    const uint64_t from = *e[0].get_ptr<const json::number_unsigned_t*>();
    const uint64_t to = *e[1].get_ptr<const json::number_unsigned_t*>();
    if (from > kMaxNodeId || to > kMaxNodeId) {
      return Status::NotFound(where + ": unknown node " + std::to_string(from > kMaxNodeId ? from : to));
    }
    edges.emplace_back(static_cast<NodeId>(from), static_cast<NodeId>(to));
  }
  return edges;
}

}  // namespace ruvector_dag::internal

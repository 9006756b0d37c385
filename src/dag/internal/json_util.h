// Shared helpers for the JSON readers (ours, the original crate's, EXPLAIN):
// a bounded-nesting pre-check and a non-throwing parse, and typed field
// access that reports "where" on every error. Private to the dag module.
#ifndef RUVECTOR_DAG_SRC_DAG_INTERNAL_JSON_UTIL_H_
#define RUVECTOR_DAG_SRC_DAG_INTERNAL_JSON_UTIL_H_

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ruvector_dag/formats.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag::internal {

/// Rejects input larger than limits.max_input_bytes or nested deeper than
/// limits.max_nesting, scanning bytes only (strings are skipped), so the
/// recursive JSON parser never sees hostile depth. O(n), no allocation.
Status CheckJsonShape(std::string_view text, const ParseLimits& limits);

/// CheckJsonShape, then parses without exceptions. Errors name the byte
/// offset when the parser reports one.
Result<nlohmann::json> ParseJson(std::string_view text, const ParseLimits& limits,
                                 std::string_view what);

/// Name of a JSON value's type for messages ("string", "number", ...).
std::string JsonTypeName(const nlohmann::json& v);

}  // namespace ruvector_dag::internal

#endif  // RUVECTOR_DAG_SRC_DAG_INTERNAL_JSON_UTIL_H_

// Reading and writing plan DAGs: our JSON, our binary format, the original
// Rust crate's JSON, and PostgreSQL's EXPLAIN (FORMAT JSON) output.
//
// Every reader takes untrusted bytes and returns a clear error for malformed
// input of any kind (truncated, wrong types, cycles, dangling edges, NaN or
// huge numbers, absurd nesting); none crashes, hangs or recurses without
// bound. Writers are deterministic: the same DAG gives the same bytes.
// Byte-level specifications: docs/formats.md.
#ifndef RUVECTOR_DAG_FORMATS_H_
#define RUVECTOR_DAG_FORMATS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "ruvector_dag/dag.h"
#include "ruvector_dag/status.h"

namespace ruvector_dag {

/// Limits applied by every reader; the defaults suit real plans with a wide
/// margin.
struct ParseLimits {
  size_t max_input_bytes = size_t{256} << 20;  // 256 MiB
  size_t max_nesting = 512;                    // JSON nesting depth
  size_t max_nodes = 1u << 22;                 // nodes per document
  size_t max_string_bytes = size_t{1} << 20;   // one string field
};

enum class DagFormat {
  kJson,         // ours: {"format":"ruvector-dag","version":1,...}
  kRustJson,     // the original crate: {"nodes":[...],"edges":[[a,b]],"root":0}
  kBinary,       // ours: magic "RVDG", version, sections, CRC-32C
  kExplainJson,  // PostgreSQL EXPLAIN (FORMAT JSON [, ANALYZE, ...])
};

/// "json", "rust-json", "binary", "explain-json".
std::string_view DagFormatName(DagFormat format);
std::optional<DagFormat> DagFormatFromName(std::string_view name);

/// Guesses the format of `bytes` from its first bytes/keys; kInvalidArgument
/// when it matches none.
Result<DagFormat> DetectFormat(std::string_view bytes);
/// Detects the format and reads it; `detected` (optional) receives it.
Result<QueryDag> ReadAnyFormat(std::string_view bytes, DagFormat* detected = nullptr,
                               const ParseLimits& limits = {});

// --- our JSON (versioned) -------------------------------------------------
/// Serializes every node field and edge; node order by id. `indent` < 0 gives
/// compact output.
std::string WriteJson(const QueryDag& dag, int indent = -1);
Result<QueryDag> ReadJson(std::string_view text, const ParseLimits& limits = {});

// --- our binary format ----------------------------------------------------
std::string WriteBinary(const QueryDag& dag);
Result<QueryDag> ReadBinary(std::string_view bytes, const ParseLimits& limits = {});

// --- the original Rust crate's JSON -----------------------------------------
/// Fails (kInvalidArgument, naming the node) when the DAG holds an operator
/// type the original crate cannot represent (e.g. Gather).
Result<std::string> WriteRustJson(const QueryDag& dag);
Result<QueryDag> ReadRustJson(std::string_view text, const ParseLimits& limits = {});

// --- PostgreSQL EXPLAIN (FORMAT JSON) --------------------------------------
/// A plan imported from EXPLAIN, with statement-level numbers when present.
struct ExplainPlan {
  QueryDag dag;
  std::optional<double> planning_time_ms;
  std::optional<double> execution_time_ms;
};
/// Imports EXPLAIN (FORMAT JSON) output with or without ANALYZE, BUFFERS,
/// VERBOSE: nested Plans, InitPlans/SubPlans and CTEs (every plan node becomes
/// a DAG node), parallel workers, loops. Each plan node feeds its parent.
Result<ExplainPlan> ImportExplain(std::string_view text, const ParseLimits& limits = {});
/// Same, returning only the DAG.
Result<QueryDag> ImportExplainJson(std::string_view text, const ParseLimits& limits = {});

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_FORMATS_H_

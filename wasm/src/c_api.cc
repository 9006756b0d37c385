// The small C API the JS wrapper calls (wasm/js/ruvector_dag.mjs).
//
// Conventions: a DAG handle is a QueryDag* (a 32-bit address). Fallible calls
// return a negative number on error and leave the message in the error
// buffer (rvd_error_ptr/len, UTF-8); array results are left in one result
// buffer per element type (rvd_u32_ptr, rvd_f32_ptr, rvd_bytes_ptr) and
// scalar results in rvd_f64(i), all valid until the next call. Nothing here
// aborts on bad input: every argument is checked before the library sees it,
// and the library itself returns Status values. Single-threaded (WASM).
//
// There is no JSON in this module: the JS wrapper parses JSON with the
// engine's JSON.parse and hands the result over in the binary format, which
// ReadBinary validates (ids, values, cycles), and writes JSON from the binary
// format (docs/wasm.md). That keeps nlohmann-json, musl's strtod and iostream
// out of the module.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ruvector_dag/attention.h"
#include "ruvector_dag/core.h"
#include "ruvector_dag/dag.h"
#include "ruvector_dag/formats.h"
#include "ruvector_dag/mincut.h"
#include "ruvector_dag/status.h"
#include "attention/internal/mechanisms.h"

#define RVD_EXPORT extern "C" __attribute__((used, visibility("default")))

namespace {

using ruvector_dag::QueryDag;
using ruvector_dag::Status;

struct Buffers {
  std::string error;
  int error_code = 0;
  std::vector<uint32_t> u32;
  std::vector<float> f32;
  std::string bytes;
  double f64[8] = {};
};

Buffers& Out() {
  static Buffers* buffers = new Buffers();  // never destroyed: no exit-time work
  return *buffers;
}

// Records `status` and returns the negated status code (always < 0).
int Fail(const Status& status) {
  Out().error = status.ToString();
  Out().error_code = static_cast<int>(status.code());
  return -static_cast<int>(status.code());
}

int Fail(ruvector_dag::StatusCode code, std::string message) { return Fail(Status(code, std::move(message))); }

// "<what> <value> is out of range [0, <max>]" (one copy of the message code
// for every range check).
[[gnu::noinline]] int FailRange(const char* what, int value, size_t max) {
  return Fail(ruvector_dag::StatusCode::kInvalidArgument,
              std::string(what) + " " + std::to_string(value) + " is out of range [0, " + std::to_string(max) + "]");
}

std::string_view View(const char* data, uint32_t size) {
  return size == 0 ? std::string_view() : std::string_view(data, size);
}

#ifndef RVD_MECHANISMS
#define RVD_MECHANISMS 0x7f  // bit i: AttentionMechanism i is compiled in
#endif

// The mechanisms of this build, through the library's own factories (not
// MakeAttention, whose switch would link all seven). Null when left out.
std::unique_ptr<ruvector_dag::Attention> NewMechanism(int mechanism) {
  using namespace ruvector_dag::attention_internal;  // NOLINT: the factory functions
  const ruvector_dag::AttentionParams params;  // the documented defaults
  if (((RVD_MECHANISMS >> mechanism) & 1) == 0) return nullptr;
  switch (mechanism) {
    case 0: if constexpr ((RVD_MECHANISMS & 0x01) != 0) return NewTopological(params); break;
    case 1: if constexpr ((RVD_MECHANISMS & 0x02) != 0) return NewCausalCone(params); break;
    case 2: if constexpr ((RVD_MECHANISMS & 0x04) != 0) return NewCriticalPath(params); break;
    case 3: if constexpr ((RVD_MECHANISMS & 0x08) != 0) return NewMinCutGated(params); break;
    case 4: if constexpr ((RVD_MECHANISMS & 0x10) != 0) return NewHierarchicalLorentz(params); break;
    case 5: if constexpr ((RVD_MECHANISMS & 0x20) != 0) return NewParallelBranch(params); break;
    case 6:
      if constexpr ((RVD_MECHANISMS & 0x40) != 0) {
        return NewTemporalBtsp(params, ruvector_dag::SystemAttentionClock());
      }
      break;
  }
  return nullptr;
}

}  // namespace

RVD_EXPORT void* rvd_alloc(uint32_t size) { return std::malloc(size == 0 ? 1 : size); }
RVD_EXPORT void rvd_dealloc(void* ptr) { std::free(ptr); }

RVD_EXPORT const char* rvd_error_ptr() { return Out().error.data(); }
RVD_EXPORT uint32_t rvd_error_len() { return static_cast<uint32_t>(Out().error.size()); }
RVD_EXPORT int rvd_error_code() { return Out().error_code; }
RVD_EXPORT const uint32_t* rvd_u32_ptr() { return Out().u32.data(); }
RVD_EXPORT uint32_t rvd_u32_len() { return static_cast<uint32_t>(Out().u32.size()); }
RVD_EXPORT const float* rvd_f32_ptr() { return Out().f32.data(); }
RVD_EXPORT uint32_t rvd_f32_len() { return static_cast<uint32_t>(Out().f32.size()); }
RVD_EXPORT const char* rvd_bytes_ptr() { return Out().bytes.data(); }
RVD_EXPORT uint32_t rvd_bytes_len() { return static_cast<uint32_t>(Out().bytes.size()); }
RVD_EXPORT double rvd_f64(uint32_t i) { return i < 8 ? Out().f64[i] : 0.0; }

// Bit mask of the attention mechanisms in this build (bit i: mechanism i).
RVD_EXPORT int rvd_mechanisms() { return RVD_MECHANISMS; }

RVD_EXPORT QueryDag* rvd_dag_new() { return new QueryDag(); }
RVD_EXPORT void rvd_dag_delete(QueryDag* dag) { delete dag; }

RVD_EXPORT uint32_t rvd_node_count(const QueryDag* dag) { return static_cast<uint32_t>(dag->node_count()); }
RVD_EXPORT uint32_t rvd_edge_count(const QueryDag* dag) { return static_cast<uint32_t>(dag->edge_count()); }

// Operator type name of `code` into the bytes buffer; -1 when out of range.
RVD_EXPORT int rvd_operator_name(int code) {
  if (code < 0 || static_cast<size_t>(code) >= ruvector_dag::kOperatorTypeCount) {
    return FailRange("operator type", code, ruvector_dag::kOperatorTypeCount - 1);
  }
  Out().bytes = std::string(ruvector_dag::OperatorTypeName(static_cast<ruvector_dag::OperatorType>(code)));
  return static_cast<int>(Out().bytes.size());
}

// Adds a node of type `type` with own cost `cost`; returns its id (>= 0).
RVD_EXPORT int rvd_add_node(QueryDag* dag, int type, double cost) {
  if (type < 0 || static_cast<size_t>(type) >= ruvector_dag::kOperatorTypeCount) {
    return FailRange("operator type", type, ruvector_dag::kOperatorTypeCount - 1);
  }
  // The JS wrapper checks first and names the value; this is the backstop
  // (formatting the value here would link printf).
  if (!std::isfinite(cost) || cost < 0.0) {
    return Fail(ruvector_dag::StatusCode::kInvalidArgument, "cost must be a finite number >= 0");
  }
  auto node = ruvector_dag::OperatorNode::Make(static_cast<ruvector_dag::OperatorType>(type));
  node.estimated_cost = cost;
  auto id = dag->AddNode(std::move(node));
  if (!id.ok()) return Fail(id.status());
  return static_cast<int>(*id);
}

// 1: added; 0: refused because it is a self-loop, a duplicate or would close
// a cycle (message recorded); < 0: unknown node id.
RVD_EXPORT int rvd_add_edge(QueryDag* dag, uint32_t from, uint32_t to) {
  const Status status = dag->AddEdge(from, to);
  if (status.ok()) return 1;
  const int code = Fail(status);
  switch (status.code()) {
    case ruvector_dag::StatusCode::kInvalidArgument:      // self-loop
    case ruvector_dag::StatusCode::kAlreadyExists:        // duplicate
    case ruvector_dag::StatusCode::kFailedPrecondition:   // cycle
      return 0;
    default:
      return code;
  }
}

// Topological order (smallest ready id first) into the u32 buffer; empty for
// an empty DAG.
RVD_EXPORT int rvd_topo_sort(const QueryDag* dag) {
  Out().u32 = dag->TopologicalSort();
  return static_cast<int>(Out().u32.size());
}

// Critical path into the u32 buffer; its cost in f64(0).
RVD_EXPORT int rvd_critical_path(const QueryDag* dag) {
  auto path = dag->ComputeCriticalPath();
  if (!path.ok()) return Fail(path.status());
  Out().u32 = std::move(path->nodes);
  Out().f64[0] = path->cost;
  return static_cast<int>(Out().u32.size());
}

// Attention weights indexed by node id (id_bound entries, 0 for removed ids)
// into the f32 buffer.
RVD_EXPORT int rvd_attention(const QueryDag* dag, int mechanism) {
  if (mechanism < 0 || static_cast<size_t>(mechanism) >= ruvector_dag::kAttentionMechanismCount) {
    return FailRange("attention mechanism", mechanism, ruvector_dag::kAttentionMechanismCount - 1);
  }
  std::unique_ptr<ruvector_dag::Attention> attention = NewMechanism(mechanism);
  if (!attention) {
    return Fail(ruvector_dag::StatusCode::kUnimplemented,
                std::string(ruvector_dag::AttentionMechanismName(
                    static_cast<ruvector_dag::AttentionMechanism>(mechanism))) +
                    " attention is not in this WASM build (size budget; see docs/wasm.md)");
  }
  auto scores = attention->Forward(*dag);
  if (!scores.ok()) return Fail(scores.status());
  std::vector<float>& out = Out().f32;
  out.assign(dag->id_bound(), 0.0f);
  for (size_t i = 0; i < scores->nodes.size(); ++i) {
    out[scores->nodes[i]] = static_cast<float>(scores->weights[i]);
  }
  return static_cast<int>(out.size());
}

// Minimum vertex cut under capacity mode `mode`: cut nodes into the u32
// buffer; f64(0) cut value, f64(1) tension, f64(2) misestimation,
// f64(3) concentration, f64(4) cut work share.
RVD_EXPORT int rvd_mincut(const QueryDag* dag, int mode) {
  if (mode < 0 || mode > static_cast<int>(ruvector_dag::CapacityMode::kUnit)) {
    return FailRange("capacity mode", mode, static_cast<size_t>(ruvector_dag::CapacityMode::kUnit));
  }
  // Criticality (one extra max flow per cut node) is not returned to JS, so
  // it is not computed.
  ruvector_dag::MinCutOptions options;
  options.compute_criticality = false;
  auto engine = ruvector_dag::MinCutEngine::Create(options);
  if (!engine.ok()) return Fail(engine.status());
  auto cut = engine->Analyze(*dag, static_cast<ruvector_dag::CapacityMode>(mode));
  if (!cut.ok()) return Fail(cut.status());
  Buffers& b = Out();
  b.u32 = std::move(cut->cut_nodes);
  b.f64[0] = cut->cut_value;
  b.f64[1] = cut->tension.tension;
  b.f64[2] = cut->tension.misestimation;
  b.f64[3] = cut->tension.concentration;
  b.f64[4] = cut->tension.cut_work_share;
  return static_cast<int>(b.u32.size());
}

// Binary serialization into the bytes buffer.
RVD_EXPORT int rvd_to_bytes(const QueryDag* dag) {
  Out().bytes = ruvector_dag::WriteBinary(*dag);
  return static_cast<int>(Out().bytes.size());
}

// Reads our binary format; returns a new DAG or nullptr with the error
// recorded. With `seal` = 1 the input was assembled by the JS wrapper (from
// JSON, the crate's JSON or EXPLAIN) without a checksum: its last 4 bytes are
// overwritten with the CRC-32C first, and ReadBinary then checks everything
// else as for any untrusted file.
RVD_EXPORT QueryDag* rvd_read(char* data, uint32_t size, int seal) {
  if (seal != 0 && size >= 12) {
    const uint32_t crc = ruvector_dag::Crc32c(data, size - 4);
    for (int i = 0; i < 4; ++i) data[size - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  }
  ruvector_dag::Result<QueryDag> dag = ruvector_dag::ReadBinary(View(data, size));
  if (!dag.ok()) {
    Fail(dag.status());
    return nullptr;
  }
  return new QueryDag(std::move(dag).value());
}

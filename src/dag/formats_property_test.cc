// Property tests for the DAG formats on random DAGs: random operator types
// and field values (special doubles, UTF-8 and escape-worthy strings), random
// edges that respect acyclicity, inserted in random order, and random node
// removals. Every writer/reader pair must give an operator== equal DAG and
// the same bytes when written again; ReadAnyFormat must detect each format.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ruvector_dag/core.h"
#include "ruvector_dag/formats.h"

namespace ruvector_dag {
namespace {

double RandomNonNegative(Rng& rng) {
  switch (rng.Uniform(8)) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return std::numeric_limits<double>::denorm_min();
    case 3: return std::numeric_limits<double>::max();
    case 4: return static_cast<double>(rng.Uniform(1000000));
    case 5: return rng.UniformDouble() * std::pow(10.0, static_cast<double>(rng.Uniform(600)) - 300.0);
    default: {
      // Arbitrary finite bit patterns with the sign bit clear.
      while (true) {
        uint64_t bits = rng.Next() & ~(uint64_t{1} << 63);
        double d;
        std::memcpy(&d, &bits, sizeof d);
        if (std::isfinite(d)) return d;
      }
    }
  }
}

float RandomFloat(Rng& rng) {
  while (true) {
    uint32_t bits = static_cast<uint32_t>(rng.Next());
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (std::isfinite(f)) return f;
  }
}

std::string RandomString(Rng& rng) {
  static const char* const kPieces[] = {"a", "users", " ", "\"", "\\", "\n", "\x01", "\xC3\xA9", "\xE2\x82\xAC",
                                        "\xF0\x9F\x98\x80", "/", "{", "]", ",", "0", "(NUL)"};
  std::string s;
  const size_t pieces = rng.Uniform(5);
  for (size_t i = 0; i < pieces; ++i) {
    const size_t k = rng.Uniform(std::size(kPieces));
    if (k == std::size(kPieces) - 1) {
      s.push_back('\0');
    } else {
      s += kPieces[k];
    }
  }
  return s;
}

std::vector<std::string> RandomStrings(Rng& rng) {
  std::vector<std::string> v(rng.Uniform(4));
  for (auto& s : v) s = RandomString(rng);
  return v;
}

// Every field random (any operator type).
OperatorNode RandomNode(Rng& rng) {
  OperatorNode n = OperatorNode::Make(static_cast<OperatorType>(rng.Uniform(kOperatorTypeCount)));
  const auto maybe = [&](auto&& set) {
    if (rng.Uniform(2)) set();
  };
  maybe([&] { n.relation = RandomString(rng); });
  maybe([&] { n.alias = RandomString(rng); });
  maybe([&] { n.index = RandomString(rng); });
  maybe([&] { n.predicate = RandomString(rng); });
  maybe([&] {
    n.keys = RandomStrings(rng);
    if (rng.Uniform(2)) {
      n.descending.resize(n.keys.size());
      for (size_t i = 0; i < n.keys.size(); ++i) n.descending[i] = rng.Uniform(2) == 1;
    }
  });
  maybe([&] { n.detail = RandomString(rng); });
  maybe([&] { n.parameter = static_cast<int64_t>(rng.Next()); });
  maybe([&] { n.subplan_name = RandomString(rng); });
  n.parallel_aware = rng.Uniform(2) == 1;
  maybe([&] { n.workers_planned = static_cast<int32_t>(rng.Uniform(uint64_t{1} << 31)); });
  maybe([&] { n.workers_launched = static_cast<int32_t>(rng.Uniform(uint64_t{1} << 31)) - 1; });
  maybe([&] { n.estimated_rows = RandomNonNegative(rng); });
  maybe([&] { n.estimated_cost = RandomNonNegative(rng); });
  maybe([&] { n.startup_cost = RandomNonNegative(rng); });
  maybe([&] { n.total_cost = RandomNonNegative(rng); });
  maybe([&] { n.width = RandomNonNegative(rng); });
  maybe([&] { n.actual_rows = RandomNonNegative(rng); });
  maybe([&] { n.actual_time_ms = RandomNonNegative(rng); });
  maybe([&] { n.actual_loops = RandomNonNegative(rng); });
  maybe([&] {
    n.embedding.resize(rng.Uniform(6));
    for (float& f : n.embedding) f = RandomFloat(rng);
  });
  return n;
}

// Only the types and fields the Rust crate's format carries.
OperatorNode RandomCrateNode(Rng& rng) {
  static constexpr OperatorType kTypes[] = {
      OperatorType::kSeqScan,   OperatorType::kIndexScan,   OperatorType::kHnswScan,   OperatorType::kIvfFlatScan,
      OperatorType::kNestedLoop, OperatorType::kHashJoin,   OperatorType::kMergeJoin,  OperatorType::kAggregate,
      OperatorType::kGroupBy,   OperatorType::kFilter,      OperatorType::kProject,    OperatorType::kSort,
      OperatorType::kLimit,     OperatorType::kVectorDistance, OperatorType::kRerank, OperatorType::kMaterialize,
      OperatorType::kResult};
  OperatorNode n = OperatorNode::Make(kTypes[rng.Uniform(std::size(kTypes))]);
  switch (n.type) {
    case OperatorType::kSeqScan: n.relation = RandomString(rng); break;
    case OperatorType::kIndexScan:
      n.index = RandomString(rng);
      n.relation = RandomString(rng);
      break;
    case OperatorType::kHnswScan:
    case OperatorType::kIvfFlatScan:
      n.index = RandomString(rng);
      n.parameter = static_cast<int64_t>(rng.Uniform(uint64_t{1} << 32));
      break;
    case OperatorType::kHashJoin:
    case OperatorType::kMergeJoin:
    case OperatorType::kFilter: n.predicate = RandomString(rng); break;
    case OperatorType::kAggregate:
    case OperatorType::kGroupBy:
    case OperatorType::kProject: n.keys = RandomStrings(rng); break;
    case OperatorType::kSort:
      n.keys = RandomStrings(rng);
      if (rng.Uniform(2)) {
        n.descending.resize(n.keys.size());
        for (size_t i = 0; i < n.keys.size(); ++i) n.descending[i] = rng.Uniform(2) == 1;
      }
      break;
    case OperatorType::kLimit: n.parameter = static_cast<int64_t>(rng.Next() >> 1); break;
    case OperatorType::kVectorDistance:
    case OperatorType::kRerank: n.detail = RandomString(rng); break;
    default: break;
  }
  n.estimated_rows = RandomNonNegative(rng);
  n.estimated_cost = RandomNonNegative(rng);
  if (rng.Uniform(2)) n.actual_rows = RandomNonNegative(rng);
  if (rng.Uniform(2)) n.actual_time_ms = RandomNonNegative(rng);
  n.embedding.resize(rng.Uniform(2) ? rng.Uniform(6) : 0);
  for (float& f : n.embedding) f = RandomFloat(rng);
  return n;
}

// n random nodes, random edge attempts in random order (AddEdge refuses the
// ones that would close a cycle), then random removals. With `keep_last`,
// the largest id stays alive (the crate's format has no id bound).
QueryDag RandomDag(size_t n, uint64_t seed, bool crate_only) {
  Rng rng(seed);
  QueryDag dag;
  for (size_t i = 0; i < n; ++i) dag.AddNode(crate_only ? RandomCrateNode(rng) : RandomNode(rng)).value();
  if (n >= 2) {
    const size_t attempts = rng.Uniform(3 * n + 1);
    for (size_t k = 0; k < attempts; ++k) {
      (void)dag.AddEdge(static_cast<NodeId>(rng.Uniform(n)), static_cast<NodeId>(rng.Uniform(n)));
    }
  }
  const size_t removals = n == 0 ? 0 : rng.Uniform(n / 3 + 1);
  for (size_t k = 0; k < removals; ++k) {
    const NodeId victim = static_cast<NodeId>(rng.Uniform(n));
    if (crate_only && victim + 1 == n) continue;
    (void)dag.RemoveNode(victim);
  }
  return dag;
}

RC_GTEST_PROP(FormatsProperty, JsonRoundTripIsExact, ()) {
  const size_t n = *rc::gen::inRange<size_t>(0, 30);
  const QueryDag dag = RandomDag(n, *rc::gen::arbitrary<uint64_t>(), false);
  const std::string text = WriteJson(dag);
  Result<QueryDag> back = ReadJson(text);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == dag);
  RC_ASSERT(WriteJson(*back) == text);
  Result<QueryDag> pretty = ReadJson(WriteJson(dag, 2));
  RC_ASSERT(pretty.ok());
  RC_ASSERT(*pretty == dag);
}

RC_GTEST_PROP(FormatsProperty, BinaryRoundTripIsExact, ()) {
  const size_t n = *rc::gen::inRange<size_t>(0, 30);
  const QueryDag dag = RandomDag(n, *rc::gen::arbitrary<uint64_t>(), false);
  const std::string bytes = WriteBinary(dag);
  Result<QueryDag> back = ReadBinary(bytes);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == dag);
  RC_ASSERT(WriteBinary(*back) == bytes);
  // JSON and binary describe the same DAG.
  RC_ASSERT(WriteJson(*back) == WriteJson(dag));
}

RC_GTEST_PROP(FormatsProperty, BinaryTruncationsAndFlipsAreRejected, ()) {
  const size_t n = *rc::gen::inRange<size_t>(0, 12);
  const QueryDag dag = RandomDag(n, *rc::gen::arbitrary<uint64_t>(), false);
  const std::string bytes = WriteBinary(dag);
  const size_t cut = *rc::gen::inRange<size_t>(0, bytes.size());
  Result<QueryDag> truncated = ReadBinary(std::string_view(bytes).substr(0, cut));
  RC_ASSERT(!truncated.ok());
  std::string flipped = bytes;
  const size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
  flipped[at] = static_cast<char>(flipped[at] ^ (1 << *rc::gen::inRange(0, 8)));
  RC_ASSERT(!ReadBinary(flipped).ok());
}

RC_GTEST_PROP(FormatsProperty, RustJsonRoundTripIsExactForCrateTypes, ()) {
  const size_t n = *rc::gen::inRange<size_t>(0, 30);
  const QueryDag dag = RandomDag(n, *rc::gen::arbitrary<uint64_t>(), true);
  Result<std::string> text = WriteRustJson(dag);
  RC_ASSERT(text.ok());
  Result<QueryDag> back = ReadRustJson(*text);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == dag);
  Result<std::string> again = WriteRustJson(*back);
  RC_ASSERT(again.ok());
  RC_ASSERT(*again == *text);
  RC_ASSERT(nlohmann::json::parse(*again) == nlohmann::json::parse(*text));
}

RC_GTEST_PROP(FormatsProperty, RustJsonNodeOrderDoesNotMatter, ()) {
  const size_t n = *rc::gen::inRange<size_t>(1, 20);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const QueryDag dag = RandomDag(n, seed, true);
  nlohmann::json doc = nlohmann::json::parse(WriteRustJson(dag).value());
  auto& nodes = doc["nodes"];
  Rng rng(seed ^ 0x5eed);
  for (size_t i = nodes.size(); i > 1; --i) std::swap(nodes[i - 1], nodes[rng.Uniform(i)]);
  Result<QueryDag> back = ReadRustJson(doc.dump());
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == dag);
}

RC_GTEST_PROP(FormatsProperty, ReadAnyFormatDetectsEachFormat, ()) {
  const size_t n = *rc::gen::inRange<size_t>(0, 20);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const QueryDag dag = RandomDag(n, seed, false);
  DagFormat detected = DagFormat::kExplainJson;
  Result<QueryDag> from_json = ReadAnyFormat(WriteJson(dag, *rc::gen::inRange(-1, 3)), &detected);
  RC_ASSERT(from_json.ok());
  RC_ASSERT(detected == DagFormat::kJson);
  RC_ASSERT(*from_json == dag);
  Result<QueryDag> from_binary = ReadAnyFormat(WriteBinary(dag), &detected);
  RC_ASSERT(from_binary.ok());
  RC_ASSERT(detected == DagFormat::kBinary);
  RC_ASSERT(*from_binary == dag);
  const QueryDag crate_dag = RandomDag(n, seed, true);
  Result<QueryDag> from_rust = ReadAnyFormat(WriteRustJson(crate_dag).value(), &detected);
  RC_ASSERT(from_rust.ok());
  RC_ASSERT(detected == DagFormat::kRustJson);
  RC_ASSERT(*from_rust == crate_dag);
}

}  // namespace
}  // namespace ruvector_dag

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include <Eigen/Core>

#include "ruvector_dag/sona.h"

namespace ruvector_dag {
namespace {

// Node feature layout (docs/sona.md, "Node features").
constexpr size_t kFType = 0;  // one-hot, kOperatorTypeCount entries
constexpr size_t kFEstRows = kOperatorTypeCount;
constexpr size_t kFOwnCost = kFEstRows + 1;
constexpr size_t kFTotalCost = kFEstRows + 2;
constexpr size_t kFWidth = kFEstRows + 3;
constexpr size_t kFHasActual = kFEstRows + 4;
constexpr size_t kFActualRows = kFEstRows + 5;
constexpr size_t kFActualTime = kFEstRows + 6;
constexpr size_t kFMisest = kFEstRows + 7;
constexpr size_t kFAbsMisest = kFEstRows + 8;
constexpr size_t kFHeight = kFEstRows + 9;
constexpr size_t kFLevel = kFEstRows + 10;
constexpr size_t kFFanIn = kFEstRows + 11;
constexpr size_t kFFanOut = kFEstRows + 12;
constexpr size_t kFIsScan = kFEstRows + 13;
constexpr size_t kFIsJoin = kFEstRows + 14;
constexpr size_t kFCostShare = kFEstRows + 15;
constexpr size_t kFParallel = kFEstRows + 16;
constexpr size_t kFParameter = kFEstRows + 17;
constexpr size_t kFHasPredicate = kFEstRows + 18;
constexpr size_t kFKeys = kFEstRows + 19;
constexpr size_t kFRelationBuckets = kFEstRows + 20;  // 16 buckets
constexpr size_t kRelationBucketCount = 16;
constexpr size_t kFIndexBuckets = kFRelationBuckets + kRelationBucketCount;  // 8 buckets
constexpr size_t kIndexBucketCount = 8;
static_assert(kFIndexBuckets + kIndexBucketCount <= kNodeFeatureDim, "node features overflow");

// Plan-global layout, relative to kEmbedGlobalOffset.
constexpr size_t kGNodes = 0;
constexpr size_t kGEdges = 1;
constexpr size_t kGDepth = 2;
constexpr size_t kGRootCost = 3;
constexpr size_t kGRootRows = 4;
constexpr size_t kGSumCost = 5;
constexpr size_t kGMisest = 6;
constexpr size_t kGActualShare = 7;
constexpr size_t kGSources = 8;
constexpr size_t kGSinks = 9;
constexpr size_t kGEntropy = 10;
constexpr size_t kGMaxWeight = 11;
constexpr size_t kGBigrams = 16;  // 48 buckets of (input type, consumer type) pairs
constexpr size_t kBigramBucketCount = kEmbeddingDim - kEmbedGlobalOffset - kGBigrams;
static_assert(kBigramBucketCount == 48, "global layout");

// Logs are divided by this so typical values stay within a few units.
constexpr float kLogScale = 0.1f;

// Natural log of a positive normal float x to ~2e-5 absolute error: exponent from the float's
// bits, mantissa m in [1, 2) through the atanh series of t = (m-1)/(m+1).
// Exact bit arithmetic, so the result is the same on every platform; and
// several times faster than std::log1p, which dominated featurization.
[[gnu::always_inline]] inline float FastLog(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const int exponent = static_cast<int>((bits >> 23) & 0xFF) - 127;
  bits = (bits & 0x7FFFFFu) | 0x3F800000u;
  float m;
  std::memcpy(&m, &bits, sizeof m);
  const float t = (m - 1.0f) / (m + 1.0f);
  const float t2 = t * t;
  const float ln_m = 2.0f * t * (1.0f + t2 * (1.0f / 3.0f + t2 * (1.0f / 5.0f + t2 * (1.0f / 7.0f))));
  return ln_m + static_cast<float>(exponent) * 0.69314718f;
}

// log(1 + v) * kLogScale for v >= 0; 0 for non-finite or non-positive input.
[[gnu::always_inline]] inline float LogFeature(double v) {
  if (!std::isfinite(v) || v <= 0.0) return 0.0f;
  const double x = std::min(1.0 + v, 3.0e38);
  return FastLog(static_cast<float>(x)) * kLogScale;
}

[[gnu::always_inline]] inline float LogCount(size_t n) { return FastLog(static_cast<float>(n) + 1.0f); }

double Finite(double v) { return std::isfinite(v) ? v : 0.0; }

}  // namespace

Featurizer::Featurizer(FeaturizerOptions options) : options_(options) {
  if (options_.max_nodes == 0) options_.max_nodes = 1;
  Reserve(options_.max_nodes);
}

void Featurizer::Reserve(size_t id_bound) {
  if (node_features_.size() < id_bound * kNodeFeatureDim) {
    node_features_.resize(id_bound * kNodeFeatureDim);
  }
  if (dense_.size() < id_bound) {
    indegree_.resize(id_bound);
    order_.resize(id_bound);
    height_.resize(id_bound);
    level_.resize(id_bound);
    dense_.resize(id_bound);
    weights_.resize(id_bound);
  }
}

Status Featurizer::Featurize(const QueryDag& dag, std::span<const double> node_weights,
                             PlanEmbedding* out) {
  if (out == nullptr) return Status::InvalidArgument("Featurize: output embedding is null");
  if (dag.empty()) return Status::FailedPrecondition("Featurize: the DAG is empty");
  const size_t n = dag.node_count();
  const NodeId bound = dag.id_bound();
  if (!node_weights.empty() && node_weights.size() != n) {
    return Status::InvalidArgument("Featurize: " + std::to_string(node_weights.size()) +
                                   " node weights for a DAG with " + std::to_string(n) +
                                   " live nodes");
  }
  Reserve(bound);

  // Dense indices in ascending id order, and weights.
  double weight_sum = 0.0;
  size_t k = 0;
  for (NodeId id = 0; id < bound; ++id) {
    if (!dag.Contains(id)) {
      dense_[id] = -1;
      continue;
    }
    double w = 1.0;
    if (!node_weights.empty()) {
      w = node_weights[k];
      if (!std::isfinite(w) || w < 0.0) {
        return Status::InvalidArgument("Featurize: weight of node " + std::to_string(id) +
                                       " is negative or not finite");
      }
    }
    weights_[k] = w;
    weight_sum += w;
    dense_[id] = static_cast<int32_t>(k++);
  }
  if (weight_sum <= 0.0) {
    for (size_t i = 0; i < n; ++i) weights_[i] = 1.0 / static_cast<double>(n);
  } else {
    for (size_t i = 0; i < n; ++i) weights_[i] /= weight_sum;
  }

  // Kahn's order over dense indices (FIFO seeded in id order: deterministic).
  size_t head = 0, tail = 0;
  for (NodeId id = 0; id < bound; ++id) {
    if (dense_[id] < 0) continue;
    const uint32_t d = static_cast<uint32_t>(dense_[id]);
    indegree_[d] = static_cast<uint32_t>(dag.parents(id).size());
    level_[d] = 0;
    height_[d] = 0;
  }
  for (NodeId id = 0; id < bound; ++id) {
    if (dense_[id] >= 0 && indegree_[dense_[id]] == 0) order_[tail++] = id;
  }
  while (head < tail) {
    const NodeId id = order_[head++];
    const uint32_t d = static_cast<uint32_t>(dense_[id]);
    for (NodeId c : dag.children(id)) {
      const uint32_t dc = static_cast<uint32_t>(dense_[c]);
      level_[dc] = std::max(level_[dc], level_[d] + 1);
      if (--indegree_[dc] == 0) order_[tail++] = c;
    }
  }
  if (tail != n) return Status::Internal("Featurize: the DAG has a cycle");
  uint32_t max_height = 0, max_level = 0;
  for (size_t i = n; i-- > 0;) {
    const NodeId id = order_[i];
    const uint32_t d = static_cast<uint32_t>(dense_[id]);
    for (NodeId c : dag.children(id)) {
      height_[d] = std::max(height_[d], height_[dense_[c]] + 1);
    }
    max_height = std::max(max_height, height_[d]);
    max_level = std::max(max_level, level_[d]);
  }

  // Per-node features.
  double own_cost_sum = 0.0;
  for (NodeId id = 0; id < bound; ++id) {
    if (dense_[id] >= 0) own_cost_sum += std::max(0.0, Finite(dag.node(id)->estimated_cost));
  }
  PlanEmbedding& e = *out;
  e.fill(0.0f);
  float* mean = e.data() + kEmbedMeanOffset;
  float* maxv = e.data() + kEmbedMaxOffset;
  float* global = e.data() + kEmbedGlobalOffset;
  double weighted_misest = 0.0;
  size_t with_actuals = 0, sources = 0, sinks = 0;
  double root_cost = 0.0, root_rows = 0.0;
  double entropy = 0.0, max_weight = 0.0;
  const size_t edges = dag.edge_count();
  for (NodeId id = 0; id < bound; ++id) {
    if (dense_[id] < 0) continue;
    const uint32_t d = static_cast<uint32_t>(dense_[id]);
    const OperatorNode& node = *dag.node(id);
    float* f = node_features_.data() + static_cast<size_t>(d) * kNodeFeatureDim;
    std::fill(f, f + kNodeFeatureDim, 0.0f);
    f[kFType + static_cast<size_t>(node.type)] = 1.0f;
    const double est_rows = std::max(0.0, Finite(node.estimated_rows));
    f[kFEstRows] = LogFeature(est_rows);
    f[kFOwnCost] = LogFeature(node.estimated_cost);
    f[kFTotalCost] = LogFeature(node.total_cost);
    f[kFWidth] = LogFeature(node.width);
    if (options_.use_actuals && node.actual_rows.has_value()) {
      const double loops = node.actual_loops.has_value() ? std::max(1.0, Finite(*node.actual_loops)) : 1.0;
      const double act_rows = std::max(0.0, Finite(*node.actual_rows));
      f[kFHasActual] = 1.0f;
      f[kFActualRows] = LogFeature(act_rows * loops);
      if (node.actual_time_ms.has_value()) f[kFActualTime] = LogFeature(*node.actual_time_ms * loops);
      // log((actual + 1) / (estimate + 1)), per loop, clamped to +-10 nats.
      const double ratio = std::clamp(
          static_cast<double>(FastLog(static_cast<float>(std::min((act_rows + 1.0) / (est_rows + 1.0), 1e30)))),
          -10.0, 10.0);
      f[kFMisest] = static_cast<float>(ratio * 0.2);
      f[kFAbsMisest] = static_cast<float>(std::abs(ratio) * 0.2);
      weighted_misest += weights_[d] * std::abs(ratio);
      ++with_actuals;
    }
    f[kFHeight] = max_height == 0 ? 0.0f : static_cast<float>(height_[d]) / static_cast<float>(max_height);
    f[kFLevel] = max_level == 0 ? 0.0f : static_cast<float>(level_[d]) / static_cast<float>(max_level);
    const size_t fan_in = dag.parents(id).size(), fan_out = dag.children(id).size();
    f[kFFanIn] = LogCount(fan_in);
    f[kFFanOut] = LogCount(fan_out);
    f[kFIsScan] = IsScan(node.type) ? 1.0f : 0.0f;
    f[kFIsJoin] = IsJoin(node.type) ? 1.0f : 0.0f;
    f[kFCostShare] = own_cost_sum > 0.0
                         ? static_cast<float>(std::max(0.0, Finite(node.estimated_cost)) / own_cost_sum)
                         : 0.0f;
    f[kFParallel] = node.parallel_aware ? 1.0f : 0.0f;
    if (node.workers_planned > 0) f[kFParallel] += LogCount(static_cast<size_t>(node.workers_planned)) * 0.5f;
    f[kFParameter] = LogFeature(static_cast<double>(node.parameter));
    f[kFHasPredicate] = node.predicate.empty() ? 0.0f : 1.0f;
    f[kFKeys] = LogCount(node.keys.size());
    if (!node.relation.empty()) {
      f[kFRelationBuckets + Hash64(node.relation, 0x52454cu) % kRelationBucketCount] = 1.0f;
    }
    if (!node.index.empty()) {
      f[kFIndexBuckets + Hash64(node.index, 0x494458u) % kIndexBucketCount] = 1.0f;
    }

    // Pooling (Eigen maps so the 96-wide loops are vectorized).
    const float w = static_cast<float>(weights_[d]);
    Eigen::Map<const Eigen::ArrayXf> fv(f, kNodeFeatureDim);
    Eigen::Map<Eigen::ArrayXf> mean_v(mean, kNodeFeatureDim), max_v(maxv, kNodeFeatureDim);
    mean_v += w * fv;
    max_v = max_v.max(fv);
    if (weights_[d] > 0.0) entropy -= weights_[d] * FastLog(static_cast<float>(weights_[d]));
    max_weight = std::max(max_weight, weights_[d]);
    if (fan_in == 0) ++sources;
    if (fan_out == 0) {
      ++sinks;
      root_cost = std::max(root_cost, Finite(node.total_cost));
      root_rows = std::max(root_rows, est_rows);
    }
    // (input type, consumer type) bigrams, counted per edge.
    for (NodeId c : dag.children(id)) {
      const uint64_t h = HashCombine(static_cast<uint64_t>(node.type) + 1,
                                     static_cast<uint64_t>(dag.node(c)->type) + 1);
      global[kGBigrams + h % kBigramBucketCount] += 1.0f / static_cast<float>(edges);
    }
  }

  global[kGNodes] = static_cast<float>(std::log1p(static_cast<double>(n))) * 0.2f;
  global[kGEdges] = static_cast<float>(std::log1p(static_cast<double>(edges))) * 0.2f;
  global[kGDepth] = static_cast<float>(std::log1p(static_cast<double>(max_height))) * 0.3f;
  global[kGRootCost] = LogFeature(root_cost);
  global[kGRootRows] = LogFeature(root_rows);
  global[kGSumCost] = LogFeature(own_cost_sum);
  global[kGMisest] = static_cast<float>(weighted_misest * 0.2);
  global[kGActualShare] = static_cast<float>(with_actuals) / static_cast<float>(n);
  global[kGSources] = static_cast<float>(std::log1p(static_cast<double>(sources))) * 0.3f;
  global[kGSinks] = static_cast<float>(std::log1p(static_cast<double>(sinks))) * 0.3f;
  global[kGEntropy] = n > 1 ? static_cast<float>(entropy / std::log(static_cast<double>(n))) : 0.0f;
  global[kGMaxWeight] = static_cast<float>(max_weight);
  last_nodes_ = n;
  return Status::Ok();
}

}  // namespace ruvector_dag

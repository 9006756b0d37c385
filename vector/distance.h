// Distance kernels over float arrays (C++ zone: no PostgreSQL, no
// allocation, never throws). Formulas in docs/vector.md.
#ifndef RUVECTOR_VECTOR_DISTANCE_H_
#define RUVECTOR_VECTOR_DISTANCE_H_

#include <cmath>
#include <cstdint>

namespace ruvector_vec {

/// The three metrics of the operators and the ruhnsw opclasses.
enum class Metric : uint8_t { kL2 = 1, kCosine = 2, kInnerProduct = 3 };

// The float kernels keep 8 partial sums: a fixed summation order the
// compiler may vectorize without -ffast-math.
constexpr int kLanes = 8;

/// Sum of squared differences, accumulated in float (the index's distance;
/// the SQL-visible distances below accumulate in double).
inline float SquaredL2(const float* a, const float* b, int n) {
  float acc[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; k++) {
      float d = a[i + k] - b[i + k];
      acc[k] += d * d;
    }
  }
  float s = 0.0f;
  for (; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
  for (int k = 0; k < kLanes; k++) s += acc[k];
  return s;
}

/// Dot product accumulated in float.
inline float Dot(const float* a, const float* b, int n) {
  float acc[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; k++) acc[k] += a[i + k] * b[i + k];
  }
  float s = 0.0f;
  for (; i < n; i++) s += a[i] * b[i];
  for (int k = 0; k < kLanes; k++) s += acc[k];
  return s;
}

/// Dot product accumulated in double (the SQL functions' precision).
inline double DotDouble(const float* a, const float* b, int n) {
  double s = 0.0;
  for (int i = 0; i < n; i++) s += static_cast<double>(a[i]) * b[i];
  return s;
}

/// Euclidean distance in double.
inline double L2Double(const float* a, const float* b, int n) {
  double s = 0.0;
  for (int i = 0; i < n; i++) {
    double d = static_cast<double>(a[i]) - b[i];
    s += d * d;
  }
  return std::sqrt(s);
}

/// 1 - cos(a, b) in double; NaN when either vector is zero.
inline double CosineDistanceDouble(const float* a, const float* b, int n) {
  double dot = 0.0, na = 0.0, nb = 0.0;
  for (int i = 0; i < n; i++) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  double sim = dot / std::sqrt(na * nb);
  // Rounding can push |sim| slightly above 1.
  if (sim > 1.0) sim = 1.0;
  if (sim < -1.0) sim = -1.0;
  return 1.0 - sim;
}

/// The distance the index orders by: squared L2, or the negative dot product
/// (cosine works on normalized vectors, where 1 - dot orders like -dot).
/// Monotone in the SQL operator's value for the same query.
inline float IndexDistance(Metric metric, const float* a, const float* b, int n) {
  return metric == Metric::kL2 ? SquaredL2(a, b, n) : -Dot(a, b, n);
}

}  // namespace ruvector_vec

#endif  // RUVECTOR_VECTOR_DISTANCE_H_

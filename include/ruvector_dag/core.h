// Core utilities shared by every module: a seeded random generator, stable
// hashing and checksums. Nothing here allocates.
#ifndef RUVECTOR_DAG_CORE_H_
#define RUVECTOR_DAG_CORE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ruvector_dag/status.h"

namespace ruvector_dag {

/// Deterministic pseudo-random generator (xoshiro256**, seeded through
/// SplitMix64). Same seed, same sequence, on every platform. Satisfies
/// UniformRandomBitGenerator. Not thread-safe; give each thread its own.
class Rng {
 public:
  using result_type = uint64_t;
  explicit Rng(uint64_t seed);

  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return ~uint64_t{0}; }
  uint64_t operator()() { return Next(); }

  uint64_t Next();
  /// Uniform in [0, bound); bound must be > 0.
  uint64_t Uniform(uint64_t bound);
  /// Uniform double in [0, 1).
  double UniformDouble();
  /// Standard normal (Box-Muller, no cached spare: deterministic per call).
  double Gaussian();
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  uint64_t s_[4];
};

/// 64-bit FNV-1a over bytes, then a final avalanche mix. Stable across
/// platforms and releases (used in persisted pattern keys).
uint64_t Hash64(std::string_view bytes, uint64_t seed = 0);
/// Mixes `value` into `h` (order-dependent); for hashing structures.
uint64_t HashCombine(uint64_t h, uint64_t value);
/// Stable hash of a double (canonicalizes -0.0 and NaN).
uint64_t HashDouble(double v);

/// `v` as printf("%.<digits>g") writes it (digits in [1, 15]), without printf:
/// the WASM module must not link musl's printf (docs/wasm.md, "Size"). The
/// digits are rounded in double arithmetic, so a value within an ulp of a
/// rounding boundary may round the other way than printf; for messages only.
std::string FormatSignificant(double v, int digits);

/// CRC-32C (Castagnoli) of `data`, continuing from `crc` (0 to start).
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace ruvector_dag

#endif  // RUVECTOR_DAG_CORE_H_

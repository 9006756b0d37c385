// Where PQClean's randombytes() gets its bytes. By default OpenSSL's CSPRNG;
// the known-answer tests install a deterministic stream for the calling
// thread only, for the lifetime of a ScopedRandomness.
#ifndef RUVECTOR_DAG_SYNC_INTERNAL_RANDOMNESS_H_
#define RUVECTOR_DAG_SYNC_INTERNAL_RANDOMNESS_H_

#include <cstddef>
#include <cstdint>

namespace ruvector_dag::sync::internal {

/// Fills `out` with `n` bytes. Called by randombytes() on this thread.
using RandomnessFn = void (*)(void* context, uint8_t* out, size_t n);

/// Replaces this thread's randomness until destroyed (restores the previous
/// one). Tests only: nothing in the library installs one.
class ScopedRandomness {
 public:
  ScopedRandomness(RandomnessFn fn, void* context);
  ~ScopedRandomness();
  ScopedRandomness(const ScopedRandomness&) = delete;
  ScopedRandomness& operator=(const ScopedRandomness&) = delete;

 private:
  RandomnessFn previous_fn_;
  void* previous_context_;
};

/// Clears this thread's "randomness failed" flag.
void ResetRandomnessFailure();
/// True if randombytes() failed since the last reset (the output it wrote
/// is zeros and must not be used).
bool RandomnessFailed();

}  // namespace ruvector_dag::sync::internal

#endif  // RUVECTOR_DAG_SYNC_INTERNAL_RANDOMNESS_H_

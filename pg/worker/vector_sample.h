// PG zone: what the explorer needs to measure the recall of a vector search
// (docs/vector.md, "Learned ef_search"): a receiver that keeps a hash of each
// result row, and the identity of a captured statement. Include after shim.h.
#ifndef RUVECTOR_PG_WORKER_VECTOR_SAMPLE_H_
#define RUVECTOR_PG_WORKER_VECTOR_SAMPLE_H_

#include <cstdint>

#include "state/steer_state.h"

namespace ruvector_pg {

/// The rows a run returned, as 64-bit hashes of their output text (every
/// column, NULLs included): two rows hash alike when they print alike.
struct RowHashes {
  uint64_t* hashes = nullptr;
  int count = 0;
  int cap = 0;
  bool overflow = false;  // more than `cap` rows arrived (the rest not kept)
};

/// A DestReceiver allocated in `cxt` keeping up to `cap` row hashes; it
/// lives as long as `cxt`. RowHashesOf gives its rows; ResetRowHashes
/// empties it for the next run.
DestReceiver* CreateRowHashReceiver(MemoryContext cxt, int cap);
RowHashes* RowHashesOf(DestReceiver* receiver);
void ResetRowHashes(DestReceiver* receiver);

/// Identifies what a capture would run: its text, parameters and
/// search_path (a statement sampled again gives no new recall sample).
uint64_t CaptureStatementHash(const CapturedStatement& c);

}  // namespace ruvector_pg

#endif  // RUVECTOR_PG_WORKER_VECTOR_SAMPLE_H_

// The ruvector value: a varlena holding int16 dims, int16 zero, then dims
// float4s -- the same layout and binary format as pgvector's vector, so data
// moves across. PG zone.
#ifndef RUVECTOR_VECTOR_RUVECTOR_H_
#define RUVECTOR_VECTOR_RUVECTOR_H_

#include "shim.h"

namespace ruvector_vec {

/// Most dimensions a ruvector may have (pgvector's limit too).
constexpr int kMaxDims = 16000;

struct RuVector {
  int32 vl_len_;  // varlena header (do not touch directly)
  int16 dims;
  int16 unused;   // always 0
  float x[1];     // dims elements (allocated past the struct)
};

inline size_t RuVectorSize(int dims) { return offsetof(RuVector, x) + sizeof(float) * dims; }

/// Allocates a zeroed ruvector of `dims` dimensions in CurrentMemoryContext.
RuVector* NewRuVector(int dims);

/// ERROR unless 1 <= dims <= kMaxDims.
void CheckDims(int dims);
/// ERROR when typmod names a dimension count other than `dims`.
void CheckTypmod(int dims, int32 typmod);
/// ERROR when `v` is NaN or infinite.
void CheckFinite(float v);
/// ERROR when the two vectors' dimensions differ.
void CheckSameDims(const RuVector* a, const RuVector* b);

inline RuVector* DatumGetRuVector(Datum d) { return reinterpret_cast<RuVector*>(PG_DETOAST_DATUM(d)); }

}  // namespace ruvector_vec

#define RUVECTOR_ARG(n) (ruvector_vec::DatumGetRuVector(PG_GETARG_DATUM(n)))
#define RUVECTOR_RETURN(v) PG_RETURN_POINTER(v)

#endif  // RUVECTOR_VECTOR_RUVECTOR_H_

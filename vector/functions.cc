// Operators, functions and aggregates over ruvector. PG zone; the distance
// arithmetic is the C++-zone kernels of distance.h (plain loops, no throw).
#include "distance.h"
#include "hnsw_algo.h"
#include "ruvector.h"

using namespace ruvector_vec;

namespace {

// Raises ERROR when an arithmetic result left float range.
float CheckedResult(double v) {
  if (std::isinf(v) || std::fabs(v) > FLT_MAX)
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
  if (std::isnan(v)) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in ruvector")));
  return static_cast<float>(v);
}

// The aggregate state: float8[] {count, sum_1, ..., sum_dims}; the count is
// a whole number >= 0 (a state forged with another one is refused).
double* StateValues(ArrayType* state, int* n) {
  if (ARR_NDIM(state) != 1 || ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("ruvector aggregate: malformed state array")));
  *n = ARR_DIMS(state)[0];
  auto* values = reinterpret_cast<double*>(ARR_DATA_PTR(state));
  if (*n >= 1 && !(values[0] >= 0.0 && values[0] <= 9.0e15 && values[0] == std::floor(values[0])))
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("ruvector aggregate: malformed state array (count %g)", values[0])));
  return values;
}

ArrayType* NewState(const double* values, int n) {
  auto* elems = static_cast<Datum*>(palloc(sizeof(Datum) * n));
  for (int i = 0; i < n; i++) elems[i] = Float8GetDatum(values[i]);
  return construct_array(elems, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

// sum (divide = false) or average (divide = true) of the state, NULL when empty.
Datum Finish(FunctionCallInfo fcinfo, bool divide) {
  int n;
  double* s = StateValues(PG_GETARG_ARRAYTYPE_P(0), &n);
  if (n < 2 || s[0] == 0) PG_RETURN_NULL();
  // The final functions are callable with any float8[]: a state longer than
  // a ruvector may be would wrap the int16 dimension count.
  CheckDims(n - 1);
  RuVector* out = NewRuVector(n - 1);
  for (int i = 1; i < n; i++) out->x[i - 1] = CheckedResult(divide ? s[i] / s[0] : s[i]);
  RUVECTOR_RETURN(out);
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(ruvector_l2_distance);
PG_FUNCTION_INFO_V1(ruvector_cosine_distance);
PG_FUNCTION_INFO_V1(ruvector_inner_product);
PG_FUNCTION_INFO_V1(ruvector_negative_inner_product);
PG_FUNCTION_INFO_V1(ruvector_dims);
PG_FUNCTION_INFO_V1(ruvector_norm);
PG_FUNCTION_INFO_V1(ruvector_add);
PG_FUNCTION_INFO_V1(ruvector_sub);
PG_FUNCTION_INFO_V1(ruvector_scale);
PG_FUNCTION_INFO_V1(ruvector_random);
PG_FUNCTION_INFO_V1(ruvector_random_seeded);
PG_FUNCTION_INFO_V1(ruvector_accum);
PG_FUNCTION_INFO_V1(ruvector_combine);
PG_FUNCTION_INFO_V1(ruvector_avg);
PG_FUNCTION_INFO_V1(ruvector_sum);

Datum ruvector_l2_distance(PG_FUNCTION_ARGS) {
  RuVector* a = RUVECTOR_ARG(0);
  RuVector* b = RUVECTOR_ARG(1);
  CheckSameDims(a, b);
  PG_RETURN_FLOAT8(L2Double(a->x, b->x, a->dims));
}

Datum ruvector_cosine_distance(PG_FUNCTION_ARGS) {
  RuVector* a = RUVECTOR_ARG(0);
  RuVector* b = RUVECTOR_ARG(1);
  CheckSameDims(a, b);
  PG_RETURN_FLOAT8(CosineDistanceDouble(a->x, b->x, a->dims));
}

Datum ruvector_inner_product(PG_FUNCTION_ARGS) {
  RuVector* a = RUVECTOR_ARG(0);
  RuVector* b = RUVECTOR_ARG(1);
  CheckSameDims(a, b);
  PG_RETURN_FLOAT8(DotDouble(a->x, b->x, a->dims));
}

Datum ruvector_negative_inner_product(PG_FUNCTION_ARGS) {
  RuVector* a = RUVECTOR_ARG(0);
  RuVector* b = RUVECTOR_ARG(1);
  CheckSameDims(a, b);
  PG_RETURN_FLOAT8(-DotDouble(a->x, b->x, a->dims));
}

Datum ruvector_dims(PG_FUNCTION_ARGS) { PG_RETURN_INT32(RUVECTOR_ARG(0)->dims); }

Datum ruvector_norm(PG_FUNCTION_ARGS) {
  RuVector* a = RUVECTOR_ARG(0);
  PG_RETURN_FLOAT8(std::sqrt(DotDouble(a->x, a->x, a->dims)));
}

Datum ruvector_add(PG_FUNCTION_ARGS) {
  RuVector* a = RUVECTOR_ARG(0);
  RuVector* b = RUVECTOR_ARG(1);
  CheckSameDims(a, b);
  RuVector* out = NewRuVector(a->dims);
  for (int i = 0; i < a->dims; i++) out->x[i] = CheckedResult(static_cast<double>(a->x[i]) + b->x[i]);
  RUVECTOR_RETURN(out);
}

Datum ruvector_sub(PG_FUNCTION_ARGS) {
  RuVector* a = RUVECTOR_ARG(0);
  RuVector* b = RUVECTOR_ARG(1);
  CheckSameDims(a, b);
  RuVector* out = NewRuVector(a->dims);
  for (int i = 0; i < a->dims; i++) out->x[i] = CheckedResult(static_cast<double>(a->x[i]) - b->x[i]);
  RUVECTOR_RETURN(out);
}

Datum ruvector_scale(PG_FUNCTION_ARGS) {
  RuVector* a = RUVECTOR_ARG(0);
  double f = PG_GETARG_FLOAT8(1);
  RuVector* out = NewRuVector(a->dims);
  for (int i = 0; i < a->dims; i++) out->x[i] = CheckedResult(a->x[i] * f);
  RUVECTOR_RETURN(out);
}

// random_vector(dims, seed): coordinates uniform in [0, 1) from SplitMix64
// seeded with `seed` -- the same vector for the same seed on every platform.
Datum ruvector_random_seeded(PG_FUNCTION_ARGS) {
  int dims = PG_GETARG_INT32(0);
  CheckDims(dims);
  uint64_t state = static_cast<uint64_t>(PG_GETARG_INT64(1));
  RuVector* out = NewRuVector(dims);
  for (int i = 0; i < dims; i++) out->x[i] = static_cast<float>(UniformDouble(&state));
  RUVECTOR_RETURN(out);
}

// random_vector(dims): seeded from the session's random generator.
Datum ruvector_random(PG_FUNCTION_ARGS) {
  int dims = PG_GETARG_INT32(0);
  CheckDims(dims);
  uint64_t state = pg_prng_uint64(&pg_global_prng_state);
  RuVector* out = NewRuVector(dims);
  for (int i = 0; i < dims; i++) out->x[i] = static_cast<float>(UniformDouble(&state));
  RUVECTOR_RETURN(out);
}

Datum ruvector_accum(PG_FUNCTION_ARGS) {
  int n;
  double* s = StateValues(PG_GETARG_ARRAYTYPE_P(0), &n);
  RuVector* v = RUVECTOR_ARG(1);
  if (n > 1 && n - 1 != v->dims)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different ruvector dimensions %d and %d", n - 1, v->dims)));
  auto* next = static_cast<double*>(palloc0(sizeof(double) * (v->dims + 1)));
  next[0] = s[0] + 1;
  for (int i = 0; i < v->dims; i++) next[i + 1] = (n > 1 ? s[i + 1] : 0.0) + v->x[i];
  PG_RETURN_ARRAYTYPE_P(NewState(next, v->dims + 1));
}

Datum ruvector_combine(PG_FUNCTION_ARGS) {
  int na, nb;
  double* a = StateValues(PG_GETARG_ARRAYTYPE_P(0), &na);
  double* b = StateValues(PG_GETARG_ARRAYTYPE_P(1), &nb);
  if (na < 2 || a[0] == 0) PG_RETURN_ARRAYTYPE_P(PG_GETARG_ARRAYTYPE_P(1));
  if (nb < 2 || b[0] == 0) PG_RETURN_ARRAYTYPE_P(PG_GETARG_ARRAYTYPE_P(0));
  if (na != nb)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different ruvector dimensions %d and %d", na - 1, nb - 1)));
  auto* out = static_cast<double*>(palloc(sizeof(double) * na));
  for (int i = 0; i < na; i++) out[i] = a[i] + b[i];
  PG_RETURN_ARRAYTYPE_P(NewState(out, na));
}

Datum ruvector_avg(PG_FUNCTION_ARGS) { return Finish(fcinfo, true); }

Datum ruvector_sum(PG_FUNCTION_ARGS) { return Finish(fcinfo, false); }

}  // extern "C"

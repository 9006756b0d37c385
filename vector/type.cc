// The ruvector type: text and binary I/O, typmod, casts. PG zone (plain C
// data only; nothing here can throw).
#include "ruvector.h"

namespace ruvector_vec {

RuVector* NewRuVector(int dims) {
  size_t size = RuVectorSize(dims);
  auto* v = static_cast<RuVector*>(palloc0(size));
  SET_VARSIZE(v, size);
  v->dims = static_cast<int16>(dims);
  return v;
}

void CheckDims(int dims) {
  if (dims < 1)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("ruvector must have at least 1 dimension")));
  if (dims > kMaxDims)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("ruvector cannot have more than %d dimensions (got %d)", kMaxDims, dims)));
}

void CheckTypmod(int dims, int32 typmod) {
  if (typmod != -1 && dims != typmod)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %d dimensions, not %d", typmod, dims)));
}

void CheckFinite(float v) {
  if (std::isnan(v)) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in ruvector")));
  if (std::isinf(v)) ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("infinite value not allowed in ruvector")));
}

void CheckSameDims(const RuVector* a, const RuVector* b) {
  if (a->dims != b->dims)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different ruvector dimensions %d and %d", a->dims, b->dims)));
}

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

[[noreturn]] void Malformed(const char* text, const char* detail) {
  ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                  errmsg("invalid input syntax for type ruvector: \"%s\"", text), errdetail("%s", detail)));
  pg_unreachable();
}

// Parses '[x1, x2, ...]' (whitespace allowed around every token).
RuVector* Parse(const char* text, int32 typmod) {
  const char* p = text;
  while (IsSpace(*p)) p++;
  if (*p != '[') Malformed(text, "ruvector contents must start with \"[\".");
  p++;
  // Count commas first for one allocation; bounded by the text length.
  int commas = 0;
  for (const char* s = p; *s != '\0'; s++)
    if (*s == ',') commas++;
  int cap = std::min(commas + 1, kMaxDims + 1);
  auto* values = static_cast<float*>(palloc(sizeof(float) * cap));
  int dims = 0;
  while (IsSpace(*p)) p++;
  if (*p == ']') CheckDims(0);
  for (;;) {
    while (IsSpace(*p)) p++;
    if (*p == '\0') Malformed(text, "Unexpected end of input.");
    if (*p == ',' || *p == ']') Malformed(text, "Missing a number.");
    char* end;
    errno = 0;
    float v = strtof(p, &end);
    if (end == p) Malformed(text, "Expected a number.");
    if (errno == ERANGE && std::isinf(v))
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                      errmsg("\"%.*s\" is out of range for type ruvector", static_cast<int>(end - p), p)));
    CheckFinite(v);
    if (dims >= kMaxDims) CheckDims(dims + 1);
    values[dims++] = v;
    p = end;
    while (IsSpace(*p)) p++;
    if (*p == ',') {
      p++;
      continue;
    }
    if (*p == ']') {
      p++;
      break;
    }
    Malformed(text, *p == '\0' ? "Unexpected end of input." : "Expected \",\" or \"]\" after a number.");
  }
  while (IsSpace(*p)) p++;
  if (*p != '\0') Malformed(text, "Junk after closing right bracket.");
  CheckTypmod(dims, typmod);
  RuVector* out = NewRuVector(dims);
  std::memcpy(out->x, values, sizeof(float) * dims);
  pfree(values);
  return out;
}

// Builds a ruvector from a one-dimensional array of `elemtype` (float4 or float8).
RuVector* FromArray(ArrayType* array, Oid elemtype, int32 typmod) {
  if (ARR_NDIM(array) > 1)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be one-dimensional")));
  if (ARR_HASNULL(array) && array_contains_nulls(array))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls")));
  int16 typlen;
  bool typbyval;
  char typalign;
  get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
  Datum* elems;
  int n;
  deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, nullptr, &n);
  CheckDims(n);
  CheckTypmod(n, typmod);
  RuVector* out = NewRuVector(n);
  for (int i = 0; i < n; i++) {
    double d = elemtype == FLOAT4OID ? DatumGetFloat4(elems[i]) : DatumGetFloat8(elems[i]);
    if (!std::isnan(d) && !std::isinf(d) && std::fabs(d) > FLT_MAX)
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                      errmsg("array element %d (%g) is out of range for type ruvector", i + 1, d)));
    out->x[i] = static_cast<float>(d);
    CheckFinite(out->x[i]);
  }
  pfree(elems);
  return out;
}

}  // namespace
}  // namespace ruvector_vec

using namespace ruvector_vec;

extern "C" {

PG_FUNCTION_INFO_V1(ruvector_in);
PG_FUNCTION_INFO_V1(ruvector_out);
PG_FUNCTION_INFO_V1(ruvector_typmod_in);
PG_FUNCTION_INFO_V1(ruvector_recv);
PG_FUNCTION_INFO_V1(ruvector_send);
PG_FUNCTION_INFO_V1(ruvector_coerce);
PG_FUNCTION_INFO_V1(ruvector_from_float4_array);
PG_FUNCTION_INFO_V1(ruvector_from_float8_array);
PG_FUNCTION_INFO_V1(ruvector_to_float4_array);

Datum ruvector_in(PG_FUNCTION_ARGS) {
  const char* text = PG_GETARG_CSTRING(0);
  int32 typmod = PG_NARGS() > 2 ? PG_GETARG_INT32(2) : -1;
  RUVECTOR_RETURN(Parse(text, typmod));
}

Datum ruvector_out(PG_FUNCTION_ARGS) {
  RuVector* v = RUVECTOR_ARG(0);
  StringInfoData buf;
  initStringInfo(&buf);
  enlargeStringInfo(&buf, v->dims * (FLOAT_SHORTEST_DECIMAL_LEN + 1) + 2);
  appendStringInfoChar(&buf, '[');
  for (int i = 0; i < v->dims; i++) {
    if (i > 0) appendStringInfoChar(&buf, ',');
    buf.len += float_to_shortest_decimal_bufn(v->x[i], buf.data + buf.len);
  }
  appendStringInfoChar(&buf, ']');
  buf.data[buf.len] = '\0';
  PG_RETURN_CSTRING(buf.data);
}

Datum ruvector_typmod_in(PG_FUNCTION_ARGS) {
  ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
  int n;
  int32* mods = ArrayGetIntegerTypmods(array, &n);
  if (n != 1) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier for ruvector"),
                              errdetail("ruvector takes one modifier: the number of dimensions.")));
  if (mods[0] < 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("dimensions for type ruvector must be at least 1")));
  if (mods[0] > kMaxDims)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("dimensions for type ruvector cannot exceed %d", kMaxDims)));
  PG_RETURN_INT32(mods[0]);
}

Datum ruvector_recv(PG_FUNCTION_ARGS) {
  StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
  int32 typmod = PG_NARGS() > 2 ? PG_GETARG_INT32(2) : -1;
  int dims = static_cast<int16>(pq_getmsgint(buf, 2));
  int unused = static_cast<int16>(pq_getmsgint(buf, 2));
  CheckDims(dims);
  CheckTypmod(dims, typmod);
  if (unused != 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION), errmsg("invalid binary ruvector: reserved field is %d, expected 0", unused)));
  if (buf->len - buf->cursor != static_cast<int>(sizeof(float)) * dims)
    ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                    errmsg("invalid binary ruvector: %d bytes of data for %d dimensions", buf->len - buf->cursor, dims)));
  RuVector* v = NewRuVector(dims);
  for (int i = 0; i < dims; i++) {
    v->x[i] = pq_getmsgfloat4(buf);
    CheckFinite(v->x[i]);
  }
  RUVECTOR_RETURN(v);
}

Datum ruvector_send(PG_FUNCTION_ARGS) {
  RuVector* v = RUVECTOR_ARG(0);
  StringInfoData buf;
  pq_begintypsend(&buf);
  pq_sendint(&buf, v->dims, 2);
  pq_sendint(&buf, 0, 2);
  for (int i = 0; i < v->dims; i++) pq_sendfloat4(&buf, v->x[i]);
  PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// ruvector(ruvector, typmod, explicit): the length coercion of ruvector(n).
Datum ruvector_coerce(PG_FUNCTION_ARGS) {
  RuVector* v = RUVECTOR_ARG(0);
  CheckTypmod(v->dims, PG_GETARG_INT32(1));
  RUVECTOR_RETURN(v);
}

Datum ruvector_from_float4_array(PG_FUNCTION_ARGS) {
  RUVECTOR_RETURN(FromArray(PG_GETARG_ARRAYTYPE_P(0), FLOAT4OID, PG_GETARG_INT32(1)));
}

Datum ruvector_from_float8_array(PG_FUNCTION_ARGS) {
  RUVECTOR_RETURN(FromArray(PG_GETARG_ARRAYTYPE_P(0), FLOAT8OID, PG_GETARG_INT32(1)));
}

Datum ruvector_to_float4_array(PG_FUNCTION_ARGS) {
  RuVector* v = RUVECTOR_ARG(0);
  auto* elems = static_cast<Datum*>(palloc(sizeof(Datum) * v->dims));
  for (int i = 0; i < v->dims; i++) elems[i] = Float4GetDatum(v->x[i]);
  PG_RETURN_POINTER(construct_array(elems, v->dims, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT));
}

}  // extern "C"

// PG zone: the SQL functions of learned row-count corrections
// (docs/postgres.md, "Row-count corrections").
#include "shim.h"

#include "api/visibility.h"
#include "extension.h"
#include "planner/corrections.h"

extern "C" {
PG_FUNCTION_INFO_V1(ruvector_dag_row_corrections);
PG_FUNCTION_INFO_V1(ruvector_dag_row_correction_status);
}

namespace ruvector_pg {

/// dag_row_corrections() -> per published correction: pattern_id,
/// relation_set, relations, estimated_rows, actual_rows, factor,
/// observations (the caller's visible patterns only).
extern "C" Datum ruvector_dag_row_corrections(PG_FUNCTION_ARGS) {
  RequirePreload();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  // Bounded before anything is copied: the table holds at most this many.
  PatternCorrections* rows =
      static_cast<PatternCorrections*>(palloc(sizeof(PatternCorrections) * kMaxCorrectedPatterns));
  const int n = CopyCorrections(rows, kMaxCorrectedPatterns);
  const PatternVisibility visibility(CallerVisibility());
  for (int i = 0; i < n; ++i) {
    const PatternCorrections& p = rows[i];
    if (!visibility.Allows(p.pattern_key)) continue;
    for (uint32_t k = 0; k < p.count && k < static_cast<uint32_t>(kMaxCorrectionsPerPattern); ++k) {
      const RowCorrection& c = p.items[k];
      Datum v[7];
      bool nulls[7] = {false};
      v[0] = Int64GetDatum(static_cast<int64>(p.pattern_key));
      v[1] = Int64GetDatum(static_cast<int64>(c.relset));
      v[2] = Int32GetDatum(static_cast<int32>(c.relation_count));
      nulls[2] = c.relation_count == 0;
      v[3] = Float8GetDatum(c.estimated_rows);
      v[4] = Float8GetDatum(c.actual_rows);
      v[5] = Float8GetDatum(c.factor);
      v[6] = Int32GetDatum(static_cast<int32>(c.observations));
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
    }
  }
  pfree(rows);
  return (Datum)0;
}

/// dag_row_correction_status() -> patterns and corrections published,
/// plannings under row_corrections that applied some, and the relations
/// whose rows they corrected (server-wide counters, like dag_status()).
extern "C" Datum ruvector_dag_row_correction_status(PG_FUNCTION_ARGS) {
  RequirePreload();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  const CorrectionCounters c = ReadCorrectionCounters();
  Datum v[4];
  bool nulls[4] = {false};
  v[0] = Int64GetDatum(static_cast<int64>(c.published_patterns));
  v[1] = Int64GetDatum(static_cast<int64>(c.published_sets));
  v[2] = Int64GetDatum(static_cast<int64>(c.corrected_plannings));
  v[3] = Int64GetDatum(static_cast<int64>(c.corrected_relations));
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  return (Datum)0;
}

}  // namespace ruvector_pg

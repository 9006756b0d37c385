// PG zone: the SQL functions of the hint arms (docs/postgres.md, "Hint arms").
#include "shim.h"

#include "api/visibility.h"
#include "extension.h"
#include "planner/learned_hints.h"
#include "state/steer_state.h"

extern "C" {
PG_FUNCTION_INFO_V1(ruvector_dag_hint_arms);
PG_FUNCTION_INFO_V1(ruvector_dag_hint_arm_status);
}

namespace ruvector_pg {

/// dag_hint_arms() -> per published hint: pattern_id, arm, advice, version,
/// q_error, observations, bottleneck (the caller's visible patterns only).
extern "C" Datum ruvector_dag_hint_arms(PG_FUNCTION_ARGS) {
  RequirePreload();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  // Bounded before anything is copied: the table holds at most this many.
  auto* rows = static_cast<PublishedHint*>(palloc(sizeof(PublishedHint) * kMaxHintedPatterns));
  const int n = CopyLearnedHints(rows, kMaxHintedPatterns);
  const PatternVisibility visibility(CallerVisibility());
  char* advice = static_cast<char*>(palloc(kAdviceTextLen));
  for (int i = 0; i < n; ++i) {
    const LearnedHint& h = rows[i].hint;
    if (!visibility.Allows(h.pattern_key)) continue;
    advice[0] = '\0';
    LearnedHintAdvice(h.pattern_key, advice, kAdviceTextLen);
    Datum v[7];
    bool nulls[7] = {false};
    v[0] = Int64GetDatum(static_cast<int64>(h.pattern_key));
    v[1] = CStringGetTextDatum("fix_worst_join");
    v[2] = CStringGetTextDatum(advice);
    v[3] = Int64GetDatum(static_cast<int64>(h.version));
    v[4] = Float8GetDatum(std::exp(std::fabs(static_cast<double>(h.log_error))));
    v[5] = Int32GetDatum(static_cast<int32>(h.observations));
    v[6] = BoolGetDatum(h.bottleneck != 0);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  }
  pfree(advice);
  pfree(rows);
  return (Datum)0;
}

/// dag_hint_arm_status() -> hints published, plannings under a hint arm with
/// a hint, and of those the ones whose plan could not carry it out
/// (server-wide counters, like dag_status()).
extern "C" Datum ruvector_dag_hint_arm_status(PG_FUNCTION_ARGS) {
  RequirePreload();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  const LearnedHintCounters c = ReadLearnedHintCounters();
  Datum v[3];
  bool nulls[3] = {false};
  v[0] = Int64GetDatum(static_cast<int64>(c.published_patterns));
  v[1] = Int64GetDatum(static_cast<int64>(c.hinted_plannings));
  v[2] = Int64GetDatum(static_cast<int64>(c.refused_plannings));
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
  return (Datum)0;
}

}  // namespace ruvector_pg

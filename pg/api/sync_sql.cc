// PG zone: the pattern-sync SQL functions (qudag_status, qudag_peers,
// qudag_proposals, qudag_votes, qudag_reputation, qudag_privacy_budget,
// qudag_sync_now; docs/postgres.md, "Pattern sync"). They read the status
// the worker writes into the sync region (worker/sync_pass.cc).
#include "shim.h"

#include "api/visibility.h"
#include "extension.h"
#include "guard.h"
#include "state/steer_shmem.h"
#include "worker/sync_pass.h"

extern "C" {
PG_FUNCTION_INFO_V1(ruvector_qudag_status);
PG_FUNCTION_INFO_V1(ruvector_qudag_peers);
PG_FUNCTION_INFO_V1(ruvector_qudag_proposals);
PG_FUNCTION_INFO_V1(ruvector_qudag_votes);
PG_FUNCTION_INFO_V1(ruvector_qudag_reputation);
PG_FUNCTION_INFO_V1(ruvector_qudag_privacy_budget);
PG_FUNCTION_INFO_V1(ruvector_qudag_sync_now);
}

namespace ruvector_pg {

namespace {

/// A copy of the sync region (palloc'd), taken under the shared lock.
SyncShared* CopySyncStatus() {
  RequirePreload();
  if (SyncStatus() == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ruvector_dag: the pattern sync state is not initialized")));
  }
  auto* copy = static_cast<SyncShared*>(palloc(sizeof(SyncShared)));
  LWLockAcquire(SyncLock(), LW_SHARED);
  memcpy(static_cast<void*>(copy), SyncStatus(), sizeof(SyncShared));
  LWLockRelease(SyncLock());
  return copy;
}

Datum Text(const char* s) { return PointerGetDatum(cstring_to_text(s)); }

Datum Timestamp(int64_t us, bool* null) {
  *null = us == 0;
  return us == 0 ? (Datum)0 : TimestampTzGetDatum(UnixMicrosToTimestamp(us));
}

Datum Counter(uint64_t v) { return Int64GetDatum(static_cast<int64>(v)); }

const char* const kReasonNames[kSyncRejectReasons] = {
    "none",          "malformed", "unsupported_version", "wrong_recipient", "unknown_sender", "ignored_sender",
    "bad_signature", "stale",     "replayed",            "decrypt_failed",  "bad_payload"};

}  // namespace

/// qudag_status(): one row about this server's pattern sync.
extern "C" Datum ruvector_qudag_status(PG_FUNCTION_ARGS) {
  SyncShared* s = CopySyncStatus();
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("ruvector_dag: qudag_status must return a row")));
  }
  desc = BlessTupleDesc(desc);
  constexpr int kCols = 31;
  if (desc->natts != kCols) {
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("ruvector_dag: qudag_status has %d columns, the library expects %d", desc->natts, kCols),
                    errhint("Update the extension (ALTER EXTENSION ruvector_dag UPDATE).")));
  }
  Datum v[kCols];
  bool n[kCols];
  memset(n, 0, sizeof(n));
  const SyncCounters& c = s->counters;
  int i = 0;
  v[i++] = BoolGetDatum(g_sync_enabled);
  v[i++] = Text(s->state);
  v[i] = Text(s->node_name);
  n[i] = s->node_name[0] == '\0';
  ++i;
  v[i] = Text(s->node_id);
  n[i] = s->node_id[0] == '\0';
  ++i;
  v[i] = Text(s->public_key);
  n[i] = s->public_key[0] == '\0';
  ++i;
  v[i++] = BoolGetDatum(s->connected);
  v[i] = Text(s->connected_url);
  n[i] = s->connected_url[0] == '\0';
  ++i;
  v[i++] = Int32GetDatum(s->peer_count > 0 ? s->peer_count - 1 : 0);  // row 0 is this node
  v[i] = Timestamp(s->last_sync_us, &n[i]);
  ++i;
  v[i] = Timestamp(s->next_sync_us, &n[i]);
  ++i;
  v[i++] = Float8GetDatum(static_cast<double>(s->interval_us) / 1e6);
  v[i++] = Counter(c.syncs);
  v[i++] = Counter(c.proposals_made);
  v[i++] = Counter(c.proposals_refused);
  v[i++] = Counter(c.votes_cast);
  v[i++] = Counter(c.published);
  v[i++] = Counter(c.publish_failures);
  v[i++] = Counter(c.bytes_published);
  v[i++] = Counter(c.messages_received);
  v[i++] = Counter(c.messages_accepted);
  v[i++] = Counter(c.messages_rejected);
  StringInfoData reasons;
  initStringInfo(&reasons);
  appendStringInfoChar(&reasons, '{');
  bool first = true;
  for (int r = 1; r < kSyncRejectReasons; ++r) {
    if (c.rejected_by_reason[r] == 0) continue;
    appendStringInfo(&reasons, "%s\"%s\": " UINT64_FORMAT, first ? "" : ", ", kReasonNames[r],
                     c.rejected_by_reason[r]);
    first = false;
  }
  appendStringInfoChar(&reasons, '}');
  v[i++] = DirectFunctionCall1(jsonb_in, CStringGetDatum(reasons.data));
  v[i++] = Counter(c.priors_applied);
  v[i++] = Counter(c.no_match);
  v[i++] = Counter(c.unknown_arm);
  v[i++] = Counter(c.messages_dropped);
  v[i++] = Counter(c.connect_failures + c.reconnects);
  v[i++] = Counter(c.errors);
  v[i] = Text(s->last_error);
  n[i] = s->last_error[0] == '\0';
  ++i;
  v[i++] = Int32GetDatum(s->live_peers);
  v[i++] = Counter(c.validation_quotas);
  Assert(i == kCols);
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, n)));
}

/// qudag_peers(): this node and every peer of the peers file.
extern "C" Datum ruvector_qudag_peers(PG_FUNCTION_ARGS) {
  SyncShared* s = CopySyncStatus();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (int r = 0; r < s->peer_count && r < kSyncMaxPeers; ++r) {
    const SyncPeerRow& p = s->peers[r];
    Datum v[7];
    bool n[7] = {false, false, false, false, false, false, false};
    v[0] = Text(p.name);
    v[1] = Text(p.id);
    v[2] = BoolGetDatum(p.self);
    v[3] = Counter(p.accepted);
    v[4] = Counter(p.rejected);
    v[5] = Timestamp(p.last_seen_us, &n[5]);
    v[6] = BoolGetDatum(p.live);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
  }
  return (Datum)0;
}

/// qudag_reputation(): stake of every node, with its proposals' outcomes.
extern "C" Datum ruvector_qudag_reputation(PG_FUNCTION_ARGS) {
  SyncShared* s = CopySyncStatus();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (int r = 0; r < s->peer_count && r < kSyncMaxPeers; ++r) {
    const SyncPeerRow& p = s->peers[r];
    uint64_t proposed = 0, confirmed = 0, refuted = 0, votes = 0;
    for (int k = 0; k < s->proposal_count && k < kSyncMaxProposalRows; ++k) {
      const SyncProposalRow& q = s->proposals[k];
      if (strcmp(q.proposer, p.name) != 0) continue;
      ++proposed;
      confirmed += strcmp(q.state, "confirmed") == 0 ? 1 : 0;
      refuted += strcmp(q.state, "refuted") == 0 ? 1 : 0;
    }
    for (int k = 0; k < s->vote_count && k < kSyncMaxVoteRows; ++k) {
      votes += strcmp(s->votes[k].validator, p.name) == 0 ? 1 : 0;
    }
    Datum v[8];
    bool n[8] = {false};
    v[0] = Text(p.name);
    v[1] = Text(p.id);
    v[2] = Float8GetDatum(p.stake);
    v[3] = BoolGetDatum(p.ignored);
    v[4] = Counter(proposed);
    v[5] = Counter(confirmed);
    v[6] = Counter(refuted);
    v[7] = Counter(votes);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
  }
  return (Datum)0;
}

/// qudag_proposals(): the ledger's proposals, newest first. The local
/// pattern a received proposal matched is shown to whoever may see that
/// pattern (docs/postgres.md, "Security model"), NULL to others.
extern "C" Datum ruvector_qudag_proposals(PG_FUNCTION_ARGS) {
  SyncShared* s = CopySyncStatus();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  const RowVisibility caller = CallerVisibility();
  PatternVisibility patterns(caller);
  for (int r = 0; r < s->proposal_count && r < kSyncMaxProposalRows; ++r) {
    const SyncProposalRow& p = s->proposals[r];
    constexpr int kCols = 17;
    Datum v[kCols];
    bool n[kCols];
    memset(n, 0, sizeof(n));
    v[0] = Text(p.id);
    v[1] = Text(p.proposer);
    v[2] = BoolGetDatum(p.own);
    v[3] = Int64GetDatum(static_cast<int64>(p.fingerprint));
    v[4] = Text(p.arm);
    v[5] = Float8GetDatum(p.noisy_gain);
    v[6] = Float8GetDatum(p.noisy_samples);
    v[7] = Text(p.state);
    v[8] = Float8GetDatum(p.confirm_stake);
    v[9] = Float8GetDatum(p.refute_stake);
    v[10] = Float8GetDatum(p.eligible_stake);
    v[11] = Int32GetDatum(static_cast<int32>(p.votes));
    v[12] = Timestamp(p.created_us, &n[12]);
    v[13] = Text(p.local);
    n[13] = p.local[0] == '\0';
    const bool visible = p.local_pattern != 0 && patterns.Allows(p.local_pattern);
    v[14] = Int64GetDatum(static_cast<int64>(p.local_pattern));
    n[14] = !visible;
    v[15] = Float8GetDatum(p.local_gain);
    n[15] = !visible || p.local_samples == 0;
    v[16] = Counter(p.local_samples);
    n[16] = !visible;
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
  }
  return (Datum)0;
}

/// qudag_votes(): the votes on the ledger's proposals.
extern "C" Datum ruvector_qudag_votes(PG_FUNCTION_ARGS) {
  SyncShared* s = CopySyncStatus();
  InitMaterializedResult(fcinfo);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  for (int r = 0; r < s->vote_count && r < kSyncMaxVoteRows; ++r) {
    const SyncVoteRow& q = s->votes[r];
    Datum v[5];
    bool n[5] = {false, false, false, false, false};
    v[0] = Text(q.proposal);
    v[1] = Text(q.proposer);
    v[2] = Text(q.validator);
    v[3] = BoolGetDatum(q.own);
    v[4] = Text(q.verdict);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
  }
  return (Datum)0;
}

/// qudag_privacy_budget(): what this node's proposals spent.
extern "C" Datum ruvector_qudag_privacy_budget(PG_FUNCTION_ARGS) {
  SyncShared* s = CopySyncStatus();
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("ruvector_dag: qudag_privacy_budget must return a row")));
  }
  desc = BlessTupleDesc(desc);
  Datum v[8];
  bool n[8] = {false};
  const bool running = strcmp(s->state, "running") == 0;
  v[0] = Text(s->mechanism);
  n[0] = !running;
  v[1] = Float8GetDatum(s->epsilon_per_release);
  n[1] = !running;
  v[2] = Float8GetDatum(s->epsilon_spent);
  v[3] = Float8GetDatum(s->epsilon_budget);
  n[3] = !running;
  v[4] = Float8GetDatum(s->delta_spent);
  v[5] = Float8GetDatum(s->delta_budget);
  n[5] = !running;
  v[6] = Counter(s->releases);
  const double left = s->epsilon_per_release > 0.0
                          ? std::floor((s->epsilon_budget - s->epsilon_spent) / s->epsilon_per_release + 1e-9)
                          : 0.0;
  v[7] = Int64GetDatum(static_cast<int64>(std::max(0.0, left)));
  n[7] = !running;
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, n)));
}

/// qudag_sync_now() -> bigint: asks the worker for a sync round now and
/// waits (up to 10 s) until it ran; returns the patterns proposed meanwhile.
extern "C" Datum ruvector_qudag_sync_now(PG_FUNCTION_ARGS) {
  RequirePreload();
  if (SyncStatus() == nullptr || g_steer == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ruvector_dag: the pattern sync state is not initialized")));
  }
  LWLockAcquire(SyncLock(), LW_EXCLUSIVE);
  const bool running = strcmp(SyncStatus()->state, "running") == 0;
  const uint64_t target = ++SyncStatus()->sync_now_requests;
  const uint64_t before = SyncStatus()->counters.proposals_made;
  LWLockRelease(SyncLock());
  if (!running) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ruvector_dag: pattern sync is not running"),
                    errhint("See qudag_status() (state, last_error); pattern sync needs ruvector.sync_enabled = on.")));
  }
  uint64_t made = before;
  const bool done = WakeWorkerUntil(
      [&]() {
        LWLockAcquire(SyncLock(), LW_SHARED);
        const bool ran = SyncStatus()->sync_now_done >= target;
        made = SyncStatus()->counters.proposals_made;
        LWLockRelease(SyncLock());
        return ran;
      },
      10000);
  if (!done) ereport(WARNING, (errmsg("ruvector_dag: the worker has not run the sync round after 10 s")));
  PG_RETURN_INT64(static_cast<int64>(made >= before ? made - before : 0));
}

}  // namespace ruvector_pg

// PG zone: pattern sync in the background worker (docs/sync.md, "In the
// server"). Reads the ruvector.sync_* settings, runs the C++-zone SyncHost
// (worker/sync_host.*) under RunCpp, and writes its status into the sync
// region for the qudag_* functions. A failure is logged and counted; it never
// reaches the learning loop or users' statements (the host's network I/O runs
// on its own thread with bounded waits).
#include "planner/dag_bridge.h"
#include "worker/learner.h"
#include "worker/sync_host.h"

#include "shim.h"

#include "extension.h"
#include "guard.h"
#include "state/steer_shmem.h"
#include "worker/learn_pass.h"
#include "worker/sync_pass.h"

namespace ruvector_pg {

bool g_sync_enabled = false;
char* g_sync_nats_urls = nullptr;
char* g_sync_node_name = nullptr;
int g_sync_min_interval_s = 60;
int g_sync_max_interval_s = 3600;
int g_sync_max_patterns = 100;
int g_sync_maturity_s = 300;
double g_sync_epsilon = 0.1;
double g_sync_delta = 0.0;
double g_sync_epsilon_budget = 10.0;
int g_sync_stream_replicas = 1;
double g_sync_ignore_below = 10.0;

bool CheckSyncEpsilon(double* newval, void** extra, GucSource source) {
  if (!(*newval > 0.0 && *newval <= 10.0)) {
    GUC_check_errdetail("ruvector.sync_epsilon must be in (0, 10].");
    return false;
  }
  return true;
}

bool CheckSyncDelta(double* newval, void** extra, GucSource source) {
  if (!(*newval == 0.0 || (*newval > 0.0 && *newval <= 1e-3))) {
    GUC_check_errdetail("ruvector.sync_delta must be 0 (Laplace) or in (0, 0.001] (Gaussian, with "
                        "ruvector.sync_epsilon below 1).");
    return false;
  }
  return true;
}

namespace {

constexpr const char* kSyncShmemName = "ruvector_dag sync";
constexpr const char* kSyncTranche = "ruvector_dag_sync";
SyncShared* g_sync = nullptr;
LWLock* g_sync_lock = nullptr;

SyncHost* g_host = nullptr;
GainTally* g_gain_tally = nullptr;  // worker lifetime (SyncObserveRuns)
SyncShared* g_scratch = nullptr;  // the worker's status image before it is copied in
int64_t g_retry_at_us = 0;
int64_t g_peers_checked_us = 0;
int64_t g_published_us = 0;
uint64_t g_sync_now_seen = 0;
char g_last_start_error[256] = {0};
constexpr int64_t kRetryUs = 30 * 1000000LL;
constexpr int64_t kPublishEveryUs = 500000;
constexpr int64_t kPeersCheckUs = 5 * 1000000LL;

}  // namespace

void RequestSyncMemory() {
  RequestAddinShmemSpace(sizeof(SyncShared));
  RequestNamedLWLockTranche(kSyncTranche, 1);
}

void StartupSyncMemory() {
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  void* region = ShmemInitStruct(kSyncShmemName, sizeof(SyncShared), &found);
  g_sync_lock = &GetNamedLWLockTranche(kSyncTranche)[0].lock;
  g_sync = static_cast<SyncShared*>(region);
  if (!found) {
    memset(region, 0, sizeof(SyncShared));
    CopyField(g_sync->state, sizeof(g_sync->state), "disabled");
  }
  LWLockRelease(AddinShmemInitLock);
}

SyncShared* SyncStatus() { return g_sync; }
LWLock* SyncLock() { return g_sync_lock; }

namespace {

SyncSettings CurrentSettings() {
  SyncSettings s;
  s.data_dir = DataDir != nullptr ? DataDir : ".";
  s.nats_urls = g_sync_nats_urls != nullptr ? g_sync_nats_urls : "";
  s.node_name = g_sync_node_name != nullptr ? g_sync_node_name : "";
  s.min_interval_us = int64_t{1000000} * g_sync_min_interval_s;
  s.max_interval_us = int64_t{1000000} * std::max(g_sync_min_interval_s, g_sync_max_interval_s);
  s.maturity_us = int64_t{1000000} * g_sync_maturity_s;
  s.max_patterns = static_cast<uint32_t>(g_sync_max_patterns);
  s.epsilon = g_sync_epsilon;
  s.delta = g_sync_delta;
  s.epsilon_budget = g_sync_epsilon_budget;
  s.replicas = g_sync_stream_replicas;
  s.ignore_below = g_sync_ignore_below;
  return s;
}

void StopHost() {
  if (g_host == nullptr) return;
  SyncHost* host = g_host;
  g_host = nullptr;
  PlainStatus st = RunCpp("stopping pattern sync", [&]() {
    delete host;
    return Status::Ok();
  });
  ReportStatus(st, LOG);
}

/// Writes a status that says why sync does not run (disabled or error).
void PublishIdle(const char* state, const char* error) {
  LWLockAcquire(g_sync_lock, LW_EXCLUSIVE);
  const uint64_t requests = g_sync->sync_now_requests;
  const SyncCounters keep = g_sync->counters;
  memset(reinterpret_cast<char*>(g_sync) + sizeof(g_sync->sync_now_requests), 0,
         sizeof(SyncShared) - sizeof(g_sync->sync_now_requests));
  g_sync->sync_now_requests = requests;
  g_sync->sync_now_done = requests;  // nothing to wait for
  g_sync->counters.errors = keep.errors;
  CopyField(g_sync->state, sizeof(g_sync->state), state);
  if (error != nullptr) {
    CopyField(g_sync->last_error, sizeof(g_sync->last_error), error);
    g_sync->last_error_us = NowUnixMicros();
  }
  ++g_sync->snapshots;
  LWLockRelease(g_sync_lock);
}

bool StartHost(int64_t now) {
  if (now < g_retry_at_us) return false;
  SyncSettings settings = CurrentSettings();
  SyncHost* started = nullptr;
  PlainStatus st = RunCpp("starting pattern sync", [&]() {
    RUVECTOR_ASSIGN_OR_RETURN(std::unique_ptr<SyncHost> host, SyncHost::Start(settings, now));
    started = host.release();
    return Status::Ok();
  });
  if (!st.ok()) {
    g_retry_at_us = now + kRetryUs;
    // The same failure is logged once, not every 30 s.
    if (strncmp(g_last_start_error, st.message, sizeof(g_last_start_error) - 1) != 0) {
      ereport(LOG, (errmsg("ruvector_dag worker: pattern sync not started: %s", st.message),
                    errhint("Pattern sync stays off until this is fixed; learning and queries are not affected. "
                            "See docs/sync.md, \"In the server\".")));
      CopyField(g_last_start_error, sizeof(g_last_start_error), st.message);
    }
    LWLockAcquire(g_sync_lock, LW_EXCLUSIVE);
    ++g_sync->counters.errors;
    LWLockRelease(g_sync_lock);
    PublishIdle("error", st.message);
    return false;
  }
  g_host = started;
  static bool exit_callback = false;
  if (!exit_callback) {
    // However the worker exits, the transport thread is stopped first.
    on_proc_exit([](int, Datum) { StopHost(); }, (Datum)0);
    exit_callback = true;
  }
  g_last_start_error[0] = '\0';
  g_peers_checked_us = now;
  const std::string shown_urls = ruvector_dag::sync::RedactUrls(settings.nats_urls);
  ereport(LOG, (errmsg("ruvector_dag worker: pattern sync started (NATS %s)", shown_urls.c_str())));
  if (g_host->state_load_failed()) {
    ereport(WARNING, (errcode(ERRCODE_DATA_CORRUPTED),
                      errmsg("ruvector_dag worker: pattern sync %s", g_host->state_load_message().c_str()),
                      errdetail("Pattern sync starts with an empty ledger, reputation book and replay windows; "
                                "the file is replaced at the next save.")));
  } else if (!g_host->state_load_message().empty()) {
    ereport(LOG, (errmsg("ruvector_dag worker: pattern sync %s", g_host->state_load_message().c_str())));
  }
  return true;
}

}  // namespace

void SyncObserveDefaultPlans(const std::vector<PlanSample>& plans) {
  ruvector_dag::Engine* engine = LearnerEngine();
  if (g_host == nullptr || engine == nullptr || plans.empty()) return;
  PlainStatus st = RunCpp("sync: default plans", [&]() {
    std::vector<ruvector_dag::QueryDag> dags(plans.size());
    std::vector<DefaultPlan> defaults;
    for (size_t i = 0; i < plans.size(); ++i) {
      if (!SampleToDag(plans[i], &dags[i]).ok()) continue;
      defaults.push_back({plans[i].pattern_key, &dags[i]});
    }
    g_host->ObserveDefaultPlans(engine, defaults);
    return Status::Ok();
  });
  ReportStatus(st, LOG);
}

void SyncObserveRuns(const std::vector<ruvector_dag::PatternRun>& runs) {
  ruvector_dag::Engine* engine = LearnerEngine();
  if (!g_sync_enabled || engine == nullptr || runs.empty()) return;
  PlainStatus st = RunCpp("sync: per-execution gains", [&]() {
    if (g_gain_tally == nullptr) g_gain_tally = new GainTally();
    g_gain_tally->Observe(*engine, runs);
    return Status::Ok();
  });
  ReportStatus(st, LOG);
}

void SyncTick() {
  if (g_sync == nullptr) return;
  const int64_t now = NowUnixMicros();
  if (!g_sync_enabled) {
    if (g_host != nullptr) {
      StopHost();
      ereport(LOG, (errmsg("ruvector_dag worker: pattern sync stopped (ruvector.sync_enabled is off)")));
    }
    if (now - g_published_us >= kPublishEveryUs) {
      PublishIdle("disabled", nullptr);
      g_published_us = now;
    }
    g_retry_at_us = 0;
    return;
  }
  if (g_host != nullptr) {
    bool restart = !(g_host->settings() == CurrentSettings());
    if (!restart && now - g_peers_checked_us >= kPeersCheckUs) {
      g_peers_checked_us = now;
      PlainStatus st = RunCpp("sync: peers file", [&]() {
        restart = g_host->PeersFileChanged();
        return Status::Ok();
      });
      ReportStatus(st, LOG);
    }
    if (restart) {
      ereport(LOG, (errmsg("ruvector_dag worker: restarting pattern sync (settings or peers file changed)")));
      StopHost();
      g_retry_at_us = 0;
    }
  }
  if (g_host == nullptr && !StartHost(now)) return;
  ruvector_dag::Engine* engine = LearnerEngine();
  if (engine == nullptr) return;
  // This server's arm names by index.
  std::vector<std::string>* arms = NewOwnedByContext<std::vector<std::string>>(CurrentMemoryContext);
  LWLockAcquire(g_steer_lock, LW_SHARED);
  const uint32_t arm_count = g_steer->arm_count;
  char names[kMaxArms][kArmNameLen];
  for (uint32_t i = 0; i < arm_count && i < static_cast<uint32_t>(kMaxArms); ++i) {
    memcpy(names[i], g_steer->arms[i].name, kArmNameLen);
    names[i][kArmNameLen - 1] = '\0';
  }
  LWLockRelease(g_steer_lock);
  LWLockAcquire(g_sync_lock, LW_SHARED);
  const uint64_t requests = g_sync->sync_now_requests;
  LWLockRelease(g_sync_lock);
  const bool sync_now = requests != g_sync_now_seen;
  if (g_scratch == nullptr) {
    g_scratch = static_cast<SyncShared*>(MemoryContextAllocZero(TopMemoryContext, sizeof(SyncShared)));
  }
  bool filled = false;
  PlainStatus st = RunCpp("pattern sync", [&]() {
    for (uint32_t i = 0; i < arm_count && i < static_cast<uint32_t>(kMaxArms); ++i) arms->emplace_back(names[i]);
    if (g_gain_tally == nullptr) g_gain_tally = new GainTally();
    const Status step = g_host->Step(engine, *arms, *g_gain_tally, sync_now, now);
    RefreshDecisions(g_host->TakeChangedPatterns());  // published by the next learning pass
    RUVECTOR_RETURN_IF_ERROR(step);
    if (sync_now || now - g_published_us >= kPublishEveryUs) {
      memset(static_cast<void*>(g_scratch), 0, sizeof(SyncShared));
      g_host->Fill(g_scratch);
      filled = true;
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    ereport(LOG, (errmsg("ruvector_dag worker: pattern sync step failed: %s", st.message)));
    LWLockAcquire(g_sync_lock, LW_EXCLUSIVE);
    ++g_sync->counters.errors;
    CopyField(g_sync->last_error, sizeof(g_sync->last_error), st.message);
    g_sync->last_error_us = now;
    LWLockRelease(g_sync_lock);
  }
  g_sync_now_seen = requests;
  if (!filled) return;
  LWLockAcquire(g_sync_lock, LW_EXCLUSIVE);
  const uint64_t errors = g_sync->counters.errors;
  const uint64_t pending = g_sync->sync_now_requests;
  const uint64_t snapshots = g_sync->snapshots;
  char last_error[sizeof(g_sync->last_error)];
  memcpy(last_error, g_sync->last_error, sizeof(last_error));
  const int64_t last_error_us = g_sync->last_error_us;
  memcpy(static_cast<void*>(g_sync), g_scratch, sizeof(SyncShared));
  g_sync->sync_now_requests = pending;
  g_sync->sync_now_done = requests;
  g_sync->snapshots = snapshots + 1;
  g_sync->counters.errors += errors;
  if (g_sync->last_error[0] == '\0') {
    memcpy(g_sync->last_error, last_error, sizeof(last_error));
    g_sync->last_error_us = last_error_us;
  } else {
    g_sync->last_error_us = now;
  }
  LWLockRelease(g_sync_lock);
  g_published_us = now;
}

void StopSync() { StopHost(); }

}  // namespace ruvector_pg

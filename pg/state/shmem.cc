// PG zone: shared memory placement, locking and the state file.
#include "shim.h"
#include "hot.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "extension.h"
#include "guard.h"

namespace ruvector_pg {
namespace {

constexpr const char* kTrancheName = "ruvector_dag";
constexpr const char* kShmemName = "ruvector_dag shared state";

RUVECTOR_HOT_DATA SharedState* g_state = nullptr;
LWLock* g_state_lock = nullptr;
LWLock* g_file_lock = nullptr;

size_t RegionSize() {
  return SharedStateSize(static_cast<uint32_t>(g_max_patterns), static_cast<uint32_t>(g_trajectory_capacity));
}

void SetLoadResult(LoadResult r, const char* message) {
  g_state->load_result = r;
  g_state->last_load_us = NowUnixMicros();
  strlcpy(g_state->load_message, message, sizeof(g_state->load_message));
}

/// Reads $PGDATA/ruvector_dag.state into the (new, empty) state. Runs in
/// the postmaster before any backend exists: no lock needed. A missing file
/// is a fresh start; a corrupt, truncated or incompatible one gives a WARNING
/// and a fresh start.
void LoadStateFile() {
  StringInfoData buf;
  bool missing = false;
  char why[256];
  if (!ReadWholeFile(kStateFile, MaxAllocSize / 2, &buf, &missing, why, sizeof(why))) {
    // ReadWholeFile warned (a fresh start either way).
    if (missing) {
      SetLoadResult(LoadResult::kNoFile, "no state file: fresh start");
    } else {
      SetLoadResult(LoadResult::kCorrupt, why);
    }
    return;
  }
  size_t patterns = 0, trajectories = 0;
  std::string_view bytes(buf.data, static_cast<size_t>(buf.len));
  PlainStatus st = RunCpp("loading the state file", [&]() {
    return DeserializeState(bytes, g_state, &patterns, &trajectories);
  });
  pfree(buf.data);
  if (!st.ok()) {
    LoadResult r = st.code == StatusCode::kFailedPrecondition ? LoadResult::kIncompatible : LoadResult::kCorrupt;
    SetLoadResult(r, st.message);
    ereport(WARNING, (errcode(ERRCODE_DATA_CORRUPTED),
                      errmsg("ruvector_dag: ignoring state file \"%s\": %s", kStateFile, st.message),
                      errdetail("The extension starts with empty state; the file is replaced at the next save.")));
    return;
  }
  char msg[256];
  snprintf(msg, sizeof(msg), "loaded %zu patterns and %zu trajectories", patterns, trajectories);
  SetLoadResult(LoadResult::kLoaded, msg);
  ereport(LOG, (errmsg("ruvector_dag: %s from \"%s\"", msg, kStateFile)));
}

void ShutdownSharedMemory(int code, Datum arg) {
  // After a crash shared memory may be inconsistent: keep the last file.
  if (code != 0 || g_state == nullptr) return;
  PersistState(LOG);
}

}  // namespace

int64_t NowUnixMicros() {
  TimestampTz now = GetCurrentTimestamp();
  return static_cast<int64_t>(now) +
         static_cast<int64_t>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC;
}

TimestampTz UnixMicrosToTimestamp(int64_t us) {
  return static_cast<TimestampTz>(us -
                                  static_cast<int64_t>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY *
                                      USECS_PER_SEC);
}

void RequestSharedMemory() {
  RequestAddinShmemSpace(RegionSize());
  RequestNamedLWLockTranche(kTrancheName, 2);
}

void StartupSharedMemory() {
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  void* region = ShmemInitStruct(kShmemName, RegionSize(), &found);
  LWLockPadded* locks = GetNamedLWLockTranche(kTrancheName);
  g_state_lock = &locks[0].lock;
  g_file_lock = &locks[1].lock;
  g_state = static_cast<SharedState*>(region);
  if (!found) {
    memset(region, 0, RegionSize());
    InitSharedState(region, static_cast<uint32_t>(g_max_patterns), static_cast<uint32_t>(g_trajectory_capacity),
                    NowUnixMicros());
    LoadStateFile();
  }
  LWLockRelease(AddinShmemInitLock);
  if (!IsUnderPostmaster) on_shmem_exit(ShutdownSharedMemory, (Datum)0);
}

RUVECTOR_HOT SharedState* State() { return g_state; }
LWLock* StateLock() { return g_state_lock; }

void CountInternalError() {
  if (g_state == nullptr) return;
  LWLockAcquire(g_state_lock, LW_SHARED);
  BumpCounter(&g_state->counters.internal_errors);
  LWLockRelease(g_state_lock);
}

bool WriteFileDurably(const char* name, const char* data, size_t size, int elevel) {
  char tmp[MAXPGPATH];
  snprintf(tmp, sizeof(tmp), "%s.tmp.%d", name, MyProcPid);
  // Whatever is at the temporary path (a stale file, a symlink, a FIFO) is
  // removed and the file created anew: never written through a symlink into
  // another file, never waited on.
  (void)unlink(tmp);
  int fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY);
  if (fd < 0) {
    char why[160];
    snprintf(why, sizeof(why), "could not create \"%s\": %s", tmp, strerror(errno));
    ereport(elevel, (errcode_for_file_access(), errmsg("ruvector_dag: %s", why)));
    NoteSaveFailure(name, why);
    return false;
  }
  size_t done = 0;
  bool ok = true;
  while (done < size) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      if (w == 0) errno = ENOSPC;
      ok = false;
      break;
    }
    done += static_cast<size_t>(w);
  }
  if (!ok) {
    ereport(elevel, (errcode_for_file_access(), errmsg("ruvector_dag: could not write \"%s\": %m", tmp)));
  } else if (pg_fsync(fd) != 0) {
    ereport(elevel, (errcode_for_file_access(), errmsg("ruvector_dag: could not fsync \"%s\": %m", tmp)));
    ok = false;
  }
  CloseTransientFile(fd);
  if (!ok) {
    unlink(tmp);
    NoteSaveFailure(name, "could not write the new file");
    return false;
  }
  // durable_rename also fsyncs the file it replaces; an old file the server
  // may not open (another owner, mode 000) would make every save fail, so
  // replace it with a plain rename (the directory is ours) and fsync the
  // new file and the directory instead.
  if (durable_rename(tmp, name, DEBUG1) == 0) return true;
  if (rename(tmp, name) == 0) {
    (void)fsync_fname_ext(name, false, false, elevel);
    (void)fsync_fname_ext(".", true, false, elevel);
    ereport(elevel < WARNING ? LOG : elevel,
            (errmsg("ruvector_dag: replaced \"%s\", which could not be opened, by a new file", name)));
    return true;
  }
  char why[160];
  snprintf(why, sizeof(why), "could not replace the file: %s", strerror(errno));
  ereport(elevel, (errcode_for_file_access(), errmsg("ruvector_dag: could not save \"%s\": %s", name, why)));
  unlink(tmp);
  NoteSaveFailure(name, why);
  return false;
}

void NoteSaveFailure(const char* name, const char* why) {
  if (g_state == nullptr || !IsUnderPostmaster) return;
  LWLockAcquire(g_state_lock, LW_EXCLUSIVE);
  ++g_state->save_failures;
  g_state->last_save_failure_us = NowUnixMicros();
  snprintf(g_state->save_failure, sizeof(g_state->save_failure), "%s: %s", name, why);
  LWLockRelease(g_state_lock);
}

bool ReadWholeFile(const char* name, size_t max_bytes, StringInfo out, bool* missing, char* why, size_t why_cap) {
  *missing = false;
  char reason[192] = {0};
  // O_NONBLOCK: a FIFO at the path must not block the postmaster or the
  // worker (opening one for reading waits for a writer); it is refused below
  // before a byte is read, as a device (/dev/zero) or a directory is.
  int fd = OpenTransientFile(name, O_RDONLY | O_NONBLOCK | PG_BINARY);
  struct stat st;
  if (fd < 0) {
    if (errno == ENOENT) {
      *missing = true;
      return false;
    }
    snprintf(reason, sizeof(reason), "could not open it: %s", strerror(errno));
  } else if (fstat(fd, &st) != 0) {
    snprintf(reason, sizeof(reason), "could not stat it: %s", strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    snprintf(reason, sizeof(reason), "it is not a regular file");
  } else if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    snprintf(reason, sizeof(reason), "it is implausibly large (%lld bytes)", static_cast<long long>(st.st_size));
  } else {
    initStringInfo(out);
    char chunk[8192];
    for (;;) {
      const ssize_t n = read(fd, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        snprintf(reason, sizeof(reason), "could not read it: %s", strerror(errno));
        break;
      }
      if (n == 0) break;
      // The file may grow while it is read: the bound holds for what is read.
      if (static_cast<size_t>(out->len) + static_cast<size_t>(n) > max_bytes) {
        snprintf(reason, sizeof(reason), "it is implausibly large (more than %zu bytes)", max_bytes);
        break;
      }
      appendBinaryStringInfo(out, chunk, static_cast<int>(n));
    }
    if (reason[0] != '\0') pfree(out->data);
  }
  if (fd >= 0) CloseTransientFile(fd);
  if (reason[0] == '\0') return true;
  ereport(WARNING, (errmsg("ruvector_dag: ignoring \"%s\": %s", name, reason),
                    errdetail("The extension starts without it; the file is replaced at the next save.")));
  if (why != nullptr && why_cap > 0) snprintf(why, why_cap, "%s", reason);
  return false;
}

bool PersistState(int elevel) {
  if (g_state == nullptr) return false;
  // The postmaster (shutdown) has no PGPROC and cannot take LWLocks; it runs
  // after every backend exited, so nobody else touches the state then.
  bool locking = IsUnderPostmaster;
  if (locking) LWLockAcquire(g_file_lock, LW_EXCLUSIVE);
  // Exclusive: backends update statistics and append trajectories under the
  // shared lock, and the image must be one consistent snapshot.
  if (locking) LWLockAcquire(g_state_lock, LW_EXCLUSIVE);
  int64_t now = NowUnixMicros();
  size_t size = SerializedSize(g_state);
  char* image = static_cast<char*>(MemoryContextAllocExtended(CurrentMemoryContext, size, MCXT_ALLOC_HUGE |
                                                                                            MCXT_ALLOC_NO_OOM));
  if (image != nullptr) SerializeInto(g_state, now, image);
  if (locking) LWLockRelease(g_state_lock);
  bool ok = false;
  if (image == nullptr) {
    ereport(elevel, (errmsg("ruvector_dag: out of memory while saving state (%zu bytes)", size)));
  } else {
    ok = WriteFileDurably(kStateFile, image, size, elevel);
    pfree(image);
  }
  if (ok && locking) {
    LWLockAcquire(g_state_lock, LW_EXCLUSIVE);
    ++g_state->counters.state_saves;
    g_state->counters.last_save_us = now;
    LWLockRelease(g_state_lock);
  } else if (ok) {
    ++g_state->counters.state_saves;
    g_state->counters.last_save_us = now;
  }
  if (locking) LWLockRelease(g_file_lock);
  return ok;
}

}  // namespace ruvector_pg

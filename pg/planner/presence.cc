// PG zone: whether CREATE EXTENSION ruvector_dag was run in this backend's
// database. Steering and the capture of statements for background
// exploration happen only there: DROP EXTENSION stops both in its database
// (observation of executions goes on, as pg_stat_statements' does).
#include "shim.h"

extern "C" {
#include "commands/extension.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

#include "extension.h"

namespace ruvector_pg {
namespace {

enum class Presence { kUnknown, kPresent, kAbsent };
Presence g_presence = Presence::kUnknown;
bool g_callbacks_registered = false;

/// The extension's functions and schema are created and dropped with it:
/// any change to them (in this database) makes the next check look again.
void Invalidate(Datum, int, uint32) { g_presence = Presence::kUnknown; }

}  // namespace

bool ExtensionCreatedHere() {
  if (!IsTransactionState() || !OidIsValid(MyDatabaseId)) return false;
  if (!g_callbacks_registered) {
    CacheRegisterSyscacheCallback(PROCOID, Invalidate, (Datum)0);
    CacheRegisterSyscacheCallback(NAMESPACEOID, Invalidate, (Datum)0);
    g_callbacks_registered = true;
  }
  if (g_presence == Presence::kUnknown) {
    g_presence = OidIsValid(get_extension_oid("ruvector_dag", true)) ? Presence::kPresent : Presence::kAbsent;
  }
  return g_presence == Presence::kPresent;
}

}  // namespace ruvector_pg

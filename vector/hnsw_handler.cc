// ruhnsw: the access method handler, reloptions, cost estimate and opclass
// validation. PG zone.
#include "hnsw.h"

extern "C" {
IndexBuildResult* ruhnsw_build(Relation heap, Relation index, IndexInfo* index_info);
void ruhnsw_buildempty(Relation index);
bool ruhnsw_insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation heap,
                   IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo* index_info);
IndexBulkDeleteResult* ruhnsw_bulkdelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                         IndexBulkDeleteCallback callback, void* callback_state);
IndexBulkDeleteResult* ruhnsw_vacuumcleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats);
IndexScanDesc ruhnsw_beginscan(Relation index, int nkeys, int norderbys);
void ruhnsw_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool ruhnsw_gettuple(IndexScanDesc scan, ScanDirection dir);
void ruhnsw_endscan(IndexScanDesc scan);
}

using namespace ruvector_vec;

namespace {

bytea* Options(Datum reloptions, bool validate) {
  static const relopt_parse_elt kTable[] = {
      {"m", RELOPT_TYPE_INT, offsetof(HnswOptions, m)},
      {"ef_construction", RELOPT_TYPE_INT, offsetof(HnswOptions, ef_construction)},
  };
  return static_cast<bytea*>(build_reloptions(reloptions, validate, g_hnsw_relopt_kind, sizeof(HnswOptions), kTable,
                                              lengthof(kTable)));
}

// An HNSW search reads about ef * 2m elements on layer 0 plus a few per
// upper layer, all before returning its first row.
void CostEstimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup, Cost* total,
                  Selectivity* selectivity, double* correlation, double* pages) {
  if (path->indexorderbys == NIL) {
    // Only ordered scans are supported: never chosen otherwise.
    *startup = *total = 1.0e10;
    *selectivity = 1.0;
    *correlation = 0.0;
    *pages = 0.0;
    return;
  }
  int m = 16, ef_construction = 64;
  Relation index = index_open(path->indexinfo->indexoid, NoLock);
  GetOptions(index, &m, &ef_construction);
  index_close(index, NoLock);
  double tuples = std::max(path->indexinfo->tuples, 1.0);
  double levels = std::max(1.0, std::log(tuples) / std::log(static_cast<double>(m)));
  double visited = std::min(tuples, static_cast<double>(g_hnsw_ef_search) * 2 * m + levels * m);
  GenericCosts costs;
  std::memset(&costs, 0, sizeof(costs));
  costs.numIndexTuples = visited;
  genericcostestimate(root, path, loop_count, &costs);
  *startup = costs.indexTotalCost;
  *total = costs.indexTotalCost;
  *selectivity = costs.indexSelectivity;
  *correlation = 0.0;
  *pages = costs.numIndexPages;
}

// Opclasses are created by the extension script only; check the one
// support function they need.
bool Validate(Oid opclass) { return OidIsValid(get_opclass_family(opclass)); }

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(ruhnsw_handler);

Datum ruhnsw_handler(PG_FUNCTION_ARGS) {
  IndexAmRoutine* am = makeNode(IndexAmRoutine);
  am->amstrategies = 0;
  am->amsupport = 1;
  am->amoptsprocnum = 0;
  am->amcanorder = false;
  am->amcanorderbyop = true;
  am->amcanbackward = false;
  am->amcanunique = false;
  am->amcanmulticol = false;
  am->amoptionalkey = true;
  am->amsearcharray = false;
  am->amsearchnulls = false;
  am->amstorage = false;
  am->amclusterable = false;
  am->ampredlocks = false;
  am->amcanparallel = false;
  am->amcaninclude = false;
  am->amusemaintenanceworkmem = false;
  am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
  am->amkeytype = InvalidOid;
  am->ambuild = ruhnsw_build;
  am->ambuildempty = ruhnsw_buildempty;
  am->aminsert = ruhnsw_insert;
  am->ambulkdelete = ruhnsw_bulkdelete;
  am->amvacuumcleanup = ruhnsw_vacuumcleanup;
  am->amcanreturn = nullptr;
  am->amcostestimate = CostEstimate;
  am->amoptions = Options;
  am->amproperty = nullptr;
  am->ambuildphasename = nullptr;
  am->amvalidate = Validate;
  am->amadjustmembers = nullptr;
  am->ambeginscan = ruhnsw_beginscan;
  am->amrescan = ruhnsw_rescan;
  am->amgettuple = ruhnsw_gettuple;
  am->amgetbitmap = nullptr;
  am->amendscan = ruhnsw_endscan;
  am->ammarkpos = nullptr;
  am->amrestrpos = nullptr;
  am->amestimateparallelscan = nullptr;
  am->aminitparallelscan = nullptr;
  am->amparallelrescan = nullptr;
  PG_RETURN_POINTER(am);
}

}  // extern "C"

// _PG_init of the ruvector module: every GUC and the reloptions of ruhnsw,
// in one place. PG zone.
#include "hnsw.h"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace ruvector_vec {
int g_hnsw_ef_search = 40;
relopt_kind g_hnsw_relopt_kind;
}  // namespace ruvector_vec

void _PG_init(void) {
  using namespace ruvector_vec;
  g_hnsw_relopt_kind = add_reloption_kind();
  add_int_reloption(g_hnsw_relopt_kind, "m", "Neighbors per element and layer (2m on layer 0)", 16, 2, 100,
                    AccessExclusiveLock);
  add_int_reloption(g_hnsw_relopt_kind, "ef_construction", "Candidate list size while building the graph", 64, 4,
                    1000, AccessExclusiveLock);
  DefineCustomIntVariable("ruvector.hnsw_ef_search",
                          "Candidate list size of ruhnsw index scans: higher finds more of the true nearest "
                          "neighbors, slower.",
                          "An index scan returns at most this many rows.", &g_hnsw_ef_search, 40, 1, 1000,
                          PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

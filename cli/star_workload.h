// The bundled star/snowflake workload of `ruvector-dag bench --workload star`:
// a seeded generator (SQL: generate_series and PostgreSQL's seeded
// hashint8extended, no downloads) of a sales fact table with date, item ->
// brand -> category (snowflake), customer, store and promotion dimensions and
// a returns fact table, with Zipf-skewed foreign keys and correlated columns,
// and 18 query templates in families of siblings (same tables and joins,
// different aggregation or projection), each with a parameterization in a hot
// and one in a cold skew region. Documented in docs/demo.md.
#ifndef RUVECTOR_DAG_CLI_STAR_WORKLOAD_H_
#define RUVECTOR_DAG_CLI_STAR_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ruvector_dag/status.h"
#include "workload.h"

namespace ruvector_dag::cli {

/// Version of the generated star data (part of the stamp below).
inline constexpr int kStarDataVersion = 1;

/// Sizes of the star data at a scale (scale 1: 200,000 sales).
struct StarSizes {
  int64_t sales = 0;
  int64_t items = 0;
  int64_t customers = 0;
};

/// Row counts of the fact table and the two large dimensions at `scale`
/// (> 0). The small dimensions (730 dates, 100 stores, 200 brands, 20
/// categories, 53 promotions) do not scale.
StarSizes StarSizesAt(double scale);

/// SQL that (re)creates the star tables (prefix rs_) in the current database
/// from `seed`, ANALYZEs them and stamps the seed and scale in a table comment
/// (StarStamp). Deterministic: the same seed and scale give the same rows.
/// Scale must lie in [0.01, 100].
Result<std::string> StarSchemaSql(uint64_t seed, double scale);

/// The comment stamped on rs_sales for `seed` and `scale`.
std::string StarStamp(uint64_t seed, double scale);

/// The query instances: 18 templates x 2 parameterizations. Names are
/// "T07a"/"T07b" (a: hot skew region, b: cold); `family` names the sibling
/// group; `late` marks the siblings that `bench --siblings-from` holds back.
std::vector<WorkloadQuery> StarQueries();

}  // namespace ruvector_dag::cli

#endif  // RUVECTOR_DAG_CLI_STAR_WORKLOAD_H_

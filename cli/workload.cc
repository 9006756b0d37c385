// The bundled synthetic workloads (workload.h).
#include "workload.h"

namespace ruvector_dag::cli {

std::string WorkloadSchemaSql() {
  // events: a, b and c are the same value (i % 100): perfectly correlated
  //   columns. The planner assumes independence, so "a = 1 AND b = 1 AND
  //   c = 1" is estimated at 20000 / 100^3 -> 1 row; 200 rows match.
  // orders: region, status and channel likewise (i % 50): 1 row estimated,
  //   2000 match. items has 5 rows per key with an index on k.
  // customers: a skewed foreign key (half of the orders_skew rows belong to
  //   20 customers) with a correlated filter on tier/segment.
  return R"sql(
DROP TABLE IF EXISTS rv_events, rv_orders, rv_items, rv_customers, rv_orders_skew CASCADE;
CREATE TABLE rv_events (id int PRIMARY KEY, a int, b int, c int, k int, payload int);
INSERT INTO rv_events SELECT i, i % 100, i % 100, i % 100, (i * 37) % 5000, i % 997
FROM generate_series(1, 20000) i;
CREATE TABLE rv_orders (id int PRIMARY KEY, region int, status int, channel int, k int, amount int);
INSERT INTO rv_orders SELECT i, i % 50, i % 50, i % 50, (i * 37) % 20000, i % 1000
FROM generate_series(1, 100000) i;
CREATE TABLE rv_items (id int PRIMARY KEY, k int, payload int);
INSERT INTO rv_items SELECT i, i % 20000, i % 7 FROM generate_series(1, 100000) i;
CREATE INDEX rv_items_k ON rv_items (k);
CREATE TABLE rv_customers (id int PRIMARY KEY, tier int, segment int, name text);
INSERT INTO rv_customers SELECT i, i % 40, i % 40, 'customer ' || i FROM generate_series(1, 4000) i;
CREATE TABLE rv_orders_skew (id int PRIMARY KEY, customer_id int, amount int);
INSERT INTO rv_orders_skew SELECT i, CASE WHEN i % 2 = 0 THEN 1 + (i % 20) * 40 ELSE 1 + (i * 7) % 4000 END, i % 500
FROM generate_series(1, 60000) i;
ANALYZE rv_events, rv_orders, rv_items, rv_customers, rv_orders_skew;
)sql";
}

std::vector<WorkloadQuery> MisestimationQueries() {
  return {
      {"Q1", "correlated columns: 1 row estimated per side, 200 match; nested loop rescans a sequential scan per row",
       "SELECT count(*), sum(x.payload + y.payload) FROM rv_events x JOIN rv_events y ON y.k = x.k "
       "WHERE x.a = 1 AND x.b = 1 AND x.c = 1 AND y.a = 1 AND y.b = 1 AND y.c = 1"},
      {"Q2", "correlated columns: 1 row estimated, 2000 match; nested loop of bitmap index probes",
       "SELECT sum(i.payload) FROM rv_orders o JOIN rv_items i ON i.k = o.k "
       "WHERE o.region = 3 AND o.status = 3 AND o.channel = 3"},
      {"Q3", "correlated filter on a skewed join: 1 customer estimated, 100 match, half of the orders on them",
       "SELECT sum(o.amount) FROM rv_customers c JOIN rv_orders_skew o ON o.customer_id = c.id "
       "JOIN rv_customers c2 ON c2.tier = c.tier "
       "WHERE c.tier = 1 AND c.segment = 1 AND c2.segment = 1 AND c2.id < 400"},
  };
}

std::vector<WorkloadQuery> WellPlannedQueries() {
  return {
      {"W1", "planned well: primary-key lookups joined by index",
       "SELECT o.id, o.amount, i.payload FROM rv_orders o JOIN rv_items i ON i.id = o.id WHERE o.id BETWEEN 500 AND 520"},
      {"W2", "planned well: aggregate over an accurately estimated range",
       "SELECT region, count(*), sum(amount) FROM rv_orders WHERE id <= 30000 GROUP BY region ORDER BY region"},
      {"W3", "planned well: selective index scan",
       "SELECT sum(payload) FROM rv_items WHERE k BETWEEN 100 AND 140"},
  };
}

std::string LearningSessionSql(bool online, double budget) {
  if (!online) return "SET ruvector.dag_enabled = on; SET ruvector.dag_exploration = off";
  return "SET ruvector.dag_enabled = on; SET ruvector.dag_exploration = online; "
         "SET ruvector.dag_exploration_budget = " + std::to_string(budget);
}

}  // namespace ruvector_dag::cli

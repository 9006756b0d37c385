-- TPC-H Q15 with a MATERIALIZED CTE scanned twice (once in an InitPlan).
-- expect: CTE, CTE Scan, InitPlan, Hash Join
WITH revenue AS MATERIALIZED (
  SELECT l_suppkey AS supplier_no, sum(l_extendedprice * (1 - l_discount)) AS total_revenue
  FROM lineitem
  WHERE l_shipdate >= date '1996-01-01' AND l_shipdate < date '1996-01-01' + interval '3 months'
  GROUP BY l_suppkey)
SELECT s.s_suppkey, s.s_name, r.total_revenue
FROM supplier s, revenue r
WHERE s.s_suppkey = r.supplier_no
  AND r.total_revenue = (SELECT max(total_revenue) FROM revenue)
ORDER BY s.s_suppkey;

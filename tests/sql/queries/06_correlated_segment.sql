-- Correlated predicates: c_mktsegment is a function of c_nationkey, so the
-- planner multiplies selectivities and underestimates the customers by 5x,
-- and the skewed o_custkey makes the join far larger than estimated.
-- expect: Aggregate, Hash Join
SELECT c.c_nationkey, count(*) AS orders, sum(o.o_totalprice) AS total
FROM customer c
JOIN orders o ON o.o_custkey = c.c_custkey
JOIN lineitem l ON l.l_orderkey = o.o_orderkey
WHERE c.c_nationkey IN (0, 5) AND c.c_mktsegment = 'AUTOMOBILE'
  AND l.l_shipdate > o.o_orderdate + 60
GROUP BY c.c_nationkey;

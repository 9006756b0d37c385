-- An uncorrelated scalar subquery (InitPlan) and a correlated one (SubPlan).
-- expect: InitPlan, SubPlan, Limit
SELECT c.c_custkey, c.c_acctbal,
       (SELECT count(*) FROM orders o WHERE o.o_custkey = c.c_custkey) AS order_count
FROM customer c
WHERE c.c_acctbal > (SELECT avg(c2.c_acctbal) + 3000 FROM customer c2)
  AND c.c_nationkey = 7
ORDER BY c.c_acctbal DESC
LIMIT 25;

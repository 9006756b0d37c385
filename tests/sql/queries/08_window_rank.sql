-- Window functions over an aggregate: rank customers within their nation.
-- expect: WindowAgg, Sort, Aggregate
SELECT *
FROM (SELECT c.c_nationkey, c.c_custkey, sum(o.o_totalprice) AS spent,
             rank() OVER (PARTITION BY c.c_nationkey ORDER BY sum(o.o_totalprice) DESC) AS rnk,
             sum(sum(o.o_totalprice)) OVER (PARTITION BY c.c_nationkey) AS nation_total
      FROM customer c JOIN orders o ON o.o_custkey = c.c_custkey
      GROUP BY c.c_nationkey, c.c_custkey) AS ranked
WHERE rnk <= 3
ORDER BY c_nationkey, rnk;

-- ROLLUP: hashed grouping sets plus the grand total (a Mixed aggregate).
-- expect: Aggregate/Mixed, Hash Join
SELECT n.n_regionkey, c.c_mktsegment, count(*) AS customers, sum(c.c_acctbal) AS balance
FROM customer c JOIN nation n ON n.n_nationkey = c.c_nationkey
GROUP BY ROLLUP (n.n_regionkey, c.c_mktsegment);

-- NOT EXISTS becomes an anti join (a merge join over two indexes); a plain
-- aggregate on top.
-- expect: Aggregate/Plain, Merge Join/Anti
SELECT count(*) AS customers_without_orders, avg(c.c_acctbal) AS avg_balance
FROM customer c
WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.o_custkey = c.c_custkey);

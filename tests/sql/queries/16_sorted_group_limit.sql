-- Grouping on an index order: a sorted aggregate that stops early for LIMIT.
-- expect: Aggregate/Sorted, Limit, Index Only Scan
SELECT o_orderdate, count(*) AS orders
FROM orders
GROUP BY o_orderdate
ORDER BY o_orderdate
LIMIT 20;

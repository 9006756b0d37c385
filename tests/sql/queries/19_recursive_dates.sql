-- A recursive CTE (Recursive Union over a WorkTable Scan) joined to orders.
-- expect: Recursive Union, WorkTable Scan, CTE Scan, Nested Loop/Left
WITH RECURSIVE weeks(week_start) AS (
  SELECT date '1994-01-03'
  UNION ALL
  SELECT week_start + 7 FROM weeks WHERE week_start < date '1994-12-26')
SELECT w.week_start, count(o.o_orderkey) AS orders
FROM weeks w
LEFT JOIN orders o ON o.o_orderdate >= w.week_start AND o.o_orderdate < w.week_start + 7
GROUP BY w.week_start
ORDER BY w.week_start;

-- A parallel plan: partial aggregates below Gather Merge over a parallel join.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET min_parallel_index_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
-- expect: Gather Merge, Parallel, Aggregate/Hashed, Seq Scan
SELECT l.l_shipmode, o.o_orderpriority, count(*) AS lines, avg(l.l_quantity) AS avg_qty
FROM lineitem l
JOIN orders o ON o.o_orderkey = l.l_orderkey
WHERE l.l_receiptdate > l.l_commitdate
GROUP BY l.l_shipmode, o.o_orderpriority
ORDER BY l.l_shipmode, o.o_orderpriority;

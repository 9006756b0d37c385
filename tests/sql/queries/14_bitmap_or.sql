-- A disjunction over two indexed columns: BitmapOr of two bitmap index scans.
-- expect: Bitmap Heap Scan, BitmapOr, Bitmap Index Scan, Nested Loop
SELECT l.l_orderkey, l.l_linenumber, l.l_shipdate, o.o_orderdate
FROM lineitem l
JOIN orders o ON o.o_orderkey = l.l_orderkey
WHERE l.l_shipdate = date '1996-03-13' OR l.l_partkey = 19000
ORDER BY l.l_orderkey, l.l_linenumber;

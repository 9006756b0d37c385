-- INTERSECT, EXCEPT and UNION over nation keys.
-- expect: SetOp/Hashed Intersect, SetOp/Hashed Except, Append
(SELECT s_nationkey AS nationkey FROM supplier WHERE s_acctbal > 5000
 INTERSECT
 SELECT c_nationkey FROM customer WHERE c_acctbal > 9000)
EXCEPT
SELECT n_nationkey FROM nation WHERE n_regionkey = 0
UNION
SELECT n_nationkey FROM nation WHERE n_name LIKE 'U%'
ORDER BY 1;

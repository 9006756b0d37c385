// The bundled star/snowflake workload (star_workload.h).
#include "star_workload.h"

#include <fmt/args.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ruvector_dag::cli {

StarSizes StarSizesAt(double scale) {
  auto at = [scale](double base, int64_t floor_rows) {
    return std::max<int64_t>(floor_rows, static_cast<int64_t>(std::llround(base * scale)));
  };
  return {at(200000, 2000), at(5000, 400), at(20000, 500)};
}

std::string StarStamp(uint64_t seed, double scale) {
  return fmt::format("ruvector-dag star data v{} seed={} scale={}", kStarDataVersion, seed, scale);
}

Result<std::string> StarSchemaSql(uint64_t seed, double scale) {
  if (!(scale >= 0.01 && scale <= 100.0)) {
    return Status::InvalidArgument(fmt::format("star workload: scale {} is outside [0.01, 100]", scale));
  }
  if (seed >= (uint64_t{1} << 40)) {
    return Status::InvalidArgument(fmt::format("star workload: seed {} is outside [0, 2^40)", seed));
  }
  const StarSizes n = StarSizesAt(scale);
  // rs_u(i, stream): a uniform number in [0, 1) from PostgreSQL's seeded
  // 64-bit hash of i; every random choice below draws from its own stream.
  // Skew: item ids are log-uniform (Zipf with s = 1: item 1 alone gets
  // ln 2 / ln(items + 1) of the sales), customer ids follow u^2 (the first
  // tenth of the customers make 32 % of the sales), dates follow sqrt(u)
  // (sales grow over the two years). Correlations the planner's independence
  // assumption misses: item ids are grouped by category, so category 1 holds
  // the hottest items (~65 % of sales at scale 1, not 5 %); the brand
  // determines the category and the color mostly follows it; a customer's
  // state determines the region and the segment mostly follows it; 90 % of a
  // customer's sales are in a store of the customer's region; promotions run
  // on fixed dates; categories 1-2 are returned 15x as often, mostly for
  // reason 1.
  std::string sql = fmt::format(R"sql(
DROP TABLE IF EXISTS rs_sales, rs_returns, rs_item, rs_brand, rs_category, rs_customer, rs_store, rs_region,
  rs_date, rs_promo CASCADE;
DROP FUNCTION IF EXISTS pg_temp.rs_u(bigint, int);
CREATE FUNCTION pg_temp.rs_u(i bigint, stream int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  'SELECT (hashint8extended(i, {seed_base}::bigint + stream) & 4503599627370495)::float8 / 4503599627370496.0';
CREATE TABLE rs_region (r_id int PRIMARY KEY, r_name text NOT NULL);
INSERT INTO rs_region SELECT r, 'region ' || r FROM generate_series(1, 10) r;
CREATE TABLE rs_store (s_id int PRIMARY KEY, s_region int NOT NULL, s_state int NOT NULL, s_size int NOT NULL);
INSERT INTO rs_store SELECT s, 1 + (s - 1) % 10, 10 * (1 + (s - 1) % 10) + ((s - 1) / 10) % 5,
  100 + floor(pg_temp.rs_u(s, 1) * 900)::int FROM generate_series(1, 100) s;
CREATE TABLE rs_date (d_id int PRIMARY KEY, d_date date NOT NULL, d_year int NOT NULL, d_quarter int NOT NULL,
  d_month int NOT NULL, d_dow int NOT NULL, d_holiday bool NOT NULL);
INSERT INTO rs_date SELECT d, day, extract(year FROM day)::int, extract(quarter FROM day)::int,
  extract(month FROM day)::int, extract(dow FROM day)::int,
  (extract(month FROM day) = 12 AND extract(day FROM day) >= 20)
    OR (extract(month FROM day) = 7 AND extract(day FROM day) <= 4)
FROM generate_series(1, 730) d, LATERAL (SELECT date '2025-01-01' + (d - 1) AS day) x;
CREATE TABLE rs_promo (p_id int PRIMARY KEY, p_start int NOT NULL, p_end int NOT NULL, p_channel text NOT NULL);
INSERT INTO rs_promo SELECT p, (p - 1) * 14 + 1, (p - 1) * 14 + 7, (ARRAY['tv', 'radio', 'web', 'mail'])[1 + p % 4]
FROM generate_series(1, 53) p;
CREATE TABLE rs_category (c_id int PRIMARY KEY, c_dept int NOT NULL, c_name text NOT NULL);
INSERT INTO rs_category SELECT c, 1 + (c - 1) / 5, 'category ' || c FROM generate_series(1, 20) c;
CREATE TABLE rs_brand (b_id int PRIMARY KEY, b_category int NOT NULL REFERENCES rs_category, b_name text NOT NULL);
INSERT INTO rs_brand SELECT b, 1 + (b - 1) / 10, 'brand ' || b FROM generate_series(1, 200) b;
CREATE TABLE rs_item (i_id int PRIMARY KEY, i_brand int NOT NULL REFERENCES rs_brand, i_category int NOT NULL,
  i_color int NOT NULL, i_price numeric(10, 2) NOT NULL);
INSERT INTO rs_item SELECT i, (cat - 1) * 10 + 1 + floor(pg_temp.rs_u(i, 2) * 10)::int, cat,
  CASE WHEN pg_temp.rs_u(i, 3) < 0.8 THEN cat ELSE 1 + floor(pg_temp.rs_u(i, 4) * 20)::int END,
  round((5 + cat * 3 + pg_temp.rs_u(i, 5) * 10)::numeric, 2)
FROM generate_series(1, {items}) i, LATERAL (SELECT 1 + (i - 1) * 20 / {items} AS cat) x;
CREATE TABLE rs_customer (cu_id int PRIMARY KEY, cu_region int NOT NULL, cu_state int NOT NULL,
  cu_segment int NOT NULL, cu_birth_year int NOT NULL);
INSERT INTO rs_customer SELECT c, reg, 10 * reg + floor(pg_temp.rs_u(c, 6) * 5)::int,
  CASE WHEN pg_temp.rs_u(c, 7) < 0.8 THEN 1 + (reg - 1) / 2 ELSE 1 + floor(pg_temp.rs_u(c, 8) * 5)::int END,
  1940 + floor(pg_temp.rs_u(c, 9) * 65)::int
FROM generate_series(1, {customers}) c, LATERAL (SELECT 1 + (c - 1) * 10 / {customers} AS reg) x;
CREATE TABLE rs_sales (ss_id bigint PRIMARY KEY, ss_date int NOT NULL, ss_item int NOT NULL, ss_customer int NOT NULL,
  ss_store int NOT NULL, ss_promo int, ss_qty int NOT NULL, ss_price numeric(10, 2) NOT NULL);
INSERT INTO rs_sales
SELECT i, dt, it, cu,
  CASE WHEN pg_temp.rs_u(i, 13) < 0.9 THEN 1 + (cu - 1) * 10 / {customers} + 10 * floor(pg_temp.rs_u(i, 14) * 10)::int
       ELSE 1 + floor(pg_temp.rs_u(i, 15) * 100)::int END,
  promo,
  1 + floor(pg_temp.rs_u(i, 17) * 10)::int + CASE WHEN promo IS NULL THEN 0 ELSE 5 END,
  round((5 + (1 + (it - 1) * 20 / {items}) * 3 + pg_temp.rs_u(it, 5) * 10)::numeric
        * CASE WHEN promo IS NULL THEN 1 ELSE 0.8 END, 2)
FROM (SELECT i, it, cu, dt,
        CASE WHEN (dt - 1) % 14 < 7 AND pg_temp.rs_u(i, 16) < 0.7 THEN (dt - 1) / 14 + 1 END AS promo
      FROM (SELECT i, least({items}, floor(exp(pg_temp.rs_u(i, 10) * ln({items} + 1)))::int) AS it,
                   1 + floor({customers} * pg_temp.rs_u(i, 11) ^ 2)::int AS cu,
                   1 + floor(730 * sqrt(pg_temp.rs_u(i, 12)))::int AS dt
            FROM generate_series(1, {sales}) i) g) h;
CREATE TABLE rs_returns (sr_sale bigint NOT NULL, sr_item int NOT NULL, sr_customer int NOT NULL, sr_date int NOT NULL,
  sr_amount numeric(10, 2) NOT NULL, sr_reason int NOT NULL);
INSERT INTO rs_returns
SELECT ss_id, ss_item, ss_customer, least(730, ss_date + 1 + floor(pg_temp.rs_u(ss_id, 21) * 30)::int),
  round(ss_price * ss_qty * (0.5 + 0.5 * pg_temp.rs_u(ss_id, 22))::numeric, 2),
  CASE WHEN cat <= 2 AND pg_temp.rs_u(ss_id, 23) < 0.8 THEN 1 ELSE 1 + floor(pg_temp.rs_u(ss_id, 24) * 5)::int END
FROM rs_sales, LATERAL (SELECT 1 + (ss_item - 1) * 20 / {items} AS cat) x
WHERE pg_temp.rs_u(ss_id, 20) < CASE WHEN cat <= 2 THEN 0.3 ELSE 0.02 END;
CREATE INDEX rs_sales_item ON rs_sales (ss_item);
CREATE INDEX rs_sales_customer ON rs_sales (ss_customer);
CREATE INDEX rs_sales_date ON rs_sales (ss_date);
CREATE INDEX rs_sales_store ON rs_sales (ss_store);
CREATE INDEX rs_returns_item ON rs_returns (sr_item);
CREATE INDEX rs_item_brand ON rs_item (i_brand);
CREATE INDEX rs_customer_state ON rs_customer (cu_state);
DROP FUNCTION pg_temp.rs_u(bigint, int);
ANALYZE rs_region, rs_store, rs_date, rs_promo, rs_category, rs_brand, rs_item, rs_customer, rs_sales, rs_returns;
COMMENT ON TABLE rs_sales IS '{stamp}';
)sql",
                                fmt::arg("seed_base", seed * 1024), fmt::arg("items", n.items),
                                fmt::arg("customers", n.customers), fmt::arg("sales", n.sales),
                                fmt::arg("stamp", StarStamp(seed, scale)));
  return sql;
}

namespace {

struct Template {
  const char* name;
  const char* family;
  bool late;
  const char* reason;
  std::string sql;  // {0}, {1}, ... are the parameters
  std::vector<std::string> hot, cold;
};

// Shared FROM/WHERE parts of the sibling families.
constexpr const char* kItemJoin =
    "FROM rs_sales s JOIN rs_item i ON i.i_id = s.ss_item JOIN rs_date d ON d.d_id = s.ss_date "
    "WHERE i.i_category = {0} AND i.i_brand = {1} AND i.i_color = {0}";
constexpr const char* kRegionJoin =
    "FROM rs_customer cu JOIN rs_sales s ON s.ss_customer = cu.cu_id JOIN rs_store st ON st.s_id = s.ss_store "
    "WHERE cu.cu_region = {0} AND cu.cu_state = {1} AND st.s_region = {0}";
constexpr const char* kPromoJoin =
    "FROM rs_sales s JOIN rs_date d ON d.d_id = s.ss_date JOIN rs_promo p ON p.p_id = s.ss_promo "
    "WHERE d.d_year = {0} AND d.d_month = {1} AND p.p_start BETWEEN {2} AND {3}";
constexpr const char* kReturnsJoin =
    "FROM rs_returns r JOIN rs_sales s ON s.ss_item = r.sr_item AND s.ss_customer = r.sr_customer "
    "AND s.ss_date < r.sr_date JOIN rs_item i ON i.i_id = r.sr_item JOIN rs_brand b ON b.b_id = i.i_brand "
    "JOIN rs_category c ON c.c_id = b.b_category "
    "WHERE c.c_id = {0} AND r.sr_reason = {1} AND i.i_color = {0} AND r.sr_date > {2}";
constexpr const char* kSnowflakeJoin =
    "FROM rs_sales s JOIN rs_item i ON i.i_id = s.ss_item JOIN rs_brand b ON b.b_id = i.i_brand "
    "JOIN rs_category c ON c.c_id = b.b_category JOIN rs_store st ON st.s_id = s.ss_store "
    "JOIN rs_customer cu ON cu.cu_id = s.ss_customer "
    "WHERE c.c_dept = {0} AND i.i_category BETWEEN {1} AND {2} AND st.s_state = {3} AND cu.cu_state = {3}";
constexpr const char* kExistsBody =
    "FROM rs_customer cu WHERE cu.cu_region = {0} AND cu.cu_segment = {1} AND {2} EXISTS (SELECT 1 FROM rs_sales s "
    "JOIN rs_item i ON i.i_id = s.ss_item WHERE s.ss_customer = cu.cu_id AND i.i_category = {3} "
    "AND i.i_color = {3})";

std::string Fill(const std::string& pattern, const std::vector<std::string>& p) {
  fmt::dynamic_format_arg_store<fmt::format_context> args;
  for (const std::string& v : p) args.push_back(v);
  return fmt::vformat(pattern, args);
}

std::vector<Template> Templates() {
  const std::string item = kItemJoin, region = kRegionJoin, promo = kPromoJoin, ret = kReturnsJoin,
                    snow = kSnowflakeJoin;
  const std::string t01 = "SELECT d.d_month, count(*), sum(s.ss_qty * s.ss_price) " + item +
                                 " GROUP BY d.d_month ORDER BY d.d_month";
  const std::string t02 = "SELECT d.d_year, i.i_brand, avg(s.ss_price), max(s.ss_qty) " + item +
                                 " GROUP BY d.d_year, i.i_brand ORDER BY 1, 2";
  const std::string t03 = "SELECT i.i_id, sum(s.ss_qty) AS q " + item + " GROUP BY i.i_id ORDER BY q DESC, "
                                 "i.i_id LIMIT 10";
  const std::string t04 = "SELECT s.ss_store, count(*), sum(s.ss_qty * s.ss_price) " + region +
                                 " GROUP BY s.ss_store ORDER BY s.ss_store";
  const std::string t05 = "SELECT count(DISTINCT s.ss_customer), count(*), max(s.ss_price) " + region;
  const std::string t06 = "SELECT cu.cu_segment, avg(s.ss_qty), min(s.ss_date) " + region +
                                 " GROUP BY cu.cu_segment ORDER BY cu.cu_segment";
  const std::string t07 = "SELECT p.p_channel, count(*), sum(s.ss_qty) " + promo +
                                 " GROUP BY p.p_channel ORDER BY p.p_channel";
  const std::string t08 = "SELECT d.d_dow, avg(s.ss_price), count(DISTINCT s.ss_item) " + promo +
                                 " GROUP BY d.d_dow ORDER BY d.d_dow";
  const std::string t09 = "SELECT c.c_dept, count(*), sum(r.sr_amount) " + ret + " GROUP BY c.c_dept";
  const std::string t10 = "SELECT r.sr_date / 30 AS period, count(DISTINCT r.sr_sale) " + ret +
                                 " GROUP BY 1 ORDER BY 1";
  const std::string t11 = "SELECT c.c_name, count(*), sum(s.ss_qty * s.ss_price) " + snow +
                                 " GROUP BY c.c_name ORDER BY c.c_name";
  const std::string t12 = "SELECT st.s_id, cu.cu_segment, avg(s.ss_qty) " + snow + " GROUP BY 1, 2 ORDER BY 1, 2";
  const std::string t13 = "SELECT cu.cu_state, count(*) " + Fill(kExistsBody, {"{0}", "{1}", "", "{2}"}) +
                                 " GROUP BY cu.cu_state ORDER BY cu.cu_state";
  const std::string t14 = "SELECT count(*), min(cu.cu_birth_year) " +
                                 Fill(kExistsBody, {"{0}", "{1}", "NOT", "{2}"});
  return {
      {"T01", "item", false, "category, brand and color are correlated (1 item estimated); hot items are skewed",
       t01, {"1", "3"}, {"17", "163"}},
      {"T02", "item", false, "sibling of T01: another aggregation", t02, {"1", "5"}, {"17", "166"}},
      {"T03", "item", true, "sibling of T01: top items", t03, {"1", "7"}, {"18", "174"}},
      {"T04", "region", false, "state determines region; customers buy in their region's stores (3 correlated filters)",
       t04, {"1", "12"}, {"9", "93"}},
      {"T05", "region", false, "sibling of T04: distinct customers", t05, {"1", "11"}, {"8", "84"}},
      {"T06", "region", true, "sibling of T04: per segment", t06, {"2", "23"}, {"9", "91"}},
      {"T07", "promo", false, "promotions run on fixed dates (date and promotion filters correlated); recent dates hot",
       t07, {"2026", "11", "670", "700"}, {"2025", "2", "30", "60"}},
      {"T08", "promo", true, "sibling of T07: per weekday", t08, {"2026", "12", "700", "730"},
       {"2025", "3", "60", "90"}},
      {"T09", "returns", false, "fact-to-fact join on a skewed key; return rate and reason follow the category", t09,
       {"1", "1", "600"}, {"15", "3", "200"}},
      {"T10", "returns", true, "sibling of T09: per period", t10, {"2", "1", "600"}, {"16", "2", "200"}},
      {"T11", "snowflake", false, "category -> brand -> item snowflake; customer and store state correlated", t11,
       {"1", "1", "5", "12"}, {"4", "16", "20", "93"}},
      {"T12", "snowflake", true, "sibling of T11: per store and segment", t12, {"1", "1", "5", "13"},
       {"4", "16", "20", "94"}},
      {"T13", "exists", false, "semi-join: region and segment correlated, category skewed", t13, {"1", "1", "1"},
       {"9", "5", "18"}},
      {"T14", "exists", true, "sibling of T13: anti-join", t14, {"2", "1", "1"}, {"10", "5", "19"}},
      {"T15", "", false, "planned well: primary-key range joined by primary key",
       "SELECT s.ss_id, i.i_price, s.ss_qty FROM rs_sales s JOIN rs_item i ON i.i_id = s.ss_item "
       "WHERE s.ss_id BETWEEN {0} AND {0} + 30 ORDER BY s.ss_id",
       {"100"}, {"1900"}},
      {"T16", "", false, "planned well: date range, accurate estimate",
       "SELECT d.d_quarter, count(*) FROM rs_sales s JOIN rs_date d ON d.d_id = s.ss_date "
       "WHERE s.ss_date BETWEEN {0} AND {1} GROUP BY d.d_quarter ORDER BY d.d_quarter",
       {"700", "730"}, {"1", "40"}},
      {"T17", "", false, "planned well: one customer (most common values make the estimate accurate)",
       "SELECT count(*), sum(s.ss_qty) FROM rs_sales s WHERE s.ss_customer = {0}", {"1"}, {"450"}},
      {"T18", "", false, "four-way join: customer and store region correlated, category skewed",
       "SELECT st.s_region, i.i_category, count(*) FROM rs_sales s JOIN rs_store st ON st.s_id = s.ss_store "
       "JOIN rs_item i ON i.i_id = s.ss_item JOIN rs_customer cu ON cu.cu_id = s.ss_customer "
       "WHERE cu.cu_region = {0} AND st.s_region = {0} AND i.i_category = {1} AND i.i_color = {1} "
       "GROUP BY 1, 2",
       {"1", "1"}, {"10", "19"}},
  };
}

}  // namespace

std::vector<WorkloadQuery> StarQueries() {
  std::vector<WorkloadQuery> out;
  for (const Template& t : Templates()) {
    for (int cold = 0; cold < 2; ++cold) {
      out.push_back({std::string(t.name) + (cold ? "b" : "a"), std::string(t.reason) + (cold ? " (cold)" : " (hot)"),
                     Fill(t.sql, cold ? t.cold : t.hot), t.family, t.late});
    }
  }
  return out;
}

}  // namespace ruvector_dag::cli

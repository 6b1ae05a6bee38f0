"""What the server declared about each snapshotted column, and the server facts that change answers.

A query reproduced on a snapshot must follow the source's rules for the columns' *declared* types
(``character(25)`` compares without its trailing blanks, ``numeric(15,2)`` divides exactly) and
collations, and for the server's settings (MySQL ``sql_mode``, ``div_precision_increment``, the
session time zone). The connector records them (docs/sql.md, docs/format.md):

* per column, in the Arrow field metadata of the table node (hashed: it is content):
  ``source_type`` — the type as the server prints it (PostgreSQL ``format_type``:
  ``character(25)``, ``numeric(15,2)``, ``bigint``, ``character varying(40)``; MySQL
  ``COLUMN_TYPE``: ``char(25)``, ``decimal(15,2)``, ``int(11)``) — and, for text columns,
  ``collation`` (PostgreSQL: the column's collation name, ``default`` meaning the database's;
  MySQL/MariaDB: the column's collation, e.g. ``utf8mb4_general_ci``);
* per snapshot, in the version record (``sources.<table>.volatile.server``, not hashed: a minor
  upgrade or another login must not mint a new version of identical rows): ``version``, ``user``
  and the settings a new session of that user gets (see :func:`pg_server_facts`,
  :func:`my_server_facts`).

:func:`lakepkg.query.source_schema.source_schema` reads both back.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from .sql_types import ColumnPlan

#: PostgreSQL types whose values carry a collation
_PG_COLLATABLE = {"text", "varchar", "bpchar", "name", "citext"}


# -- PostgreSQL -------------------------------------------------------------------------------

def pg_origins(cur: Any) -> list[tuple[int, int, int, int]]:
    """(type oid, type modifier, source table oid, column number) of each column of the cursor's
    last result (psycopg's ``pgresult``; table oid 0 for an expression)."""
    r = cur.pgresult
    if r is None:
        return []
    return [(r.ftype(i), r.fmod(i), r.ftable(i), r.ftablecol(i)) for i in range(r.nfields)]


def pg_declare(conn: Any, plans: Sequence[ColumnPlan], origins: Sequence[tuple[int, int, int, int]]) -> None:
    """Set ``source_type`` and ``collation`` on each plan (read inside the snapshot's transaction)."""
    if len(origins) != len(plans):
        return
    with conn.cursor() as cur:
        cur.execute("SELECT format_type(t.oid, t.mod), tt.typname, coalesce(co.collname, ''), "
                    "coalesce(tt.typcollation, 0) <> 0 "
                    "FROM unnest(%s::oid[], %s::int[], %s::oid[], %s::int2[]) WITH ORDINALITY AS t(oid, mod, rel, att, i) "
                    "JOIN pg_type tt ON tt.oid = t.oid "
                    "LEFT JOIN pg_attribute a ON a.attrelid = t.rel AND a.attnum = t.att AND t.rel <> 0 "
                    "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
                    "ORDER BY t.i",
                    ([o[0] for o in origins], [o[1] for o in origins], [o[2] for o in origins],
                     [o[3] for o in origins]))
        rows = cur.fetchall()
    for plan, (declared, _typname, collname, collatable) in zip(plans, rows):
        plan.extra["source_type"] = str(declared)
        if collatable:
            plan.extra["collation"] = collname or "default"


def pg_server_facts(conn: Any) -> dict[str, Any]:
    """The server and session facts that change answers (not hashed: the version record).

    Settings are those a new session of this user gets (``reset_val``), before the connector's own
    ``SET TIME ZONE 'UTC'``."""
    with conn.cursor() as cur:
        cur.execute("SELECT current_setting('server_version'), current_user, d.datcollate, d.datctype, "
                    "d.datlocprovider::text, pg_encoding_to_char(d.encoding) FROM pg_database d "
                    "WHERE d.datname = current_database()")
        version, user, collate, ctype, provider, encoding = cur.fetchone()
        cur.execute("SELECT name, reset_val FROM pg_settings WHERE name IN ('TimeZone', 'DateStyle', "
                    "'IntervalStyle', 'extra_float_digits', 'standard_conforming_strings', 'search_path')")
        settings = {str(n).lower(): v for n, v in cur.fetchall()}
    providers = {"c": "libc", "i": "icu", "b": "builtin"}
    return {"version": str(version), "user": str(user), "time_zone": settings.get("timezone"),
            "database_collation": collate, "database_ctype": ctype,
            "collation_provider": providers.get(str(provider), str(provider)), "encoding": encoding,
            "datestyle": settings.get("datestyle"), "intervalstyle": settings.get("intervalstyle"),
            "extra_float_digits": settings.get("extra_float_digits"), "search_path": settings.get("search_path"),
            "standard_conforming_strings": settings.get("standard_conforming_strings")}


# -- MySQL / MariaDB --------------------------------------------------------------------------

def my_declare(conn: Any, plans: Sequence[ColumnPlan], fields: Sequence[Any], inner_sql: str,
               qualified: Optional[str]) -> None:
    """Set ``source_type`` and ``collation`` on each plan.

    A whole table: ``information_schema.COLUMNS`` (``COLUMN_TYPE``, ``COLLATION_NAME``). A query's
    result: the type from the protocol's field descriptor (``char(25)``: the length in bytes over
    the character set's widest character) and the collation MySQL gives the expression
    (``COLLATION(col)``, evaluated over the query's result shape, zero rows read)."""
    if len(fields) != len(plans) or not plans:
        return
    cur = conn.cursor()
    try:
        if qualified:
            db, _, table = qualified.partition(".")
            cur.execute("SELECT COLUMN_NAME, COLUMN_TYPE, COLLATION_NAME FROM information_schema.COLUMNS "
                        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (db, table))
            cols = {str(n): (str(t), c) for n, t, c in cur.fetchall()}
            if all(p.name in cols for p in plans):
                for p in plans:
                    declared, collation = cols[p.name]
                    p.extra["source_type"] = declared
                    if collation:
                        p.extra["collation"] = str(collation)
                return
        cur.execute("SELECT co.ID, co.COLLATION_NAME, cs.MAXLEN FROM information_schema.COLLATIONS co "
                    "JOIN information_schema.CHARACTER_SETS cs ON cs.CHARACTER_SET_NAME = co.CHARACTER_SET_NAME")
        maxlen = {int(i): int(m) for i, _n, m in cur.fetchall()}
        text = [i for i, f in enumerate(fields) if _my_is_text(plans[i], f)]
        collations: dict[int, str] = {}
        if text:
            quoted = ["`" + plans[i].name.replace("`", "``") + "`" for i in text]
            cur.execute(f"SELECT {', '.join(f'COLLATION({q})' for q in quoted)} FROM (SELECT 1 AS lakepkg_one) "
                        f"AS lakepkg_o LEFT JOIN (SELECT * FROM ({inner_sql}) AS lakepkg_i LIMIT 0) AS lakepkg_q ON TRUE")
            row = cur.fetchone() or ()
            collations = {i: str(c) for i, c in zip(text, row) if c and str(c) != "binary"}
        for i, (p, f) in enumerate(zip(plans, fields)):
            p.extra["source_type"] = _my_type(p, f, maxlen.get(int(f.charsetnr), 1))
            if i in collations:
                p.extra["collation"] = collations[i]
    finally:
        cur.close()


def _my_is_text(plan: ColumnPlan, field: Any) -> bool:
    return plan.sql_type in ("char", "varchar", "text", "enum", "set") and int(field.charsetnr) != 63


def _my_type(plan: ColumnPlan, field: Any, maxlen: int) -> str:
    base = plan.sql_type
    if base in ("char", "varchar", "binary", "varbinary"):
        width = int(field.length) // max(maxlen, 1) if base in ("char", "varchar") else int(field.length)
        return f"{base}({width})"
    return base


def my_server_facts(conn: Any) -> dict[str, Any]:
    """The server facts that change answers (not hashed: the version record): what a new session
    gets (``@@GLOBAL``), before the connector's own ``time_zone = '+00:00'``."""
    cur = conn.cursor()
    try:
        cur.execute("SELECT VERSION(), CURRENT_USER(), @@GLOBAL.time_zone, @@system_time_zone, @@GLOBAL.sql_mode, "
                    "@@GLOBAL.div_precision_increment, @@GLOBAL.collation_server, @@GLOBAL.character_set_server, "
                    "@@collation_database, @@GLOBAL.collation_connection, @@lower_case_table_names, "
                    "@@GLOBAL.default_week_format, @@GLOBAL.group_concat_max_len")
        (version, user, tz, system_tz, mode, dpi, coll_server, cs_server, coll_db, coll_conn, lctn,
         week, gc_max) = cur.fetchone()
    finally:
        cur.close()
    return {"version": str(version), "user": str(user), "time_zone": str(tz), "system_time_zone": str(system_tz),
            "sql_mode": str(mode), "div_precision_increment": int(dpi), "collation_server": str(coll_server),
            "character_set_server": str(cs_server), "database_collation": str(coll_db),
            "collation_connection": str(coll_conn), "lower_case_table_names": int(lctn),
            "default_week_format": int(week), "group_concat_max_len": int(gc_max)}

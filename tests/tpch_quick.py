"""TPC-H at a small scale in the test servers, with TPC-H's own column types (CHAR(n), DECIMAL(15,2),
primary keys): the data and the 22 query texts come from DuckDB's ``tpch`` extension (the
``duckdb-extension-tpch`` wheel), nothing written here."""
from __future__ import annotations

import os
import tempfile
from typing import Any

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]

DDL = {
    "region": "r_regionkey INTEGER NOT NULL, r_name CHAR(25) NOT NULL, r_comment VARCHAR(152), PRIMARY KEY (r_regionkey)",
    "nation": "n_nationkey INTEGER NOT NULL, n_name CHAR(25) NOT NULL, n_regionkey INTEGER NOT NULL, "
              "n_comment VARCHAR(152), PRIMARY KEY (n_nationkey)",
    "supplier": "s_suppkey INTEGER NOT NULL, s_name CHAR(25) NOT NULL, s_address VARCHAR(40) NOT NULL, "
                "s_nationkey INTEGER NOT NULL, s_phone CHAR(15) NOT NULL, s_acctbal DECIMAL(15,2) NOT NULL, "
                "s_comment VARCHAR(101) NOT NULL, PRIMARY KEY (s_suppkey)",
    "customer": "c_custkey INTEGER NOT NULL, c_name VARCHAR(25) NOT NULL, c_address VARCHAR(40) NOT NULL, "
                "c_nationkey INTEGER NOT NULL, c_phone CHAR(15) NOT NULL, c_acctbal DECIMAL(15,2) NOT NULL, "
                "c_mktsegment CHAR(10) NOT NULL, c_comment VARCHAR(117) NOT NULL, PRIMARY KEY (c_custkey)",
    "part": "p_partkey INTEGER NOT NULL, p_name VARCHAR(55) NOT NULL, p_mfgr CHAR(25) NOT NULL, "
            "p_brand CHAR(10) NOT NULL, p_type VARCHAR(25) NOT NULL, p_size INTEGER NOT NULL, "
            "p_container CHAR(10) NOT NULL, p_retailprice DECIMAL(15,2) NOT NULL, p_comment VARCHAR(23) NOT NULL, "
            "PRIMARY KEY (p_partkey)",
    "partsupp": "ps_partkey INTEGER NOT NULL, ps_suppkey INTEGER NOT NULL, ps_availqty INTEGER NOT NULL, "
                "ps_supplycost DECIMAL(15,2) NOT NULL, ps_comment VARCHAR(199) NOT NULL, "
                "PRIMARY KEY (ps_partkey, ps_suppkey)",
    "orders": "o_orderkey INTEGER NOT NULL, o_custkey INTEGER NOT NULL, o_orderstatus CHAR(1) NOT NULL, "
              "o_totalprice DECIMAL(15,2) NOT NULL, o_orderdate DATE NOT NULL, o_orderpriority CHAR(15) NOT NULL, "
              "o_clerk CHAR(15) NOT NULL, o_shippriority INTEGER NOT NULL, o_comment VARCHAR(79) NOT NULL, "
              "PRIMARY KEY (o_orderkey)",
    "lineitem": "l_orderkey INTEGER NOT NULL, l_partkey INTEGER NOT NULL, l_suppkey INTEGER NOT NULL, "
                "l_linenumber INTEGER NOT NULL, l_quantity DECIMAL(15,2) NOT NULL, "
                "l_extendedprice DECIMAL(15,2) NOT NULL, l_discount DECIMAL(15,2) NOT NULL, "
                "l_tax DECIMAL(15,2) NOT NULL, l_returnflag CHAR(1) NOT NULL, l_linestatus CHAR(1) NOT NULL, "
                "l_shipdate DATE NOT NULL, l_commitdate DATE NOT NULL, l_receiptdate DATE NOT NULL, "
                "l_shipinstruct CHAR(25) NOT NULL, l_shipmode CHAR(10) NOT NULL, l_comment VARCHAR(44) NOT NULL, "
                "PRIMARY KEY (l_orderkey, l_linenumber)",
}


def generate(sf: float = 0.01) -> tuple[dict[str, Any], dict[int, str]]:
    """TPC-H's tables as Arrow tables at scale ``sf``, and its 22 queries by number."""
    import duckdb
    import duckdb_extension_tpch

    base = os.path.join(os.path.dirname(duckdb_extension_tpch.__file__), "extensions")
    path = os.path.join(base, os.listdir(base)[0], "tpch.duckdb_extension")
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    try:
        con.execute(f"LOAD '{path}'")
        con.execute(f"CALL dbgen(sf={sf})")
        data = {}
        for t in TABLES:
            got = con.execute(f"SELECT * FROM {t}").arrow()
            data[t] = got.read_all() if hasattr(got, "read_all") else got
        queries = {int(n): q for n, q in con.execute("SELECT query_nr, query FROM tpch_queries()").fetchall()}
    finally:
        con.close()
    return data, queries


def _tsv(v: Any) -> str:
    if v is None:
        return "\\N"
    return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def load_pg(conn: Any, data: dict[str, Any]) -> None:
    """Create TPC-H's tables in a psycopg (autocommit) connection's database and COPY the rows in."""
    for t in TABLES:
        conn.execute(f"CREATE TABLE {t} ({DDL[t]})")
        with conn.cursor() as cur, cur.copy(f"COPY {t} FROM STDIN") as cp:
            for row in zip(*[c.to_pylist() for c in data[t].columns]):
                cp.write_row(row)
    conn.execute("ANALYZE")


def load_mysql(conn: Any, data: dict[str, Any]) -> None:
    """Create TPC-H's tables in a pymysql connection's database (opened with local_infile=True) and
    LOAD DATA the rows in."""
    with conn.cursor() as cur, tempfile.TemporaryDirectory() as tmp:
        for t in TABLES:
            cur.execute(f"CREATE TABLE {t} ({DDL[t]})")
            path = os.path.join(tmp, f"{t}.tsv")
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                for row in zip(*[c.to_pylist() for c in data[t].columns]):
                    f.write("\t".join(map(_tsv, row)) + "\n")
            cur.execute(f"LOAD DATA LOCAL INFILE %s INTO TABLE {t} CHARACTER SET utf8mb4", (path,))
    conn.commit()

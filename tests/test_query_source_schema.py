"""SQL snapshots record each column's declared type and collation (content) and the server facts that
change answers (version record); another login or a server upgrade mints no new version (issue 24
part 1, issue 23 item 9); versions made before keep reading as before."""
from __future__ import annotations

import uuid

import lakepkg
from lakepkg.query.source_schema import source_schema
from lakepkg.write.build import PackageBuilder
from lakepkg.source.table_snapshot import TableSnapshot
from tests.fixtures.databases import mysql_exec, pg_exec

PG_DDL = ('CREATE TABLE region (r_regionkey int PRIMARY KEY, r_name char(25), r_comment varchar(152) COLLATE "C", '
          'amount numeric(15,2), n bigint)')


def test_pg_declared_types_collations_and_settings(pg_url, registry):
    pg_exec(pg_url, PG_DDL, "INSERT INTO region VALUES (1, 'EUROPE', 'x', 1.50, 7)")
    role = f"lp_other_{uuid.uuid4().hex[:8]}"
    pg_exec(pg_url, f"CREATE ROLE {role} LOGIN", f"GRANT SELECT ON region TO {role}")
    try:
        first = lakepkg.snapshot("sql", url=pg_url, to="s/pg", tables="public.region",
                             queries={"q": "SELECT r_regionkey, r_name || '!' AS shout, amount / 3 AS third FROM region"},
                             key={"q": "r_regionkey"}, registry=registry)
        # the same rows read by another login: the same top hash (the user is not content)
        other = lakepkg.snapshot("sql", url=pg_url.replace("postgres@", f"{role}@"), to="s/pg2", tables="public.region", registry=registry)
        alone = lakepkg.snapshot("sql", url=pg_url, to="s/pg3", tables="public.region", registry=registry)
        assert other.record.top_hash == alone.record.top_hash
        assert other.record.sources["region"]["volatile"]["server"]["user"] == role
    finally:
        pg_exec(pg_url, f"DROP OWNED BY {role}", f"DROP ROLE {role}")
    pkg = lakepkg.load("s/pg", registry)
    s = source_schema(pkg["region"])
    assert s.dialect == "postgres" and s.server == "postgresql"
    assert [s.columns[c].type for c in ("r_regionkey", "r_name", "r_comment", "amount", "n")] == [
        "integer", "character(25)", "character varying(152)", "numeric(15,2)", "bigint"]
    assert s.columns["r_name"].collation == "default" and s.columns["r_comment"].collation == "C"
    assert s.columns["amount"].collation is None and s.columns["r_name"].declared
    db_collation = pg_exec(pg_url, "SELECT datcollate FROM pg_database WHERE datname = current_database()")[0][0]
    assert s.collation("r_name") == db_collation and s.settings["database_collation"] == db_collation
    assert s.settings["version"].split()[0] == pg_exec(pg_url, "SHOW server_version")[0][0].split()[0]
    assert s.settings["time_zone"] and s.settings["user"] == "postgres"
    q = source_schema(pkg["q"])  # a query's result columns: the expression's type
    assert q.columns["shout"].type == "text" and q.columns["third"].type == "numeric"
    node = pkg["region"].provenance
    assert "server_version" not in node and "postgres@" not in node["url"]


def test_mysql_declared_types_collations_and_settings(mysql_url, registry):
    mysql_exec(mysql_url, "CREATE TABLE region (r_regionkey int PRIMARY KEY, r_name char(25), "
                          "r_comment varchar(152) COLLATE utf8mb4_bin, amount decimal(15,2), "
                          "l varchar(10) CHARACTER SET latin1)",
               "INSERT INTO region VALUES (1, 'EUROPE', 'x', 1.5, 'l')")
    db = mysql_url.rsplit("/", 1)[1]
    lakepkg.snapshot("sql", url=mysql_url, to="s/my", tables=f"{db}.region",
                 queries={"q": "SELECT r_regionkey, r_comment, l, CONCAT(r_name, '!') AS shout, amount / 3 AS third "
                               "FROM region"}, key={"q": "r_regionkey"}, registry=registry)
    pkg = lakepkg.load("s/my", registry)
    s = source_schema(pkg["region"])
    assert s.dialect == "mysql" and s.server in ("mariadb", "mysql")
    assert s.columns["r_name"].type == "char(25)" and s.columns["amount"].type == "decimal(15,2)"
    assert s.columns["r_comment"].type == "varchar(152)" and s.columns["r_comment"].collation == "utf8mb4_bin"
    assert s.columns["l"].collation == "latin1_swedish_ci" and s.columns["r_regionkey"].collation is None
    default = mysql_exec(mysql_url, "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                                    f"'{db}' AND TABLE_NAME = 'region' AND COLUMN_NAME = 'r_name'")[0][0]
    assert s.columns["r_name"].collation == default
    dpi, mode = mysql_exec(mysql_url, "SELECT @@GLOBAL.div_precision_increment, @@GLOBAL.sql_mode")[0]
    assert s.settings["div_precision_increment"] == dpi and s.settings["sql_mode"] == mode
    q = source_schema(pkg["q"])  # a query's columns: the collation MySQL gives each expression
    assert q.columns["r_comment"].collation == "utf8mb4_bin" and q.columns["l"].collation == "latin1_swedish_ci"
    assert q.columns["l"].type == "varchar(10)" and q.columns["third"].type == "decimal(19,6)"
    assert "server_version" not in pkg["region"].provenance and "root@" not in pkg["region"].provenance["url"]


def test_versions_before_the_move_read_as_before(registry):
    """A table node written by lakepkg-sql-types-v2 (server_version in the provenance, no source_type)."""
    import pyarrow as pa

    schema = pa.schema([pa.field("k", pa.int32(), metadata={"sql_type": "int4"}),
                        pa.field("name", pa.string(), metadata={"sql_type": "bpchar"})])
    prov = {"connector": "sql", "dialect": "postgresql", "server_version": "15.20 (Debian 15.20-0+deb12u1)",
            "database": "shop", "url": "postgresql+psycopg://app@127.0.0.1:5432/shop", "type_mapping": "lakepkg-sql-types-v2"}
    b = PackageBuilder(registry)
    b.add_snapshot(TableSnapshot(name="r", schema=schema, provenance=prov,
                                 batches=[pa.record_batch([pa.array([1], pa.int32()), pa.array(["EUROPE"])], schema=schema)]))
    res = b.publish("old/v2")
    t = lakepkg.load("old/v2", registry)["r"]
    assert t.provenance == prov and res.created
    s = source_schema(t)
    assert s.settings == {"version": "15.20 (Debian 15.20-0+deb12u1)"}
    assert s.columns["name"].type == "bpchar" and not s.columns["name"].declared and s.columns["name"].collation is None

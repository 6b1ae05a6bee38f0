"""A value a column's Arrow type cannot hold is refused in one line naming the table, the column, the
value and what to write in the query instead — on every read method (auto, adbc, dbapi, sqlalchemy),
never a driver's or pyarrow's words alone ("Python int too large to convert to C long")."""
from __future__ import annotations

import pytest

import lakepkg
from lakepkg.errors import ConfigError, SourceError
from tests.fixtures.databases import mysql_exec, pg_exec


def _refusal(url: str, table: str, method: str, registry) -> str:
    with pytest.raises(SourceError) as ei:
        lakepkg.snapshot("sql", to="refuse/t", url=url, tables={"t": table}, method=method, registry=registry)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith("table 't': ")
    with pytest.raises(lakepkg.errors.NotFoundError):
        registry.resolve("refuse/t")                         # nothing published
    return msg


@pytest.mark.parametrize("method", ["auto", "dbapi", "sqlalchemy"])
def test_mariadb_unsigned_max_and_zero_dates_name_column_value_remedy(mysql_url, registry, method):
    url = mysql_url.replace("mysql://", "mysql+pymysql://") if method == "sqlalchemy" else mysql_url
    mysql_exec(mysql_url, "SET SESSION sql_mode = ''",
               "CREATE TABLE z (id int PRIMARY KEY, d date)", "INSERT INTO z VALUES (1, '2024-01-01'), (2, '0000-00-00')",
               "CREATE TABLE u (id int PRIMARY KEY, big bigint unsigned, s varchar(3))",
               "INSERT INTO u VALUES (1, 5, 'a'), (2, 18446744073709551615, 'b')")
    msg = _refusal(url, "z", method, registry)
    assert "column 'd'" in msg and "'0000-00-00'" in msg and "NULLIF(d, '0000-00-00')" in msg, msg
    if method == "sqlalchemy":   # auto/dbapi read it as uint64, which holds it
        msg = _refusal(url, "u", method, registry)
        assert "column 'big'" in msg and "18446744073709551615" in msg and "CAST(big AS DECIMAL(20,0))" in msg, msg
    else:
        r = lakepkg.snapshot("sql", to="refuse/u", url=url, tables={"t": "u"}, method=method, registry=registry)
        got = lakepkg.load(f"refuse/u@{r.record.top_hash}", registry)["t"].to_arrow().sort_by("id")
        assert got.column("big").to_pylist() == [5, 18446744073709551615]


@pytest.mark.parametrize("method", ["auto", "adbc", "dbapi", "sqlalchemy"])
def test_postgres_intervals_are_exact_or_refused_naming_the_column(pg_url, registry, method):
    url = pg_url.replace("postgresql://", "postgresql+psycopg://") if method == "sqlalchemy" else pg_url
    pg_exec(pg_url, "CREATE TABLE iv (id int PRIMARY KEY, d interval)", "INSERT INTO iv VALUES (1, '1 mon'), (2, '30 days')")
    if method == "sqlalchemy":   # a timedelta would make '1 mon' and '30 days' one value
        msg = _refusal(url, "public.iv", method, registry)
        assert "column 'd' (interval)" in msg and "d::text" in msg and "method auto/dbapi" in msg, msg
        return
    r = lakepkg.snapshot("sql", to="refuse/iv", url=url, tables={"t": "public.iv"}, method=method, registry=registry)
    got = lakepkg.load(f"refuse/iv@{r.record.top_hash}", registry)["t"].to_arrow().sort_by("id")
    assert got.column("d").to_pylist()[0] != got.column("d").to_pylist()[1]   # months kept apart from days


def test_adbc_on_mariadb_is_a_config_error(mysql_url, registry):
    with pytest.raises(ConfigError, match="PostgreSQL only"):
        lakepkg.snapshot("sql", to="refuse/t", url=mysql_url, tables={"t": "x"}, method="adbc", registry=registry)

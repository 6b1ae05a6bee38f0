"""A query's WHERE prunes the read plan: fragments whose partition values or min/max statistics
cannot match are not read, and the answer is the same as reading everything."""
from __future__ import annotations

import pyarrow as pa
import pytest

from lakepkg.write.build import PackageBuilder


def test_where_terms_prune_fragments_and_keep_the_answer(registry):
    import lakepkg
    from lakepkg.query import plan
    from lakepkg.query.tables import dataset

    n = 40_000
    b = PackageBuilder(registry)
    b.add_table("events", pa.table({"id": pa.array(range(n), pa.int64()), "day": [i // 1000 for i in range(n)],
                                    "kind": ["a" if i % 3 else "b" for i in range(n)],
                                    "v": [float(i % 97) for i in range(n)]}),
                partition_cols=["kind"], rows_per_fragment=2_000)
    ref = f"logs/events@{b.publish('logs/events').top_hash[:10]}"
    sql = "SELECT kind, count(*) AS n, sum(v) AS s FROM events WHERE day >= 37 AND kind = 'b' GROUP BY kind"
    t, bound = plan(sql, ref, dialect="postgres", registry=registry)
    terms = t.filters[bound[0].binding.view]
    assert sorted(terms) == [("day", ">=", 37), ("kind", "==", "b")]
    table = bound[0].table
    every = len(table.scan().tasks)
    read = len(dataset(table, terms).files)
    assert every >= 20 and 0 < read <= every // 5, (read, every)
    want = [(r["kind"], r["n"], r["s"]) for r in lakepkg.query(
        "SELECT kind, count(*) AS n, sum(v) AS s FROM events WHERE (day >= 37 OR day < 0) AND kind || '' = 'b' "
        "GROUP BY kind", ref, dialect="postgres", registry=registry).to_pylist()]  # the same, unprunable
    got = [(r["kind"], r["n"], r["s"]) for r in lakepkg.query(sql, ref, dialect="postgres", registry=registry).to_pylist()]
    assert got == want and got[0][1] == sum(1 for i in range(37_000, n) if i % 3 == 0)
    t2, _ = plan("SELECT count(*) FROM events WHERE (day >= 37 OR day < 0) AND kind || '' = 'b'", ref,
                 dialect="postgres", registry=registry)
    assert t2.filters == {}


def test_the_engine_reads_nothing_but_the_snapshot(registry, tmp_path):
    import lakepkg
    from lakepkg.errors import NotFoundError, QueryError

    b = PackageBuilder(registry)
    b.add_table("t", pa.table({"x": [1, 2]}))
    ref = f"ns/t@{b.publish('ns/t').top_hash[:10]}"
    live = tmp_path / "live.csv"
    live.write_text("x\n5\n")
    with pytest.raises(QueryError, match="failed on the snapshot: Permission Error"):
        lakepkg.query(f"SELECT * FROM read_csv('{live}')", ref, registry=registry)
    with pytest.raises(NotFoundError, match=r"reads main\.u, which snapshot ns/t@\w+ does not hold"):
        lakepkg.query("SELECT * FROM t JOIN main.u ON true", ref, registry=registry)
    # views of one query never leak into the next one
    assert lakepkg.query("SELECT sum(x) AS s FROM t", ref, registry=registry).to_pylist() == [{"s": 3}]

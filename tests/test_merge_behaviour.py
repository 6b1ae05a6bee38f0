"""lakepkg merge beyond the scenario table: storage that follows the change, history (criss-cross
bases, ancestors, fast-forward), resolving conflicts, how a merge shows in log/show/diff/notebook,
and bad input — one line, non-zero exit, nothing published (issue 21)."""
from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest

import lakepkg
from lakepkg.cli import run
from lakepkg.errors import ConcurrentUpdateError, ConfigError
from lakepkg.registry import open_registry
from tests.cli_run import run_cli
from tests.merge_scenarios import BASE, edit, publish_side, r

KEY = ["id"]
BIG = r(*[(i, i, "v") for i in range(1, 401)])


def _rows(reg, ref: str, table: str = "t") -> list[tuple]:
    t = lakepkg.load(ref, reg).table(table).to_arrow()
    return sorted(tuple(row.values()) for row in t.to_pylist())


@pytest.fixture()
def reg(tmp_path):
    return open_registry(str(tmp_path / "reg"))


def _fork(reg, ours_rows, theirs_rows, base_rows=BIG):
    publish_side(reg, "m/main", {"t": base_rows}, key=KEY)
    lakepkg.clone("m/main", "m/team", registry=reg)
    publish_side(reg, "m/main", {"t": ours_rows}, key=KEY)
    publish_side(reg, "m/team", {"t": theirs_rows}, key=KEY)


def test_result_keeps_our_fragments_and_stores_the_changed_rows(reg):
    ours = edit(BIG, update={i: {"a": -i} for i in range(3, 400, 41)})
    theirs = edit(BIG, update={i: {"b": "t"} for i in range(10, 400, 57)}, delete=(100, 250))
    _fork(reg, ours, theirs)
    before = lakepkg.load("m/main", reg).table("t")
    res = lakepkg.merge("m/main", "m/team", "m/main", registry=reg)
    assert res.status == "merged" and res.published.created
    after = lakepkg.load("m/main", reg).table("t")
    kept = {f.object for f in before.fragments()}
    new = [f for f in after.fragments() if f.object not in kept]
    assert sum(f.rows for f in new) == 7  # theirs' 7 changed rows, nothing else written again
    assert any(f.entry.deletes for f in after.fragments())  # the rows they replace: deletion vectors
    facts = res.tables["t"]
    assert facts["layout"] == "ours" and facts["new_rows"] == 7 and facts["rows_deleted"] == 9
    assert after.rows == 398
    want = edit(BIG, update={**{i: {"a": -i} for i in range(3, 400, 41)}}, delete=(100, 250))
    want = edit(want, update={i: {"b": "t"} for i in range(10, 400, 57)})
    assert _rows(reg, "m/main") == sorted(tuple(x.values()) for x in want)


def test_merge_shows_as_one_in_log_show_diff_and_notebook(reg, capsys):
    _fork(reg, edit(BIG, update={1: {"a": 0}}), edit(BIG, update={2: {"a": 0}}))
    res = lakepkg.merge("m/main", "m/team", "m/main", registry=reg, message="bring team work")
    rec = res.published.record
    assert rec.merge["parents"][0].startswith("m/main@") and rec.merge["parents"][1].startswith("m/team@")
    assert rec.merge["base"].startswith("m/main@") and rec.parents == rec.merge["parents"]
    loc = reg.location
    assert run(["log", "m/main", "-r", loc]) == 0
    assert "merge of m/main@" in capsys.readouterr().out
    assert run(["show", "m/main", "-r", loc]) == 0
    assert "merge of m/main@" in capsys.readouterr().out
    assert run(["diff", rec.merge["parents"][0], "m/main", "-r", loc]) == 0
    assert "is a merge of" in capsys.readouterr().out
    assert run(["diff", rec.merge["parents"][0], "m/main", "-r", loc, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["merge"]["parents"] == rec.merge["parents"]
    assert "merge of m/main@" in lakepkg.load("m/main", reg)._repr_html_()
    assert "merge of m/main@" in lakepkg.log("m/main", registry=reg)._repr_html_()
    assert "Merge: merged" in res._repr_html_() and "m/team@" in res._repr_html_()


def test_merge_with_itself_or_an_ancestor_mints_nothing(reg):
    publish_side(reg, "m/main", {"t": BIG}, key=KEY)
    first = reg.resolve("m/main").top_hash
    publish_side(reg, "m/main", {"t": edit(BIG, update={1: {"a": 0}})}, key=KEY)
    n = len(reg.history("m/main"))
    for theirs in ("m/main", f"m/main@{first[:10]}"):
        res = lakepkg.merge("m/main", theirs, "m/main", registry=reg)
        assert res.status == "up-to-date" and res.published is None
    assert len(reg.history("m/main")) == n
    # ours in theirs' history: a fast-forward to theirs
    lakepkg.clone("m/main", "m/ff", registry=reg)
    publish_side(reg, "m/ff", {"t": edit(BIG, update={1: {"a": 0}, 2: {"a": 0}})}, key=KEY)
    res = lakepkg.merge("m/main", "m/ff", "m/main", registry=reg)
    assert res.status == "fast-forward" and reg.resolve("m/main").top_hash == reg.resolve("m/ff").top_hash


def test_three_successive_merges_criss_cross(reg):
    """Two teams merge each other's work back and forth; the third merge's base is the newest
    common ancestor, not the original snapshot (a criss-cross)."""
    publish_side(reg, "m/a", {"t": BASE}, key=KEY)
    lakepkg.clone("m/a", "m/b", registry=reg)
    publish_side(reg, "m/a", {"t": edit(BASE, update={1: {"a": 1}})}, key=KEY)
    publish_side(reg, "m/b", {"t": edit(BASE, update={2: {"a": 2}})}, key=KEY)
    a1, b1 = reg.resolve("m/a").top_hash, reg.resolve("m/b").top_hash
    assert lakepkg.merge("m/a", f"m/b@{b1[:10]}", "m/a", registry=reg).status == "merged"
    assert lakepkg.merge("m/b", f"m/a@{a1[:10]}", "m/b", registry=reg).status == "merged"
    # both sides now hold rows 1 and 2 changed; each changes one more row
    publish_side(reg, "m/a", {"t": edit(BASE, update={1: {"a": 1}, 2: {"a": 2}, 3: {"b": "A"}})}, key=KEY)
    publish_side(reg, "m/b", {"t": edit(BASE, update={1: {"a": 1}, 2: {"a": 2}, 4: {"b": "B"}})}, key=KEY)
    res = lakepkg.merge("m/a", "m/b", "m/a", registry=reg)
    assert res.status == "merged", res.lines()
    assert res.base not in (None,) and not res.base.endswith(reg.history("m/a")[0].top_hash)
    want = edit(BASE, update={1: {"a": 1}, 2: {"a": 2}, 3: {"b": "A"}, 4: {"b": "B"}})
    assert _rows(reg, "m/a") == sorted(tuple(x.values()) for x in want)


def test_conflicts_package_reads_as_pandas_and_query_and_resolves(reg, tmp_path, capsys):
    _fork(reg, edit(BIG, update={3: {"a": 31}, 4: {"a": 41}}), edit(BIG, update={3: {"a": 32}, 4: {"b": "x"}}))
    ours = reg.resolve("m/main").top_hash
    rc = run(["merge", "m/main", "m/team", "--to", "m/main", "-r", reg.location])
    out = capsys.readouterr().out
    assert rc == 1 and "t: 1 conflicting row (1 cell)" in out and "m/main-conflicts@" in out
    assert reg.resolve("m/main").top_hash == ours
    df = lakepkg.load("m/main-conflicts", reg).table("t").to_pandas()
    assert df[["id", "base_a", "our_a", "their_a"]].values.tolist() == [[3, 3, 31, 32]]
    assert list(df["our_diff_type"]) == ["modified"] and list(df["conflict_columns"][0]) == ["a"]
    got = lakepkg.query("SELECT id, our_a, their_a FROM t", package="m/main-conflicts", registry=reg)
    assert got.to_pylist() == [{"id": 3, "our_a": 31, "their_a": 32}]
    # resolve with a CSV file of the chosen rows
    path = tmp_path / "chosen.csv"
    pd.DataFrame([{"id": 3, "a": 30, "b": "v"}]).to_csv(path, index=False)
    assert run(["merge", "m/main", "m/team", "--to", "m/main", "--resolve", f"t={path}", "-r", reg.location]) == 0
    capsys.readouterr()
    rows = dict((x[0], x[1:]) for x in _rows(reg, "m/main"))
    assert rows[3] == (30, "v") and rows[4] == (41, "x")


def test_resolve_with_a_frame_in_python(reg):
    _fork(reg, edit(BIG, delete=(5,)), edit(BIG, update={5: {"a": 55}}))
    with pytest.raises(ConfigError, match="not in conflict"):
        lakepkg.merge("m/main", "m/team", "m/main", registry=reg, resolve={"t": pd.DataFrame([{"id": 6, "a": 1, "b": "q"}])})
    with pytest.raises(ConfigError, match="missing b"):
        lakepkg.merge("m/main", "m/team", "m/main", registry=reg, resolve={"t": pd.DataFrame([{"id": 5, "a": 1}])})
    res = lakepkg.merge("m/main", "m/team", "m/main", registry=reg,
                        resolve={"t": pa.table({"id": [5], "a": [500], "b": ["r"]})})
    assert res.status == "merged" and (5, 500, "r") in _rows(reg, "m/main")


def test_resolve_first_then_the_strategy_settles_the_rest(reg):
    _fork(reg, edit(BIG, update={3: {"a": 31}, 4: {"a": 41}}), edit(BIG, update={3: {"a": 32}, 4: {"a": 42}}))
    res = lakepkg.merge("m/main", "m/team", "m/main", registry=reg, strategy="theirs",
                        resolve={"t": pd.DataFrame([{"id": 3, "a": 30, "b": "v"}])})
    assert res.status == "merged" and res.tables["t"]["conflicts_resolved"] == 2
    rows = {x[0]: x[1] for x in _rows(reg, "m/main")}
    assert rows[3] == 30 and rows[4] == 42


BAD = [
    ("duplicate keys on one side", "not unique in theirs"),
    ("key column missing on one side", "missing in theirs"),
    ("no common history", "share no history"),
    ("resolve file with wrong columns", "missing b"),
    ("resolve keys not in conflict", "not in conflict"),
    ("a name that moved meanwhile", "moved meanwhile"),
    ("a target whose latest is not ours", "not ours"),
    ("unknown strategy", "use fail, ours or theirs"),
]


@pytest.mark.parametrize("case,text", BAD, ids=[b[0] for b in BAD])
def test_bad_input_one_line_nothing_published(reg, tmp_path, capsys, case, text):
    extra: list[str] = []
    if case == "duplicate keys on one side":
        _fork(reg, edit(BIG, update={1: {"a": 0}}), BIG)
        publish_side(reg, "m/team", {"t": BIG + [{"id": 7, "a": 0, "b": "dup"}]})  # no key: published whole
    elif case == "key column missing on one side":
        _fork(reg, edit(BIG, update={1: {"a": 0}}), BIG)
        publish_side(reg, "m/team", {"t": [{k: v for k, v in x.items() if k != "id"} for x in BIG]})
        extra = ["--key", "t=id"]
    elif case == "no common history":
        publish_side(reg, "m/main", {"t": BIG}, key=KEY)
        publish_side(reg, "m/team", {"t": BIG[:10]}, key=KEY)
    elif case.startswith("resolve"):
        _fork(reg, edit(BIG, update={3: {"a": 31}}), edit(BIG, update={3: {"a": 32}}))
        path = tmp_path / "r.parquet"
        rows = [{"id": 3, "a": 1}] if "columns" in case else [{"id": 9, "a": 1, "b": "z"}]
        pd.DataFrame(rows).to_parquet(path)
        extra = ["--resolve", f"t={path}"]
    elif case == "a target whose latest is not ours":
        _fork(reg, edit(BIG, update={1: {"a": 0}}), edit(BIG, update={2: {"a": 0}}))
        extra = []
        before = {n: [st.key for st in reg.history(n)] for n in reg.list_packages()}
        rc = run(["merge", "m/main", "m/team", "--to", "m/team", "-r", reg.location])
        err = capsys.readouterr().err
        assert rc != 0 and text in err and err.count("\n") == 1, err
        assert {n: [st.key for st in reg.history(n)] for n in reg.list_packages()} == before
        return
    elif case == "a name that moved meanwhile":
        _fork(reg, edit(BIG, update={1: {"a": 0}}), edit(BIG, update={2: {"a": 0}}))
        extra = ["--expect", reg.history("m/main")[0].top_hash[:12]]  # the first version, no longer latest
    else:
        _fork(reg, BIG, BIG)
        extra = ["--strategy", "mine"]
    before = {n: [s.key for s in reg.history(n)] for n in reg.list_packages()}
    rc = run(["merge", "m/main", "m/team", "--to", "m/main", "-r", reg.location, *extra])
    err = capsys.readouterr().err
    assert rc != 0 and text in err and err.count("\n") == 1, err
    assert {n: [s.key for s in reg.history(n)] for n in reg.list_packages()} == before  # nothing published


def test_unrelated_versions_merge_with_an_explicit_base(reg):
    publish_side(reg, "m/main", {"t": BIG}, key=KEY)
    other = edit(BIG, update={3: {"a": 333}})  # another snapshot on its own: no shared history
    publish_side(reg, "m/other", {"t": other}, key=KEY)
    publish_side(reg, "m/main", {"t": edit(BIG, update={1: {"a": 0}})}, key=KEY)
    publish_side(reg, "m/other", {"t": edit(other, update={2: {"a": 0}})}, key=KEY)
    with pytest.raises(ConfigError, match="share no history"):
        lakepkg.merge("m/main", "m/other", "m/main", registry=reg)
    first = reg.history("m/other")[0].top_hash
    res = lakepkg.merge("m/main", "m/other", "m/main", registry=reg, base=f"m/other@{first[:10]}")
    assert res.status == "merged" and res.base.endswith(first)
    assert _rows(reg, "m/main") == sorted(tuple(x.values()) for x in edit(BIG, update={1: {"a": 0}, 2: {"a": 0}}))


def test_cas_refuses_a_publish_racing_the_merge(reg):
    """The compare-and-swap itself: latest moves between the merge's start and its publish."""
    _fork(reg, edit(BIG, update={1: {"a": 0}}), edit(BIG, update={2: {"a": 0}}))
    start = reg.resolve("m/main").top_hash
    publish_side(reg, "m/main", {"t": edit(BIG, update={1: {"a": 0}, 9: {"a": 99}})}, key=KEY)  # someone else
    n = len(reg.history("m/main"))
    with pytest.raises(ConcurrentUpdateError, match="moved meanwhile"):
        lakepkg.merge(f"m/main@{start[:10]}", "m/team", "m/main", registry=reg, expect=start[:10])
    assert len(reg.history("m/main")) == n


def test_cli_process_exit_codes(reg):
    """As a user runs it: a fresh process, one line on stderr, no traceback; --help works."""
    _fork(reg, edit(BIG, update={3: {"a": 31}}), edit(BIG, update={3: {"a": 32}}))
    p = run_cli(["merge", "m/main", "m/team", "--to", "m/main", "-r", reg.location, "--json"], reg.location, check=False)
    assert p.returncode == 1 and json.loads(p.stdout)["status"] == "conflicts" and "Traceback" not in p.stderr
    p = run_cli(["merge", "m/main", "m/nope", "--to", "m/main", "-r", reg.location], reg.location, check=False)
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    for verb in ("merge", "clone"):
        assert run([verb, "--help"]) == 0


def test_partitioned_table_merges_into_partitions(reg):
    """A partitioned table without a recorded key, merged by --key: new rows go to fragments of their
    partitions (a new partition included), replaced rows become vectors on the kept fragments."""
    base = pd.DataFrame({"id": range(1, 9), "ds": ["a"] * 4 + ["b"] * 4, "v": range(10, 18)})
    lakepkg.build("p/main", tables={"t": base}, partition_cols={"t": ["ds"]}, registry=reg)
    lakepkg.clone("p/main", "p/team", registry=reg)
    ours = base.assign(v=[100 if i == 2 else v for i, v in zip(base.id, base.v)])
    theirs = pd.concat([base[base.id != 7], pd.DataFrame({"id": [9], "ds": ["c"], "v": [90]})])
    lakepkg.build("p/main", tables={"t": ours}, partition_cols={"t": ["ds"]}, registry=reg)
    lakepkg.build("p/team", tables={"t": theirs}, partition_cols={"t": ["ds"]}, registry=reg)
    res = lakepkg.merge("p/main", "p/team", "p/main", key={"t": ["id"]}, registry=reg)
    assert res.status == "merged", res.lines()
    t = lakepkg.load("p/main", reg).table("t")
    got = t.to_pandas().sort_values("id")
    assert got[["id", "ds", "v"]].values.tolist() == [[1, "a", 10], [2, "a", 100], [3, "a", 12], [4, "a", 13],
                                                      [5, "b", 14], [6, "b", 15], [8, "b", 17], [9, "c", 90]]
    assert {f.partition.get("ds") for f in t.fragments()} == {"a", "b", "c"}
    assert t.to_pandas(filters=[("ds", "=", "c")])["id"].tolist() == [9]


def test_conflicts_package_reads_in_spark(reg, spark):
    _fork(reg, edit(BIG, update={3: {"a": 31}}), edit(BIG, update={3: {"a": 32}}))
    assert lakepkg.merge("m/main", "m/team", "m/main", registry=reg).status == "conflicts"
    df = lakepkg.load("m/main-conflicts", reg).table("t").to_spark(spark)
    assert [tuple(r) for r in df.select("id", "our_a", "their_a").collect()] == [(3, 31, 32)]


def test_nested_values_merge_as_a_multiset(reg):
    base = pa.table({"x": pa.array([[1], [2]], pa.list_(pa.int64()))})
    lakepkg.build("n/main", tables={"t": base}, registry=reg)
    lakepkg.clone("n/main", "n/team", registry=reg)
    lakepkg.build("n/main", tables={"t": pa.table({"x": pa.array([[1]], pa.list_(pa.int64()))})}, registry=reg)
    lakepkg.build("n/team", tables={"t": pa.table({"x": pa.array([[1], [2], [3]], pa.list_(pa.int64()))})},
                  registry=reg)
    res = lakepkg.merge("n/main", "n/team", "n/main", registry=reg)
    assert res.status == "merged", res.lines()
    got = lakepkg.load("n/main", reg).table("t").to_arrow()["x"].to_pylist()
    assert sorted(got) == [[1], [3]]  # [2] removed on ours, [3] added on theirs

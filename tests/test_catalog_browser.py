"""The web catalog in a real browser: Debian's Chromium driven by Playwright, against the app served by
uvicorn on a free loopback port, over a registry built from real sources (PostgreSQL through the SQL
connector, an Iceberg table, a folder of files, a redaction; an S3 registry on moto).

What each page shows is checked against the Python API's own answer; hostile registry content is
shown as text and runs no script; the guards refuse what they must. Screenshots go to
``$LAKEPKG_CATALOG_SCREENSHOTS`` (docs/img when making the docs), else a temporary folder.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE_SCRIPT = "<script>window.__pwned=1</script>"
HOSTILE_IMG = '<img src=x onerror="window.__pwned=2">'
HOSTILE_LINK = "javascript:window.__pwned=3"
ENTITY = "&lt;b&gt;not bold&lt;/b&gt; &amp; co"


# -- serving ----------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """An ASGI app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, asgi) -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


# -- the registry -----------------------------------------------------------------------------------

def _pg_database():
    from tests.fixtures.databases import PG_HOST, PG_PORT, PG_USER, pg_admin

    name = f"lptest_{uuid.uuid4().hex[:12]}"
    with pg_admin() as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


@pytest.fixture(scope="module")
def catalog_registry(tmp_path_factory, metastore):
    """Versions from PostgreSQL, a Hive metastore (the session's), Iceberg and files, hostile content,
    a redaction and a merge."""
    from tests.fixtures.databases import pg_admin, pg_exec

    base = tmp_path_factory.mktemp("catalog")
    reg = lakepkg.open_registry(str(base / "registry"))
    dbname, url = _pg_database()
    try:
        pg_exec(url, "CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(10,2), ds date)",
                "INSERT INTO orders SELECT i, 'c' || (i % 7), i * 1.25, DATE '2026-11-01' + (i % 3) "
                "FROM generate_series(1, 300) i")
        v1 = lakepkg.snapshot("sql", to="sales/orders", url=url, tables="public.orders", registry=reg,
                              message="nightly load", run={"dag_id": "sales_nightly", "run_id": "scheduled__2026-11-01",
                                                           "task_id": "snapshot"})
        pg_exec(url, "UPDATE orders SET amount = 999.99 WHERE id = 42", "DELETE FROM orders WHERE id = 7",
                "INSERT INTO orders VALUES (301, 'c-new', 5.00, DATE '2026-11-04')")
        v2 = lakepkg.snapshot("sql", to="sales/orders", url=url, tables="public.orders", registry=reg,
                              message="second load", run={"dag_id": "sales_nightly", "run_id": "scheduled__2026-11-02",
                                                          "task_id": "snapshot"})
    finally:
        with pg_admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    from pyiceberg.catalog.sql import SqlCatalog

    props = {"uri": f"sqlite:///{base}/iceberg.db", "warehouse": f"file://{base}/warehouse"}
    cat = SqlCatalog("lake", **props)
    cat.create_namespace("lake")
    events = pa.table({"event_id": pa.array(range(50), pa.int64()), "kind": [f"k{i % 4}" for i in range(50)]})
    cat.create_table("lake.events", schema=events.schema).append(events)
    ice = lakepkg.snapshot("iceberg", to="lake/events", registry=reg, catalog=props, catalog_name="lake",
                           tables=["lake.events"], inputs=[f"sales/orders@{v2.record.top_hash}"])

    # a Hive table of two partitions, registered over Thrift in the session's metastore
    from tests.fixtures.metastore import hms_register_table

    hdb = f"cat_{uuid.uuid4().hex[:8]}"
    parts = []
    for day in ("2026-11-01", "2026-11-02"):
        d = base / "hive" / f"ds={day}"
        d.mkdir(parents=True)
        pq.write_table(pa.table({"id": pa.array([1, 2], pa.int32()), "sku": ["a", "b"]}), str(d / "000000_0"))
        parts.append(([day], "file:" + str(d)))
    hms_register_table(metastore, hdb, "stock", [("id", "int"), ("sku", "string")], "file:" + str(base / "hive"),
                       [("ds", "string")], partitions=parts)
    hive = lakepkg.snapshot("hive", to="wh/stock", registry=reg, metastore=metastore, tables=[f"{hdb}.stock"])

    folder = base / "files" / "ds=2026-11-01"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"sensor": ["a", "b", "c"], "value": [1.5, 2.5, 3.5]}), str(folder / "part-0.parquet"))
    files = lakepkg.snapshot("files", to="raw/sensors", registry=reg, tables={"readings": str(base / "files")})

    hostile = pd.DataFrame({"id": [1, 2, 3], "note": [HOSTILE_SCRIPT, HOSTILE_IMG, ENTITY]})
    readme = (f"# Hostile readme\n\n{HOSTILE_SCRIPT}\n\n{HOSTILE_IMG}\n\n[click me]({HOSTILE_LINK})\n\n"
              "<a href=\"javascript:window.__pwned=4\">raw link</a>\n\n[safe](https://example.org/docs)\n")
    evil = lakepkg.build("evil/pkg", tables={"notes": hostile}, files={"README.md": readme.encode()}, registry=reg,
                         meta={"owner": HOSTILE_SCRIPT, "homepage": HOSTILE_LINK, "entity": ENTITY},
                         message=f"message {HOSTILE_IMG}")

    # a redaction: customer c3's rows leave every version of sales/orders (audit-logged)
    from lakepkg.governance import redact

    gdpr = pd.DataFrame({"id": range(10), "email": [f"u{i}@example.org" for i in range(10)]})
    lakepkg.build("crm/contacts", tables={"contacts": gdpr}, registry=reg, message="contacts")
    redact("contacts", "id = 3", reason="GDPR request 17", packages=["crm/contacts"], registry=reg)
    # a merge: a clone worked on, merged back (both parents in the record)
    plan = pd.DataFrame({"id": [1, 2, 3], "qty": [10, 20, 30]})
    base_v = lakepkg.build("team/plan", tables={"plan": plan}, registry=reg, message="base")
    lakepkg.clone(f"team/plan@{base_v.record.top_hash}", "team/plan-work", registry=reg)
    lakepkg.build("team/plan", tables={"plan": plan.assign(qty=[11, 20, 30])}, registry=reg, message="ours")
    lakepkg.build("team/plan-work", tables={"plan": plan.assign(qty=[10, 20, 33])}, registry=reg, message="theirs")
    merged = lakepkg.merge("team/plan", "team/plan-work", to="team/plan", registry=reg, key={"plan": ["id"]})
    assert merged.status == "merged"
    return {"reg": reg, "merged": merged.published.record, "v1": v1.record.top_hash, "v2": v2.record.top_hash, "ice": ice.record.top_hash,
            "files": files.record.top_hash, "evil": evil.record.top_hash, "hive": hive.record.top_hash,
            "hdb": hdb}


@pytest.fixture(scope="module")
def served(catalog_registry):
    from lakepkg.catalog import app

    srv = Served(app(catalog_registry["reg"], airflow_url="http://airflow.example:8080", allow_write=True))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
                    "tests/run.sh does it")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    yield b
    b.close()
    pw.stop()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    p = ctx.new_page()
    p.dialogs = []
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    yield p
    ctx.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = os.environ.get("LAKEPKG_CATALOG_SCREENSHOTS") or str(tmp_path_factory.mktemp("shots"))
    os.makedirs(folder, exist_ok=True)
    return folder


def _shot(page, folder: str, name: str) -> None:
    path = os.path.join(folder, f"catalog-{name}.png")
    page.screenshot(path=path, full_page=False)
    assert os.path.getsize(path) > 2000


def _cells(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(f"{selector} tbody tr",
                                     "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))")


def _wait_for_lineage_index(page) -> None:
    """Reload until the catalog's background lineage index is built (it starts with the app)."""
    deadline = time.time() + 30
    while "still being built" in page.inner_text("#lineage") and time.time() < deadline:
        time.sleep(0.2)
        page.reload()


# -- the tests --------------------------------------------------------------------------------------

def test_a_user_walks_from_the_packages_to_a_changed_row(served, catalog_registry, page, shots):
    reg, v1, v2 = catalog_registry["reg"], catalog_registry["v1"], catalog_registry["v2"]
    page.goto(served.url + "/")
    listed = [r[0] for r in _cells(page, "#packages")]
    assert listed == reg.list_packages()
    row = next(r for r in _cells(page, "#packages") if r[0] == "sales/orders")
    assert row[1] == v2[:10] and row[3] == "2" and "latest" in row[5]
    _shot(page, shots, "packages")

    page.click(f"#packages a[href$='@{v2}']")
    assert page.url.endswith(f"/p/sales/orders/@{v2}")
    assert page.inner_text("#top-hash") == v2
    pkg = lakepkg.load(f"sales/orders@{v2}", registry=reg)
    t = pkg["orders"]
    trow = _cells(page, "#tables")[0]
    assert trow[0] == "orders" and trow[1] == f"{t.rows:,}" and trow[5] == "id"
    assert "open this run in Airflow" in page.inner_text("#run")
    assert page.get_attribute("#airflow-link", "href") == (
        "http://airflow.example:8080/dags/sales_nightly/runs/scheduled__2026-11-02/tasks/snapshot")
    snippets = {e.get_attribute("data-kind"): e.inner_text() for e in page.query_selector_all("pre.snippet")}
    assert f'lakepkg.load("sales/orders@{v2}")' in snippets["Python"]
    assert snippets["lakepkg.lock"].strip() == f"sales/orders@{v2}"
    _wait_for_lineage_index(page)
    assert "input by: lake/events@" in page.inner_text("#lineage")  # the Iceberg snapshot read this version
    _shot(page, shots, "version")

    page.click("a.table-link")
    shown = _cells(page, "#rows")
    head = t.head(50).to_pylist()
    assert [r[1] for r in shown] == [str(r["id"]) for r in head]
    assert [r[0] for r in _cells(page, "#fragments")] == [f.key for f in t.fragments()]
    page.click("#next-rows")  # the next 50 rows, by cursor
    want_ids = t.to_arrow().column("id").to_pylist()[50:100]
    assert [int(r[1]) for r in _cells(page, "#rows")] == want_ids and [r[0] for r in _cells(page, "#rows")][0] == "51"
    page.go_back()
    frag = t.fragments()[-1]
    page.click(f"a.fragment-link:has-text('{frag.key}')")
    assert [int(r[1]) for r in _cells(page, "#rows")] == frag.to_arrow().column("id").to_pylist()[:100]
    page.go_back()
    stats = {r[0]: r for r in _cells(page, "#stats")}
    assert stats["id"][2] == "1" and stats["id"][3] == "301"
    page.fill("input[name=where]", "id >= 295")
    page.click("#filter button")
    got = [int(r[1]) for r in _cells(page, "#rows")]
    want = t.to_arrow(filters=[("id", ">=", 295)]).column("id").to_pylist()
    assert sorted(got) == sorted(want) and len(got) == 7
    _shot(page, shots, "table")

    page.goto(served.url + "/p/sales/orders/-/history")
    hist = _cells(page, "#history")
    assert [r[2] for r in hist] == [v2[:10], v1[:10]]
    assert "second load" in hist[0][5]
    _shot(page, shots, "history")
    page.click("#compare")
    assert f"a={v1}" in page.url and f"b={v2}" in page.url
    rd = lakepkg.diff(f"sales/orders@{v1}", f"sales/orders@{v2}", registry=reg, rows=True).tables["orders"]
    assert rd.changed.num_rows == 1 and rd.added.num_rows == 1 and rd.removed.num_rows == 1
    assert page.inner_text("#show-changed") == "changed (1)"
    changed = page.query_selector_all("#diff-rows td.cell-changed")
    assert len(changed) == 1
    assert page.inner_text("#diff-rows td.cell-changed del") == "52.50"
    assert page.inner_text("#diff-rows td.cell-changed ins") == "999.99"
    _shot(page, shots, "compare")
    page.click("#show-removed")
    assert [r[1] for r in _cells(page, "#diff-rows")] == ["7"]
    page.click("#show-changed")
    page.click("a.changed-row")
    assert "where=id+%3D+42" in page.url
    row42 = _cells(page, "#rows")
    assert len(row42) == 1 and row42[0][1] == "42" and row42[0][3] == "999.99"


def test_a_hive_version_shows_its_partitions_and_metastore_source(served, catalog_registry, page):
    reg, h = catalog_registry["reg"], catalog_registry["hive"]
    page.goto(served.url + f"/p/wh/stock/@{h}")
    t = lakepkg.load(f"wh/stock@{h}", registry=reg)["stock"]
    row = _cells(page, "#tables")[0]
    assert row[0] == "stock" and row[1] == str(t.rows) == "4" and row[4] == "ds"
    page.click("details.schema summary")
    shown = page.inner_text("details.schema")
    assert "ds=2026-11-01" in shown and "ds=2026-11-02" in shown
    assert f"{catalog_registry['hdb']}.stock" in shown  # the provenance names the metastore table
    page.click("a.table-link")
    page.fill("input[name=where]", "ds = '2026-11-02'")
    page.click("#filter button")
    assert "(1 fragment read)" in page.inner_text("main")  # the other partition was pruned
    assert [r[3] for r in _cells(page, "#rows")] == ["2026-11-02", "2026-11-02"]
    assert [r[1].strip() for r in _cells(page, "#fragments")] == [f"ds={f.partition['ds']}" for f in t.fragments()]


def test_a_merge_shows_both_parents_in_its_record_and_lineage(served, catalog_registry, page):
    rec = catalog_registry["merged"]
    page.goto(served.url + f"/p/team/plan/@{rec.top_hash}")
    shown = page.inner_text("#merge-parents")
    assert all(p.split("@")[1] in shown for p in rec.merge["parents"]) and len(rec.merge["parents"]) == 2
    lineage = page.inner_text("#lineage")
    assert "merge parent: team/plan-work@" in lineage and "merge parent: team/plan@" in lineage
    page.click("#lineage a:has-text('team/plan-work@')")
    assert page.url.endswith(rec.merge["parents"][1].split("@")[1])
    _wait_for_lineage_index(page)
    assert "merge by: team/plan@" in page.inner_text("#lineage")  # the other way: derived versions


def test_the_sql_console_answers_like_lakepkg_query(served, catalog_registry, page, shots):
    reg, v2 = catalog_registry["reg"], catalog_registry["v2"]
    sql = "SELECT customer, count(*) AS n, sum(amount) AS total FROM public.orders GROUP BY customer ORDER BY customer"
    page.goto(served.url + f"/p/sales/orders/@{v2}")
    page.click("#sql-link")
    page.fill("textarea[name=q]", sql)
    page.click("#run")
    want = lakepkg.query(sql, package=f"sales/orders@{v2}", registry=reg).to_pylist()
    shown = _cells(page, "#result")
    assert [r[1:] for r in shown] == [[r["customer"], str(r["n"]), str(r["total"])] for r in want]
    assert "dialect postgres" in page.inner_text("#result-info")
    _shot(page, shots, "sql")
    page.fill("textarea[name=q]", "SELECT nope FROM public.orders")
    page.click("#run")
    err = page.inner_text("#error")
    assert "nope" in err and "\n" not in err.strip()
    # the console is no way into the server's files
    page.fill("textarea[name=q]", "SELECT content FROM read_text('/etc/hostname')")
    page.click("#run")
    assert page.query_selector("#result") is None and "/etc/hostname" in page.inner_text("#error")


def test_lifecycle_pages_show_the_redaction_where_used_and_verify(served, catalog_registry, page, shots):
    reg = catalog_registry["reg"]
    page.goto(served.url + "/audit")
    log = lakepkg.governance.check_log(reg)
    assert "chain holds" in page.inner_text("h1") and log.ok
    red = _cells(page, "#redactions")
    assert len(red) == len([e for e in log.entries if e["action"] == "redact"]) == 1
    assert "GDPR request 17" in red[0][3]
    _shot(page, shots, "audit")
    page.click("a.redacted-version")  # the version as it was: its successor, said so, without the rows
    assert "was redacted" in page.inner_text("#redirected")
    page.click("a.table-link")
    ids = [int(r[1]) for r in _cells(page, "#rows")]
    assert 3 not in ids and ids == lakepkg.load("crm/contacts", registry=reg)["contacts"].to_arrow().column("id").to_pylist()

    files = catalog_registry["files"]
    entry = lakepkg.load(f"raw/sensors@{files}", registry=reg)["readings"].fragments()[0]
    page.goto(served.url + f"/where-used?object={entry.object}")
    used = _cells(page, "#report")
    api = lakepkg.governance.where_used(digest=entry.object, registry=reg)
    assert [r[0] for r in used] == [v.package for v in api.versions] == ["raw/sensors"]

    page.goto(served.url + "/verify")
    page.fill("input[name=ref]", "raw/sensors")
    page.check("input[name=deep]")
    page.click("#verify-form button")
    status = page.inner_text("#verify-status")
    rep = lakepkg.verify("raw/sensors", registry=reg)
    assert status.startswith("OK") and f"{rep.objects_checked} objects" in status


def test_hostile_registry_content_is_shown_as_text_and_runs_nothing(served, catalog_registry, page, shots):
    import urllib.request

    evil = catalog_registry["evil"]
    url = served.url + f"/p/evil/pkg/@{evil}"
    page.goto(url)
    meta = page.inner_text("#meta")
    assert HOSTILE_SCRIPT in meta and HOSTILE_LINK in meta and ENTITY in meta  # shown, as text
    readme = page.inner_text("#readme")
    assert "<script>" in readme and "onerror" in readme
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    hrefs = page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if h.strip().lower().startswith("javascript")]
    assert "https://example.org/docs" in hrefs
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    assert page.query_selector("#readme a:has-text('click me')") is None and f"[click me]({HOSTILE_LINK})" in readme
    _shot(page, shots, "hostile")
    page.click("a.table-link")
    cells = [r[2] for r in _cells(page, "#rows")]
    assert cells == [HOSTILE_SCRIPT, HOSTILE_IMG, ENTITY]
    page.goto(served.url + "/?q=" + quote("not bold"))  # search reaches metadata text
    assert [r[0] for r in _cells(page, "#packages")] == ["evil/pkg"]
    page.goto(served.url + "/?q=" + quote("hostile readme"))  # and README text
    assert [r[0] for r in _cells(page, "#packages")] == ["evil/pkg"]
    assert page.evaluate("typeof window.__pwned") == "undefined" and page.dialogs == []
    # the bytes sent: every hostile string escaped (independently of the browser's CSP)
    with urllib.request.urlopen(url) as resp:
        html = resp.read().decode()
        csp = resp.headers["content-security-policy"]
    assert "script-src 'none'" in csp
    assert "<script" not in html and "<img" not in html and not re.search(r"<a [^>]*href=\"javascript", html)
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&amp;lt;b&amp;gt;" in html  # an entity in a value is shown as typed, not decoded


def test_a_tag_moves_only_with_the_csrf_token_and_as_a_compare_and_swap(served, catalog_registry, page):
    reg, v1, v2 = catalog_registry["reg"], catalog_registry["v1"], catalog_registry["v2"]
    post = page.request.post(served.url + "/p/sales/orders/-/tag",
                             form={"tag": "prod", "target": v1, "expect": "none"})
    assert post.status == 403 and "CSRF" in post.text()
    assert "prod" not in reg.tags("sales/orders")
    page.goto(served.url + f"/p/sales/orders/@{v1}")
    page.fill("#tag-form input[name=tag]", "prod")
    page.click("#tag-form button")
    assert reg.tags("sales/orders")["prod"] == v1
    assert "Tag prod now names this version" in page.inner_text("main")
    # a form that saw an older state: the compare-and-swap refuses
    csrf = page.get_attribute("#tag-form input[name=csrf]", "value")
    stale = page.request.post(served.url + "/p/sales/orders/-/tag",
                              form={"tag": "prod", "target": v2, "expect": "none", "csrf": csrf})
    assert stale.status == 409 and reg.tags("sales/orders")["prod"] == v1


def test_guards_token_host_and_bind(catalog_registry, page):
    from lakepkg.catalog import app

    token = "t" * 24
    srv = Served(app(catalog_registry["reg"], token=token))
    try:
        denied = page.request.get(srv.url + "/")
        assert denied.status == 401 and token not in denied.text()
        page.goto(srv.url + f"/?token={token}")  # once: the cookie is set and the token leaves the URL
        assert "token" not in page.url and page.query_selector("#packages") is not None
        rebinding = page.request.get(srv.url + "/", headers={"Host": f"attacker.example:{srv.port}"})
        assert rebinding.status == 403
    finally:
        srv.stop()
    env = {**os.environ, "LAKEPKG_CATALOG_TOKEN": ""}
    out = subprocess.run([sys.executable, "-m", "lakepkg.cli", "catalog", "--host", "0.0.0.0", "--port", "1",
                          "-r", catalog_registry["reg"].location], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode != 0 and "refusing to serve the catalog on 0.0.0.0" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_the_cli_serves_the_catalog_and_logs_no_token(catalog_registry):
    import urllib.error
    import urllib.request

    port, token = _free_port(), "s3cr3t-" + uuid.uuid4().hex
    env = {**os.environ, "LAKEPKG_CATALOG_TOKEN": token}
    proc = subprocess.Popen([sys.executable, "-m", "lakepkg.cli", "catalog", "-r", catalog_registry["reg"].location,
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline, status = time.time() + 60, None
        while time.time() < deadline and status is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.2)
        assert status == 401  # the token from the environment is required
        req = urllib.request.Request(f"http://127.0.0.1:{port}/p/sales/orders/-/history?x=1",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200 and "second load" in resp.read().decode()
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "lakepkg catalog of" in err and f"127.0.0.1:{port}" in err
    assert token not in out + err and "Traceback" not in err


def test_an_s3_registry_browses_the_same(s3_endpoint, browser, tmp_path):
    from tests.fixtures.s3 import new_bucket

    from lakepkg.catalog import app

    url = f"s3://{new_bucket(s3_endpoint)}/team/registry"
    reg = lakepkg.open_registry(url, cache_dir=str(tmp_path / "cache"))
    res = lakepkg.build("team/metrics", tables={"m": pd.DataFrame({"k": [1, 2], "v": ["x", "y"]})}, registry=reg,
                        message="on s3")
    srv = Served(app(url))
    try:
        p = browser.new_page()
        p.goto(srv.url + "/")
        assert [r[0] for r in _cells(p, "#packages")] == ["team/metrics"]
        assert url in p.inner_text("header")
        assert "testing" not in p.content()  # the S3 credentials are nowhere in the page
        p.click(f"a[href$='@{res.record.top_hash}']")
        p.click("a.table-link")
        assert [r[1:] for r in _cells(p, "#rows")] == [["1", "x"], ["2", "y"]]
        p.close()
    finally:
        srv.stop()

"""A version: README, tables (schema, rows, sizes, partitions, key), files, tags, run record with an
Airflow link, sources, a small lineage graph, and copy-paste snippets for this exact version."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lakepkg.catalog.render import airflow_link

FILES_PER_PAGE = 100


def snippets(name: str, top_hash: str, tables: list[str], registry: str) -> dict[str, str]:
    ref = f"{name}@{top_hash}"
    t = tables[0] if tables else "TABLE"
    reg = "" if registry.startswith("/") else f" -r {registry}"
    return {
        "Python": f'import lakepkg\npkg = lakepkg.load("{ref}")\ndf = pkg["{t}"].to_pandas()',
        "Spark": f'df = spark.read.format("pkg").load("{ref}/{t}")',
        "CLI": f"lakepkg install {ref}{reg}\nlakepkg cat {ref}/{t}{reg}",
        "lakepkg.lock": f"{ref}" + (f"  {registry}" if registry.startswith("s3://") else ""),
    }


def page(cat: Any, request: Request, name: str, pkg: Any, asked: str) -> Response:
    from lakepkg.catalog.params import int_param
    from lakepkg.read.row_diff import table_key

    data = cat.data
    rec = pkg.record
    successor = None
    if not pkg.top_hash.startswith(asked):  # the hash asked for was redacted: its successor was loaded
        successor = pkg
    tables = []
    for tname in pkg.tables:
        t = pkg.table(tname)
        tables.append({"name": tname, "t": t, "key": table_key(t) or [],
                       "partitions": data.partitions_sample(t) if t.partition_columns else [],
                       "source": (rec.sources or {}).get(tname) if rec else None})
    fpage = int_param(request, "fpage", 1, 1)
    files, nfiles = data.files(pkg, (fpage - 1) * FILES_PER_PAGE, FILES_PER_PAGE)
    readme, cut = data.readme(pkg)
    run = dict(rec.run or {}) if rec else {}
    lineage = data.lineage(pkg)
    tag_values = cat.data.registry.tags(name) if cat.allow_write else {}
    return cat.render(request, "version.html", name=name, pkg=pkg, rec=rec, tables=tables, files=files,
                      nfiles=nfiles, fpage=fpage, fpages=max(1, -(-nfiles // FILES_PER_PAGE)),
                      readme=readme, readme_cut=cut, run=run, airflow=airflow_link(cat.airflow_url, run),
                      lineage=lineage, tags=pkg.tags, snippets=snippets(name, pkg.top_hash, pkg.tables, data.location),
                      successor=successor, asked=asked, tag_values=tag_values,
                      parents=list(rec.parents) if rec is not None and getattr(rec, "merge", None) else [])

"""An answer a user can take away: ``table`` (aligned text), ``csv``, ``json`` or ``parquet``, to a file
or stdout; every value printed exactly (a decimal as its digits, a float as its shortest exact form,
NULL as ``NULL`` in a table and as an empty field in CSV / ``null`` in JSON); never truncated to a
terminal's width.

    from lakepkg.query.output import write_answer
    write_answer(table, "csv", "answer.csv")
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
import sys
from typing import IO, Any, Optional

import pyarrow as pa

from lakepkg.errors import ConfigError

FORMATS = ("table", "csv", "json", "parquet")


def text(v: Any) -> Optional[str]:
    """A value's exact text (None for NULL)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, decimal.Decimal):
        return format(v, "f") if v.is_finite() else str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return "\\x" + bytes(v).hex()
    if isinstance(v, (list, dict)):
        return json.dumps(v, default=lambda x: text(x), ensure_ascii=False)
    return str(v)


def _rows(table: pa.Table) -> list[list[Any]]:
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [list(r) for r in zip(*cols)] if cols else []


def render_table(table: pa.Table, note: str = "") -> str:
    """Aligned text: a header, a rule, the rows (numbers right-aligned), and the row count."""
    names = list(table.column_names)
    rows = [["NULL" if (s := text(v)) is None else s for v in r] for r in _rows(table)]
    numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
               for f in table.schema]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]

    def line(cells: list[str]) -> str:
        return " | ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    out = [line(names), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    n = table.num_rows
    out.append(f"({n} row{'s' if n != 1 else ''}{note})")
    return "\n".join(out) + "\n"


def render_csv(table: pa.Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.column_names)
    for r in _rows(table):
        w.writerow(["" if (s := text(v)) is None else s for v in r])
    return buf.getvalue()


def json_value(v: Any) -> Any:
    """A value for JSON: decimals as their exact digits (strings), dates in ISO form."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else text(v)
    if isinstance(v, list):
        return [json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): json_value(x) for k, x in v.items()}
    return text(v)


def render_json(table: pa.Table) -> str:
    names = list(table.column_names)
    data = [dict(zip(names, (json_value(v) for v in r))) for r in _rows(table)]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_answer(table: pa.Table, fmt: str = "table", path: Optional[str] = None, *, note: str = "",
                 stream: Optional[IO[str]] = None) -> None:
    """Write ``table`` as ``fmt`` to ``path`` (or ``stream``, default stdout)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        if not path:
            raise ConfigError("--format parquet writes a file: give -o FILE")
        try:
            pq.write_table(table, path)
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; check the folder and the disk") from None
        return
    body = {"table": lambda: render_table(table, note), "csv": lambda: render_csv(table),
            "json": lambda: render_json(table)}[fmt]()
    if path:
        try:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(body)
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; check the folder and the disk") from None
        return
    (stream or sys.stdout).write(body)

"""Date-format strings of the source dialects, converted exactly or refused.

PostgreSQL's ``to_char(ts, 'YYYY-MM-DD Dy')`` and MySQL's ``DATE_FORMAT(ts, '%Y-%m-%d %a')``
become one expression over the engine's strftime pieces, joined with ``||`` (so a NULL stays
NULL): names as the source prints them (PostgreSQL pads ``Month`` and ``Day`` to nine
characters unless ``FM`` is given), numbers with the source's padding. A pattern with no exact
equivalent (week numbering modes, ordinal suffixes, time-zone names…) raises QueryError naming
it and the dialect, rather than printing something else.
"""
from __future__ import annotations

from typing import Any, Callable, Union

from lakepkg.errors import QueryError

Piece = Union[str, Callable[[Any], Any]]  # a strftime fragment, or a function of the value -> expression

# -- PostgreSQL to_char -----------------------------------------------------------------------


def _pad9(fmt: str, case: str = "") -> Callable[[Any], Any]:
    def make(x: Any) -> Any:
        from sqlglot import exp

        e: Any = exp.TimeToStr(this=x.copy(), format=exp.Literal.string(fmt))
        if case == "upper":
            e = exp.Upper(this=e)
        elif case == "lower":
            e = exp.Lower(this=e)
        return exp.Pad(this=e, expression=exp.Literal.number(9), fill_pattern=exp.Literal.string(" "),
                       is_left=False)
    return make


def _cased(fmt: str, case: str) -> Callable[[Any], Any]:
    def make(x: Any) -> Any:
        from sqlglot import exp

        e = exp.TimeToStr(this=x.copy(), format=exp.Literal.string(fmt))
        return exp.Upper(this=e) if case == "upper" else exp.Lower(this=e)
    return make


def _pg_dow(x: Any) -> Any:  # D: day of the week, Sunday = 1
    from sqlglot import exp

    dow = exp.Extract(this=exp.var("DOW"), expression=x.copy())
    return exp.cast(exp.Add(this=dow, expression=exp.Literal.number(1)), "VARCHAR")


def _pg_quarter(x: Any) -> Any:
    from sqlglot import exp

    return exp.cast(exp.Extract(this=exp.var("QUARTER"), expression=x.copy()), "VARCHAR")


# longest first; the FM prefix (fill mode: no padding) is handled for the patterns that pad
_PG: list[tuple[str, Piece]] = [
    ("FMMonth", "%B"), ("FMMONTH", _cased("%B", "upper")), ("FMmonth", _cased("%B", "lower")),
    ("FMDay", "%A"), ("FMDAY", _cased("%A", "upper")), ("FMday", _cased("%A", "lower")),
    ("FMHH24", "%-H"), ("FMHH12", "%-I"), ("FMHH", "%-I"), ("FMDDD", "%-j"), ("FMDD", "%-d"), ("FMMM", "%-m"),
    ("FMMI", "%-M"), ("FMSS", "%-S"),
    ("Month", _pad9("%B")), ("MONTH", _pad9("%B", "upper")), ("month", _pad9("%B", "lower")),
    ("Day", _pad9("%A")), ("DAY", _pad9("%A", "upper")), ("day", _pad9("%A", "lower")),
    ("YYYY", "%Y"), ("HH24", "%H"), ("HH12", "%I"), ("DDD", "%j"),
    ("Mon", "%b"), ("MON", _cased("%b", "upper")), ("mon", _cased("%b", "lower")),
    ("Dy", "%a"), ("DY", _cased("%a", "upper")), ("dy", _cased("%a", "lower")),
    ("YY", "%y"), ("MM", "%m"), ("DD", "%d"), ("HH", "%I"), ("MI", "%M"), ("SS", "%S"), ("US", "%f"),
    ("IW", "%V"), ("AM", "%p"), ("PM", "%p"), ("D", _pg_dow), ("Q", _pg_quarter),
]


def pg_to_char(fmt: str) -> list[Piece]:
    """Pieces for a PostgreSQL ``to_char`` date/time format (QueryError for what has no exact form)."""
    out: list[Piece] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == '"':  # quoted literal text
            j = fmt.find('"', i + 1)
            if j < 0:
                raise QueryError(f"to_char format {fmt!r} has an unterminated quote (PostgreSQL); close it")
            out.append(fmt[i + 1:j].replace("%", "%%"))
            i = j + 1
            continue
        if ch == "\\" and i + 1 < len(fmt):
            out.append(fmt[i + 1].replace("%", "%%"))
            i += 2
            continue
        for pat, piece in _PG:
            if fmt.startswith(pat, i):
                out.append(piece)
                i += len(pat)
                break
        else:
            if ch.isalpha():
                j = i
                while j < len(fmt) and fmt[j].isalpha():
                    j += 1
                raise QueryError(f"to_char pattern {fmt[i:j]!r} (in {fmt!r}) cannot be reproduced exactly "
                                 f"from PostgreSQL on the snapshot; use the patterns YYYY MM DD HH24 MI SS Mon "
                                 f"Month Dy Day D Q IW DDD US AM (FM prefix allowed)")
            out.append(ch.replace("%", "%%"))
            i += 1
    return out


# -- MySQL DATE_FORMAT ------------------------------------------------------------------------

_MY: dict[str, str] = {
    "a": "%a", "b": "%b", "c": "%-m", "d": "%d", "e": "%-d", "f": "%f", "H": "%H", "h": "%I", "I": "%I",
    "i": "%M", "j": "%j", "k": "%-H", "l": "%-I", "M": "%B", "m": "%m", "p": "%p", "r": "%I:%M:%S %p",
    "S": "%S", "s": "%S", "T": "%H:%M:%S", "W": "%A", "w": "%w", "Y": "%Y", "y": "%y", "%": "%%",
}
_MY_REFUSED = {"D": "day with English suffix", "U": "week (mode 0)", "u": "week (mode 1)", "V": "week (mode 2)",
               "v": "week (mode 3)", "X": "year of week (mode 2)", "x": "year of week (mode 3)"}


def mysql_date_format(fmt: str) -> list[Piece]:
    """Pieces for a MySQL/MariaDB ``DATE_FORMAT`` format (QueryError for what has no exact form)."""
    out: list[Piece] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            spec = fmt[i + 1]
            if spec in _MY_REFUSED:
                raise QueryError(f"DATE_FORMAT specifier %{spec} ({_MY_REFUSED[spec]}, in {fmt!r}) cannot be "
                                 f"reproduced exactly from MySQL/MariaDB on the snapshot; compute it with "
                                 f"WEEK()/YEARWEEK() outside the format")
            out.append(_MY.get(spec, spec.replace("%", "%%")))  # MySQL prints an unknown %x as x
            i += 2
            continue
        out.append(ch.replace("%", "%%"))
        i += 1
    return out


def build(value: Any, pieces: list[Piece]) -> Any:
    """One sqlglot expression printing ``value`` as ``pieces`` say (strftime runs merged)."""
    from sqlglot import exp

    parts: list[Any] = []
    run = ""
    for p in pieces:
        if isinstance(p, str):
            run += p
            continue
        if run:
            parts.append(exp.TimeToStr(this=value.copy(), format=exp.Literal.string(run)))
            run = ""
        parts.append(p(value))
    if run or not parts:
        parts.append(exp.TimeToStr(this=value.copy(), format=exp.Literal.string(run)))
    out = parts[0]
    for p in parts[1:]:
        out = exp.DPipe(this=out, expression=p, safe=False)
    return exp.Paren(this=out) if len(parts) > 1 else out

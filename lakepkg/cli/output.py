"""What a CLI command prints: one ``Output`` object, two forms.

A command builds its result (a ``PublishResult``, a verify report, a list of
records...) and hands it to one method of the output it was given; it never
branches on ``--json``. ``ConsoleOutput`` renders for people (rich tables and
trees on stdout), ``JsonOutput`` prints one JSON document on stdout for
scripts. Errors go to stderr in both forms: one line of text, or a JSON object
``{"error": {"type": ..., "message": ...}}``.

``make_output(as_json)`` picks the form (the only place that looks at ``--json``);
``published`` is the one place the "published / unchanged" headline of a new version is
printed. The console form lives in :mod:`lakepkg.cli._console`.
"""
from __future__ import annotations

import json
import sys
from typing import Any, Mapping, Optional, Sequence

from lakepkg.cli._output_base import Output, _dumps, record_json

__all__ = ["Output", "JsonOutput", "make_output", "record_json"]


class JsonOutput(Output):
    """One JSON document on stdout per command; errors as a JSON object on stderr."""

    json = True

    def __init__(self, stream: Any = None, err: Any = None) -> None:
        self._out = stream
        self._err = err

    def _emit(self, data: Any) -> None:
        (self._out or sys.stdout).write(_dumps(data) + "\n")

    def data(self, data: Any, text: Optional[str] = None) -> None:
        self._emit(data)

    def error(self, kind: str, message: str) -> None:
        (self._err or sys.stderr).write(json.dumps({"error": {"type": kind, "message": message}}) + "\n")

    @property
    def progress(self) -> bool:
        return False

    def check_print(self, print_: Optional[str]) -> None:
        if print_:
            from lakepkg.errors import ConfigError

            raise ConfigError("give --json or --print, not both")

    def warning(self, message: str) -> None:
        (self._err or sys.stderr).write(f"lakepkg: warning: {message}\n")

    def published(self, result: Any, details: Sequence[str] = (), print_: Optional[str] = None) -> None:
        self._emit(result.to_json())

    def row_diff(self, d: Any) -> None:
        self._emit(d.to_json())

    def compacted(self, result: Any) -> None:
        self._emit(result.to_json())

    def packages(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._emit(list(rows))

    def history(self, records: Sequence[Any], tags: Mapping[str, str]) -> None:
        self._emit([record_json(r, tags) for r in records])

    def version(self, data: Mapping[str, Any]) -> None:
        self._emit(dict(data))

    def rows(self, table: Any) -> None:
        self._emit(table.to_pylist())

    def file_text(self, key: str, size: int, data: bytes) -> None:
        self._emit({"key": key, "size": size, "text": data.decode("utf-8", "replace")})

    def diff(self, d: Any) -> None:
        self._emit(d.to_json())

    def tag(self, package: str, tag: str, top_hash: Optional[str], deleted: bool = False) -> None:
        self._emit({"package": package, "tag": tag, "deleted": True} if deleted
                   else {"package": package, "tag": tag, "top_hash": top_hash})

    def verify(self, report: Any) -> None:
        self._emit(report.to_json())

    def gc(self, report: Any, dry_run: bool) -> None:
        self._emit(report.to_json())

    def transfers(self, verb: str, reports: Sequence[Any], many: bool = False) -> None:
        self._emit([r.to_json() for r in reports] if many else reports[0].to_json())

    def locked(self, path: str, entries: Sequence[Any]) -> None:
        self._emit({"file": path, "packages": [e.to_json() for e in entries]})

    def removed(self, report: Any) -> None:
        self._emit(report.to_json())

    def retained(self, result: Any) -> None:
        self._emit(result.to_json())

    def usage(self, report: Any, rows: bool) -> None:
        self._emit(report.to_json())

    def redacted(self, report: Any, resume_only: bool) -> None:
        self._emit(report.to_json())

    def audit_log(self, report: Any) -> None:
        self._emit(report.to_json())

    def restored(self, result: Any) -> None:
        self._emit(result.to_json())

    @property
    def echoes(self) -> bool:
        return False

    def demo(self, result: Any) -> None:
        self._emit(result)

    def serving(self, what: str, info: Mapping[str, Any], text: str, err: bool = False) -> None:
        self._emit(dict(info))

    def job_args(self) -> list[str]:
        return ["--json"]

    def job_command(self, cmd: Sequence[str], env: Mapping[str, str]) -> None:
        self._emit({"command": list(cmd), "env": dict(env)})

    def job_result(self, lines: Sequence[str]) -> None:
        from lakepkg.errors import SourceError

        docs = [line for line in lines if line.startswith("{")]
        if not docs:
            raise SourceError("the job printed no JSON result; see Spark's log above")
        (self._err or sys.stderr).write("".join(line + "\n" for line in lines if line is not docs[-1]))
        self._emit(json.loads(docs[-1]))

    def answer_format(self, fmt: str) -> str:
        return "json"


def make_output(as_json: bool) -> Output:
    """The output a command prints with: JSON for ``--json``, console text otherwise."""
    if as_json:
        return JsonOutput()
    from lakepkg.cli._console import ConsoleOutput

    return ConsoleOutput()

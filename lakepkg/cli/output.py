"""What a CLI command prints: one ``Output`` object, two forms.

A command builds its result (a ``PublishResult``, a verify report, a list of
records...) and hands it to one method of the output it was given; it never
branches on ``--json``. ``ConsoleOutput`` renders for people (rich tables and
trees on stdout), ``JsonOutput`` prints one JSON document on stdout for
scripts. Errors go to stderr in both forms: one line of text, or a JSON object
``{"error": {"type": ..., "message": ...}}``.

``make_output(as_json)`` picks the form; ``published`` is the one place the
"published / unchanged" headline of a new version is printed.
"""
from __future__ import annotations

import json
import sys
from abc import ABC, abstractmethod
from typing import Any, Iterable, Mapping, Optional, Sequence

from lakepkg.sizes import count, human_bytes


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str, sort_keys=False)


class Output(ABC):
    """The result printer a command is given."""

    json: bool = False

    # -- generic ---------------------------------------------------------
    @abstractmethod
    def data(self, data: Any, text: Optional[str] = None) -> None:
        """A plain result: ``data`` is the JSON form, ``text`` the line(s) people read (default: ``data``)."""

    @abstractmethod
    def error(self, kind: str, message: str) -> None:
        """An error: one line on stderr (text), or ``{"error": {"type", "message"}}`` on stderr (JSON)."""

    # -- versions --------------------------------------------------------
    @abstractmethod
    def published(self, result: Any) -> None:
        """A ``PublishResult``: its headline (``ns/name@hash published`` or ``unchanged``), or its ``to_json()``."""

    @abstractmethod
    def packages(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """``ls``: one row per package (name, latest, versions, updated, tags)."""

    @abstractmethod
    def history(self, records: Sequence[Any], tags: Mapping[str, str]) -> None:
        """``log``: version records newest first; ``tags`` maps a tag to the record key it points at."""

    @abstractmethod
    def version(self, data: Mapping[str, Any]) -> None:
        """``show``: record, tables (schema, sizes, provenance), files and run of one version."""

    @abstractmethod
    def rows(self, table: Any) -> None:
        """``cat`` of a table or fragment: an Arrow table."""

    @abstractmethod
    def file_text(self, key: str, size: int, data: bytes) -> None:
        """``cat`` of a plain file."""

    @abstractmethod
    def diff(self, d: Any) -> None:
        """``diff``: a ``PackageDiff``."""

    @abstractmethod
    def tag(self, package: str, tag: str, top_hash: Optional[str], deleted: bool = False) -> None:
        """``tag``: where a tag now points (or that it was deleted)."""

    # -- maintenance -----------------------------------------------------
    @abstractmethod
    def verify(self, report: Any) -> None:
        """``verify``: a ``VerifyReport``."""

    @abstractmethod
    def gc(self, report: Any, dry_run: bool) -> None:
        """``gc``: a ``GcReport``."""

    @abstractmethod
    def transfers(self, verb: str, reports: Sequence[Any], many: bool = False) -> None:
        """``push``/``pull``/``install``: transfer reports (a JSON list when ``many``)."""

    @abstractmethod
    def locked(self, path: str, entries: Sequence[Any]) -> None:
        """``lock``: the entries written to a lock file."""


def transfer_summary(verb: str, rep: Any) -> str:
    """One line saying what a push, pull or install did."""
    moved = "sent" if verb == "pushed" else "fetched"
    parts = [f"{rep.package}@{rep.top_hash[:10]} {verb}: {rep.objects_copied} of {count(rep.objects_total, 'object')} {moved} "
             f"({human_bytes(rep.bytes_copied)}), {rep.objects_present} already there"]
    if rep.record_created:
        parts.append("version recorded")
    if rep.latest_moved:
        parts.append("latest moved")
    if rep.tags_set:
        parts.append("tags " + ", ".join(rep.tags_set))
    if rep.files_written:
        parts.append(f"{rep.files_written} files written to {rep.destination}")
    return "; ".join(parts)


def _headline(result: Any) -> str:
    h = getattr(result, "headline", None)
    if callable(h):
        return str(h())
    rec = result.record
    verb = "published" if result.created else "unchanged (same top hash as latest)"
    return f"{rec.package}@{rec.top_hash[:10]} {verb}  top hash {rec.top_hash}"


def record_json(rec: Any, tags: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """A version record as JSON, with the tags pointing at it when ``tags`` (tag → record key) is given."""
    d = rec.to_json()
    if tags is not None:
        d["tags"] = sorted(t for t, key in tags.items() if key == rec.key)
    return d


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

    def published(self, result: Any) -> None:
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


class ConsoleOutput(Output):
    """Text for people: rich markup, tables and trees on stdout; errors one line on stderr."""

    def __init__(self, console: Any = None) -> None:
        self._console = console

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False)
        return self._console

    def _print(self, *lines: str) -> None:
        for line in lines:
            self.console.print(line)

    def _plain(self, text: str) -> None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")

    def data(self, data: Any, text: Optional[str] = None) -> None:
        if text is not None:
            self._plain(text)
        elif isinstance(data, str):
            self._plain(data)
        else:
            self._plain(_dumps(data))

    def error(self, kind: str, message: str) -> None:
        sys.stderr.write(f"lakepkg: error: {message}\n")

    def published(self, result: Any) -> None:
        self._plain(_headline(result))

    def packages(self, rows: Sequence[Mapping[str, Any]]) -> None:
        from rich.table import Table

        t = Table("package", "latest", "versions", "updated", "tags", box=None)
        for row in rows:
            t.add_row(row["name"], (row["latest"] or "")[:10], str(row["versions"]), row["updated"] or "",
                      ",".join(row["tags"]))
        self.console.print(t)

    def history(self, records: Sequence[Any], tags: Mapping[str, str]) -> None:
        from lakepkg.read.history import merge_label

        for x in records:
            t = sorted(k for k, key in tags.items() if key == x.key)
            m = merge_label(getattr(x, "merge", None))
            self._print(f"[yellow]{x.top_hash[:10]}[/yellow] {x.created_at}  {x.author}  {x.message}"
                        + (f"  ({', '.join(t)})" if t else "") + (f"  <{m}>" if m else ""))

    def version(self, data: Mapping[str, Any]) -> None:
        from rich.tree import Tree

        from lakepkg.read.history import merge_label

        rec = data["record"]
        tree = Tree(f"[bold]{data['package']}[/bold]@{data['top_hash'][:10]}  {rec.get('created_at', '')}  "
                    f"{rec.get('author', '')}  {rec.get('message', '')}")
        if rec.get("merge"):
            tree.add(merge_label(rec["merge"]), style="magenta")
        for t in data["tables"]:
            node = tree.add(f"[cyan]{t['name']}[/cyan]  {count(t['rows'], 'row')}  {count(t['fragments'], 'fragment')}  {human_bytes(t['bytes'])}"
                            + (f"  partitioned by {', '.join(t['partition_columns'])}" if t["partition_columns"] else ""))
            sch = node.add("schema")
            for f in t["schema"]:
                sch.add(f"{f['name']}: {f['type']}{'' if f['nullable'] else ' not null'}")
            if t["provenance"]:
                pv = node.add("provenance")
                for k, v in t["provenance"].items():
                    pv.add(f"{k}: {v if not isinstance(v, (dict, list)) else json.dumps(v)[:200]}")
        for f in data["files"]:
            tree.add(f"{f['key']}  {human_bytes(f['size'])}")
        if rec.get("run"):
            run = tree.add("run")
            for k, v in rec["run"].items():
                run.add(f"{k}: {v}")
        self.console.print(tree)

    def rows(self, table: Any) -> None:
        import pandas as pd

        with pd.option_context("display.max_columns", 50, "display.width", 200):
            self._plain(table.to_pandas().to_string())

    def file_text(self, key: str, size: int, data: bytes) -> None:
        self._plain(data.decode("utf-8", "replace"))

    def diff(self, d: Any) -> None:
        if getattr(d, "merge", None):
            from lakepkg.read.history import merge_label

            self._plain(f"{d.new[:10]} is a {merge_label(d.merge)}")
        if d.empty:
            self._print("identical" + (" content" if getattr(d, "changes", None) else ""))
            for c in getattr(d, "changes", []):
                self._plain(f"  {c}")
            return
        for t in d.tables:
            if t.status != "changed":
                self._print(f"table {t.name}: {t.status}")
                continue
            self._print(f"table {t.name}: changed  +{len(t.fragments_added)} -{len(t.fragments_removed)} "
                        f"~{len(t.fragments_changed)} fragments  ({t.pages_compared} pages read, {t.pages_skipped} skipped)")
            for c in getattr(t, "changes", []):
                self._plain(f"  {c}")
            if getattr(t, "same_rows", None):  # equal rows digests (docs/deltas.md)
                self._print("  same rows, different layout" + (
                    " (by rows-v1 digests: a checksum, not collision-resistant; diff --rows compares the rows)"
                    if getattr(t, "same_rows_legacy", False) else ""))
            self._print(*[f"  + partition {lab}" for lab in t.partitions_added])
            self._print(*[f"  - partition {lab}" for lab in t.partitions_removed])
            self._print(*[f"  ~ partition {lab}" for lab in t.partitions_changed])
        self._print(*[f"+ file {k}" for k in d.files_added])
        self._print(*[f"- file {k}" for k in d.files_removed])
        self._print(*[f"~ file {k}" for k in d.files_changed])
        for c in getattr(d, "changes", []):
            self._plain(c)

    def tag(self, package: str, tag: str, top_hash: Optional[str], deleted: bool = False) -> None:
        self._print(f"deleted {package}:{tag}" if deleted else f"{package}:{tag} -> {(top_hash or '')[:10]}")

    def verify(self, report: Any) -> None:
        rep = report
        self._print(f"{count(rep.versions, 'version')}, {count(rep.objects_checked, 'object')}, {human_bytes(rep.bytes_checked)} checked")
        for label, found in _verify_findings(rep):
            for d, users in found.items():
                self._print(f"[red]{label}[/red] {d}  used by {', '.join(users)}")
        for e in rep.errors:
            self._print(f"[red]error[/red] {e}")
        if getattr(rep, "caches_checked", None) is not None:
            self._print(f"{rep.caches_checked} row-hash cache files rehashed")
            for problem in rep.cache_problems.values():
                self._print(f"[red]cache[/red] {problem}")
        self._print("ok" if rep.ok else "[red]FAILED[/red]")

    def gc(self, report: Any, dry_run: bool) -> None:
        rep = report
        self._print(f"{'would remove' if dry_run else 'removed'} {count(rep.removed, 'object')} ({human_bytes(rep.bytes_removed)}); "
                    f"{rep.referenced} referenced, {rep.kept_young} unreferenced kept inside the grace period")

    def transfers(self, verb: str, reports: Sequence[Any], many: bool = False) -> None:
        for r in reports:
            self._print(transfer_summary(verb, r))

    def locked(self, path: str, entries: Sequence[Any]) -> None:
        self._print(*[e.line() for e in entries], f"wrote {path}")


def _verify_findings(rep: Any) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for label in ("missing", "corrupt", "unreachable"):
        found = getattr(rep, label, None)
        if found:
            yield label, found


def make_output(as_json: bool) -> Output:
    """The output a command prints with: JSON for ``--json``, console text otherwise."""
    return JsonOutput() if as_json else ConsoleOutput()

"""The console form of :class:`lakepkg.cli.output.Output`: text for people (rich markup, tables and
trees on stdout; errors and warnings one line on stderr)."""
from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Mapping, Optional, Sequence

from lakepkg.cli._output_base import Output, _dumps
from lakepkg.sizes import count, human_bytes


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

    @property
    def progress(self) -> bool:
        import os

        return sys.stderr.isatty() and not os.environ.get("LAKEPKG_NO_PROGRESS")

    def check_print(self, print_: Optional[str]) -> None:
        return None

    def warning(self, message: str) -> None:
        sys.stderr.write(f"lakepkg: warning: {message}\n")

    def published(self, result: Any, details: Sequence[str] = (), print_: Optional[str] = None) -> None:
        self._plain(_headline(result))
        for line in details:
            self._plain(line)
        if print_:
            self._plain(result.ref if print_ == "ref" else result.top_hash)

    def row_diff(self, d: Any) -> None:
        lines = [t.summary() for t in d.tables.values() if t.status != "identical"]
        for line in lines or ["identical rows"]:
            self.console.print(line, markup=False)

    def compacted(self, result: Any) -> None:
        self._print(result.headline())
        for t, i in result.tables.items():
            if i["fragments_rewritten"]:
                self._print(f"  {t}: {i['fragments_rewritten']} of {i['fragments_before']} fragments rewritten, "
                            f"{i['fragments_after']} now")

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

    def removed(self, report: Any) -> None:
        rep = report
        lines = [rep.headline()] + [f"  deleted tag {t}" for t in rep.tags_deleted]
        lines += [f"  {n}:latest -> {h[:10] if h else 'none (no versions left)'}" for n, h in rep.latest.items()]
        self._plain("\n".join(lines))

    def retained(self, result: Any) -> None:
        lines: list[str] = []
        if result.plan is not None:
            plan = result.plan
            lines.append(f"{plan.package}: retention policy set ({plan.policy.describe()}); "
                         f"it keeps {len(plan.keep)} versions and removes {len(plan.remove)} when applied")
        rep = result.report
        if rep is not None:
            verb = "would remove" if rep.dry_run else "removed"
            for p in rep.plans:
                lines.append(f"{p.package} ({p.policy.describe()}): keeps {len(p.keep)}, {verb} {len(p.remove)}")
                lines += [f"  - {r.top_hash[:10]}  {r.created_at}  {r.message}" for r in p.remove]
            if not rep.plans:
                lines.append("no package has a retention policy; set one with `lakepkg retain NAME --keep-last N`")
            else:
                lines.append(rep.objects_line(human_bytes))
        self._plain("\n".join(lines))

    def usage(self, report: Any, rows: bool) -> None:
        rep = report
        lines = []
        for v in rep.versions:
            tags = f" ({', '.join(v.tags)})" if v.tags else ""
            if rows:
                lines.append(f"{v.package}@{v.top_hash[:10]}{tags}  {v.created_at}  {v.rows} rows in {len(v.hits)} fragments")
                continue
            lines.append(f"{v.package}@{v.top_hash[:10]}{tags}  {v.created_at}")
            for h in v.hits:
                lines.append(f"  {h['role']}" + (f" {h['table']}" if h.get("table") else "")
                             + (f"/{h['key']}" if h.get("key") else "") + f"  {h['object'][:12]}")
        lines += [f"{r['package']}@{r['top_hash'][:10]} was redacted on {str(r['redacted_at'])[:10]}: {r['reason']}; "
                  f"its successor is {r['package']}@{str(r['successor'])[:10]}" for r in rep.redacted]
        extra = f"; {rep.fragments_read} of {rep.fragments_considered} fragments read" if rows else ""
        lines.append(f"{len(rep.versions)} of {rep.versions_searched} versions in {len(rep.packages)} packages{extra}")
        self._plain("\n".join(lines))

    def redacted(self, report: Any, resume_only: bool) -> None:
        rep = report
        lines = [f"finished the interrupted redaction {j}" for j in rep.resumed]
        if resume_only and not rep.resumed:
            lines.append("no interrupted redaction to finish")
        lines += [f"{v['package']}@{v['old'][:10]} -> @{v['new'][:10]}  -{v['rows_removed']} rows "
                  f"({v['fragments_rewritten']} fragments rewritten, {v['fragments_dropped']} dropped)"
                  for v in rep.versions]
        if rep.versions and not resume_only:
            lines.append(rep.headline())
        lines += [f"warning: {p}" for p in rep.problems]
        self._plain("\n".join(lines))

    def audit_log(self, report: Any) -> None:
        rep = report
        lines = []
        for e in rep.entries:
            vs = ", ".join(f"{v['package']}@{str(v.get('top_hash', ''))[:10]}".rstrip("@") for v in e.get("versions", [])[:4])
            more = f" +{len(e['versions']) - 4}" if len(e.get("versions", [])) > 4 else ""
            lines.append(f"{e.get('seq'):>5} {str(e.get('at', ''))[:19]}  {e.get('who', '')}  {e.get('action', '')}  {vs}{more}"
                         f"  {len(e.get('objects', []))} objects  {e.get('reason', '')}")
        lines += [f"broken: {p}" for p in rep.problems]
        lines.append(f"{len(rep.entries)} entries; " + ("chain ok" if rep.ok else "CHAIN BROKEN"))
        self._plain("\n".join(lines))

    def restored(self, result: Any) -> None:
        res = result
        self._print(f"restored {res.source} as {res.table} at {res.location}: {res.files} files, "
                    f"{res.partitions} partitions, {res.rows:,} rows ({human_bytes(res.bytes)})")

    @property
    def echoes(self) -> bool:
        return True

    def demo(self, result: Any) -> None:
        return None  # narrated step by step while it ran

    def serving(self, what: str, info: Mapping[str, Any], text: str, err: bool = False) -> None:
        if err:
            sys.stderr.write(text + "\n")
        else:
            self._print(text)

    def job_args(self) -> list[str]:
        return []

    def job_command(self, cmd: Sequence[str], env: Mapping[str, str]) -> None:
        import shlex

        print(" ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join(cmd))

    def job_result(self, lines: Sequence[str]) -> None:
        sys.stdout.write("".join(line + "\n" for line in lines))

    def answer_format(self, fmt: str) -> str:
        return fmt


def _verify_findings(rep: Any) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for label in ("missing", "corrupt", "unreachable"):
        found = getattr(rep, label, None)
        if found:
            yield label, found

"""The interface of what a CLI command prints (:class:`Output`) and helpers both of its forms use;
:mod:`lakepkg.cli.output` picks a form, :mod:`lakepkg.cli._console` is the console form."""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, Mapping, Optional, Sequence


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

    @property
    @abstractmethod
    def progress(self) -> bool:
        """Whether a command shows progress bars (on stderr): only in the console form, on a terminal,
        and not under ``$LAKEPKG_NO_PROGRESS``."""

    @abstractmethod
    def check_print(self, print_: Optional[str]) -> None:
        """Refuse ``--print ref|top_hash`` where it cannot be honoured (the JSON form: one document)."""

    @abstractmethod
    def warning(self, message: str) -> None:
        """A warning (a deprecated spelling...): one line on stderr, ``lakepkg: warning: ...``."""

    # -- versions --------------------------------------------------------
    @abstractmethod
    def published(self, result: Any, details: Sequence[str] = (), print_: Optional[str] = None) -> None:
        """A ``PublishResult``: its headline (``ns/name@hash published`` or ``unchanged``) then ``details``
        (one line each) and, with ``print_`` (``ref``/``top_hash``), that value as the last line; or its
        ``to_json()``."""

    @abstractmethod
    def row_diff(self, d: Any) -> None:
        """``diff --rows``: a ``RowDiff`` (one summary line per table that differs)."""

    @abstractmethod
    def compacted(self, result: Any) -> None:
        """``compact``: a ``CompactResult``."""

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

    # -- lifecycle -------------------------------------------------------
    @abstractmethod
    def removed(self, report: Any) -> None:
        """``rm``: a ``RemoveReport``."""

    @abstractmethod
    def retained(self, result: Any) -> None:
        """``retain``: a ``RetainResult`` (the policy set, and/or the retention run)."""

    @abstractmethod
    def usage(self, report: Any, rows: bool) -> None:
        """``where-used``: a ``UsageReport`` (``rows``: a search by rows, counted per version)."""

    @abstractmethod
    def redacted(self, report: Any, resume_only: bool) -> None:
        """``redact``: a ``RedactReport``."""

    @abstractmethod
    def audit_log(self, report: Any) -> None:
        """``audit``: an ``AuditReport`` (entries, chain check)."""

    @abstractmethod
    def restored(self, result: Any) -> None:
        """``restore``: a ``RestoreResult``."""

    # -- servers and jobs ------------------------------------------------
    @property
    @abstractmethod
    def echoes(self) -> bool:
        """Whether a command that narrates its steps as it goes (``demo``) prints them itself."""

    @abstractmethod
    def demo(self, result: Any) -> None:
        """``demo``: the JSON form of its result (the console form was narrated as it ran)."""

    @abstractmethod
    def serving(self, what: str, info: Mapping[str, Any], text: str, err: bool = False) -> None:
        """A server started (``catalog``, ``metastore start``): ``info`` as JSON, or ``text`` (on
        stderr with ``err``)."""

    @abstractmethod
    def job_args(self) -> list[str]:
        """The arguments a spark-submit job gets so it answers in this form (``--json`` or none)."""

    @abstractmethod
    def job_command(self, cmd: Sequence[str], env: Mapping[str, str]) -> None:
        """``spark ... --show-command``: the spark-submit command and the environment it needs."""

    @abstractmethod
    def job_result(self, lines: Sequence[str]) -> None:
        """What a spark-submit job printed on stdout (its result), relayed."""

    @abstractmethod
    def answer_format(self, fmt: str) -> str:
        """The ``query --format`` to write an answer in (``json`` in the JSON form)."""


def record_json(rec: Any, tags: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """A version record as JSON, with the tags pointing at it when ``tags`` (tag → record key) is given."""
    d = rec.to_json()
    if tags is not None:
        d["tags"] = sorted(t for t, key in tags.items() if key == rec.key)
    return d

"""A package's version history: what ``lakepkg log NAME`` shows, as a Python list.

    hist = lakepkg.read.history.log("sales/orders")
    hist[0]            # the newest VersionRecord
    hist.tags          # {"latest": "<top hash>", "prod": "<top hash>"}
    hist               # a table in a notebook (_repr_html_), a short line in a console
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from lakepkg.errors import NotFoundError
from lakepkg.format.names import validate_package_name
from lakepkg.registry import Registry, VersionRecord, open_registry


def _short(ref: str) -> str:
    name, sep, h = str(ref).rpartition("@")
    return f"{name}@{h[:10]}" if sep else str(ref)[:10]


def merge_label(merge: Optional[dict[str, Any]]) -> str:
    """``merge of ns/a@3fa2c1e0b4 and ns/b@9c0d1e2f3a (base ns/a@1b2c3d4e5f)`` for a merge's record
    field (:attr:`lakepkg.registry.VersionRecord.merge`), ``""`` for any other version."""
    if not merge:
        return ""
    parents = [_short(p) for p in merge.get("parents") or []]
    base = merge.get("base")
    return f"merge of {' and '.join(parents)}" + (f" (base {_short(base)})" if base else "")


class VersionHistory(list[VersionRecord]):
    """The versions of one package, newest first, with the tags that point at them."""

    def __init__(self, name: str, records: Iterable[VersionRecord], tag_keys: Optional[dict[str, str]] = None) -> None:
        super().__init__(records)
        self.name = name
        self._tag_keys = dict(tag_keys or {})  # tag -> record key

    @property
    def tag_keys(self) -> dict[str, str]:
        """Tag → key of the version record it points at."""
        return dict(self._tag_keys)

    @property
    def tags(self) -> dict[str, str]:
        """Tag → top hash of the version it points at."""
        by_key = {r.key: r.top_hash for r in self}
        return {t: by_key[k] for t, k in sorted(self._tag_keys.items()) if k in by_key}

    def tags_of(self, record: VersionRecord) -> list[str]:
        """The tags pointing at ``record``."""
        return sorted(t for t, k in self._tag_keys.items() if k == record.key)

    def to_json(self) -> list[dict[str, Any]]:
        """What ``lakepkg log --json`` prints: each record's JSON plus its tags."""
        return [{**r.to_json(), "tags": self.tags_of(r)} for r in self]

    def __repr__(self) -> str:
        newest = f", newest {self[0].top_hash[:10]} {self[0].created_at}" if self else ""
        return f"<VersionHistory {self.name}: {len(self)} versions{newest}>"

    def _repr_html_(self) -> str:
        from lakepkg.read.html import card, grid  # notebooks only: `lakepkg log` does not import html

        rows = []
        for r in self:
            run = r.run or {}
            run_text = " ".join(f"{k}={run[k]}" for k in ("dag_id", "run_id", "task_id", "commit") if run.get(k))
            rows.append((r.top_hash[:10], r.created_at, r.author, r.message, ", ".join(self.tags_of(r)),
                         r.derived_from or "", merge_label(r.merge), run_text))
        return card(f"History of {self.name} ({len(self)} versions)",
                    grid(["top hash", "created", "author", "message", "tags", "derived from", "merge", "run"], rows))


def log(name: str, registry: "Registry | str | None" = None) -> VersionHistory:
    """The version history of ``name``, newest first (NotFoundError when it has no version)."""
    validate_package_name(name)
    reg = open_registry(registry)
    records = list(reversed(reg.versions(name)))
    if not records:
        raise NotFoundError(f"package {name} not found in {reg.location}; `lakepkg ls` lists packages")
    return VersionHistory(name, records, reg.tag_versions(name))

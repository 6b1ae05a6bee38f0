"""What the registry stores about a version and a tag: :class:`VersionRecord` (everything about a
version that is *not* hashed), :class:`VersionStub` (what a history listing tells) and
:class:`TagInfo` (a tag as stored)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Optional

from lakepkg.errors import IntegrityError


def lakepkg_version() -> str:
    """The installed lakepkg's version (read from its metadata: the registry does not import the top package)."""
    from importlib import metadata  # on first use: 0.014 s of every command's start-up otherwise

    try:
        return metadata.version("lakepkg")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return ""


@dataclass(frozen=True)
class TagInfo:
    """A tag as stored: the version it names."""

    name: str
    tag: str
    top_hash: str
    version: str   # the record key
    token: str     # the backend's token for compare-and-swap


@dataclass
class VersionRecord:
    """One published version: its top hash plus everything that is *not* hashed."""

    package: str
    top_hash: str
    created_at: str
    author: str = ""
    message: str = ""
    parent: Optional[str] = None
    run: dict[str, Any] = field(default_factory=dict)
    derived_from: Optional[str] = None
    sources: dict[str, Any] = field(default_factory=dict)
    lakepkg_version: str = ""
    redacted: list[dict[str, Any]] = field(default_factory=list)  # redactions this version is the successor of
    #: a merge's parents (``parents``: ``[ours, theirs]`` as ``name@tophash``), ``base`` and ``strategy``
    merge: Optional[dict[str, Any]] = None
    key: str = ""  # the record's key in the backend (not stored in the record)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("key")
        if not d["redacted"]:  # records that were never redacted keep their original shape
            d.pop("redacted")
        if d["merge"] is None:  # nor do records that are not merges
            d.pop("merge")
        return d

    @property
    def parents(self) -> list[str]:
        """The versions this one was made from: a merge's two parents (``name@tophash``), else
        ``parent`` (a top hash of the same package) and ``derived_from`` when set."""
        if self.merge and isinstance(self.merge.get("parents"), list):
            return [str(p) for p in self.merge["parents"]]
        return [p for p in (self.parent, self.derived_from) if p]

    @classmethod
    def from_json(cls, d: dict[str, Any], key: str = "") -> "VersionRecord":
        """A record from its JSON; IntegrityError (naming ``key``) when a field is missing or of the
        wrong kind: a damaged record is an error to report, never a traceback."""
        what = f"version record {key}" if key else "a version record"
        fix = "it is corrupt, restore it from a copy of the registry (`lakepkg verify` lists every damaged record)"
        missing = [k for k in ("package", "top_hash", "created_at") if k not in d]
        if missing:
            raise IntegrityError(f"{what} lacks {', '.join(missing)}; {fix}")
        kinds = {"package": str, "top_hash": str, "created_at": str, "author": str, "message": str,
                 "run": dict, "sources": dict, "redacted": list}
        wrong = [k for k, t in kinds.items() if k in d and not isinstance(d[k], t)]
        wrong += [k for k in ("parent", "derived_from") if d.get(k) is not None and not isinstance(d[k], str)]
        if d.get("merge") is not None and not (isinstance(d["merge"], dict)
                                               and isinstance(d["merge"].get("parents"), list)):
            wrong.append("merge")
        if not wrong:
            try:
                datetime.fromisoformat(d["created_at"])
            except ValueError:
                wrong.append("created_at")
        if wrong:
            raise IntegrityError(f"{what} has {', '.join(wrong)} of the wrong kind; {fix}")
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k != "key"}
        return cls(**known, key=key)

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at)

    @property
    def short(self) -> str:
        return self.top_hash[:10]


@dataclass(frozen=True)
class VersionStub:
    """What a history listing tells without reading the record."""

    key: str
    created: datetime
    top_hash: str


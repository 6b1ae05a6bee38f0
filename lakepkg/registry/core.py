"""The registry: package names, versions, tags and history over any backend pair.

Layout of metadata keys (docs/format.md, "Registry"):

* ``packages/<name>/versions/<created>-<top hash>-<seal>.json`` — immutable
  version records, created once (create-if-absent); their listing is the
  history. ``<seal>`` is the SHA-256 of the record's bytes, so a record whose
  author, message or time was rewritten no longer matches its key (records of
  older registries, ``<created>-<top hash>.json``, stay readable, unsealed).
* ``packages/<name>/tags/<tag>.json`` — ``{"top_hash": ..., "version": <record key>}``,
  moved only by compare-and-swap.
* ``gc/active/<id>.json`` — ``{"grace_seconds": ...}`` while a gc runs (see
  :meth:`Registry.gc_begin`), so a publish racing it renews what it reuses.
* lifecycle (``lakepkg.lifecycle``): ``packages/<name>/redirects/<old top hash>.json`` (a
  redacted version's successor), ``packages/<name>/retention.json`` (retention policy),
  ``audit/<seq>.json`` + ``audit/head.json`` (the hash-chained audit log),
  ``journal/redact-<id>.json`` (a committed, unfinished redaction) and ``journal/redact.lock``.

Publishing confirms (and renews) every object the version names, writes the
record, confirms the objects again against any gc running, then moves
``latest`` by compare-and-swap; two publishers racing on one name both land in
the history. Every key is built and parsed here: nothing else writes them.
"""
from __future__ import annotations

import hashlib
import math
from importlib import metadata
import re
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Optional

from lakepkg.errors import (AmbiguousRefError, ConcurrentUpdateError, ConfigError, IntegrityError, LakepkgError,
                            MissingObjectError, NotFoundError)
from lakepkg.format.canonical import canonical_json, is_digest, load_json
from lakepkg.format.hashing import hash_bytes
from lakepkg.format.names import Ref, parse_ref, validate_package_name, validate_tag
from lakepkg.format.walk import walk
from lakepkg.registry.backend import MetaBackend
from lakepkg.store.base import ObjectStore

HEXISH = re.compile(r"[0-9a-f]{4,64}")
PKG_PREFIX = "packages/"
GC_PREFIX = "gc/active/"
RECORD_KEY_RE = re.compile(r"packages/(?P<name>[a-z0-9][a-z0-9._/-]*)/versions/(?P<stamp>[0-9]{8}T[0-9]{6}\.[0-9]{6}Z)"
                           r"-(?P<hash>[0-9a-f]{64})(?:-(?P<seal>[0-9a-f]{64}))?\.json")
LATEST = "latest"
CHECK_WORKERS = 8  # parallel presence checks (a HEAD each on S3)
GC_SKEW = timedelta(minutes=10)          # clock difference tolerated between machines
GC_KEEP_FINISHED = timedelta(days=1)     # a finished gc's announcement is kept this long
GC_STALE = timedelta(days=7)             # a gc announced this long ago was killed
AUDIT_PREFIX = "audit/"
AUDIT_HEAD = "audit/head.json"
AUDIT_KEY_RE = re.compile(r"^audit/(?P<seq>[0-9]{12})\.json$")
AUDIT_GENESIS = "0" * 64
JOURNAL_PREFIX = "journal/"
JOURNAL_KEY_RE = re.compile(r"^journal/[a-z]+-[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[0-9a-f]{8}\.json$")
REDACT_LOCK = "journal/redact.lock"  # held from a redaction's commit to its end: one commits at a time


class RedactedVersionWarning(UserWarning):
    """A reference resolved to the redacted successor of the version it named (never silently)."""


warnings.simplefilter("always", RedactedVersionWarning)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def stamp(dt: datetime) -> str:
    """Sortable UTC time stamp used in record keys: ``20261122T171100.123456Z``."""
    return dt.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def _parse_stamp(s: str) -> datetime:
    return datetime.strptime(s, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=timezone.utc)


def _lakepkg_version() -> str:
    """The installed lakepkg's version (read from its metadata: the registry does not import the top package)."""
    try:
        return metadata.version("lakepkg")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return ""


def record_key(name: str, created: datetime, top_hash: str, data: bytes) -> str:
    """The key of a version record: its creation time, top hash and seal (SHA-256 of ``data``)."""
    return f"{PKG_PREFIX}{name}/versions/{stamp(created)}-{top_hash}-{hash_bytes(data)}.json"


def parse_record_key(key: str) -> Optional[re.Match[str]]:
    """The parts of a record key (name, stamp, hash, seal), or None when ``key`` is not one."""
    if not isinstance(key, str):
        return None
    m = RECORD_KEY_RE.fullmatch(key)
    if m is None:
        return None
    try:
        validate_package_name(m.group("name"))
    except LakepkgError:
        return None
    return m


LEGACY_TAG_FIELDS = frozenset({"top_hash", "updated_at"})  # a tag written before tags named their record


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


class Registry:
    """Packages over an object store (bytes) and a metadata backend (records, tags)."""

    def __init__(self, store: ObjectStore, meta: MetaBackend, location: str) -> None:
        self.store = store
        self.meta = meta
        self.location = location

    # -- reading -----------------------------------------------------------
    def list_packages(self, prefix: str = "") -> list[str]:
        """Names of packages with at least one version, optionally under a namespace prefix."""
        names = set()
        for key in self.meta.list(PKG_PREFIX + prefix):
            rest = key[len(PKG_PREFIX):]
            # <name>/versions/<record>.json; a name may itself hold a "versions" segment (a/versions/x)
            name, sep, base = rest.rpartition("/versions/")
            if sep and "/" not in base and base.endswith(".json") and name.startswith(prefix):
                names.add(name)
        return sorted(names)

    def tagged_packages(self) -> list[str]:
        """Names that hold tags but no version record (every record under a tag was deleted): verify reports them."""
        names = set()
        for key in self.meta.list(PKG_PREFIX):
            name, sep, base = key[len(PKG_PREFIX):].rpartition("/tags/")
            if sep and "/" not in base and base.endswith(".json"):
                names.add(name)
        return sorted(names - set(self.list_packages()))

    def history(self, name: str) -> list[VersionStub]:
        """Every version of ``name``, oldest first, from the key listing alone."""
        validate_package_name(name)
        prefix = f"{PKG_PREFIX}{name}/versions/"
        out = []
        for key in self.meta.list(prefix):
            m = parse_record_key(key)
            if m is None or m.group("name") != name:
                continue
            try:
                out.append(VersionStub(key, _parse_stamp(m.group("stamp")), m.group("hash")))
            except ValueError:
                continue
        out.sort(key=lambda s: (s.created, s.key))
        return out

    def unlisted_keys(self, name: str) -> list[str]:
        """Keys under ``name``'s versions that are not version records (for verify)."""
        prefix = f"{PKG_PREFIX}{name}/versions/"
        out = []
        for key in self.meta.list(prefix):
            rest = key[len(prefix):]
            if "/" in rest:
                continue  # a nested package's keys
            if parse_record_key(key) is None:
                out.append(key)
        return out

    def record(self, key: str) -> VersionRecord:
        """The version record stored under ``key``, checked against its key (name, top hash, seal)."""
        m = parse_record_key(key)
        if m is None:
            raise IntegrityError(f"{str(key)[:200]!r} is not a version record key of {self.location}; "
                                 "a tag or reference that names it is corrupt, fix it with `lakepkg tag`")
        got = self.meta.read(key)
        if got is None:
            raise NotFoundError(f"version record {key} is missing from {self.location}; run `lakepkg verify`")
        doc = load_json(got[0], f"version record {key}")
        if not isinstance(doc, dict):
            raise IntegrityError(f"version record {key} in {self.location} is not a JSON object; it is corrupt, restore it from a copy of the registry")
        rec = VersionRecord.from_json(doc, key=key)
        if rec.top_hash != m.group("hash") or rec.package != m.group("name"):
            # the key names the version; a record that says otherwise would make name@<hash> load another tree
            raise IntegrityError(f"version record {key} in {self.location} names {rec.package}@{str(rec.top_hash)[:12]}, "
                                 f"not what its key says; it was altered, restore it from a copy of the registry")
        if m.group("seal") and hash_bytes(got[0]) != m.group("seal"):
            raise IntegrityError(f"version record {key} in {self.location} does not match its seal (author, message, "
                                 "time or run rewritten); it was altered, restore it from a copy of the registry")
        return rec

    def versions(self, name: str) -> list[VersionRecord]:
        """Full records of every version of ``name``, oldest first."""
        return [self.record(s.key) for s in self.history(name)]

    def tags(self, name: str) -> dict[str, str]:
        """Tag name → top hash (tags that do not parse are left out; ``lakepkg verify`` names them)."""
        return {t: info.top_hash for t, info in self._tag_infos(name).items()}

    def tag_versions(self, name: str) -> dict[str, str]:
        """Tag name → the key of the version record it names (the same top hash can be published
        more than once: A, B, then A again)."""
        return {t: info.version for t, info in self._tag_infos(name).items()}

    def _tag_key(self, name: str, tag: str) -> str:
        return f"{PKG_PREFIX}{name}/tags/{tag}.json"

    def _tag_names(self, name: str) -> list[str]:
        validate_package_name(name)
        prefix = f"{PKG_PREFIX}{name}/tags/"
        out = []
        for key in self.meta.list(prefix):
            rest = key[len(prefix):]
            if rest.endswith(".json") and "/" not in rest:  # not keys of a nested package (name/tags/x/...)
                out.append(rest[:-5])
        return out

    def _tag_infos(self, name: str) -> dict[str, TagInfo]:
        out = {}
        for t in self._tag_names(name):
            try:
                info = self.tag_info(name, t)
            except IntegrityError:
                continue
            if info is not None:
                out[t] = info
        return out

    def _parse_tag(self, name: str, tag: str, data: bytes, token: str) -> TagInfo:
        what = f"tag {name}:{tag} in {self.location}"
        fix = f"it is corrupt, move it with `lakepkg tag {name} {tag} <hash>`"
        doc = load_json(data, what)
        if not isinstance(doc, dict) or not isinstance(doc.get("top_hash"), str) or not is_digest(doc["top_hash"]):
            raise IntegrityError(f"{what} is not a tag document (an object with top_hash and version); {fix}")
        version = doc.get("version")
        if version is None:  # tags of early registries named only the top hash, and had no other field
            if not set(doc) <= LEGACY_TAG_FIELDS:
                extra = ", ".join(sorted(set(doc) - LEGACY_TAG_FIELDS))
                raise IntegrityError(f"{what} has no version field (it has {extra[:120]}); {fix}")
            hist = [st for st in self.history(name) if st.top_hash == doc["top_hash"]]
            if not hist:
                raise IntegrityError(f"{what} names {doc['top_hash'][:10]}, which is not a version of {name}; run `lakepkg verify`")
            version = hist[-1].key
        m = parse_record_key(version)
        if m is None or m.group("name") != name or m.group("hash") != doc["top_hash"]:
            raise IntegrityError(f"{what} names {str(version)[:120]!r}, which is not a record of {name}@{doc['top_hash'][:10]}; {fix}")
        return TagInfo(name, tag, doc["top_hash"], version, token)

    def tag_info(self, name: str, tag: str) -> Optional[TagInfo]:
        """The tag ``name:tag`` checked (an object naming a record key of this package with the same
        top hash), or None when it does not exist. IntegrityError when it is malformed."""
        validate_package_name(name)
        validate_tag(tag)
        got = self.meta.read(self._tag_key(name, tag))
        if got is None:
            return None
        return self._parse_tag(name, tag, got[0], got[1])

    def tag_value(self, name: str, tag: str) -> Optional[str]:
        """The top hash ``name:tag`` names, or None when the tag does not exist."""
        info = self.tag_info(name, tag)
        return info.top_hash if info else None

    def _lookup(self, ref: "str | Ref") -> VersionRecord:
        """Find the version a reference names (tag, hash prefix or time) in the history alone;
        :meth:`resolve` adds redaction redirects and notices on top."""
        r = parse_ref(ref) if isinstance(ref, str) else ref
        hist = self.history(r.name)
        if not hist:
            known = self.list_packages(r.name.split("/")[0] + "/")
            hint = f" (packages in {r.name.split('/')[0]}/: {', '.join(known[:5])})" if known else ""
            inner = [k for k in known if r.name.startswith(k + "/")]
            if inner and r.tag == LATEST and not r.path:  # "ns/name/table": a path needs a version selector
                pkg = max(inner, key=len)
                raise NotFoundError(f"package {r.name} not found; to name a node inside package {pkg}, give a "
                                    f"version first: {pkg}:latest{r.name[len(pkg):]}")
            raise NotFoundError(f"package {r.name} not found in registry {self.location}{hint}; `lakepkg ls` lists packages")
        if r.hash_prefix:
            matches = {s.top_hash for s in hist if s.top_hash.startswith(r.hash_prefix)}
            if not matches:
                raise NotFoundError(f"no version of {r.name} has a top hash starting {r.hash_prefix}; `lakepkg log {r.name}` lists versions")
            if len(matches) > 1:
                raise AmbiguousRefError(f"hash prefix {r.hash_prefix} matches {len(matches)} versions of {r.name}; give more digits")
            h = matches.pop()
            stub = [s for s in hist if s.top_hash == h][-1]
            return self.record(stub.key)
        if r.at is not None:
            before = [s for s in hist if s.created <= r.at]
            if not before:
                raise NotFoundError(f"{r.name} had no version at {r.at.isoformat()}; its first is from {hist[0].created.isoformat()}")
            return self.record(before[-1].key)
        tag = r.tag or LATEST
        info = self.tag_info(r.name, tag)
        if info is None:
            raise NotFoundError(f"{r.name} has no tag {tag!r}; tags: {', '.join(sorted(self.tags(r.name))) or 'none'}")
        return self.record(info.version)  # the tag names a record of its own package (checked by tag_info)

    # -- writing -----------------------------------------------------------
    def publish(
        self,
        name: str,
        top_hash: str,
        *,
        message: str = "",
        author: str = "",
        run: Optional[dict[str, Any]] = None,
        derived_from: Optional[str] = None,
        sources: Optional[dict[str, Any]] = None,
        tags: tuple[str, ...] = (),
        force_new: bool = False,
        merge: Optional[dict[str, Any]] = None,
        expect_latest: Optional[str] = "*",
    ) -> tuple[VersionRecord, bool]:
        """Record ``top_hash`` as the newest version of ``name`` and move ``latest``.

        Returns (record, created). If ``latest`` already names ``top_hash`` (a
        retried task), no new version is minted and ``created`` is False.
        Every object the version names must be stored: it is confirmed present (and renewed
        for gc) before the record is written and again after (see :meth:`confirm_objects`).
        ``merge``: the merge fields of the record (:attr:`VersionRecord.merge`).
        ``expect_latest``: a compare-and-swap on ``latest`` (a top hash it must still name;
        ``None``: the package must not exist yet; ``"*"``: any): when ``latest`` moved, nothing is
        recorded and ConcurrentUpdateError is raised.
        """
        validate_package_name(name)
        for t in tags:
            validate_tag(t)
        if not self.store.has(top_hash):
            raise NotFoundError(f"top hash {top_hash[:12]} is not in the store {self.store.location}; build the package before publishing")
        try:
            cur = self.tag_info(name, LATEST)
        except IntegrityError:
            cur = None  # a corrupt latest is replaced by this publish (verify reports how it was)
        if expect_latest != "*" and (cur.top_hash if cur else None) != expect_latest:
            raise ConcurrentUpdateError(
                f"{name}:{LATEST} now names {cur.top_hash[:10] if cur else 'nothing'}, not "
                f"{expect_latest[:10] if expect_latest else 'nothing'}: it moved meanwhile; nothing was published, "
                "re-run against the new latest")
        if cur is not None and cur.top_hash == top_hash and not force_new:
            rec = self.record(cur.version)  # named by a record already: gc keeps its objects
            for t in tags:
                self.set_tag(name, t, top_hash)
            return rec, False
        began = _now()
        self.confirm_objects(top_hash, sources)
        now = _now()
        rec = VersionRecord(
            package=name, top_hash=top_hash, created_at=now.isoformat(timespec="microseconds"),
            author=author, message=message, parent=cur.top_hash if cur else None,
            run=run or {}, derived_from=derived_from, sources=sources or {}, lakepkg_version=_lakepkg_version(),
            merge=merge,
        )
        rec, _ = self._create_record(rec, retry_time=True)
        self._confirm_after_record(rec, began)
        if expect_latest != "*":
            self._swap_latest(name, rec, cur)
        else:
            self.advance_tag(name, LATEST, rec)
        for t in tags:
            self.set_tag(name, t, top_hash)
        return rec, True

    def import_record(self, record: VersionRecord, as_name: Optional[str] = None) -> tuple[VersionRecord, bool]:
        """Record a version copied from another registry (push / pull), keeping its time, author,
        message, run and sources. A version of the same name and top hash already here is reused
        (created False). The objects must be stored; they are confirmed like :meth:`publish` does.
        ``latest`` is not moved: call :meth:`advance_tag`."""
        name = validate_package_name(as_name or record.package)
        for st in reversed(self.history(name)):
            if st.top_hash == record.top_hash:
                return self.record(st.key), False
        began = _now()
        self.confirm_objects(record.top_hash, record.sources)
        new = VersionRecord.from_json({**record.to_json(), "package": name})
        new, created = self._create_record(new, retry_time=False)
        if created:
            self._confirm_after_record(new, began)
        return new, created

    def _create_record(self, rec: VersionRecord, retry_time: bool) -> tuple[VersionRecord, bool]:
        """Create the record under its sealed key. With ``retry_time`` a key already taken (same
        microsecond) moves the time on; else an existing identical record is the one (a re-run)."""
        while True:
            data = canonical_json(rec.to_json())
            key = record_key(rec.package, rec.created, rec.top_hash, data)
            if self.meta.create(key, data):
                rec.key = key
                return rec, True
            if not retry_time:  # the same bytes are there already (a re-run of the same copy)
                rec.key = key
                return rec, False
            now = _now()
            rec.created_at = now.isoformat(timespec="microseconds")

    def objects_of(self, top_hash: str, sources: Optional[dict[str, Any]] = None) -> Iterator[str]:
        """Every object a version names (root, files, tables, pages, entries, source listings), walked
        with :func:`lakepkg.format.walk.walk`; IntegrityError/MissingObjectError when a node is unreadable."""
        for item in walk(self.store, top_hash, entry_dicts=False):
            yield item.digest
        for src in (sources or {}).values():
            if isinstance(src, dict) and isinstance(src.get("listing"), str):
                yield src["listing"]

    def confirm_objects(self, top_hash: str, sources: Optional[dict[str, Any]] = None,
                        max_age: Optional[float] = None) -> int:
        """Confirm every object of the version is stored, renewing each one's age for gc where the store
        needs it (``keep``; ``max_age``: renew objects older than this many seconds). Returns how
        many objects; MissingObjectError names the first one missing."""
        seen: set[str] = set()

        def batches() -> Iterator[list[str]]:
            batch: list[str] = []
            for d in self.objects_of(top_hash, sources):
                if d in seen:
                    continue
                seen.add(d)
                batch.append(d)
                if len(batch) >= 256:
                    yield batch
                    batch = []
            if batch:
                yield batch

        with ThreadPoolExecutor(max_workers=CHECK_WORKERS) as pool:
            for batch in batches():
                for d, ok in zip(batch, pool.map(lambda x: self.store.keep(x, max_age), batch)):
                    if not ok:
                        raise MissingObjectError(
                            f"object {d[:12]} of {top_hash[:10]} is missing from {self.store.location} (removed by a "
                            "gc that ran meanwhile?); nothing was published, re-run the build or push")
        return len(seen)

    def _confirm_after_record(self, rec: VersionRecord, began: datetime) -> None:
        """A gc that listed records before ours was written may have deleted, or still be deleting,
        what the first confirmation (started at ``began``) saw. When a gc ran since, confirm again,
        renewing objects older than its grace; if one is gone, the record is withdrawn."""
        window = self.gc_window(since=began)
        if window is None:
            return  # no gc announced since the confirmation began: the objects it saw are still there
        try:
            self.confirm_objects(rec.top_hash, rec.sources, max_age=window)
        except LakepkgError:
            self.meta.delete(rec.key)  # no tag names it yet: withdraw it
            raise

    def _swap_latest(self, name: str, rec: VersionRecord, cur: Optional[TagInfo]) -> None:
        """Move ``latest`` from ``cur`` to ``rec`` in one compare-and-swap; when another publish moved
        it first, the record just written is withdrawn (no tag names it) and ConcurrentUpdateError
        is raised."""
        doc = canonical_json({"top_hash": rec.top_hash, "version": rec.key, "updated_at": _now().isoformat()})
        if not self.meta.replace(self._tag_key(name, LATEST), doc, cur.token if cur else None):
            self.meta.delete(rec.key)
            raise ConcurrentUpdateError(f"{name}:{LATEST} moved while this version was being recorded; nothing "
                                        "was published, re-run against the new latest")

    def advance_tag(self, name: str, tag: str, rec: VersionRecord, attempts: int = 200) -> bool:
        """Move ``tag`` to ``rec`` unless a newer version already holds it (CAS loop). True when moved."""
        validate_package_name(name)
        validate_tag(tag)
        tkey = self._tag_key(name, tag)
        doc = canonical_json({"top_hash": rec.top_hash, "version": rec.key, "updated_at": _now().isoformat()})
        for i in range(attempts):
            cur = self.meta.read(tkey)
            if cur is not None:
                try:
                    held = self._parse_tag(name, tag, cur[0], cur[1]).version
                except IntegrityError:
                    held = ""  # a corrupt tag is replaced
                if held == rec.key:
                    return False
                if held > rec.key:  # keys sort by creation time
                    return False
            if self.meta.replace(tkey, doc, cur[1] if cur else None):
                return True
            time.sleep(min(0.001 * (2 ** min(i, 8)), 0.2))
        raise ConcurrentUpdateError(f"could not move {name}:{tag} after {attempts} attempts; the version is recorded, re-run `lakepkg tag`")

    def set_tag(self, name: str, tag: str, ref_or_hash: str, expected: Optional[str] = "*") -> VersionRecord:
        """Point ``tag`` at a version. ``expected``: the top hash the tag must hold now
        (``None``: must not exist; ``"*"``: any) — a compare-and-swap."""
        validate_tag(tag)
        validate_package_name(name)
        target = ref_or_hash
        if target.startswith(name + "@") or target.startswith(name + ":"):
            rec = self.resolve(target)
        elif HEXISH.fullmatch(target):
            rec = self.resolve(f"{name}@{target}")
        else:
            rec = self.resolve(f"{name}:{target}")
        tkey = self._tag_key(name, tag)
        doc = canonical_json({"top_hash": rec.top_hash, "version": rec.key, "updated_at": _now().isoformat()})
        for _ in range(50):
            cur = self.meta.read(tkey)
            if expected != "*":
                try:
                    held = self._parse_tag(name, tag, cur[0], cur[1]).top_hash if cur else None
                except IntegrityError:
                    held = "(corrupt)"
                if held != expected:
                    raise ConcurrentUpdateError(
                        f"tag {name}:{tag} holds {held[:10] if held else 'nothing'}, not {expected[:10] if expected else 'nothing'}; someone moved it, re-read and retry")
            if self.meta.replace(tkey, doc, cur[1] if cur else None):
                return rec
        raise ConcurrentUpdateError(f"tag {name}:{tag} kept changing; retry")

    def delete_tag(self, name: str, tag: str) -> None:
        validate_tag(tag)
        validate_package_name(name)
        if tag == LATEST:
            raise NotFoundError("the latest tag is managed by publish and cannot be deleted")
        self.meta.delete(self._tag_key(name, tag))

    def iter_all_records(self) -> Iterator[VersionRecord]:
        """Every version record of every package (for gc and verify)."""
        for name in self.list_packages():
            yield from self.versions(name)

    def tag_targets(self) -> set[str]:
        """Top hashes any tag of any package names."""
        out: set[str] = set()
        for name in self.list_packages():
            out.update(self.tags(name).values())
        return out

    # -- checks (verify) ---------------------------------------------------
    def audit(self, name: str) -> list[str]:
        """Problems with ``name``'s metadata: keys under versions/ that are not records, records that do
        not match their key or seal, tags that do not parse, name another package's record or a record
        that is missing, and a package without ``latest``. Objects are not checked here."""
        problems = [f"{name}: {k} is not a version record key" for k in self.unlisted_keys(name)]
        hist = self.history(name)
        for st in hist:
            try:
                self.record(st.key)
            except (IntegrityError, NotFoundError) as exc:
                problems.append(f"{name}@{st.top_hash[:10]}: {exc}")
        keys = {st.key for st in hist}
        names = self._tag_names(name)
        for t in names:
            try:
                validate_tag(t)
                info = self.tag_info(name, t)
            except LakepkgError as exc:
                problems.append(f"{name}:{t}: {exc}")
                continue
            if info is not None and info.version not in keys:
                problems.append(f"{name}:{t}: names version record {info.version}, which is missing from {self.location} (deleted?); "
                                f"move the tag with `lakepkg tag {name} {t} <hash>`")
        if hist and LATEST not in names:
            problems.append(f"{name}: has versions but no {LATEST} tag (deleted?); re-point it with `lakepkg tag {name} {LATEST} <hash>`")
        return problems

    # -- gc coordination ---------------------------------------------------
    def gc_begin(self, grace_seconds: float) -> tuple[str, float]:
        """Announce a gc with this grace; returns (token, start time in the metadata store's clock).
        A publish whose confirmation may overlap the gc renews every object it names that is older
        than the grace after writing its record, so the gc cannot take them. Announcements of gcs
        that finished more than a day ago, or started more than a week ago, are removed here."""
        if not isinstance(grace_seconds, (int, float)) or not math.isfinite(grace_seconds) or grace_seconds < 0:
            raise ConfigError(f"gc grace {grace_seconds!r} is not a finite, non-negative number of seconds; give e.g. --grace-hours 24")
        for key, doc in self._gc_announcements():
            done, started = doc.get("finished"), doc.get("started")
            if (done is not None and _now() - done > GC_KEEP_FINISHED) or (started is not None and _now() - started > GC_STALE):
                self.meta.delete(key)
        key = f"{GC_PREFIX}{uuid.uuid4().hex}.json"
        doc = {"grace_seconds": float(grace_seconds), "started_at": _now().isoformat()}
        self.meta.create(key, canonical_json(doc))
        started_at = self.meta.mtime(key)
        return key, started_at if started_at is not None else time.time()

    def gc_end(self, token: str) -> None:
        """Mark the announced gc finished (kept a while: a publish that began before it ended must
        still see that it ran)."""
        if not token.startswith(GC_PREFIX):
            return
        got = self.meta.read(token)
        if got is None:
            return
        doc = load_json(got[0], token)
        doc["finished_at"] = _now().isoformat()
        self.meta.replace(token, canonical_json(doc), got[1])

    def _gc_announcements(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for key in self.meta.list(GC_PREFIX):
            got = self.meta.read(key)
            if got is None:
                continue
            try:
                doc = load_json(got[0], key)
                g = float(doc["grace_seconds"])
                parsed = {"grace": max(0.0, g) if math.isfinite(g) else 0.0,
                          "started": datetime.fromisoformat(doc["started_at"]),
                          "finished": datetime.fromisoformat(doc["finished_at"]) if doc.get("finished_at") else None}
            except (LakepkgError, KeyError, TypeError, ValueError):
                parsed = {"grace": 0.0, "started": None, "finished": None}  # unreadable: assume the strictest
            out.append((key, parsed))
        return out

    def gc_window(self, since: Optional[datetime] = None) -> Optional[float]:
        """The smallest grace of the gcs that are running, or finished after ``since`` (less
        ``GC_SKEW`` for clocks of other machines); None when no gc can have overlapped."""
        graces = []
        for _key, doc in self._gc_announcements():
            done = doc["finished"]
            if done is None or since is None or done >= since - GC_SKEW:
                graces.append(doc["grace"])
        return min(graces) if graces else None

    def gc_active_grace(self) -> Optional[float]:
        """The smallest grace of the gcs running now (None when none is)."""
        return self.gc_window(since=_now() + GC_SKEW)

    def clear_temporaries(self, cutoff: float, dry_run: bool = False) -> int:
        """Remove leftovers of interrupted writes older than ``cutoff`` (epoch seconds): the store's
        temporaries and the metadata backend's. Returns how many."""
        n = 0
        for owner in (self.store, self.meta):
            for tmp, mtime in list(owner.iter_temporaries()):
                if mtime < cutoff:
                    n += 1
                    if not dry_run:
                        owner.clear_temporary(tmp)
        return n

    # -- lifecycle: removal, redaction, retention, audit (lakepkg.lifecycle; docs/format.md "Registry") --
    def resolve(self, ref: "str | Ref") -> VersionRecord:
        """Find the version a reference names (tag, hash prefix or time).

        A hash of a version that was redacted resolves to its successor, and every resolution to a
        redacted successor emits a :class:`RedactedVersionWarning` ("redacted on DATE: REASON")."""
        r = parse_ref(ref) if isinstance(ref, str) else ref
        try:
            rec = self._lookup(r)
        except NotFoundError:
            found = self.redacted_successor(r.name, r.hash_prefix) if r.hash_prefix else None
            if found is None:
                raise
            rec = found
        if rec.redacted:
            warnings.warn(RedactedVersionWarning(redaction_notice(r, rec)), stacklevel=2)
        return rec

    def delete_version(self, key: str) -> None:
        """Remove one version record from the history (``lakepkg rm``, retention, redaction).
        Tags are the caller's business: move them off the version first."""
        if parse_record_key(key) is None:
            raise NotFoundError(f"{key!r} is not a version record key")
        self.meta.delete(key)

    def has_record(self, key: str) -> bool:
        """True while the version record ``key`` exists."""
        return parse_record_key(key) is not None and self.meta.read(key) is not None

    def create_successor(self, rec: VersionRecord) -> tuple[VersionRecord, bool]:
        """Create the record of a redacted version's successor under its sealed key (its time stamp is
        the one of the version it replaces, so its place in the history is kept). Its objects are
        confirmed like :meth:`publish` does; a re-run finds the same record (created False)."""
        began = _now()
        self.confirm_objects(rec.top_hash, rec.sources)
        rec, created = self._create_record(rec, retry_time=False)
        if created:
            self._confirm_after_record(rec, began)
        return rec, created

    def move_tag_off(self, name: str, tag: str, old_key: str, new: Optional[VersionRecord]) -> bool:
        """Compare-and-swap: if ``tag`` still names the record ``old_key``, point it at ``new`` (or
        delete it when ``new`` is None). False when the tag names another version (someone moved it)."""
        tkey = f"{PKG_PREFIX}{name}/tags/{tag}.json"
        for i in range(200):
            cur = self.meta.read(tkey)
            if cur is None:
                return False
            held = load_json(cur[0], f"tag {name}:{tag}")
            if held.get("version") != old_key:
                return False
            if new is None:
                self.meta.delete(tkey)  # the backends have no conditional delete: re-check below
                return True
            doc = canonical_json({"top_hash": new.top_hash, "version": new.key, "updated_at": _now().isoformat()})
            if self.meta.replace(tkey, doc, cur[1]):
                return True
            time.sleep(min(0.001 * (2 ** min(i, 8)), 0.2))
        raise ConcurrentUpdateError(f"tag {name}:{tag} kept changing; re-run")

    def repair_latest(self, name: str) -> None:
        """Make ``latest`` name the newest version when it is missing or names a record that is gone
        (after a removal raced a publish)."""
        hist = self.history(name)
        try:
            cur = self.tag_info(name, LATEST)
        except IntegrityError:
            cur = None
        if cur is not None and any(s.key == cur.version for s in hist):
            return
        if hist:
            self.advance_tag(name, LATEST, self.record(hist[-1].key))

    def set_redirect(self, name: str, old_top_hash: str, doc: dict[str, Any]) -> None:
        """Record that version ``old_top_hash`` of ``name`` was redacted: ``doc`` names its successor
        (``{"successor": <record key>, "top_hash", "redacted_at", "reason"}``)."""
        key = f"{PKG_PREFIX}{name}/redirects/{old_top_hash}.json"
        for _ in range(50):
            cur = self.meta.read(key)
            if self.meta.replace(key, canonical_json(doc), cur[1] if cur else None):
                return
        raise ConcurrentUpdateError(f"redirect {key} kept changing; re-run")

    def redirects(self, name: str) -> dict[str, dict[str, Any]]:
        """Old top hash → redirect document, for every redacted version of ``name``."""
        validate_package_name(name)
        prefix = f"{PKG_PREFIX}{name}/redirects/"
        out = {}
        for key in self.meta.list(prefix):
            base = key[len(prefix):]
            if "/" in base or not base.endswith(".json"):
                continue
            got = self.meta.read(key)
            if got:
                out[base[:-5]] = load_json(got[0], f"redirect {key}")
        return out

    def redacted_successor(self, name: str, hash_prefix: str) -> Optional[VersionRecord]:
        """The current successor of the redacted version whose top hash starts with ``hash_prefix``,
        or None. Follows chains (a successor redacted again); a registry that received the successor
        by ``push`` has no redirect keys, so a full hash is also looked up in the records."""
        try:
            docs = self.redirects(name)
        except LakepkgError:
            return None
        matches = sorted(h for h in docs if h.startswith(hash_prefix))
        if len(matches) > 1:
            raise AmbiguousRefError(f"hash prefix {hash_prefix} matches {len(matches)} redacted versions of {name}; give more digits")
        hist = {s.top_hash: s for s in self.history(name)}
        if matches:
            h = matches[0]
            for _ in range(64):
                d = docs.get(h)
                if d is None:
                    break
                h = d["top_hash"]
                if h in hist:
                    return self.record(hist[h].key)
        if len(hash_prefix) == 64:
            for s in reversed(list(hist.values())):
                rec = self.record(s.key)
                if any(ev.get("from") == hash_prefix for ev in rec.redacted):
                    return rec
        return None

    def read_doc(self, key: str) -> Optional[tuple[dict[str, Any], str]]:
        """A lifecycle document (retention policy, journal, audit entry) and its token, or None."""
        _check_lifecycle_key(key)
        got = self.meta.read(key)
        if got is None:
            return None
        return load_json(got[0], key), got[1]

    def write_doc(self, key: str, doc: dict[str, Any], token: Optional[str] = None, *, create: bool = False) -> bool:
        """Write a lifecycle document: create-if-absent (``create``), else compare-and-swap on ``token``
        (``None``: only if absent)."""
        _check_lifecycle_key(key)
        data = canonical_json(doc)
        return self.meta.create(key, data) if create else self.meta.replace(key, data, token)

    def delete_doc(self, key: str) -> None:
        _check_lifecycle_key(key)
        self.meta.delete(key)

    def list_docs(self, prefix: str) -> list[str]:
        """Keys of lifecycle documents under ``prefix`` (``journal/``, ``audit/``), in order."""
        return [k for k in self.meta.list(prefix) if _is_lifecycle_key(k)]

    def pending_records(self) -> Iterator[VersionRecord]:
        """Version records a committed, unfinished redaction (``journal/``) is about to publish: gc keeps
        their objects however old they are, so a re-run of the redaction finds them all."""
        for key in self.list_docs(JOURNAL_PREFIX):
            if not JOURNAL_KEY_RE.match(key):
                continue
            got = self.read_doc(key)
            for v in (got[0].get("versions") or []) if got else []:
                if isinstance(v, dict) and isinstance(v.get("record"), dict):
                    yield VersionRecord.from_json(v["record"], key=str(v.get("successor_key", "")))

    def append_audit(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append ``entry`` to the hash-chained audit log: it gets ``seq`` (1, 2, …) and ``prev`` (the
        SHA-256 of the previous entry's bytes), is created once under ``audit/<seq>.json``, and
        ``audit/head.json`` is moved forward. Two writers racing both land, one after the other."""
        for i in range(200):
            keys = self.audit_keys()
            if keys:
                last = self.meta.read(keys[-1])
                if last is None:
                    continue
                seq = int(AUDIT_KEY_RE.match(keys[-1]).group("seq")) + 1  # type: ignore[union-attr]
                prev = hashlib.sha256(last[0]).hexdigest()
            else:
                seq, prev = 1, AUDIT_GENESIS
            doc = {**entry, "seq": seq, "prev": prev}
            data = canonical_json(doc)
            if self.meta.create(f"{AUDIT_PREFIX}{seq:012d}.json", data):
                self._advance_audit_head(seq, hashlib.sha256(data).hexdigest())
                return doc
            time.sleep(min(0.001 * (2 ** min(i, 8)), 0.2))
        raise ConcurrentUpdateError("could not append to the audit log after 200 attempts; re-run")

    def _advance_audit_head(self, seq: int, digest: str) -> None:
        for _ in range(200):
            cur = self.meta.read(AUDIT_HEAD)
            if cur is not None and int(load_json(cur[0], AUDIT_HEAD).get("seq", 0)) >= seq:
                return
            if self.meta.replace(AUDIT_HEAD, canonical_json({"seq": seq, "hash": digest}), cur[1] if cur else None):
                return

    def audit_keys(self) -> list[str]:
        """Keys of the audit log's entries, oldest first."""
        return [k for k in self.meta.list(AUDIT_PREFIX) if AUDIT_KEY_RE.match(k)]

    def audit_raw(self) -> Iterator[tuple[str, bytes]]:
        """(key, bytes) of every audit entry, oldest first (the chain is checked by lakepkg.lifecycle.audit)."""
        for k in self.audit_keys():
            got = self.meta.read(k)
            if got is not None:
                yield k, got[0]

    def audit_head(self) -> Optional[dict[str, Any]]:
        got = self.meta.read(AUDIT_HEAD)
        return load_json(got[0], AUDIT_HEAD) if got else None

def _is_lifecycle_key(key: str) -> bool:
    if AUDIT_KEY_RE.match(key) or key in (AUDIT_HEAD, REDACT_LOCK) or JOURNAL_KEY_RE.match(key):
        return True
    if key.startswith(PKG_PREFIX) and key.endswith("/retention.json"):
        try:
            validate_package_name(key[len(PKG_PREFIX):-len("/retention.json")])
            return True
        except LakepkgError:
            return False
    return False


def _check_lifecycle_key(key: str) -> None:
    if not _is_lifecycle_key(key):
        raise NotFoundError(f"{key!r} is not a lifecycle key (audit/<seq>.json, journal/<id>.json, packages/<name>/retention.json)")


def retention_key(name: str) -> str:
    """Where the retention policy of package ``name`` is kept."""
    return f"{PKG_PREFIX}{validate_package_name(name)}/retention.json"


def redaction_notice(ref: Ref, rec: VersionRecord) -> str:
    """``sales/orders@3fa2c1d0e9 was redacted on 2026-12-01: REASON; reading its successor …``."""
    ev = rec.redacted[-1]
    named = next((e["from"] for e in rec.redacted if ref.hash_prefix and str(e.get("from", "")).startswith(ref.hash_prefix)), None)
    old = (named or ev.get("from", ""))[:10]
    when = str(ev.get("at", ""))[:10]
    return (f"{rec.package}@{old} was redacted on {when}: {ev.get('reason', '')}; "
            f"reading its redacted successor {rec.package}@{rec.short} (the removed rows are gone)")


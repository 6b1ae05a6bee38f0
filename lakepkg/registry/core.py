"""The registry: package names, versions, tags and history over any backend pair.

Layout of metadata keys (docs/format.md, "Registry"):

* ``packages/<name>/versions/<created>-<top hash>.json`` — immutable version
  records, created once (create-if-absent); their listing is the history.
* ``packages/<name>/tags/<tag>.json`` — ``{"top_hash": ..., "version": <record key>}``,
  moved only by compare-and-swap.

Publishing writes the record after every object the version names is in the
store, then moves ``latest`` by compare-and-swap; two publishers racing on one
name both land in the history.
"""
from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator, Optional

from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.errors import AmbiguousRefError, ConcurrentUpdateError, IntegrityError, LakepkgError, NotFoundError
from lakepkg.format.names import Ref, parse_ref, validate_package_name, validate_tag
from lakepkg.store.base import ObjectStore
from lakepkg.registry.backend import MetaBackend

import re

HEXISH = re.compile(r"^[0-9a-f]{4,64}$")
PKG_PREFIX = "packages/"
RECORD_KEY_RE = re.compile(r"^packages/(?P<name>.+)/versions/[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-(?P<hash>[0-9a-f]{64})\.json$")
LATEST = "latest"
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
    key: str = ""  # the record's key in the backend (not stored in the record)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("key")
        if not d["redacted"]:  # records that were never redacted keep their original shape
            d.pop("redacted")
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], key: str = "") -> "VersionRecord":
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

    def history(self, name: str) -> list[VersionStub]:
        """Every version of ``name``, oldest first, from the key listing alone."""
        validate_package_name(name)
        prefix = f"{PKG_PREFIX}{name}/versions/"
        out = []
        for key in self.meta.list(prefix):
            base = key[len(prefix):]
            if "/" in base or not base.endswith(".json"):
                continue
            st, _, h = base[:-5].partition("-")
            try:
                out.append(VersionStub(key, _parse_stamp(st), h))
            except ValueError:
                continue
        out.sort(key=lambda s: (s.created, s.key))
        return out

    def record(self, key: str) -> VersionRecord:
        got = self.meta.read(key)
        if got is None:
            raise NotFoundError(f"version record {key} is missing from {self.location}")
        doc = load_json(got[0], f"version record {key}")
        if not isinstance(doc, dict):
            raise IntegrityError(f"version record {key} in {self.location} is not a JSON object; it is corrupt, restore it from a copy of the registry")
        rec = VersionRecord.from_json(doc, key=key)
        m = RECORD_KEY_RE.match(key)
        if m is None or rec.top_hash != m.group("hash") or rec.package != m.group("name"):
            # the key names the version; a record that says otherwise would make name@<hash> load another tree
            raise IntegrityError(f"version record {key} in {self.location} names {rec.package}@{str(rec.top_hash)[:12]}, "
                                 f"not what its key says; it was altered, restore it from a copy of the registry")
        return rec

    def versions(self, name: str) -> list[VersionRecord]:
        """Full records of every version of ``name``, oldest first."""
        return [self.record(s.key) for s in self.history(name)]

    def tags(self, name: str) -> dict[str, str]:
        """Tag name → top hash."""
        return {t: doc["top_hash"] for t, doc in self._tag_docs(name).items()}

    def tag_versions(self, name: str) -> dict[str, str]:
        """Tag name → the key of the version record it names (the same top hash can be published
        more than once: A, B, then A again)."""
        return {t: doc["version"] for t, doc in self._tag_docs(name).items() if doc.get("version")}

    def _tag_docs(self, name: str) -> dict[str, dict[str, Any]]:
        validate_package_name(name)
        prefix = f"{PKG_PREFIX}{name}/tags/"
        out = {}
        for key in self.meta.list(prefix):
            if not key.endswith(".json") or "/" in key[len(prefix):]:  # keys of a nested package (name/tags/x/...)
                continue
            got = self.meta.read(key)
            if got:
                out[key[len(prefix):-5]] = load_json(got[0], f"tag {key}")
        return out

    def _tag_doc(self, name: str, tag: str) -> Optional[tuple[dict[str, Any], str]]:
        got = self.meta.read(f"{PKG_PREFIX}{name}/tags/{tag}.json")
        if got is None:
            return None
        return load_json(got[0], f"tag {name}:{tag}"), got[1]

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
        doc = self._tag_doc(r.name, tag)
        if doc is None:
            raise NotFoundError(f"{r.name} has no tag {tag!r}; tags: {', '.join(sorted(self.tags(r.name))) or 'none'}")
        key = doc[0].get("version")
        if key:
            return self.record(key)
        h = doc[0]["top_hash"]
        return self.record([s for s in hist if s.top_hash == h][-1].key)

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
    ) -> tuple[VersionRecord, bool]:
        """Record ``top_hash`` as the newest version of ``name`` and move ``latest``.

        Returns (record, created). If ``latest`` already names ``top_hash`` (a
        retried task), no new version is minted and ``created`` is False.
        The caller must have stored every object the version names.
        """
        from lakepkg import __version__

        validate_package_name(name)
        for t in tags:
            validate_tag(t)
        if not self.store.has(top_hash):
            raise NotFoundError(f"top hash {top_hash[:12]} is not in the store {self.store.location}; build the package before publishing")
        cur = self._tag_doc(name, LATEST)
        if cur is not None and cur[0]["top_hash"] == top_hash and not force_new:
            rec = self.record(cur[0]["version"])
            for t in tags:
                self.set_tag(name, t, top_hash)
            return rec, False
        now = _now()
        rec = VersionRecord(
            package=name, top_hash=top_hash, created_at=now.isoformat(timespec="microseconds"),
            author=author, message=message, parent=cur[0]["top_hash"] if cur else None,
            run=run or {}, derived_from=derived_from, sources=sources or {}, lakepkg_version=__version__,
        )
        key = f"{PKG_PREFIX}{name}/versions/{stamp(now)}-{top_hash}.json"
        while not self.meta.create(key, canonical_json(rec.to_json())):  # same microsecond: try the next one
            now = _now()
            rec.created_at = now.isoformat(timespec="microseconds")
            key = f"{PKG_PREFIX}{name}/versions/{stamp(now)}-{top_hash}.json"
        rec.key = key
        self._advance_tag(name, LATEST, rec)
        for t in tags:
            self.set_tag(name, t, top_hash)
        return rec, True

    def _advance_tag(self, name: str, tag: str, rec: VersionRecord, attempts: int = 200) -> None:
        """Move ``tag`` to ``rec`` unless a newer version already holds it (CAS loop)."""
        tkey = f"{PKG_PREFIX}{name}/tags/{tag}.json"
        doc = canonical_json({"top_hash": rec.top_hash, "version": rec.key, "updated_at": _now().isoformat()})
        for i in range(attempts):
            cur = self.meta.read(tkey)
            if cur is not None:
                held = load_json(cur[0], f"tag {name}:{tag}")
                if held.get("version", "") > rec.key:  # keys sort by creation time
                    return
            if self.meta.replace(tkey, doc, cur[1] if cur else None):
                return
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
        elif HEXISH.match(target):
            rec = self.resolve(f"{name}@{target}")
        else:
            rec = self.resolve(f"{name}:{target}")
        tkey = f"{PKG_PREFIX}{name}/tags/{tag}.json"
        doc = canonical_json({"top_hash": rec.top_hash, "version": rec.key, "updated_at": _now().isoformat()})
        for _ in range(50):
            cur = self.meta.read(tkey)
            if expected != "*":
                held = load_json(cur[0], "tag")["top_hash"] if cur else None
                if held != expected:
                    raise ConcurrentUpdateError(
                        f"tag {name}:{tag} holds {held[:10] if held else 'nothing'}, not {expected[:10] if expected else 'nothing'}; someone moved it, re-read and retry")
            if self.meta.replace(tkey, doc, cur[1] if cur else None):
                return rec
        raise ConcurrentUpdateError(f"tag {name}:{tag} kept changing; retry")

    def delete_tag(self, name: str, tag: str) -> None:
        validate_tag(tag)
        if tag == LATEST:
            raise NotFoundError("the latest tag is managed by publish and cannot be deleted")
        self.meta.delete(f"{PKG_PREFIX}{name}/tags/{tag}.json")

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
        if RECORD_KEY_RE.match(key) is None:
            raise NotFoundError(f"{key!r} is not a version record key")
        self.meta.delete(key)

    def create_record(self, rec: VersionRecord, key: str) -> bool:
        """Create a version record under ``key`` (create-if-absent; False when it exists). Used for
        the successor of a redacted version, which keeps the time stamp of the version it replaces."""
        m = RECORD_KEY_RE.match(key)
        if m is None or m.group("hash") != rec.top_hash or m.group("name") != rec.package:
            raise IntegrityError(f"record key {key} does not name {rec.package}@{rec.top_hash[:10]}")
        if not self.store.has(rec.top_hash):
            raise NotFoundError(f"top hash {rec.top_hash[:12]} is not in the store {self.store.location}")
        created = self.meta.create(key, canonical_json(rec.to_json()))
        rec.key = key
        return created

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
        cur = self._tag_doc(name, LATEST)
        if cur is not None and any(s.key == cur[0].get("version") for s in hist):
            return
        if hist:
            self._advance_tag(name, LATEST, self.record(hist[-1].key))

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

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

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator, Optional

from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.errors import AmbiguousRefError, ConcurrentUpdateError, IntegrityError, NotFoundError
from lakepkg.format.names import Ref, parse_ref, validate_package_name, validate_tag
from lakepkg.store.base import ObjectStore
from lakepkg.registry.backend import MetaBackend

import re

HEXISH = re.compile(r"^[0-9a-f]{4,64}$")
PKG_PREFIX = "packages/"
RECORD_KEY_RE = re.compile(r"^packages/(?P<name>.+)/versions/[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-(?P<hash>[0-9a-f]{64})\.json$")
LATEST = "latest"


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
    key: str = ""  # the record's key in the backend (not stored in the record)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("key")
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

    def resolve(self, ref: "str | Ref") -> VersionRecord:
        """Find the version a reference names (tag, hash prefix or time)."""
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

"""The history of versions: package names, version records (read, checked against their sealed key,
created once) and their listing, the one source of truth of what was published."""
from __future__ import annotations

from typing import Iterator

from lakepkg.errors import IntegrityError, NotFoundError
from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.format.hashing import hash_bytes
from lakepkg.format.names import validate_package_name
from lakepkg.registry.base import RegistryBase
from lakepkg.registry.keys import PKG_PREFIX, parse_record_key, parse_stamp, record_key, utc_now, versions_prefix
from lakepkg.registry.records import VersionRecord, VersionStub


class VersionHistory(RegistryBase):
    """Reading and creating version records; the history of a package is their key listing."""

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
        prefix = versions_prefix(name)
        out = []
        for key in self.meta.list(prefix):
            m = parse_record_key(key)
            if m is None or m.group("name") != name:
                continue
            try:
                out.append(VersionStub(key, parse_stamp(m.group("stamp")), m.group("hash")))
            except ValueError:
                continue
        out.sort(key=lambda s: (s.created, s.key))
        return out

    def unlisted_keys(self, name: str) -> list[str]:
        """Keys under ``name``'s versions that are not version records (for verify)."""
        prefix = versions_prefix(name)
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


    def iter_all_records(self) -> Iterator[VersionRecord]:
        """Every version record of every package (for gc and verify)."""
        for name in self.list_packages():
            yield from self.versions(name)


    def delete_version(self, key: str) -> None:
        """Remove one version record from the history (``lakepkg rm``, retention, redaction).
        Tags are the caller's business: move them off the version first."""
        if parse_record_key(key) is None:
            raise NotFoundError(f"{key!r} is not a version record key")
        self.meta.delete(key)

    def has_record(self, key: str) -> bool:
        """True while the version record ``key`` exists."""
        return parse_record_key(key) is not None and self.meta.read(key) is not None


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
            now = utc_now()
            rec.created_at = now.isoformat(timespec="microseconds")


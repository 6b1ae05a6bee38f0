"""Tags: names for versions (``latest`` among them), each a small document naming a record key,
moved only by compare-and-swap so two publishers racing on one name both land in the history."""
from __future__ import annotations

import time
from typing import Optional

from lakepkg.errors import ConcurrentUpdateError, IntegrityError, NotFoundError
from lakepkg.format.canonical import canonical_json, is_digest, load_json
from lakepkg.format.names import validate_package_name, validate_tag
from lakepkg.registry.history import VersionHistory
from lakepkg.registry.keys import LATEST, parse_record_key, tag_key, tags_prefix, utc_now
from lakepkg.registry.records import TagInfo, VersionRecord

LEGACY_TAG_FIELDS = frozenset({"top_hash", "updated_at"})  # a tag written before tags named their record


class TaggedHistory(VersionHistory):
    """The history plus its tags."""

    def tags(self, name: str) -> dict[str, str]:
        """Tag name → top hash (tags that do not parse are left out; ``lakepkg verify`` names them)."""
        return {t: info.top_hash for t, info in self._tag_infos(name).items()}

    def tag_versions(self, name: str) -> dict[str, str]:
        """Tag name → the key of the version record it names (the same top hash can be published
        more than once: A, B, then A again)."""
        return {t: info.version for t, info in self._tag_infos(name).items()}

    def _tag_key(self, name: str, tag: str) -> str:
        return tag_key(name, tag)

    def _tag_names(self, name: str) -> list[str]:
        validate_package_name(name)
        prefix = tags_prefix(name)
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


    def advance_tag(self, name: str, tag: str, rec: VersionRecord, attempts: int = 200) -> bool:
        """Move ``tag`` to ``rec`` unless a newer version already holds it (CAS loop). True when moved."""
        validate_package_name(name)
        validate_tag(tag)
        tkey = self._tag_key(name, tag)
        doc = canonical_json({"top_hash": rec.top_hash, "version": rec.key, "updated_at": utc_now().isoformat()})
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


    def move_tag_off(self, name: str, tag: str, old_key: str, new: Optional[VersionRecord]) -> bool:
        """Compare-and-swap: if ``tag`` still names the record ``old_key``, point it at ``new`` (or
        delete it when ``new`` is None). False when the tag names another version (someone moved it)."""
        tkey = self._tag_key(name, tag)
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
            doc = canonical_json({"top_hash": new.top_hash, "version": new.key, "updated_at": utc_now().isoformat()})
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


    def delete_tag(self, name: str, tag: str) -> None:
        validate_tag(tag)
        validate_package_name(name)
        if tag == LATEST:
            raise NotFoundError("the latest tag is managed by publish and cannot be deleted")
        self.meta.delete(self._tag_key(name, tag))


    def tag_targets(self) -> set[str]:
        """Top hashes any tag of any package names."""
        out: set[str] = set()
        for name in self.list_packages():
            out.update(self.tags(name).values())
        return out



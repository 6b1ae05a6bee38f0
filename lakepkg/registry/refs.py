"""Resolving references: a tag, a hash prefix or a time names one version; a redacted version's
hash resolves to its successor (``packages/<name>/redirects/``) with a notice, never silently."""
from __future__ import annotations

import re
import warnings
from typing import Any, Optional

from lakepkg.errors import AmbiguousRefError, ConcurrentUpdateError, IntegrityError, LakepkgError, NotFoundError
from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.format.names import Ref, parse_ref, validate_package_name, validate_tag
from lakepkg.registry.keys import LATEST, redirect_key, redirects_prefix, utc_now
from lakepkg.registry.records import VersionRecord
from lakepkg.registry.tags import TaggedHistory

HEXISH = re.compile(r"[0-9a-f]{4,64}")


class RedactedVersionWarning(UserWarning):
    """A reference resolved to the redacted successor of the version it named (never silently)."""


# once per process per reference: the notice's text names the reference and its successor, and the
# "once" action shows a text once (pytest.warns and catch_warnings still record every one)
warnings.filterwarnings("once", category=RedactedVersionWarning)


def _show_notices_in_one_line() -> None:
    """Show a :class:`RedactedVersionWarning` as one clean line on stderr (``lakepkg: notice: …``)
    — in a notebook too — instead of a file, a line number and a line of lakepkg's source."""
    import sys

    previous = warnings.showwarning
    if getattr(previous, "_lakepkg_notices", False):
        return

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if isinstance(category, type) and issubclass(category, RedactedVersionWarning):
            print(f"lakepkg: notice: {message}", file=sys.stderr if file is None else file)
            return
        previous(message, category, filename, lineno, file, line)

    show._lakepkg_notices = True  # type: ignore[attr-defined]
    warnings.showwarning = show


_show_notices_in_one_line()



class ResolvingRegistry(TaggedHistory):
    """The tagged history plus reference resolution, redaction redirects and tag moves by reference."""

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
        named_itself = bool(r.hash_prefix) and rec.top_hash.startswith(str(r.hash_prefix))
        if rec.redacted and not named_itself:  # the successor named by its own hash needs no notice
            warnings.warn(RedactedVersionWarning(redaction_notice(r, rec)), stacklevel=2)
        return rec


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
        doc = canonical_json({"top_hash": rec.top_hash, "version": rec.key, "updated_at": utc_now().isoformat()})
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


    def set_redirect(self, name: str, old_top_hash: str, doc: dict[str, Any]) -> None:
        """Record that version ``old_top_hash`` of ``name`` was redacted: ``doc`` names its successor
        (``{"successor": <record key>, "top_hash", "redacted_at", "reason"}``)."""
        key = redirect_key(name, old_top_hash)
        for _ in range(50):
            cur = self.meta.read(key)
            if self.meta.replace(key, canonical_json(doc), cur[1] if cur else None):
                return
        raise ConcurrentUpdateError(f"redirect {key} kept changing; re-run")

    def redirects(self, name: str) -> dict[str, dict[str, Any]]:
        """Old top hash → redirect document, for every redacted version of ``name``."""
        validate_package_name(name)
        prefix = redirects_prefix(name)
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



def redaction_notice(ref: Ref, rec: VersionRecord) -> str:
    """``sales/orders@3fa2c1d0e9 was redacted on 2026-12-01: REASON; reading its successor …``."""
    ev = rec.redacted[-1]
    named = next((e["from"] for e in rec.redacted if ref.hash_prefix and str(e.get("from", "")).startswith(ref.hash_prefix)), None)
    old = (named or ev.get("from", ""))[:10]
    when = str(ev.get("at", ""))[:10]
    return (f"{rec.package}@{old} was redacted on {when}: {ev.get('reason', '')}; "
            f"reading its redacted successor {rec.package}@{rec.short} (the removed rows are gone)")


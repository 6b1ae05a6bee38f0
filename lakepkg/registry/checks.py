"""Checks of a package's metadata (for ``lakepkg verify``): keys that are not records, records that
do not match their key or seal, tags that do not parse or name a missing record, no ``latest``.
Objects are checked elsewhere (:mod:`lakepkg.maintain.verify`)."""
from __future__ import annotations

from lakepkg.errors import IntegrityError, LakepkgError, NotFoundError
from lakepkg.format.names import validate_tag
from lakepkg.registry.keys import LATEST
from lakepkg.registry.tags import TaggedHistory


class MetadataChecks(TaggedHistory):
    """Problems with a package's records and tags."""

    def audit(self, name: str) -> list[str]:
        """Deprecated name of :meth:`check_metadata` (``audit`` is the audit log: ``lakepkg.audit``)."""
        from lakepkg.errors import deprecated

        deprecated("Registry.audit(name)", "Registry.check_metadata(name)")
        return self.check_metadata(name)

    def check_metadata(self, name: str) -> list[str]:
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


"""Publishing: a version becomes visible only after every object it names is durable; then ``latest``
moves by compare-and-swap. Copies of records from another registry (push, pull) and redaction
successors are recorded the same way.

A writer holding a lease (:mod:`lakepkg.registry.leases`, the builders and push take one) pays
for what is new: it writes the record, and only when a gc may have overlapped the build (or a
version it reused objects of is gone) it waits for that gc to end and confirms every object
(:meth:`Publishing._settle`). A publish without a lease confirms (and renews) every object
before the record and again after it when a gc may have overlapped. docs/store.md, "gc and
publish", gives the protocol and why no published version can miss an object."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Iterator, Optional

from lakepkg.config import setting
from lakepkg.errors import ConcurrentUpdateError, IntegrityError, LakepkgError, MissingObjectError, NotFoundError
from lakepkg.format.canonical import canonical_json
from lakepkg.format.names import validate_package_name, validate_tag
from lakepkg.format.walk import walk
from lakepkg.registry.gc_window import GcCoordination
from lakepkg.registry.leases import CLOCK_STEP, WriterLease
from lakepkg.registry.keys import LATEST, utc_now
from lakepkg.registry.records import TagInfo, VersionRecord, lakepkg_version
from lakepkg.registry.refs import ResolvingRegistry

CHECK_WORKERS = 8  # parallel presence checks (a HEAD each on S3)
DEFAULT_GC_WAIT = 3600.0  # seconds a leased publish waits for an overlapping gc to end
POLL = 0.5


def gc_wait_seconds() -> float:
    """How long a publish waits for a gc it overlapped (setting ``publish_gc_wait_seconds``)."""
    try:
        return max(0.0, float(setting("publish_gc_wait_seconds", None, DEFAULT_GC_WAIT)))
    except (TypeError, ValueError):
        return DEFAULT_GC_WAIT


class Publishing(ResolvingRegistry, GcCoordination):
    """Recording versions whose objects are durable."""

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
        lease: Optional[WriterLease] = None,
    ) -> tuple[VersionRecord, bool]:
        """Record ``top_hash`` as the newest version of ``name`` and move ``latest``.

        Returns (record, created). If ``latest`` already names ``top_hash`` (a
        retried task), no new version is minted and ``created`` is False.
        Every object the version names must be stored. With the ``lease`` the writer took before
        its first write, that costs a constant number of requests unless a gc overlapped the build
        (:meth:`_settle`); without one, every object is confirmed present (and renewed for gc)
        before the record is written and again after (see :meth:`confirm_objects`).
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
        began = utc_now()
        if lease is None:
            self.confirm_objects(top_hash, sources)
        now = utc_now()
        rec = VersionRecord(
            package=name, top_hash=top_hash, created_at=now.isoformat(timespec="microseconds"),
            author=author, message=message, parent=cur.top_hash if cur else None,
            run=run or {}, derived_from=derived_from, sources=sources or {}, lakepkg_version=lakepkg_version(),
            merge=merge,
        )
        rec, _ = self._create_record(rec, retry_time=True)
        if lease is None:
            self._confirm_after_record(rec, began)
        else:
            self._settle(rec, lease)
        if expect_latest != "*":
            self._swap_latest(name, rec, cur)
        else:
            self.advance_tag(name, LATEST, rec)
        for t in tags:
            self.set_tag(name, t, top_hash)
        return rec, True

    def _swap_latest(self, name: str, rec: VersionRecord, cur: Optional[TagInfo]) -> None:
        """Move ``latest`` from ``cur`` to ``rec`` in one compare-and-swap; when another publish moved
        it first, the record just written is withdrawn (no tag names it) and ConcurrentUpdateError
        is raised."""
        doc = canonical_json({"top_hash": rec.top_hash, "version": rec.key, "updated_at": utc_now().isoformat()})
        if not self.meta.replace(self._tag_key(name, LATEST), doc, cur.token if cur else None):
            self.meta.delete(rec.key)
            raise ConcurrentUpdateError(f"{name}:{LATEST} moved while this version was being recorded; nothing "
                                        "was published, re-run against the new latest")

    def import_record(self, record: VersionRecord, as_name: Optional[str] = None,
                      lease: Optional[WriterLease] = None) -> tuple[VersionRecord, bool]:
        """Record a version copied from another registry (push / pull), keeping its time, author,
        message, run and sources. A version of the same name and top hash already here is reused
        (created False). The objects must be stored; they are confirmed like :meth:`publish` does.
        ``latest`` is not moved: call :meth:`advance_tag`."""
        name = validate_package_name(as_name or record.package)
        for st in reversed(self.history(name)):
            if st.top_hash == record.top_hash:
                return self.record(st.key), False
        began = utc_now()
        if lease is None:
            self.confirm_objects(record.top_hash, record.sources)
        new = VersionRecord.from_json({**record.to_json(), "package": name})
        new, created = self._create_record(new, retry_time=False)
        if created and lease is None:
            self._confirm_after_record(new, began)
        elif created and lease is not None:
            self._settle(new, lease)
        return new, created


    def create_successor(self, rec: VersionRecord) -> tuple[VersionRecord, bool]:
        """Create the record of a redacted version's successor under its sealed key (its time stamp is
        the one of the version it replaces, so its place in the history is kept). Its objects are
        confirmed like :meth:`publish` does; a re-run finds the same record (created False)."""
        began = utc_now()
        self.confirm_objects(rec.top_hash, rec.sources)
        rec, created = self._create_record(rec, retry_time=False)
        if created:
            self._confirm_after_record(rec, began)
        return rec, created


    def objects_of(self, top_hash: str, sources: Optional[dict[str, Any]] = None) -> Iterator[str]:
        """Every object a version names (root, files, tables, pages, entries, source listings), walked
        with :func:`lakepkg.format.walk.walk`; IntegrityError/MissingObjectError when a node is unreadable."""
        for item in walk(self.store, top_hash, entry_dicts=False):
            yield item.digest
        for src in (sources or {}).values():
            if isinstance(src, dict) and isinstance(src.get("listing"), str):
                yield src["listing"]

    def confirm_objects(self, top_hash: str, sources: Optional[dict[str, Any]] = None,
                        max_age: Optional[float] = None, renew: bool = True) -> int:
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
                for d, ok in zip(batch, pool.map(lambda x: self.store.keep(x, max_age) if renew else self.store.has(x), batch)):
                    if not ok:
                        raise MissingObjectError(
                            f"object {d[:12]} of {top_hash[:10]} is missing from {self.store.location} (removed by a "
                            "gc that ran meanwhile?); nothing was published, re-run the build or push")
        return len(seen)

    def _settle(self, rec: VersionRecord, lease: WriterLease) -> None:
        """After a leased writer created ``rec``: make sure no gc took an object of it.

        A gc that started after the record was written lists it, so it keeps every object. A gc
        that ended before the lease started cannot have taken what the writer wrote or found after
        that. Any other gc *overlapped* the build: wait until it has ended (its deletes are over,
        which closes the window between its check and its delete), then confirm every object. The
        same when a version the writer reused objects of is gone, or it reused a version it could
        not name. A missing object withdraws the record (no tag names it yet)."""
        t_rec = self.meta.mtime(rec.key)
        t_rec = t_rec if t_rec is not None else float("inf")
        deadline = time.monotonic() + gc_wait_seconds()
        while True:
            now = self.meta.server_time()
            running, overlapped = [], False
            for run in self.gc_runs():
                if run.started > t_rec + CLOCK_STEP:
                    continue  # it listed the records after ours was written
                ended = run.ended(now)
                if ended is None:
                    running.append(run)
                elif lease.unpinned or ended >= lease.started - CLOCK_STEP:
                    overlapped = True
            if not running:
                break
            if time.monotonic() > deadline:
                self.meta.delete(rec.key)
                raise ConcurrentUpdateError(
                    f"gc {running[0].key} is still running after {gc_wait_seconds():.0f} s and may have removed objects of "
                    f"{rec.package}@{rec.short}; nothing was published, re-run after it (setting publish_gc_wait_seconds)")
            time.sleep(POLL)
        if overlapped or not all(self.has_record(k) for k in sorted(lease.bases)):
            try:
                self.confirm_objects(rec.top_hash, rec.sources, renew=False)
            except LakepkgError:
                self.meta.delete(rec.key)  # no tag names it yet: withdraw it
                raise

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



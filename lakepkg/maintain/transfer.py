"""push / pull / install: copy package versions between registries (local folder, S3).

A transfer copies only the objects the destination lacks, in parallel, then
records the version, then moves tags by compare-and-swap:

1. walk the version (root -> table nodes -> pages -> fragments/files) in the
   source, reading its manifest through the verified cache;
2. for every object: skip it if the destination has it, else copy it (every
   byte read from S3 is hash-checked; every S3 upload carries its SHA-256 for
   the server to check); the root node goes last;
3. only when every object is in place, create the version record (same
   ``created_at``, author, message, run and sources as in the source, so the
   history reads the same everywhere) — create-if-absent, so a re-run or a
   concurrent push of the same version makes no duplicate;
4. advance ``latest`` by CAS (never backwards: a newer version someone else
   published stays latest) and set the requested tags by CAS.

An interrupted transfer leaves only whole objects behind (S3 PUTs and the
local store's renames are atomic) and no record; re-running it sends only
what is missing. ``install --dest DIR`` lays a version out as plain files.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from lakepkg.errors import ConcurrentUpdateError, ConfigError, IntegrityError
from lakepkg.format.hashing import copy_hashing, hash_file
from lakepkg.format.manifest import Entry
from lakepkg.format.names import parse_ref, safe_key, validate_package_name
from lakepkg.format.walk import walk
from lakepkg.progress import progress_bar
from lakepkg.registry import LATEST, Registry, VersionRecord, open_registry
from lakepkg.store.base import ObjectStore
from lakepkg.maintain.verify import referenced_objects

DEFAULT_WORKERS = 8
Progress = Callable[[int, int], None]


@dataclass
class TransferReport:
    """What one push / pull / install did."""

    package: str
    top_hash: str
    source: str
    destination: str
    objects_total: int = 0
    objects_copied: int = 0
    objects_present: int = 0
    bytes_copied: int = 0
    record_created: bool = False
    latest_moved: bool = False
    tags_set: list[str] = field(default_factory=list)
    files_written: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _open(reg: "Registry | str | None", options: dict[str, Any]) -> Registry:
    return open_registry(reg, **options)


def copy_object(src: ObjectStore, dst: ObjectStore, digest: str) -> tuple[bool, int]:
    """Copy one object unless ``dst`` has it (renewing it then); returns (copied, bytes). Verified on the way."""
    return dst.copy_from(src, digest)


def copy_version(src: Registry, dst: Registry, ref: str, *, as_name: Optional[str] = None,
                 tags: tuple[str, ...] = (), copy_tags: bool = True, workers: int = DEFAULT_WORKERS,
                 progress: Optional[Progress] = None, description: str = "copying") -> TransferReport:
    """Copy the version ``ref`` names from ``src`` into ``dst`` (see the module docstring).

    ``tags``: tags to move on ``dst`` to this version (CAS against the value
    read when the transfer started: if someone moves one meanwhile, the version
    is still recorded and ConcurrentUpdateError says to re-run).
    ``copy_tags``: also create on ``dst`` the source's tags that name this
    version, when ``dst`` does not have them yet."""
    t0 = time.time()
    r = parse_ref(ref, allow_path=False)
    rec = src.resolve(r)
    name = validate_package_name(as_name or rec.package)
    rep = TransferReport(package=name, top_hash=rec.top_hash, source=src.location, destination=dst.location)
    tag_start = {t: dst.tag_value(name, t) for t in tags}

    digests: list[str] = []
    seen: set[str] = set()
    for d, _role in referenced_objects(src, rec.top_hash, rec.sources, check_keys=True):  # refuses unsafe manifests
        if d not in seen:
            seen.add(d)
            digests.append(d)
    root = digests.pop(0)  # the root goes last: once it is there, everything it names is
    rep.objects_total = len(digests) + 1

    done = 0

    def tick(copied: bool, n: int) -> None:
        nonlocal done
        done += 1
        if copied:
            rep.objects_copied += 1
            rep.bytes_copied += n
        else:
            rep.objects_present += 1
        if progress:
            progress(done, rep.bytes_copied)

    lease = dst.begin_write()  # before the first object lands: gc spares what this copy writes
    try:
        held, base = _held_by_destination(src, dst, name, rec)
        if base is not None:
            lease.pin(base)  # what it holds is safe to skip while that record exists (checked at the publish)
        if root in held:  # the destination has this very version: nothing to copy
            for _ in range(rep.objects_total):
                tick(False, 0)
        elif src.store is not dst.store and src.store.location != dst.store.location:
            for _ in range(sum(1 for d in digests if d in held)):
                tick(False, 0)
            digests = [d for d in digests if d not in held]
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                futs = [pool.submit(copy_object, src.store, dst.store, d) for d in digests]
                try:
                    for f in _as_done(futs):
                        tick(*f.result())
                except BaseException:
                    for f in futs:
                        f.cancel()
                    raise
            tick(*copy_object(src.store, dst.store, root))
        else:
            for _ in range(rep.objects_total):
                tick(False, 0)

        # every object is in place: record the version, then move tags (registry operations only)
        existing, rep.record_created = dst.import_record(rec, as_name=name, lease=lease)
    finally:
        lease.close()
    rep.latest_moved = dst.advance_tag(name, LATEST, existing)
    if copy_tags and as_name is None:
        for t, h in sorted(src.tags(rec.package).items()):
            if t == LATEST or h != rec.top_hash or t in tags:
                continue
            if dst.tag_value(name, t) is None:
                try:
                    dst.set_tag(name, t, rec.top_hash, expected=None)
                    rep.tags_set.append(t)
                except ConcurrentUpdateError:
                    pass  # someone created it meanwhile: theirs stands
    for t in tags:
        dst.set_tag(name, t, rec.top_hash, expected=tag_start[t])
        rep.tags_set.append(t)
    rep.seconds = round(time.time() - t0, 3)
    return rep


def _held_by_destination(src: Registry, dst: Registry, name: str, rec: VersionRecord) -> tuple[set[str], Optional[str]]:
    """Objects ``dst`` holds because one of its records names them, and that record's key: the
    version itself when ``dst`` has it (a re-push), else the newest version of ``name`` in ``dst`` that
    ``src`` also holds, walked in ``src`` when ``src`` is local (no request to ``dst`` per object). A
    record's objects are all present while it exists (docs/store.md, "gc and publish")."""
    hist = dst.history(name)
    for st in reversed(hist):
        if st.top_hash == rec.top_hash:
            return {rec.top_hash}, st.key
    if src.store.local_root() is None or not hist:
        return set(), None
    mine = {st.top_hash: st for st in src.history(rec.package)}
    for st in reversed(hist):
        if st.top_hash in mine:
            base = src.record(mine[st.top_hash].key)
            return {d for d, _ in referenced_objects(src, base.top_hash, base.sources)}, st.key
    return set(), None


def _as_done(futs: list) -> Any:
    """Yield futures as they finish; stop at the first failure (the rest are cancelled by the caller)."""
    pending = set(futs)
    while pending:
        finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
        for f in finished:
            yield f


def _run(src: Registry, dst: Registry, ref: str, verb: str, show_progress: bool, **kw: Any) -> TransferReport:
    with progress_bar(f"{verb} {ref}", None, enabled=show_progress, unit="objects") as update:
        return copy_version(src, dst, ref, progress=update, description=verb, **kw)


def push(ref: str, to: str, *, registry: "Registry | str | None" = None, as_name: Optional[str] = None,
         tags: tuple[str, ...] = (), workers: int = DEFAULT_WORKERS, show_progress: bool = False,
         **options: Any) -> TransferReport:
    """Push ``ref`` from ``registry`` (default: the configured one) to the registry ``to``
    (``s3://bucket/prefix`` or a path). ``options``: endpoint_url, region, profile."""
    src = _open(registry, options)
    dst = _open(to, options)
    return _run(src, dst, ref, "push", show_progress, as_name=as_name, tags=tags, workers=workers)


def pull(ref: str, source: str, *, registry: "Registry | str | None" = None, as_name: Optional[str] = None,
         tags: tuple[str, ...] = (), workers: int = DEFAULT_WORKERS, show_progress: bool = False,
         **options: Any) -> TransferReport:
    """Pull ``ref`` from the registry ``source`` into ``registry`` (default: the configured local one)."""
    src = _open(source, options)
    dst = _open(registry, options)
    return _run(src, dst, ref, "pull", show_progress, as_name=as_name, tags=tags, workers=workers)


def install(ref: str, source: Optional[str] = None, *, registry: "Registry | str | None" = None,
            dest: Optional[str] = None, workers: int = DEFAULT_WORKERS, show_progress: bool = False,
            **options: Any) -> TransferReport:
    """Install ``ref``: pull it from ``source`` into the local registry (when ``source`` is
    given), and with ``dest`` also lay it out as plain files in that folder."""
    local = _open(registry, options)
    if source:
        src = _open(source, options)
        rep = _run(src, local, ref, "install", show_progress, workers=workers)
        ref = f"{rep.package}@{rep.top_hash}"
    else:
        rec = local.resolve(parse_ref(ref, allow_path=False))
        rep = TransferReport(package=rec.package, top_hash=rec.top_hash, source=local.location, destination=local.location)
        ref = f"{rec.package}@{rec.top_hash}"
    if dest:
        with progress_bar(f"layout {ref}", None, enabled=show_progress, unit="files") as update:
            rep.files_written = layout(local, ref, dest, workers=workers, progress=update)
        rep.destination = os.path.abspath(dest)
    return rep


MARKER = ".lakepkg-version.json"


def layout(reg: Registry, ref: str, dest: str, *, workers: int = DEFAULT_WORKERS,
           progress: Optional[Progress] = None) -> int:
    """Write a version as plain files: ``DEST/<table>/<fragment key>`` and ``DEST/<file key>``,
    plus ``DEST/.lakepkg-version.json`` naming the version. Every file is hash-checked;
    a re-run skips files already correct. Returns the number of files written."""
    rec = reg.resolve(parse_ref(ref, allow_path=False))
    dest = os.path.abspath(dest)
    marker = os.path.join(dest, MARKER)
    if os.path.isdir(dest) and os.listdir(dest):
        held = None
        if os.path.exists(marker):
            with open(marker, "rb") as f:
                held = json.loads(f.read() or b"{}").get("top_hash")
        if held != rec.top_hash:
            raise ConfigError(f"--dest {dest} is not empty and does not hold {rec.package}@{rec.top_hash[:10]}; choose an empty folder")
    os.makedirs(dest, exist_ok=True)
    store = reg.store
    jobs: list[tuple[str, Entry]] = []
    for item in walk(store, rec.top_hash):
        if item.kind == "entry":
            e = Entry.from_json(item.entry or {})
            jobs.append((safe_key(e.key if item.table is None else f"{item.table}/{e.key}"), e))
    targets = set()
    for rel, _ in jobs:
        if rel in targets:
            raise ConfigError(f"two entries of {rec.package} lay out to the same file {rel}; install without --dest")
        targets.add(rel)
    done = [0, 0]

    from lakepkg.read.arrow_scan import verified_path

    def one(job: tuple[str, Entry]) -> int:
        rel, e = job
        out = os.path.join(dest, *rel.split("/"))
        if e.deletes:
            return _install_live_rows(store, e, rel, out)
        if os.path.exists(out) and os.path.getsize(out) == e.size and hash_file(out)[0] == e.object:
            return 0
        os.makedirs(os.path.dirname(out), exist_ok=True)
        src = verified_path(store, e, os.path.dirname(rel) or None)  # the one reader's checked file

        def copy(tmp: str) -> None:
            with open(tmp, "wb") as f:
                got, _ = copy_hashing(src, f)  # the copy is hashed as written: what lands is what was checked
            if got != e.object:
                raise IntegrityError(f"object {e.object[:12]} ({rel}) changed while it was copied from {store.location}; run `lakepkg verify`")

        _replace_atomically(out, copy)
        return 1

    written = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for n in pool.map(one, jobs):
            written += n
            done[0] += 1
            if progress:
                progress(done[0], 0)
    with open(marker + ".tmp", "w") as out:
        json.dump({"package": rec.package, "top_hash": rec.top_hash, "registry": reg.location,
                   "files": len(jobs)}, out, indent=2)
    os.replace(marker + ".tmp", marker)
    return written


def _install_live_rows(store: Any, e: Entry, rel: str, out: str) -> int:
    """Write a fragment with a deletion vector as a plain Parquet file of its live rows only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakepkg.read.arrow_scan import ArrowScan
    from lakepkg.write.fragments import WRITER_SETTINGS as s

    table = ArrowScan(store, pa.schema([]), table=rel.split("/")[0]).read_stored(e, live=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    _replace_atomically(out, lambda tmp: pq.write_table(
        table, tmp, compression=s["compression"], compression_level=s["compression_level"],
        row_group_size=s["row_group_size"], use_dictionary=s["use_dictionary"],
        write_statistics=s["write_statistics"], version=s["version"]))
    return 1


def _replace_atomically(out: str, write: Callable[[str], None]) -> None:
    """``write`` a temporary file beside ``out``, then rename it over ``out`` (removed on any failure)."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(out))
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


__all__ = ["TransferReport", "copy_version", "copy_object", "push", "pull", "install", "layout"]

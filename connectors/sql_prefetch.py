"""Read ahead: iterate a record-batch source in a background thread, a bounded number of items ahead.

The database read (ADBC's binary COPY decoding, a driver waiting on the network) and the fragment
writing (Parquet encoding, hashing) both release the GIL for most of their work, so running the
reader one or two batches ahead of the writer overlaps them on a second core. Memory stays bounded:
at most ``depth`` batches wait in the queue, plus the one being read and the one being written.

The source is iterated, and closed, only by the background thread; :meth:`Prefetch.close` stops it
and waits for it, so a caller can close the database session safely afterwards.
"""
from __future__ import annotations

import queue
import threading
from typing import Generic, Iterator, Optional, TypeVar

T = TypeVar("T")

_END = object()
_POLL_SECONDS = 0.1


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Prefetch(Generic[T]):
    """An iterator over ``source``'s items, read by a background thread at most ``depth`` items ahead."""

    def __init__(self, source: Iterator[T], depth: int = 2, name: str = "lakepkg-read-ahead") -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._source = source
        self._queue: "queue.Queue[object]" = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._name = name
        self._done = False

    def _put(self, item: object) -> bool:
        """Queue ``item`` unless asked to stop first; True if queued."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    break
            else:
                self._put(_END)
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put(_Failure(exc))
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    pass

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        item = self._queue.get()
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._done = True
            raise item.exc
        return item  # type: ignore[return-value]

    def close(self, timeout: Optional[float] = 60.0) -> None:
        """Stop reading ahead and wait (up to ``timeout`` seconds) for the reader to close the source."""
        self._done = True
        self._stop.set()
        if self._thread is None:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()
            return
        while True:  # free a slot so a reader blocked on a full queue sees the stop
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout)

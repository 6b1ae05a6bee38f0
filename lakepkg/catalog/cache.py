"""Small thread-safe caches for the catalog: a bounded LRU map and a value rebuilt in the background.

Versions are immutable (a top hash names the same tree forever), so what is read from one is kept
in an LRU; listings (package names, tags) change, so they are kept for a few seconds only.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Generic, Hashable, Optional, TypeVar

T = TypeVar("T")


class LRU(Generic[T]):
    """At most ``size`` values by key, least recently used dropped first; entries older than
    ``seconds`` (when given) are made again."""

    def __init__(self, size: int, seconds: Optional[float] = None) -> None:
        self.size = size
        self.seconds = seconds
        self._lock = threading.Lock()
        self._items: "OrderedDict[Hashable, tuple[float, T]]" = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and (self.seconds is None or time.monotonic() - hit[0] <= self.seconds):
                self._items.move_to_end(key)
                return hit[1]
        value = make()  # outside the lock: a slow read does not hold up other pages
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class BackgroundValue(Generic[T]):
    """A value built in a background thread by ``make`` and rebuilt after ``seconds`` (or ten times
    what the last build took, when longer: a slow listing does not keep a core busy): a page asks
    with :meth:`get`, waits at most ``wait`` seconds, and shows what it has (None: not built yet)
    instead of holding a request while a whole registry is read."""

    def __init__(self, make: Callable[[], T], seconds: float) -> None:
        self._make = make
        self.seconds = seconds
        self._lock = threading.Lock()
        self._value: Optional[T] = None
        self._at = -1e18
        self._building: Optional[threading.Event] = None
        self.error: Optional[BaseException] = None  # what the last build raised
        self._cost = 0.0  # seconds the last build took: a value is rebuilt at most every 10 builds' time

    def _build(self, done: threading.Event) -> None:
        began = time.monotonic()
        try:
            value = self._make()
            with self._lock:
                self._value, self._at, self.error = value, time.monotonic(), None
                self._cost = self._at - began
        except Exception as exc:  # kept for the page to report; the previous value stays in use
            with self._lock:
                self.error = exc
                self._at = time.monotonic() - self.seconds + min(self.seconds, 5.0)  # retried in a few seconds
        finally:
            with self._lock:
                self._building = None
            done.set()

    def get(self, wait: float = 0.0) -> Optional[T]:
        with self._lock:
            stale = time.monotonic() - self._at > max(self.seconds, 10 * self._cost)
            done = self._building
            if stale and done is None:
                done = self._building = threading.Event()
                threading.Thread(target=self._build, args=(done,), daemon=True, name="lakepkg-catalog-index").start()
            value = self._value
        if done is not None and value is None and wait > 0:
            done.wait(wait)
            with self._lock:
                value = self._value
        return value

    def clear(self) -> None:
        with self._lock:
            self._at = -1e18

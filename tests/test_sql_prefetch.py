"""Read-ahead of record batches: bounded, errors re-raised in the consumer, the source closed by its reader."""
from __future__ import annotations

import threading
import time

import pytest

from lakepkg_connectors.sql_prefetch import Prefetch


class Source:
    """A generator-like source that records how far it was read and who closed it."""

    def __init__(self, n: int, fail_at: int = -1) -> None:
        self.n, self.fail_at, self.produced, self.closed_by = n, fail_at, 0, None

    def __iter__(self):
        return self

    def __next__(self) -> int:
        if self.produced == self.fail_at:
            raise ConnectionError("server closed the connection")
        if self.produced >= self.n:
            raise StopIteration
        self.produced += 1
        return self.produced

    def close(self) -> None:
        self.closed_by = threading.current_thread().name


def test_items_in_order_and_source_closed_by_the_reader():
    src = Source(100)
    assert list(Prefetch(src, depth=3)) == list(range(1, 101))
    for _ in range(100):  # the reader closes the source just after handing over the end
        if src.closed_by:
            break
        time.sleep(0.02)
    assert src.closed_by == "lakepkg-read-ahead"


def test_reads_at_most_depth_ahead():
    src = Source(1000)
    p = Prefetch(src, depth=2)
    assert next(p) == 1
    time.sleep(0.3)
    assert src.produced <= 1 + 2 + 1  # the one consumed, a full queue, and the one waiting to be queued
    p.close()
    assert src.closed_by == "lakepkg-read-ahead" and src.produced < 10


def test_error_reaches_the_consumer_after_the_items_before_it():
    p = Prefetch(Source(100, fail_at=5), depth=2)
    got = []
    with pytest.raises(ConnectionError, match="server closed"):
        for x in p:
            got.append(x)
    assert got == [1, 2, 3, 4, 5]
    with pytest.raises(StopIteration):
        next(p)


def test_close_before_start_closes_the_source_here():
    src = Source(5)
    Prefetch(src).close()
    assert src.closed_by == threading.current_thread().name and src.produced == 0

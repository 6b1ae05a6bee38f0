"""LocalObjectStore.put_file copies through the kernel (copy_file_range) and names the object by
the hash of the bytes it stored; a source the kernel cannot copy from (a pipe) is read instead."""
from __future__ import annotations

import hashlib
import os
import threading

from lakepkg.store.local import LocalObjectStore, copy_file_hashing


def test_put_file_stores_the_bytes_under_their_hash(tmp_path):
    src = tmp_path / "src.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)  # an odd size
    src.write_bytes(data)
    store = LocalObjectStore(str(tmp_path / "reg"))
    digest, size, written = store.put_file(str(src))
    assert (digest, size, written) == (hashlib.sha256(data).hexdigest(), len(data), True)
    with open(store.local_path(digest), "rb") as f:
        assert f.read() == data
    assert store.put_file(str(src))[2] is False  # a dedup hit writes nothing


def test_copy_file_hashing_reads_a_pipe_to_its_end(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = os.urandom(200_000)

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(data)

    t = threading.Thread(target=feed)
    t.start()
    with open(tmp_path / "out", "w+b") as out:
        digest, n = copy_file_hashing(str(fifo), out)
        out.seek(0)
        assert out.read() == data
    t.join()
    assert (digest, n) == (hashlib.sha256(data).hexdigest(), len(data))


def test_an_empty_file(tmp_path):
    (tmp_path / "e").write_bytes(b"")
    with open(tmp_path / "out", "w+b") as out:
        assert copy_file_hashing(str(tmp_path / "e"), out) == (hashlib.sha256(b"").hexdigest(), 0)

"""Temporary files a killed writer leaves in a local folder (``.tmp-*``), for gc to find and remove."""
from __future__ import annotations

import os
from typing import Iterator

TMP_PREFIX = ".tmp-"
GC_ASIDE_PREFIX = ".tmp-gc-"  # an object gc has moved aside while it decides


def find_temporaries(root: str) -> Iterator[tuple[str, float]]:
    """(path, age stamp) of every ``.tmp-*`` file under ``root``: its mtime, or for an object gc moved
    aside (``.tmp-gc-*``, a delete in progress) the later of mtime and ctime, since the rename kept
    the object's old mtime."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith(TMP_PREFIX):
                p = os.path.join(dirpath, name)
                try:
                    st = os.stat(p)
                except FileNotFoundError:
                    continue
                yield p, max(st.st_mtime, st.st_ctime) if name.startswith(GC_ASIDE_PREFIX) else st.st_mtime


def remove_temporary(root: str, path: str) -> None:
    """Remove one ``.tmp-*`` file, only if it lies under ``root``."""
    p = os.path.abspath(path)
    if os.path.commonpath([os.path.abspath(root), p]) != os.path.abspath(root) or not os.path.basename(p).startswith(TMP_PREFIX):
        return
    try:
        os.chmod(p, 0o644)
        os.unlink(p)
    except FileNotFoundError:
        pass

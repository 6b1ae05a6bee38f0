"""Temporary files a killed writer leaves in a local folder (``.tmp-*``), for gc to find and remove."""
from __future__ import annotations

import os
from typing import Iterator

TMP_PREFIX = ".tmp-"


def find_temporaries(root: str) -> Iterator[tuple[str, float]]:
    """(path, mtime) of every ``.tmp-*`` file under ``root``."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith(TMP_PREFIX):
                p = os.path.join(dirpath, name)
                try:
                    yield p, os.path.getmtime(p)
                except FileNotFoundError:
                    continue


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

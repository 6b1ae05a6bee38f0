"""Sizes for people: one format for the CLI, notebooks and progress bars.

Decimal units, as ``ls -h --si`` and rich's ``filesize.decimal``: ``0 B``, ``999 B``,
``1.2 kB``, ``3.4 MB``. An unknown size is ``-``.
"""
from __future__ import annotations

from typing import Optional


def human_bytes(n: Optional[int]) -> str:
    """``n`` bytes as ``1.2 MB`` (decimal units); ``-`` when ``n`` is None."""
    if n is None:
        return "-"
    from rich.filesize import decimal

    text = decimal(int(n))
    return text.replace(" bytes", " B").replace(" byte", " B")


def count(n: int, noun: str, plural: Optional[str] = None) -> str:
    """``1 fragment``, ``2 fragments``, ``1,024 rows`` (thousands separated)."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"

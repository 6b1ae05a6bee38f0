"""Metadata backend: the few primitives the registry needs from its storage.

Version records and tags are small documents under keys such as
``packages/sales/orders/tags/latest.json``. A backend offers read (with a
token identifying the content read), create-if-absent, replace-if-unchanged
(compare-and-swap on the token), list and delete. The local backend does this
with ``link``/``flock``; the S3 backend with ``If-None-Match``/``If-Match``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterator, Optional


class MetaBackend(ABC):
    """Small mutable documents with atomic create and compare-and-swap."""

    location: str

    @abstractmethod
    def read(self, key: str) -> Optional[tuple[bytes, str]]:
        """Return (data, token) or None when the key does not exist."""

    @abstractmethod
    def create(self, key: str, data: bytes) -> bool:
        """Write ``data`` only if ``key`` does not exist; False if it did."""

    @abstractmethod
    def replace(self, key: str, data: bytes, token: Optional[str]) -> bool:
        """Write ``data`` only if the key still holds the content ``token`` names
        (``None``: only if the key does not exist). False if someone else wrote first."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[str]:
        """Keys starting with ``prefix``, in lexicographic order."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove a key (no error if absent)."""

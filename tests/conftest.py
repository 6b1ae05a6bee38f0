"""Shared pytest set-up. Fixtures for real components live in tests/fixtures/*.py
(one module per component: spark, metastore, s3, databases), loaded as plugins."""
from __future__ import annotations

import os
import pkgutil

import pytest

_here = os.path.dirname(__file__)
pytest_plugins = [f"tests.fixtures.{m.name}" for m in pkgutil.iter_modules([os.path.join(_here, "fixtures")])]


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """An isolated LAKEPKG_HOME (and so an empty local registry) for one test."""
    h = tmp_path / "lakepkg-home"
    monkeypatch.setenv("LAKEPKG_HOME", str(h))
    monkeypatch.delenv("LAKEPKG_REGISTRY", raising=False)
    return h


@pytest.fixture()
def registry(home):
    from lakepkg.registry import open_registry

    return open_registry()

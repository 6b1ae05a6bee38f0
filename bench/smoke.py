"""``LAKEPKG_BENCH_SMOKE=1``: every ``bench/bench_*.py`` runs at a tiny size, so none can rot.

tests/test_bench_smoke.py runs each bench that way (seconds, not minutes); the figures of a smoke run
mean nothing. A bench picks its tiny sizes with :func:`tiny` (argparse defaults) or
:func:`tiny_env` (``BENCH_*`` environment defaults); explicit arguments and variables still win.
"""
from __future__ import annotations

import os
from typing import Any

SMOKE = os.environ.get("LAKEPKG_BENCH_SMOKE") == "1"


def tiny(parser: Any, **defaults: Any) -> None:
    """Under a smoke run, the argparse ``parser``'s defaults become ``defaults``."""
    if SMOKE:
        parser.set_defaults(**defaults)


def tiny_env(**defaults: Any) -> None:
    """Under a smoke run, unset environment variables get ``defaults``."""
    if SMOKE:
        for k, v in defaults.items():
            os.environ.setdefault(k, str(v))

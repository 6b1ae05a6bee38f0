"""Running the ``lakepkg`` command as a user would: a fresh process, its own LAKEPKG_HOME."""
from __future__ import annotations

import os
import subprocess
import sys

LAKEPKG = [sys.executable, "-m", "lakepkg.cli.__main__"]


def cli_env(home, **extra: str) -> dict[str, str]:
    """The environment of a user's ``lakepkg``: ``home`` as LAKEPKG_HOME, no registry override, no
    progress bars, plus ``extra``."""
    env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1", **extra}
    env.pop("LAKEPKG_REGISTRY", None)
    return env


def run_cli(args, home, check=True, **extra_env: str):
    """``lakepkg ARGS`` in :func:`cli_env` (``home``, ``extra_env``); with ``check``, a non-zero
    exit fails the test with the command's stderr."""
    p = subprocess.run(LAKEPKG + args, capture_output=True, text=True, env=cli_env(home, **extra_env))
    if check and p.returncode != 0:
        raise AssertionError(f"lakepkg {args} failed: {p.stderr}")
    return p

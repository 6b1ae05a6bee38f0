"""Running the ``lakepkg`` command as a user would: a fresh process, its own LAKEPKG_HOME."""
from __future__ import annotations

import os
import subprocess
import sys

LAKEPKG = [sys.executable, "-m", "lakepkg.cli.__main__"]


def run_cli(args, home, check=True):
    """``lakepkg ARGS`` with ``home`` as LAKEPKG_HOME (no registry override, no progress bars);
    with ``check``, a non-zero exit fails the test with the command's stderr."""
    env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1"}
    env.pop("LAKEPKG_REGISTRY", None)
    p = subprocess.run(LAKEPKG + args, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"lakepkg {args} failed: {p.stderr}")
    return p

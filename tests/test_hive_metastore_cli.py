"""`lakepkg metastore start`: the same metastore start-up as the test fixture, for users (README demo)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from lakepkg_connectors.hive import connect
from lakepkg_connectors.metastore_server import _port_open, free_port


def test_metastore_start_command_serves_thrift_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "LAKEPKG_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "lakepkg.cli", "metastore", "start", "--port", str(port), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 240
        while not _port_open("127.0.0.1", port):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "metastore did not start"
            time.sleep(0.5)
        with connect(f"thrift://127.0.0.1:{port}") as c:
            assert "default" in c.get_all_databases()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    info = json.loads(out)
    assert info["uri"] == f"thrift://127.0.0.1:{port}"
    assert info["dir"] == str(tmp_path / "home" / "metastore")   # default: $LAKEPKG_HOME/metastore
    assert os.path.isdir(info["warehouse"]) and os.path.isfile(info["log"])
    assert not _port_open("127.0.0.1", port)  # the Java process was stopped with the command
    # a port already taken: a one-line error
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        bad = subprocess.run([sys.executable, "-m", "lakepkg.cli", "metastore", "start", "--port", str(busy)],
                             capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1 and "already in use" in bad.stderr and bad.stderr.count("\n") == 1

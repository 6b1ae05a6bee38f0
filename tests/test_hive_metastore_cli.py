"""`lakepkg metastore start`: the same metastore start-up as the test fixture, for users (README demo)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from lakepkg_connectors.hive import connect
from lakepkg.metastore.metastore_server import _port_open, free_port


def test_metastore_start_command_serves_thrift_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "LAKEPKG_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "lakepkg.cli", "metastore", "start", "--port", str(port), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        # the command prints its JSON once the port accepts connections (read with a time limit)
        import threading

        lines: list = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
        reader.start()
        deadline = time.monotonic() + 240
        while not "".join(lines).rstrip().endswith("}"):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "metastore did not start"
            time.sleep(0.5)
        info = json.loads("".join(lines))
        assert _port_open("127.0.0.1", port)
        with connect(f"thrift://127.0.0.1:{port}") as c:
            assert "default" in c.get_all_databases()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # stops the Java process too
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
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


def test_metastore_start_interrupted_while_starting_leaves_no_java_process(tmp_path):
    d = tmp_path / "ms"
    proc = subprocess.Popen([sys.executable, "-m", "lakepkg.cli", "metastore", "start", "--port", str(free_port()),
                             "--dir", str(d)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (d / "metastore.log").exists():  # created just before the Java process starts
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(1.0)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(d) not in ps, "the metastore's Java process outlived the command"

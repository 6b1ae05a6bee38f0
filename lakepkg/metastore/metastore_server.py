"""Run a real Hive metastore (Thrift) from the Hive 2.3 jars bundled in the pyspark wheel.

No download, no Docker: ``org.apache.hadoop.hive.metastore.HiveMetaStore``
runs on Java with an embedded Derby database in a folder of your choice.
Used by the test fixture ``metastore`` and by ``lakepkg metastore start``.

    from lakepkg.metastore.metastore_server import MetastoreServer
    with MetastoreServer("/tmp/hms") as ms:
        print(ms.uri)          # thrift://127.0.0.1:<port>
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from typing import Optional
from xml.sax.saxutils import escape

from lakepkg.errors import ConfigError, SourceError

__all__ = ["MetastoreServer", "pyspark_jars_dir", "free_port", "write_hive_site"]


def pyspark_jars_dir() -> str:
    """The ``jars/`` folder of the installed pyspark wheel."""
    try:
        import pyspark
    except ImportError:
        raise ConfigError("the embedded metastore needs pyspark's jars; install it with `pip install 'lakepkg[spark]'`") from None
    d = os.path.join(os.path.dirname(pyspark.__file__), "jars")
    if not os.path.isdir(d):
        raise ConfigError(f"pyspark has no jars folder at {d}; reinstall pyspark from its wheel")
    return d


def free_port() -> int:
    """A TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_hive_site(conf_dir: str, db_dir: str, warehouse: str) -> str:
    """Write a hive-site.xml for an embedded Derby metastore; returns its path."""
    props = {
        "javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={db_dir}/metastore_db;create=true",
        "javax.jdo.option.ConnectionDriverName": "org.apache.derby.jdbc.EmbeddedDriver",
        "datanucleus.schema.autoCreateAll": "true",
        "hive.metastore.schema.verification": "false",
        "datanucleus.connectionPoolingType": "None",
        "hive.metastore.warehouse.dir": warehouse,
        "hive.metastore.event.db.notification.api.auth": "false",
        "hive.metastore.try.direct.sql": "true",
    }
    os.makedirs(conf_dir, exist_ok=True)
    body = "\n".join(f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>"
                     for k, v in props.items())
    path = os.path.join(conf_dir, "hive-site.xml")
    with open(path, "w") as f:
        f.write(f'<?xml version="1.0"?>\n<configuration>\n{body}\n</configuration>\n')
    return path


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class MetastoreServer:
    """A Thrift Hive metastore process with an embedded Derby database under ``directory``.

    ``directory`` holds ``conf/hive-site.xml``, ``db/metastore_db``, ``warehouse/`` and
    ``metastore.log``. Keep the directory to keep the metastore's tables across restarts.
    """

    def __init__(self, directory: str, port: Optional[int] = None, host: str = "127.0.0.1",
                 java: Optional[str] = None, heap: str = "512m") -> None:
        self.directory = os.path.abspath(directory)
        self.host = host
        self.port = port or free_port()
        self.java = java or shutil.which("java") or ""
        self.heap = heap
        self.warehouse = os.path.join(self.directory, "warehouse")
        self.log_path = os.path.join(self.directory, "metastore.log")
        self.proc: Optional[subprocess.Popen] = None

    @property
    def uri(self) -> str:
        return f"thrift://{self.host}:{self.port}"

    def command(self) -> list[str]:
        conf = os.path.join(self.directory, "conf")
        return [self.java, f"-Xmx{self.heap}",
                "-Dlog4j2.contextSelector=org.apache.logging.log4j.core.selector.ClassLoaderContextSelector",
                f"-Dderby.stream.error.file={os.path.join(self.directory, 'derby.log')}",
                "-cp", f"{conf}:{pyspark_jars_dir()}/*",
                "org.apache.hadoop.hive.metastore.HiveMetaStore", "-p", str(self.port)]

    def start(self, timeout: float = 180.0) -> "MetastoreServer":
        """Start the process and wait until the port accepts connections."""
        if not self.java:
            raise ConfigError("no `java` on PATH; the embedded metastore needs Java 17 (install a JDK)")
        if _port_open(self.host, self.port):
            raise ConfigError(f"port {self.port} is already in use; choose another with --port")
        os.makedirs(self.warehouse, exist_ok=True)
        write_hive_site(os.path.join(self.directory, "conf"), os.path.join(self.directory, "db"), self.warehouse)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.directory,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise SourceError(f"the metastore exited with code {self.proc.returncode} while starting; "
                                      f"see {self.log_path}")
                if _port_open(self.host, self.port):
                    return self
                time.sleep(0.5)
        except BaseException:  # Ctrl-C / SIGTERM while starting: the Java process (own session) must not outlive us
            self.stop()
            raise
        self.stop()
        raise SourceError(f"the metastore did not open port {self.port} within {timeout:.0f}s; see {self.log_path}")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL)."""
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(5)

    def __enter__(self) -> "MetastoreServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

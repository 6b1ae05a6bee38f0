"""push / pull / install / lock between a local registry and an S3 registry on moto."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.maintain import transfer
from lakepkg.errors import ConcurrentUpdateError, IntegrityError, StoreUnavailableError
from lakepkg.maintain.lockfile import lock, read_lockfile
from lakepkg.registry import open_registry
from lakepkg.store.base import hash_file
from lakepkg.maintain.verify import verify_registry
from tests.fixtures.s3 import new_bucket, start_moto_server, stop_moto_server
from tests.s3_helpers import build, object_key, small_frame


def _frame(reg, ref):
    return lakepkg.load(ref, reg)["orders"].to_pandas().sort_values("id").reset_index(drop=True)


def test_push_then_repush_sends_nothing_and_pull_elsewhere(registry, s3_bucket_url, tmp_path, monkeypatch):
    v1 = build(registry, "sales/orders", 1)
    registry.set_tag("sales/orders", "prod", v1.top_hash)
    rep = transfer.push("sales/orders", s3_bucket_url, registry=registry)
    assert rep.objects_copied == rep.objects_total > 3 and rep.record_created and rep.latest_moved
    assert rep.tags_set == ["prod"]
    remote = open_registry(s3_bucket_url)
    rrec = remote.resolve("sales/orders:prod")
    assert rrec.top_hash == v1.top_hash and rrec.created_at == v1.record.created_at and rrec.message == v1.record.message
    again = transfer.push("sales/orders", s3_bucket_url, registry=registry)
    assert again.objects_copied == 0 and again.bytes_copied == 0 and not again.record_created
    assert len(remote.history("sales/orders")) == 1
    # a second machine: an empty local registry pulls it
    other = open_registry(str(tmp_path / "other"))
    rep = transfer.pull("sales/orders:prod", s3_bucket_url, registry=other)
    assert rep.objects_copied == rep.objects_total
    assert _frame(other, "sales/orders").equals(_frame(registry, "sales/orders"))
    assert other.resolve("sales/orders:prod").top_hash == v1.top_hash
    assert verify_registry(other).ok
    # v2 pushed: only the changed objects travel
    v2 = build(registry, "sales/orders", 2)
    rep = transfer.push("sales/orders", s3_bucket_url, registry=registry)
    assert 0 < rep.objects_copied < rep.objects_total + 3
    assert [s.top_hash for s in remote.history("sales/orders")] == [v1.top_hash, v2.top_hash]
    # pushing the older version again never moves latest backwards
    transfer.push(f"sales/orders@{v1.top_hash[:12]}", s3_bucket_url, registry=registry)
    assert remote.resolve("sales/orders").top_hash == v2.top_hash


def test_interrupted_push_publishes_nothing_and_rerun_sends_only_the_rest(registry, s3_bucket_url):
    v = build(registry, "sales/big", 3)
    remote = open_registry(s3_bucket_url)

    class Stop(Exception):
        pass

    def die(done, nbytes):
        if done == 3:
            raise Stop()

    with pytest.raises(Stop):
        transfer.copy_version(registry, remote, "sales/big", workers=1, progress=die)
    assert remote.history("sales/big") == []                       # nothing half-published
    sent = len(list(remote.store.iter_objects()))
    assert 3 <= sent < 8
    rep = transfer.push("sales/big", s3_bucket_url, registry=registry)
    assert rep.objects_present == sent and rep.objects_copied == rep.objects_total - sent
    assert remote.resolve("sales/big").top_hash == v.top_hash
    assert verify_registry(remote).ok


def test_endpoint_dying_mid_transfer(registry, tmp_path, monkeypatch):
    build(registry, "sales/orders", 4)
    proc, url = start_moto_server()
    try:
        bucket = new_bucket(url)
        remote = open_registry(f"s3://{bucket}/r", endpoint_url=url)

        def kill(done, nbytes):
            if done == 2:
                stop_moto_server(proc)

        with pytest.raises(StoreUnavailableError) as e:
            transfer.copy_version(registry, remote, "sales/orders", workers=1, progress=kill)
        assert "cannot reach" in str(e.value) and "re-run" in str(e.value) and "\n" not in str(e.value)
    finally:
        stop_moto_server(proc)


def test_tag_moved_by_someone_else_during_push(registry, s3_bucket_url):
    v1 = build(registry, "sales/orders", 5)
    transfer.push("sales/orders", s3_bucket_url, registry=registry, tags=("prod",))
    v2 = build(registry, "sales/orders", 6)
    remote = open_registry(s3_bucket_url)
    other = open_registry(s3_bucket_url)
    other_v = build(other, "sales/orders", 7)                         # a colleague publishes meanwhile

    def move(done, nbytes):
        if done == 1:
            other.set_tag("sales/orders", "prod", other_v.top_hash)

    with pytest.raises(ConcurrentUpdateError, match="prod"):
        transfer.copy_version(registry, remote, "sales/orders", tags=("prod",), progress=move)
    assert remote.resolve("sales/orders:prod").top_hash == other_v.top_hash   # theirs stands
    hist = {s.top_hash for s in remote.history("sales/orders")}
    assert {v1.top_hash, v2.top_hash, other_v.top_hash} <= hist              # v2 is complete and recorded
    assert verify_registry(remote).ok
    rep = transfer.push("sales/orders", s3_bucket_url, registry=registry, tags=("prod",))  # re-run finishes
    assert rep.objects_copied == 0 and remote.resolve("sales/orders:prod").top_hash == v2.top_hash


def test_corrupt_remote_objects_refused_and_named_by_verify(registry, s3_bucket_url, s3_client, tmp_path):
    v = build(registry, "sales/orders", 8)
    transfer.push("sales/orders", s3_bucket_url, registry=registry)
    remote = open_registry(s3_bucket_url, cache_dir=str(tmp_path / "c-fresh"))
    frag = lakepkg.load("sales/orders", registry)["orders"].fragments()[0].object
    bucket, key = object_key(s3_bucket_url, frag)
    s3_client.put_object(Bucket=bucket, Key=key, Body=b"not parquet")
    rep = verify_registry(remote)
    assert list(rep.corrupt) == [frag] and rep.corrupt[frag] == [f"sales/orders@{v.top_hash[:10]}"]
    other = open_registry(str(tmp_path / "other"))
    with pytest.raises(IntegrityError):
        transfer.pull("sales/orders", s3_bucket_url, registry=other)
    assert other.history("sales/orders") == []                     # nothing half-published
    # a manifest (root) that does not match the top hash asked for is refused
    bucket, key = object_key(s3_bucket_url, v.top_hash)
    s3_client.put_object(Bucket=bucket, Key=key, Body=b'{"format":"lakepkg/1","tables":{}}')
    with pytest.raises(IntegrityError):
        lakepkg.load(f"sales/orders@{v.top_hash}", open_registry(s3_bucket_url, cache_dir=str(tmp_path / "c2")))
    s3_client.delete_object(Bucket=bucket, Key=key)
    rep = verify_registry(open_registry(s3_bucket_url, cache_dir=str(tmp_path / "c3")))
    assert not rep.ok and (v.top_hash in rep.missing or rep.errors)


def test_install_dest_lays_out_plain_files(registry, s3_bucket_url, tmp_path):
    v = build(registry, "sales/orders", 9)
    transfer.push("sales/orders", s3_bucket_url, registry=registry)
    local = open_registry(str(tmp_path / "fresh"))
    dest = tmp_path / "out"
    rep = transfer.install("sales/orders", s3_bucket_url, registry=local, dest=str(dest))
    pkg = lakepkg.load("sales/orders", local)
    expected = {f"orders/{f.key}": f.object for f in pkg["orders"].fragments()} | {"README.md": pkg["README.md"].object}
    got = {str(p.relative_to(dest)): hash_file(str(p))[0] for p in dest.rglob("*") if p.is_file() and p.name != ".lakepkg-version.json"}
    assert got == expected and rep.files_written == len(expected)
    plain = pq.read_table(str(dest / "orders")).to_pandas()        # a tool that knows nothing of lakepkg
    assert sorted(plain["id"].tolist()) == sorted(small_frame(9)["id"].tolist())
    assert json.loads((dest / ".lakepkg-version.json").read_text())["top_hash"] == v.top_hash
    again = transfer.install("sales/orders", s3_bucket_url, registry=local, dest=str(dest))
    assert again.files_written == 0 and again.objects_copied == 0


def _cli(args, home, check=True):
    env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1"}
    env.pop("LAKEPKG_REGISTRY", None)
    p = subprocess.run([sys.executable, "-m", "lakepkg.cli.__main__", *args], capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"lakepkg {args} failed: {p.stderr}")
    return p


@pytest.mark.parametrize("cmd", ["push", "pull", "install", "lock"])
def test_cli_help_has_json(cmd, home):
    assert "--json" in _cli([cmd, "--help"], home).stdout


def test_cli_push_lock_install_r(home, registry, s3_bucket_url, tmp_path):
    a = build(registry, "team/a", 10)
    b = build(registry, "team/b", 11)
    out = json.loads(_cli(["push", "team/a", "--to", s3_bucket_url, "--json"], home).stdout)
    assert out["objects_copied"] == out["objects_total"]
    _cli(["push", "team/b", "--to", s3_bucket_url, "--json"], home)
    lockfile = tmp_path / "lakepkg.lock"
    out = json.loads(_cli(["lock", "team/a", "team/b:latest", "--registry", s3_bucket_url, "--file", str(lockfile), "--json"], home).stdout)
    assert {p["name"]: p["top_hash"] for p in out["packages"]} == {"team/a": a.top_hash, "team/b": b.top_hash}
    assert [e.registry for e in read_lockfile(str(lockfile))] == [s3_bucket_url] * 2
    build(open_registry(s3_bucket_url), "team/a", 12)               # a moves on; the lock does not
    home2 = tmp_path / "home2"
    res = json.loads(_cli(["install", "-R", str(lockfile), "--dest", str(tmp_path / "dest"), "--json"], home2).stdout)
    assert [r["top_hash"] for r in res] == [a.top_hash, b.top_hash]
    assert (tmp_path / "dest" / "team" / "a" / "README.md").read_text() == "# team/a 10\n"
    reg2 = open_registry(str(home2 / "registry"))
    assert reg2.resolve(f"team/a@{a.top_hash}").top_hash == a.top_hash
    p = _cli(["pull", "team/a", "--from", "s3://no-such-bucket-x/r"], home2, check=False)
    assert p.returncode == 1 and p.stderr.count("\n") == 1 and "does not exist" in p.stderr
    bad = tmp_path / "bad.lock"
    bad.write_text("team/a@abcd\n")
    p = _cli(["install", "-R", str(bad)], home2, check=False)
    assert p.returncode == 1 and "full 64-digit" in p.stderr


def test_push_of_a_damaged_local_object_is_refused_and_publishes_nothing(registry, s3_bucket_url):
    """A push reads each local object once: the upload hashes what it sends, so a local copy damaged
    on disk (same size, other bytes) never goes up and the version is not published."""
    from lakepkg.format.walk import walk

    v1 = build(registry, "sales/orders", 1)
    frag = next(i.digest for i in walk(registry.store, v1.top_hash) if i.kind == "entry")
    path = registry.store.local_path(frag)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        b = f.read(1)
        f.seek(0)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(IntegrityError, match=frag[:12]):
        transfer.push("sales/orders", s3_bucket_url, registry=registry)
    assert open_registry(s3_bucket_url).history("sales/orders") == []

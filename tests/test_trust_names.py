"""Names are validated as whole strings, with a length limit, on write and on read."""
from __future__ import annotations

import pandas as pd
import pytest

import lakepkg
from lakepkg.errors import IntegrityError, InvalidNameError, InvalidRefError, UnsafePathError
from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.format.names import (
    MAX_KEY_BYTES,
    MAX_PACKAGE_NAME,
    is_safe_key,
    parse_ref,
    safe_key,
    validate_package_name,
    validate_table_name,
    validate_tag,
)
from lakepkg.write.build import PackageBuilder

TRAILING = ["\n", "\r", "\x00", "\t", "\x1b", "\u2028"]


@pytest.mark.parametrize("tail", TRAILING)
def test_trailing_control_characters_are_refused_everywhere(tail):
    with pytest.raises(InvalidNameError):
        validate_package_name("team/evil" + tail)
    with pytest.raises(InvalidNameError):
        validate_tag("prod" + tail)
    with pytest.raises(InvalidNameError):
        validate_table_name("orders" + tail)
    with pytest.raises(UnsafePathError):
        safe_key("dir/file.csv" + tail)
    with pytest.raises(UnsafePathError):
        safe_key("dir" + tail + "/file.csv")
    assert not is_safe_key("a" + tail + "b")


def test_lengths_are_bounded_with_a_short_message():
    long = "team/" + "x" * 5000
    with pytest.raises(InvalidNameError) as ei:
        validate_package_name(long)
    assert len(str(ei.value)) < 200 and "5,005 characters" in str(ei.value)
    validate_package_name("a/" + "b" * 100)
    with pytest.raises(InvalidNameError):
        validate_package_name("a/" + "b" * 101)  # one segment over 100
    with pytest.raises(InvalidNameError):
        validate_package_name("/".join(["abcdefghij"] * 30))  # 329 > MAX_PACKAGE_NAME
    assert len("/".join(["abcdefghij"] * 23)) <= MAX_PACKAGE_NAME
    validate_package_name("/".join(["abcdefghij"] * 23))
    with pytest.raises(InvalidNameError):
        validate_tag("t" * 129)
    with pytest.raises(InvalidNameError):
        validate_table_name("t" * 129)
    with pytest.raises(UnsafePathError, match="255 bytes"):
        safe_key("d/" + "é" * 128)  # 256 bytes in one component
    with pytest.raises(UnsafePathError, match=str(MAX_KEY_BYTES)):
        safe_key("/".join(["abcdefgh"] * 120))
    with pytest.raises(InvalidRefError) as ei:
        parse_ref(long + "@abcd")
    assert len(str(ei.value)) < 300


@pytest.mark.parametrize("ref", ["a/b@abcd/x/../../etc", "a/b:prod/../x", "a/b@2026-01-01/../x", "a/b@abcd//x\x07",
                                 "a/b@abcd\n1234", "a/b:pr\nod"])
def test_refs_with_unsafe_paths_or_controls(ref):
    with pytest.raises(InvalidRefError):
        parse_ref(ref)


def test_names_refused_on_write(registry, tmp_path):
    b = PackageBuilder(registry)
    with pytest.raises(InvalidNameError):
        b.add_table("orders\n", pd.DataFrame({"a": [1]}))
    with pytest.raises(UnsafePathError):
        b.add_file("notes\n.md", str(_write(tmp_path / "n.md")))
    b.add_table("orders", pd.DataFrame({"a": [1]}))
    with pytest.raises(InvalidNameError):
        b.publish("team/evil\n")
    assert registry.list_packages() == []
    with pytest.raises(InvalidNameError):
        b.publish("team/ok", tags=("prod\n",))


def _write(p):
    p.write_text("x")
    return p


def _forge_root(registry, rec, mutate):
    """Store a root node altered by ``mutate`` (a validly hashed object a forger could write) and return its hash."""
    root = load_json(registry.store.get_bytes(rec.top_hash, verify=True), "root")
    mutate(root)
    return registry.store.put_bytes(canonical_json(root))


def _forge_page_with_key(registry, page_hash, bad_key):
    raw = registry.store.get_bytes(page_hash, verify=True)
    lines = raw.splitlines(keepends=True)
    import json

    first = json.loads(lines[0])
    first["key"] = bad_key
    lines[0] = canonical_json(first) + b"\n"
    return registry.store.put_bytes(b"".join(lines))


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc/passwd", "a/\x00b.parquet", "a/./b/../../c"])
def test_manifest_with_unsafe_key_is_refused_on_read(registry, tmp_path, bad):
    b = PackageBuilder(registry)
    b.add_table("orders", pd.DataFrame({"a": list(range(10))}))
    b.add_file("README.md", str(_write(tmp_path / "r.md")))
    rec = b.publish("t/k")
    root = load_json(registry.store.get_bytes(rec.top_hash, verify=True), "root")
    page = root["files"][0]["hash"]
    forged_page = _forge_page_with_key(registry, page, bad)

    def mutate(r):
        r["files"][0]["hash"] = forged_page

    top = _forge_root(registry, rec, mutate)
    pkg = lakepkg.load(f"t/k@{rec.top_hash[:10]}", registry)
    from lakepkg.read.package import Package

    forged = Package(registry, top, None)
    with pytest.raises(IntegrityError, match="unsafe logical key"):
        list(forged.files)
    assert [f.key for f in pkg.files] == ["README.md"]


def test_manifest_with_unsafe_table_name_is_refused_on_read(registry):
    from lakepkg.format.manifest import load_root

    b = PackageBuilder(registry)
    b.add_table("orders", pd.DataFrame({"a": [1]}))
    rec = b.publish("t/n")

    def mutate(r):
        r["tables"][0]["name"] = "../../x"

    top = _forge_root(registry, rec, mutate)
    with pytest.raises(IntegrityError, match="unsafe table"):
        load_root(registry.store, top)

"""One size format everywhere (CLI, notebooks, progress): decimal units, ``-`` when unknown."""
from lakepkg.sizes import human_bytes


def test_human_bytes_is_decimal_and_marks_unknown():
    assert [human_bytes(n) for n in (None, 0, 1, 999, 1000, 1234, 1_234_567, 5 * 10**12)] == [
        "-", "0 B", "1 B", "999 B", "1.0 kB", "1.2 kB", "1.2 MB", "5.0 TB"]

"""One conversion of a pandas DataFrame to Arrow, whatever the pandas version.

pandas 2 stores text in ``object`` columns, which pyarrow converts to ``string``; pandas 3 stores
it in its ``str`` dtype, backed by Arrow ``large_string``. The two frames hold the same values and
must give the same fragments and the same top hash (docs/format.md, "Tables from pandas"), so:

* text and bytes columns are written with 32-bit offsets (``string``/``binary``), as pandas 2 gave
  them; a column whose chunk holds more than 2 GiB, which only 64-bit offsets address, stays large;
* the ``pandas`` schema metadata pyarrow adds is dropped: it names the pandas and pyarrow versions
  that wrote it, so it would make the fragment's bytes (and the top hash) change with a library
  upgrade, and no lakepkg reader uses it (a read's schema is the manifest's, which never held it)."""
from __future__ import annotations

from typing import Any

import pyarrow as pa

_NARROW = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}


def arrow_from_pandas(frame: Any) -> pa.Table:
    """``frame`` as an Arrow table without its index or pandas metadata, text as ``string`` (module doc).

    Raises what :meth:`pyarrow.Table.from_pandas` raises for a frame Arrow cannot hold."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"pandas"}
    table = table.replace_schema_metadata(metadata or None)
    for i, field in enumerate(table.schema):
        narrow = _NARROW.get(field.type)
        if narrow is None:
            continue
        try:
            column = table.column(i).cast(narrow)
        except (pa.ArrowInvalid, OverflowError):  # a chunk over 2 GiB: only 64-bit offsets hold it
            continue
        table = table.set_column(i, field.with_type(narrow), column)
    return table

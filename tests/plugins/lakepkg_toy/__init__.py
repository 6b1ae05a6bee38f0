"""A third-party connector, as a package outside lakepkg would ship it (tests/test_publish_cli.py).

It registers itself in the ``lakepkg.connectors`` entry-point group and declares its options;
``lakepkg snapshot toy`` is generated from them, with no line of lakepkg naming it.
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa

from lakepkg.errors import ConfigError
from lakepkg.source.connectors import ConnectorOption
from lakepkg.source.table_snapshot import TableSnapshot


class ToyConnector:
    """Snapshot a generated sequence of numbers (a toy source)

    Every row is (n, n squared, label)."""

    name = "toy"
    options = [
        ConnectorOption("rows", type=int, required=True, help="How many rows to generate."),
        ConnectorOption("label", default="toy", help="The table's name and the value of its label column."),
        ConnectorOption("shout", type=bool, help="Upper-case the label."),
        ConnectorOption("skip", type=int, multiple=True, help="A number to leave out. Repeatable."),
    ]

    def snapshot_tables(self, *, rows: int, label: str = "toy", shout: bool = False, skip: Any = (),
                        **unknown: Any) -> list[TableSnapshot]:
        if unknown:
            raise ConfigError(f"unknown toy option(s): {', '.join(sorted(unknown))}")
        if rows < 0:
            raise ConfigError("--rows must not be negative")
        ns = [n for n in range(rows) if n not in set(skip)]
        text = label.upper() if shout else label
        batch = pa.record_batch({"n": pa.array(ns, pa.int64()), "sq": pa.array([n * n for n in ns], pa.int64()),
                                 "label": pa.array([text] * len(ns), pa.string())})
        return [TableSnapshot(name=label, batches=[batch], key_columns=["n"], provenance={"source": "toy"},
                              facts={"generated": len(ns)})]

    @staticmethod
    def describe(name: str, facts: dict[str, Any]) -> str:
        return f"{name}: {facts['generated']} toy rows generated"


connector = ToyConnector()

"""Working with a Hive metastore beyond reading it: the Thrift client, Hive types, restoring a
snapshotted table into the metastore, and running a local metastore.

* :mod:`lakepkg.metastore.thrift` — connect to a metastore, metastore calls as one-line errors;
* :mod:`lakepkg.metastore.types` — Hive types ↔ Arrow, partition values and paths, text files;
* :mod:`lakepkg.metastore.restore` — write a package table to a location and register it (rollback);
* :mod:`lakepkg.metastore.metastore_server` — a Thrift metastore from pyspark's jars (embedded Derby).

The ``hive`` connector (``lakepkg_connectors.hive``) reads tables through these; the core never
imports the connector.
"""

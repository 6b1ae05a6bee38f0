"""The package format: canonical JSON, names, schemas, manifest nodes and pages, Merkle hashing (docs/format.md)."""

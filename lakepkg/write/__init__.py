"""Writing a version: ingest, chunking, fragments, the builder, and the one publish path."""

"""Connectors: one module per source system; found through the `lakepkg.source.connectors` entry-point group."""

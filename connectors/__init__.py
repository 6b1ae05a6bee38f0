"""Connectors: one module per source system; found through the `lakepkg.connectors` entry-point group."""

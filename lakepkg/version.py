"""The version of lakepkg, in a module of its own so any layer can read it without importing the
top-level package (which imports the layers lazily)."""

__version__ = "0.1.0"

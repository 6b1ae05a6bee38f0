"""Renamed :mod:`lakepkg.metastore`: this old name (and ``lakepkg.hive.<module>``) works for one more
release, with a LakepkgDeprecationWarning."""
from lakepkg._renamed import install, warn_once

install()
warn_once("lakepkg.hive")
from lakepkg.metastore import *  # noqa: E402,F401,F403

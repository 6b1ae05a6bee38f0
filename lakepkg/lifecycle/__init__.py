"""Renamed :mod:`lakepkg.governance`: this old name (and ``lakepkg.lifecycle.<module>``) works for one
more release, with a LakepkgDeprecationWarning."""
from lakepkg._renamed import install, warn_once

install()
warn_once("lakepkg.lifecycle")
from lakepkg.governance import *  # noqa: E402,F401,F403
from lakepkg.governance import __all__  # noqa: E402,F401

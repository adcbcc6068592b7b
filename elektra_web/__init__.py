"""Elektra Web: elektrad on every machine, one clusterd as the point of entry."""

__version__ = "0.1.0"

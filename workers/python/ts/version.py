"""The version handlers see as ``ts.version.__version__`` (Lantern's worker version)."""

from lantern_worker import __version__  # noqa: F401

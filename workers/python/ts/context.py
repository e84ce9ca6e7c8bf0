"""``ts.context``: the context object handlers receive is Lantern's (same attributes and methods)."""

from lantern_worker.context import Context, RequestProcessor  # noqa: F401

__all__ = ["Context", "RequestProcessor"]

"""``ts.metrics.dimension``."""

from lantern_worker.metrics import Dimension  # noqa: F401

__all__ = ["Dimension"]

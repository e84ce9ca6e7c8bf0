"""``ts.metrics.caching_metric``: the metric ``context.metrics`` holds."""

from lantern_worker.metrics import CachingMetric  # noqa: F401

__all__ = ["CachingMetric"]

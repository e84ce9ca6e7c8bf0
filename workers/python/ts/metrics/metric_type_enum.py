"""``ts.metrics.metric_type_enum``."""

from lantern_worker.metrics import MetricTypes  # noqa: F401

__all__ = ["MetricTypes"]

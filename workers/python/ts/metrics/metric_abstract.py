"""``ts.metrics.metric_abstract``: the base of TorchServe's metric classes (here, CachingMetric itself)."""

from lantern_worker.metrics import CachingMetric as MetricAbstract  # noqa: F401

__all__ = ["MetricAbstract"]

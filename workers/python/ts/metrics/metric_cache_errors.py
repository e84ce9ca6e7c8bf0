"""``ts.metrics.metric_cache_errors``: what the metrics cache raises."""

from lantern_worker.metrics import (  # noqa: F401
    GeneralMetricsCacheError,
    MetricsCacheIOError,
    MetricsCacheKeyError,
    MetricsCacheTypeError,
    MetricsCacheValueError,
)

try:
    import yaml

    class MetricsCachePyYamlError(yaml.YAMLError):
        pass

except ImportError:  # PyYAML absent: nothing can raise it

    class MetricsCachePyYamlError(Exception):
        pass


__all__ = [
    "GeneralMetricsCacheError",
    "MetricsCacheIOError",
    "MetricsCachePyYamlError",
    "MetricsCacheTypeError",
    "MetricsCacheValueError",
    "MetricsCacheKeyError",
]

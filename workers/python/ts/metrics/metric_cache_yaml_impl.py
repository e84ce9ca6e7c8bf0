"""``ts.metrics.metric_cache_yaml_impl.MetricsCacheYamlImpl``: a metrics cache read from a metrics
YAML file; ``initialize_cache()`` creates its ``model_metrics``. Reading the file needs PyYAML."""
from __future__ import annotations

from lantern_worker.metrics import MetricsCache, MetricsCacheTypeError, load_model_metrics


class MetricsCacheYamlImpl(MetricsCache):
    def __init__(self, config_file_path):
        if not config_file_path:
            raise MetricsCacheTypeError("Config file not initialized")
        super().__init__(config_file_path=config_file_path, model_metrics=load_model_metrics(config_file_path))


__all__ = ["MetricsCacheYamlImpl"]

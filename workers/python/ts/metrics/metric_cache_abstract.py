"""``ts.metrics.metric_cache_abstract``: the cache API ``context.metrics`` offers (add_metric,
add_counter, add_time, add_size, add_percent, add_error, add_metric_to_cache, get_metric,
set_request_ids, initialize_cache)."""

from lantern_worker.metrics import MetricsCache as MetricCacheAbstract  # noqa: F401

__all__ = ["MetricCacheAbstract"]

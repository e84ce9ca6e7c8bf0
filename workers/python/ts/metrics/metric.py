"""``ts.metrics.metric.Metric``: TorchServe's older, stand-alone counter. It holds its dimensions
and request id; ``update(value)`` and ``reset()`` print a ``[METRICS]`` line for the front end, as
``context.metrics`` does."""
from __future__ import annotations

import collections
import socket
import time

from lantern_worker.metrics import Metric as CachingMetric
from lantern_worker.metrics import MetricTypes

from .unit import Units

MetricUnit = Units()


class Metric:
    def __init__(self, name, value, unit, dimensions, request_id=None, metric_method=None):
        self.metric_type = MetricTypes.COUNTER
        self.dimensions = dimensions
        self.dimension_names = [dim.name for dim in dimensions]
        self.dimension_values = [dim.value for dim in dimensions]
        self._caching_metric = CachingMetric(name, unit, self.dimension_names, self.metric_type)
        self.name = self._caching_metric.name
        self.unit = self._caching_metric.unit
        self.metric_method = metric_method
        self.value = value
        self.request_id = request_id

    def update(self, value):
        """Prints ``value`` as this metric's line (the held ``value`` is not changed, as in TorchServe)."""
        self._caching_metric.add_or_update(value, self.dimension_values, request_id=self.request_id)

    def reset(self):
        self._caching_metric.add_or_update(0, self.dimension_values, request_id=self.request_id)

    def __str__(self):
        dims = ",".join(str(d) for d in self.dimensions)
        text = f"{self.name}.{self.unit}:{self.value}|#{dims}|#hostname:{socket.gethostname()},{int(time.time())}"
        return f"{text},{self.request_id}" if self.request_id else text

    def to_dict(self):
        return collections.OrderedDict(
            {
                "MetricName": self.name,
                "Value": self.value,
                "Unit": self.unit,
                "Dimensions": self.dimensions,
                "Timestamp": int(time.time()),
                "HostName": socket.gethostname(),
                "RequestId": self.request_id,
            }
        )

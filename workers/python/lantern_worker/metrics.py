"""The metrics cache handlers reach through ``context.metrics``.

Every update is printed at once as one stdout line that the front end parses:
``[METRICS]<Name>.<Unit>:<value>|#<Dim>:<val>,...|#type:<TYPE>|#hostname:<host>,<epoch s>[,<request ids>]``
"""
from __future__ import annotations

import enum
import socket
import sys
import threading
import time


class MetricTypes(enum.Enum):
    COUNTER = "COUNTER"
    GAUGE = "GAUGE"
    HISTOGRAM = "HISTOGRAM"


_UNITS = {
    "ms": "Milliseconds",
    "s": "Seconds",
    "us": "Microseconds",
    "percent": "Percent",
    "%": "Percent",
    "count": "Count",
    "B": "Bytes",
    "kB": "Kilobytes",
    "KB": "Kilobytes",
    "MB": "Megabytes",
    "GB": "Gigabytes",
    "": "unit",
}


def _unit_name(unit: str) -> str:
    return _UNITS.get(unit, unit)


def _type_name(metric_type) -> str:
    if isinstance(metric_type, MetricTypes):
        return metric_type.value
    return str(metric_type).upper()


class Dimension:
    def __init__(self, name: str, value) -> None:
        self.name = name
        self.value = value

    def __str__(self) -> str:
        return f"{self.name}:{self.value}"

    def __repr__(self) -> str:
        return f"Dimension({self.name!r}, {self.value!r})"


def _hostname() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return "localhost"


_emit_lock = threading.Lock()
# While a batch is served, its metric lines wait here and go with its reply (take_deferred_lines);
# only when the batch fails before its reply are they written to stdout (flush_deferred_lines).
_deferred: list[str] | None = None


def _emit(line: str) -> None:
    with _emit_lock:
        if _deferred is not None:
            _deferred.append(line)
            return
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def defer_lines() -> None:
    """Holds metric lines back until ``flush_deferred_lines``."""
    global _deferred
    with _emit_lock:
        if _deferred is None:
            _deferred = []


def take_deferred_lines() -> list[str]:
    """The held-back metric lines, in order, for the batch's reply; stops holding them back."""
    global _deferred
    with _emit_lock:
        lines, _deferred = _deferred, None
    return lines or []


def flush_deferred_lines() -> None:
    """Writes the held-back metric lines, in order, with one write; stops holding them back."""
    global _deferred
    with _emit_lock:
        lines, _deferred = _deferred, None
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()


def _format_number(value) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return str(value)


class Metric:
    """One named metric with fixed dimension names; each update prints a line."""

    def __init__(self, name: str, unit: str, dimension_names, metric_type, cache: "MetricsCache") -> None:
        self.name = name
        self.unit = _unit_name(unit)
        self.dimension_names = list(dimension_names or [])
        self.metric_type = metric_type
        self._cache = cache
        self.value = 0

    @property
    def metric_name(self) -> str:
        """TorchServe's name for ``name`` (CachingMetric.metric_name)."""
        return self.name

    def _line(self, value, dimension_string, request_id) -> str:
        line = (
            f"[METRICS]{self.name}.{self.unit}:{_format_number(value)}|#{dimension_string}"
            f"|#type:{_type_name(self.metric_type)}|#hostname:{self._cache.hostname},{int(time.time())}"
        )
        if request_id:
            line += f",{request_id}"
        return line

    def emit_metrics(self, request_id, value, dimension_string) -> None:
        """Prints one line for ``value`` with dimensions already joined as ``Name:value,...``
        (TorchServe's CachingMetric.emit_metrics, which custom metric classes override or call)."""
        _emit(self._line(value, dimension_string, request_id))

    def add_or_update(self, value, dimension_values=None, request_id: str | None = "") -> None:
        dimension_values = list(dimension_values or [])
        if len(dimension_values) != len(self.dimension_names):
            raise ValueError(
                f"Metric {self.name} expects {len(self.dimension_names)} dimension values, got {len(dimension_values)}"
            )
        if _type_name(self.metric_type) == "COUNTER":
            self.value += value
        else:
            self.value = value
        dims = ",".join(f"{n}:{v}" for n, v in zip(self.dimension_names, dimension_values))
        self.emit_metrics(request_id, value, dims)

    def update(self, value, request_id: str | None = "", dimensions=None) -> None:
        values = [d.value for d in dimensions] if dimensions else [""] * len(self.dimension_names)
        self.add_or_update(value, values, request_id)


class MetricsCache:
    """``context.metrics``: creates and updates metrics for the current batch."""

    def __init__(self, model_name: str | None = None, request_ids: dict | None = None) -> None:
        self.model_name = model_name
        self.request_ids = request_ids
        self.hostname = _hostname()
        self._cache: dict[tuple[str, str], Metric] = {}

    # -- request ids -----------------------------------------------------------------------
    def _request_id(self, idx) -> str:
        ids = self.request_ids
        if not ids:
            return ""
        if idx is not None:
            try:
                return str(ids[idx])
            except (KeyError, IndexError, TypeError):
                pass
        if isinstance(ids, dict):
            return ",".join(str(v) for v in ids.values())
        if isinstance(ids, (list, tuple)):
            return ",".join(str(v) for v in ids)
        return str(ids)

    def _dimensions(self, dimensions) -> list[Dimension]:
        if not dimensions:
            dims = []
        elif isinstance(dimensions, dict):
            dims = [Dimension(k, v) for k, v in dimensions.items()]
        else:
            dims = [d if isinstance(d, Dimension) else Dimension(*d) for d in dimensions]
        names = {d.name for d in dims}
        if "ModelName" not in names and self.model_name is not None:
            dims.append(Dimension("ModelName", self.model_name))
        if "Level" not in names:
            dims.append(Dimension("Level", "Model"))
        return dims

    # -- public API ------------------------------------------------------------------------
    def add_metric_to_cache(self, metric_name, unit, dimension_names=None, metric_type=MetricTypes.COUNTER) -> Metric:
        key = (_type_name(metric_type), metric_name)
        metric = self._cache.get(key)
        if metric is None:
            metric = Metric(metric_name, unit, dimension_names, metric_type, self)
            self._cache[key] = metric
        return metric

    def get_metric(self, metric_name, metric_type=MetricTypes.COUNTER) -> Metric:
        key = (_type_name(metric_type), metric_name)
        if key not in self._cache:
            raise KeyError(f"Metric of type {key[0]} and name {metric_name} doesn't exist")
        return self._cache[key]

    def add_metric(self, name, value, unit, idx=None, dimensions=None, metric_type=MetricTypes.COUNTER) -> None:
        dims = self._dimensions(dimensions)
        metric = Metric(name, unit, [d.name for d in dims], metric_type, self)
        self._cache.setdefault((_type_name(metric_type), name), metric)
        metric.add_or_update(value, [d.value for d in dims], self._request_id(idx))

    def add_counter(self, name, value, idx=None, dimensions=None) -> None:
        self.add_metric(name, value, "count", idx, dimensions, MetricTypes.COUNTER)

    def add_time(self, name, value, idx=None, unit="ms", dimensions=None, metric_type=MetricTypes.GAUGE) -> None:
        if unit not in ("ms", "s", "us", "Milliseconds", "Seconds", "Microseconds"):
            raise ValueError("the unit for a timed metric should be one of ['ms', 's', 'us']")
        self.add_metric(name, value, unit, idx, dimensions, metric_type)

    def add_size(self, name, value, idx=None, unit="MB", dimensions=None, metric_type=MetricTypes.GAUGE) -> None:
        if unit not in ("MB", "kB", "KB", "GB", "B"):
            raise ValueError("The unit for size based metric is one of ['MB','kB', 'GB', 'B']")
        self.add_metric(name, value, unit, idx, dimensions, metric_type)

    def add_percent(self, name, value, idx=None, dimensions=None, metric_type=MetricTypes.GAUGE) -> None:
        self.add_metric(name, value, "percent", idx, dimensions, metric_type)

    def add_error(self, name, value, dimensions=None) -> None:
        self.add_metric(name, value, "", None, dimensions, MetricTypes.COUNTER)

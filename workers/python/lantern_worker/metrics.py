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
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


# TorchServe's ts.metrics.unit.Units: short names handlers pass, as metric lines carry them.
UNITS = {
    "ms": "Milliseconds",
    "s": "Seconds",
    "percent": "Percent",
    "count": "Count",
    "MB": "Megabytes",
    "GB": "Gigabytes",
    "kB": "Kilobytes",
    "B": "Bytes",
    "": "unit",
    None: "unit",
}


def _unit_name(unit) -> str:
    return UNITS[unit] if unit in UNITS else unit


class GeneralMetricsCacheError(Exception):
    pass


class MetricsCacheIOError(IOError):
    pass


class MetricsCacheTypeError(TypeError):
    pass


class MetricsCacheValueError(ValueError):
    pass


class MetricsCacheKeyError(KeyError):
    pass


class Dimension:
    def __init__(self, name: str, value) -> None:
        self.name = name
        self.value = value

    def __str__(self) -> str:
        return f"{self.name}:{self.value}"

    def __repr__(self) -> str:
        return f"Dimension({self.name!r}, {self.value!r})"


def _hostname() -> str:  # noqa: D401
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


def _log_error(message: str) -> None:
    with _emit_lock:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


class CachingMetric:
    """TorchServe's ts.metrics.caching_metric.CachingMetric: one named metric with fixed dimension
    names; each update prints a ``[METRICS]`` line (a bad update is logged, not raised)."""

    def __init__(self, metric_name: str, unit: str, dimension_names=None, metric_type=MetricTypes.COUNTER) -> None:
        self.metric_name = metric_name
        self.unit = _unit_name(unit)
        self.dimension_names = dimension_names or []
        self.metric_type = metric_type

    @property
    def name(self) -> str:
        return self.metric_name

    def _validate_and_get_dimensions(self, dimension_values) -> list:
        if dimension_values is None or len(dimension_values) != len(self.dimension_names):
            raise ValueError(
                f"Dimension values: {dimension_values} should correspond to Dimension names: {self.dimension_names}"
            )
        return [Dimension(n, v) for n, v in zip(self.dimension_names, dimension_values)]

    def _validate_metric_value(self, value) -> None:
        if self.metric_type == MetricTypes.COUNTER and value < 0:
            raise ValueError("Counter metric update value cannot be negative")

    def emit_metrics(self, request_id, value, dimension_string) -> None:
        """Prints one line for ``value`` with dimensions already joined as ``Name:value,...``."""
        type_name = self.metric_type.name if isinstance(self.metric_type, MetricTypes) else str(self.metric_type).upper()
        line = (
            f"[METRICS]{self.metric_name}.{self.unit}:{value}|#{dimension_string}|"
            f"#type:{type_name}|#hostname:{_HOSTNAME},{int(time.time())}"
        )
        _emit(f"{line},{request_id}" if request_id else line)

    def add_or_update(self, value, dimension_values=[], request_id="") -> None:  # noqa: B006 — TorchServe's signature
        dimension_str = ""
        try:
            dimension_objs = self._validate_and_get_dimensions(dimension_values)
            dimension_str = ",".join([str(d) for d in dimension_objs])
            self._validate_metric_value(value)
        except (ValueError, TypeError) as ex:
            _log_error(
                f"[METRICS]Failed to update metric with name:{self.metric_name} and dimensions: "
                f"{dimension_str} with value: {value}: {ex}"
            )
        else:
            self.emit_metrics(request_id, value, dimension_str)

    def update(self, value, request_id="", dimensions=[]) -> None:  # noqa: B006
        """Older API: the dimensions given replace the metric's dimension names."""
        self.dimension_names = [dim.name for dim in dimensions]
        self.add_or_update(value, [dim.value for dim in dimensions], request_id)


# Lantern's earlier name for it.
Metric = CachingMetric

_HOSTNAME = _hostname()


def _as_dimensions(dimensions) -> list:
    """A handler's dimensions as a list of Dimension objects: the list itself when it is one (TorchServe
    adds its default dimensions to the caller's list), else a new list from a dict or pairs."""
    if isinstance(dimensions, list) and all(isinstance(d, Dimension) for d in dimensions):
        return dimensions
    if isinstance(dimensions, dict):
        return [Dimension(k, v) for k, v in dimensions.items()]
    return [d if isinstance(d, Dimension) else Dimension(*d) for d in (dimensions or [])]


# TorchServe's methods take ``dimensions: list = []`` and add their default dimensions to that one
# list, so a call without dimensions sees what earlier ones added (the first call's Level stays).
_DEFAULT_DIMENSIONS = {name: [] for name in ("add_metric", "add_counter", "add_time", "add_size", "add_percent", "add_error")}


def load_model_metrics(config_file_path):
    """The ``model_metrics`` section of a metrics YAML file (None when it has none); the file is
    read as TorchServe reads it, and a missing or unparsable one raises as there."""
    try:
        import yaml  # only this file form needs PyYAML; the server passes the section as JSON instead
    except ImportError as e:
        raise GeneralMetricsCacheError(f"General error found in file {config_file_path}: {e}") from e
    try:
        with open(config_file_path, "r", encoding="utf-8") as f:
            parsed = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise GeneralMetricsCacheError(f"Error parsing file {config_file_path}: {e}") from e
    except IOError as e:
        raise MetricsCacheIOError(f"Error reading file {config_file_path}: {e}") from e
    return parsed.get("model_metrics") if isinstance(parsed, dict) else None


class MetricsCache:
    """``context.metrics``, TorchServe's MetricsCacheYamlImpl: a cache of metrics by type and name,
    seeded from the metrics configuration's ``model_metrics`` by ``initialize_cache()``."""

    def __init__(self, model_name=None, request_ids=None, config_file_path=None, model_metrics=None) -> None:
        self.cache: dict = {}
        self.store: list = []
        self.request_ids = request_ids
        self.model_name = model_name
        self.config_file_path = config_file_path
        self.hostname = _HOSTNAME
        self._model_metrics = model_metrics

    # -- seeding ---------------------------------------------------------------------------
    def initialize_cache(self) -> None:
        """Creates the metrics of the configuration's ``model_metrics`` (every type) in the cache."""
        section = self._model_metrics
        if section is None and self.config_file_path:
            section = load_model_metrics(self.config_file_path)
        if not section:
            raise MetricsCacheValueError("Missing `model_metrics` specification")
        for metric_type, metrics_list in section.items():
            try:
                metric_enum = MetricTypes(metric_type)
            except Exception as exc:
                raise MetricsCacheKeyError(f"Invalid metric type: {exc}") from exc
            for metric in metrics_list or []:
                try:
                    self.add_metric_to_cache(
                        metric_name=metric["name"],
                        unit=metric["unit"],
                        dimension_names=metric["dimensions"],
                        metric_type=metric_enum,
                    )
                except KeyError as k_err:
                    raise MetricsCacheKeyError(f"Key not found in cache spec: {k_err}") from k_err

    def cache_keys(self) -> list:
        return [f"{t.value}:{name}" for t, metrics in self.cache.items() for name in metrics.keys()]

    # -- request ids -----------------------------------------------------------------------
    def set_request_ids(self, request_ids) -> None:
        self.request_ids = request_ids

    def _get_req(self, idx):
        req_id = self.request_ids
        if isinstance(req_id, dict):
            req_id = ",".join(self.request_ids.values())
        if idx is not None and self.request_ids is not None and idx in self.request_ids:
            req_id = self.request_ids[idx]
        return req_id

    def _add_default_dims(self, req_id, dimensions) -> list:
        dim_names = [dim.name for dim in dimensions]
        if req_id is None:
            if "Level" not in dim_names:
                dimensions.append(Dimension("Level", "Error"))
        else:
            if "ModelName" not in dim_names:
                dimensions.append(Dimension("ModelName", self.model_name))
            if "Level" not in dim_names:
                dimensions.append(Dimension("Level", "Model"))
        return dimensions

    # -- the cache -------------------------------------------------------------------------
    @staticmethod
    def _check_type(variable, expected_type, helper_text) -> None:
        if not isinstance(variable, expected_type):
            raise MetricsCacheTypeError(helper_text)

    def add_metric_to_cache(self, metric_name, unit, dimension_names=[], metric_type=MetricTypes.COUNTER):  # noqa: B006
        """Creates a metric (replacing one of the same type and name) without emitting it."""
        self._check_type(metric_name, str, "`metric_name` must be a str")
        self._check_type(unit, str, "`unit` must be a str")
        self._check_type(metric_type, MetricTypes, "`metric_type` must be a MetricTypes enum")
        if dimension_names:
            self._check_type(dimension_names, list, "`dimension_names` should be a list of dimension name strings")
        metrics = self.cache.setdefault(metric_type, {})
        metric = CachingMetric(metric_name=metric_name, unit=unit, dimension_names=dimension_names, metric_type=metric_type)
        if metric_name in metrics:
            _log_error(f"Overriding existing key {metric_type}:{metric_name}")
        metrics[metric_name] = metric
        return metric

    def get_metric(self, metric_name, metric_type=MetricTypes.COUNTER):
        self._check_type(metric_name, str, "`metric_name` must be a str")
        self._check_type(metric_type, MetricTypes, "`metric_type` must be a MetricTypes enum")
        try:
            return self.cache[metric_type][metric_name]
        except KeyError:
            raise MetricsCacheKeyError(f"Metric of type '{metric_type}' and name '{metric_name}' doesn't exist") from None

    def _get_or_add_metric(self, metric_name, unit, dimensions, metric_type):
        try:
            return self.get_metric(metric_name, metric_type)
        except MetricsCacheKeyError:
            return self.add_metric_to_cache(
                metric_name=metric_name, unit=unit, metric_type=metric_type, dimension_names=[d.name for d in dimensions]
            )

    def _record(self, method, name, value, unit, idx, dimensions, metric_type) -> None:
        dims = _DEFAULT_DIMENSIONS[method] if dimensions is None else _as_dimensions(dimensions)
        # add_error is not tied to a request: its default Level is "Error" and its line has no ids.
        req_id = None if method == "add_error" else self._get_req(idx)
        dims = self._add_default_dims(req_id, dims)
        metric = self._get_or_add_metric(name, unit, dims, metric_type)
        metric.add_or_update(value, [d.value for d in dims], "" if req_id is None else req_id)

    # -- TorchServe's API ------------------------------------------------------------------
    def add_metric(self, name, value, unit, idx=None, dimensions=None, metric_type=MetricTypes.COUNTER) -> None:
        self._record("add_metric", name, value, unit, idx, dimensions, metric_type)

    def add_counter(self, name, value, idx=None, dimensions=None) -> None:
        self._record("add_counter", name, value, "count", idx, dimensions, MetricTypes.COUNTER)

    def add_time(self, name, value, idx=None, unit="ms", dimensions=None, metric_type=MetricTypes.GAUGE) -> None:
        if unit not in ["ms", "s"]:
            raise MetricsCacheValueError("the unit for a timed metric should be one of ['ms', 's']")
        self._record("add_time", name, value, unit, idx, dimensions, metric_type)

    def add_size(self, name, value, idx=None, unit="MB", dimensions=None, metric_type=MetricTypes.GAUGE) -> None:
        if unit not in ["MB", "kB", "GB", "B"]:
            raise ValueError("The unit for size based metric is one of ['MB','kB', 'GB', 'B']")
        self._record("add_size", name, value, unit, idx, dimensions, metric_type)

    def add_percent(self, name, value, idx=None, dimensions=None, metric_type=MetricTypes.GAUGE) -> None:
        self._record("add_percent", name, value, "percent", idx, dimensions, metric_type)

    def add_error(self, name, value, dimensions=None) -> None:
        self._record("add_error", name, value, "", None, dimensions, MetricTypes.COUNTER)

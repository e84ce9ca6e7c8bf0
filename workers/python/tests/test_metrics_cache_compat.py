"""context.metrics against TorchServe 0.12.0's own ts.metrics: the same script, run by Lantern's
``ts`` and by TorchServe's, seeds a cache from a metrics YAML (every type and unit) and uses every
call of the cache API; the ``[METRICS]`` lines and what the calls return or raise must be the same
(host name and time masked)."""
import re

from reference_ts import run_lantern_and_reference

METRICS_YAML = """
dimensions:
  - &model_name "ModelName"
  - &level "Level"
ts_metrics:
  counter:
    - name: Requests2XX
      unit: Count
      dimensions: [*level, "Hostname"]
model_metrics:
  counter:
    - name: InferenceRequestCount
      unit: count
      dimensions: []
    - name: PostprocessCallCount
      unit: CallCount
      dimensions: [*model_name, *level]
  gauge:
    - name: RequestBatchSize
      unit: count
      dimensions: ["ModelName"]
    - name: SizeOfImage
      unit: kB
      dimensions: [*model_name, *level]
  histogram:
    - name: Latency
      unit: ms
      dimensions: [*model_name]
"""

SCRIPT = '''
import logging, os, sys
logging.basicConfig(stream=sys.stdout, format="%(message)s", level=logging.INFO)
from ts.metrics.dimension import Dimension
from ts.metrics.metric_cache_errors import MetricsCacheKeyError, MetricsCacheTypeError, MetricsCacheValueError
from ts.metrics.metric_cache_yaml_impl import MetricsCacheYamlImpl
from ts.metrics.metric_type_enum import MetricTypes

work = sys.argv[1]
path = os.path.join(work, "metrics.yaml")
with open(path, "w") as f:
    f.write(sys.argv[2])
cache = MetricsCacheYamlImpl(config_file_path=path)
cache.initialize_cache()
print("keys", sorted(cache.cache_keys()))
cache.model_name = "mnist"
cache.set_request_ids({0: "r0", 1: "r1"})
count = cache.get_metric("InferenceRequestCount", MetricTypes.COUNTER)
print("unit", count.unit, cache.get_metric("PostprocessCallCount", MetricTypes.COUNTER).unit)
count.add_or_update(value=1, dimension_values=[])
cache.get_metric("RequestBatchSize", MetricTypes.GAUGE).add_or_update(2, ["mnist"])
cache.get_metric("Latency", MetricTypes.HISTOGRAM).add_or_update(12.5, ["mnist"], "r1")
cache.add_metric_to_cache("PreprocessCallCount", "count", ["ModelName"], MetricTypes.COUNTER).add_or_update(1, ["mnist"], "r0")
cache.add_metric(name="InitializeCallCount", value=1, unit="count", metric_type=MetricTypes.COUNTER)
cache.add_metric(name="InitializeCallCount", value=2, unit="count", idx=1, metric_type=MetricTypes.COUNTER)
cache.add_size(name="SizeOfImage", value=0.5, idx=None, unit="kB")
cache.add_time(name="HandlerMethodTime", value=3, idx=0, unit="ms", dimensions=[Dimension(name="MethodName", value="preprocess")])
cache.add_time("Seconds", 1.25, None, "s")
cache.add_counter(name="PostprocessCallCount", value=1, idx=None, dimensions=[])
cache.add_percent(name="ExamplePercentMetric", value=50, idx=None, dimensions=[], metric_type=MetricTypes.HISTOGRAM)
cache.add_error("Oops", 1)
cache.add_counter("Negative", -1)
count.add_or_update(1, ["unexpected"])
for call in (
    lambda: cache.get_metric("Nope", MetricTypes.GAUGE),
    lambda: cache.get_metric("RequestBatchSize", "gauge"),
    lambda: cache.add_time("Bad", 1, unit="us"),
    lambda: cache.add_metric_to_cache("X", 5),
):
    try:
        call()
        print("no error")
    except (MetricsCacheKeyError, MetricsCacheTypeError, MetricsCacheValueError) as e:
        print(type(e).__name__, e)
cache.set_request_ids("load-id")
cache.add_counter("Loaded", 1)
print("sorted", sorted(cache.cache_keys()))
'''


def _comparable(out: str) -> list[str]:
    lines = []
    for line in out.splitlines():
        if line.startswith(("[METRICS]Failed to update", "Overriding existing key", "Successfully loaded")):
            continue  # logged: on stdout in TorchServe's worker, on stderr in Lantern's
        lines.append(re.sub(r"\|#hostname:[^,]*,\d+", "|#hostname:H,T", line))
    return lines


def test_metrics_cache_matches_torchserve(tmp_path):
    lantern, reference = run_lantern_and_reference(tmp_path, SCRIPT, [METRICS_YAML])
    assert _comparable(lantern) == _comparable(reference)
    assert "[METRICS]Latency.Milliseconds:12.5|#ModelName:mnist|#type:HISTOGRAM|#hostname:H,T,r1" in _comparable(lantern)

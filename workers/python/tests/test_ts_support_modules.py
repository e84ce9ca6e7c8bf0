"""ts.metrics.metric, ts.metrics.process_memory_metric, ts.handler_utils.micro_batching, MockContext,
hf_batch_streamer and the GPU-only modules: Lantern's against TorchServe 0.12.0's on the same inputs
where both run here, and Lantern's own promises where TorchServe's cannot run (no transformers, no
GPU stack)."""
import importlib
import io
import json
import logging
import os

import pytest

from reference_ts import run_lantern_and_reference

SUPPORT_SCRIPT = r'''
import io, json, logging, os, socket, sys, threading, time
work = sys.argv[1]
records = []

class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())

logging.getLogger().addHandler(Keep())
logging.getLogger().setLevel(logging.INFO)
out = {}

from ts.metrics.dimension import Dimension
from ts.metrics.metric import Metric, MetricUnit
out["units"] = sorted((str(k), v) for k, v in MetricUnit.units.items())
metric = Metric("Loads", 3, "ms", [Dimension("ModelName", "m"), Dimension("Level", "Model")], request_id="r1", metric_method="x")
plain = Metric("Plain", 1.5, "custom", [])
mask = lambda text: text.replace(socket.gethostname(), "<host>").replace(str(int(time.time())), "<time>")
as_dict = metric.to_dict()
out["metric"] = [metric.name, metric.unit, metric.value, metric.request_id, metric.metric_method, metric.dimension_names,
                 metric.dimension_values, metric.metric_type.name, mask(str(metric)), mask(str(plain)),
                 list(as_dict), as_dict["Value"], as_dict["RequestId"], [str(d) for d in as_dict["Dimensions"]]]

from ts.metrics.process_memory_metric import check_process_mem_usage, get_cpu_usage
records.clear()
check_process_mem_usage(io.StringIO("%d,,%d\n" % (os.getpid(), os.getpid())))
out["memory"] = [len(records), [r.split(":")[0] == str(os.getpid()) for r in records], all(int(r.split(":")[1]) > 1000000 for r in records)]
logging.disable(logging.ERROR)
out["memory_of_no_process"] = get_cpu_usage(2 ** 22 + 12345)
logging.disable(logging.NOTSET)

from ts.handler_utils.micro_batching import HANDLER_METHODS, MicroBatching

class Handler:
    def __init__(self):
        self.context = None
        self.handle = MicroBatching(self, micro_batch_size=3)
        self.seen = []
    def preprocess(self, data):
        return [x * 10 for x in data]
    def inference(self, data):
        self.seen.append(self.handle.get_micro_batch_idx())
        return [x + 1 for x in data]
    def postprocess(self, data):
        return [str(x) for x in data]
    def _is_describe(self):
        return False
    def _is_explain(self):
        return False

class Metrics:
    def __init__(self):
        self.names = []
    def add_time(self, name, *args, **kwargs):
        self.names.append(name)

class Context:
    metrics = Metrics()

handler = Handler()
result = handler.handle(list(range(8)), Context())
out["micro_batching"] = [HANDLER_METHODS, result, sorted(handler.seen), handler.handle.get_micro_batch_idx(), Context.metrics.names]
handler.handle.parallelism = {"inference": 3, "preprocess": 0, "postprocess": 2}
copy = handler.handle.parallelism
copy["inference"] = 9
out["parallelism"] = [handler.handle.parallelism, {k: len(v) for k, v in handler.handle.thread_groups.items()}]
handler.handle.parallelism = {"preprocess": 2}
out["micro_batching_again"] = handler.handle.handle(list(range(5)))
try:
    handler.handle.parallelism = {"explain": 1}
except AssertionError:
    out["bad_step"] = "AssertionError"
handler.handle.shutdown()

from ts.torch_handler.unit_tests.test_utils.mock_context import MockContext
with open(os.path.join(work, "model-config.yaml"), "w") as f:
    f.write("handler:\n  profile: true\nbatchSize: 4\n")
plain_context = MockContext()
custom = MockContext(model_pt_file=None, model_dir=work, model_file=None, gpu_id=None, model_name="x", model_yaml_config_file="model-config.yaml")
out["mock_context"] = [plain_context.manifest, plain_context.system_properties, plain_context.explain, plain_context.model_yaml_config,
                       custom.manifest, custom.system_properties, custom.model_yaml_config,
                       [plain_context.get_request_header(i, "explain") for i in (0, 1)]]
plain_context.explain = True
out["mock_context"].append([plain_context.get_request_header(i, e) for i, e in ((0, "explain"), (1, "explain"), (1, ""))])
print(json.dumps(out, indent=1, sort_keys=True).replace(work, "<work>"))
'''


def test_support_modules_match_torchserve(tmp_path):
    lantern, reference = run_lantern_and_reference(tmp_path, SUPPORT_SCRIPT)
    assert lantern == reference
    results = json.loads(lantern)
    assert results["micro_batching"][1] == ["1", "11", "21", "31", "41", "51", "61", "71"]
    assert results["micro_batching"][2] == [0, 1, 2]
    assert results["memory"][0] == 2


def test_metric_update_prints_torchserves_metric_line(capsys):
    from ts.metrics.dimension import Dimension
    from ts.metrics.metric import Metric

    metric = Metric("Loads", 0, "ms", [Dimension("ModelName", "m"), Dimension("Level", "Model")], request_id="r1")
    metric.update(2.5)
    metric.reset()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("|#hostname:")[0] for line in lines] == [
        "[METRICS]Loads.Milliseconds:2.5|#ModelName:m,Level:Model|#type:COUNTER",
        "[METRICS]Loads.Milliseconds:0|#ModelName:m,Level:Model|#type:COUNTER",
    ]
    assert all(line.endswith(",r1") for line in lines)


def test_caching_metric_has_torchserves_metric_name_and_emit_metrics(capsys):
    from lantern_worker.metrics import MetricsCache, MetricTypes

    cache = MetricsCache("m")
    metric = cache.add_metric_to_cache("Queue", "count", ["ModelName"], MetricTypes.GAUGE)
    assert metric.metric_name == "Queue"
    metric.emit_metrics("req-7", 4, "ModelName:m")
    line = capsys.readouterr().out.strip()
    assert line.startswith("[METRICS]Queue.Count:4|#ModelName:m|#type:GAUGE|#hostname:")
    assert line.endswith(",req-7")


def test_micro_batching_fails_the_call_when_a_step_raises():
    from ts.handler_utils.micro_batching import MicroBatching

    class Failing:
        context = None

        def preprocess(self, data):
            return data

        def inference(self, data):
            if 4 in data:
                raise ValueError("bad micro-batch")
            return data

        def postprocess(self, data):
            return data

    pipeline = MicroBatching(Failing(), micro_batch_size=2)
    try:
        with pytest.raises(ValueError, match="bad micro-batch"):
            pipeline.handle([1, 2, 3, 4, 5])
        assert pipeline.handle([1, 2, 3]) == [1, 2, 3]
    finally:
        pipeline.shutdown()


def test_hf_batch_streamer_names_transformers_when_it_cannot_import():
    try:
        importlib.import_module("transformers")
        pytest.skip("transformers is installed here")
    except ImportError:
        pass
    with pytest.raises(ImportError, match="transformers") as raised:
        importlib.import_module("ts.handler_utils.hf_batch_streamer")
    assert raised.value.name == "transformers"


@pytest.mark.parametrize(
    "module, needs",
    [
        ("ts.torch_handler.dali_handler", "nvidia.dali"),
        ("ts.torch_handler.dali_image_classifier", "nvidia.dali"),
        ("ts.handler_utils.preprocess.dali", "nvidia.dali"),
        ("ts.torch_handler.vllm_handler", "vllm"),
        ("ts.torch_handler.trt_llm_handler", "tensorrt_llm"),
        ("ts.torch_handler.distributed.base_deepspeed_handler", "deepspeed"),
        ("ts.torch_handler.distributed.base_pippy_handler", "pippy"),
        ("ts.handler_utils.distributed.deepspeed", "deepspeed"),
        ("ts.handler_utils.distributed.pt_pippy", "pippy"),
    ],
)
def test_gpu_only_modules_refuse_to_import_naming_what_they_need(module, needs):
    with pytest.raises(ImportError, match=needs.replace(".", r"\.")) as raised:
        importlib.import_module(module)
    assert raised.value.name == needs


def test_a_gpu_only_builtin_handler_by_name_reports_what_it_needs(tmp_path):
    from helpers import make_context
    from lantern_worker.loader import load_entry_point

    with pytest.raises(ImportError, match="vLLM"):
        load_entry_point("vllm_handler", make_context(str(tmp_path)))

"""``ts.handler_utils.timer``, ``ts.handler_utils.utils.import_class``, ``ts.utils.util``'s PT2 and
deprecation helpers and BaseHandler's ``get_device`` and ``_infer_with_profiler``, compared with
TorchServe 0.12.0's own modules on the same inputs."""
import json

from reference_ts import run_lantern_and_reference

HELPERS_SCRIPT = """
import json, logging, os, sys, warnings

records = []

class Keep(logging.Handler):
    def emit(self, record):
        records.append([record.name, record.levelname, record.getMessage()])

logging.getLogger().addHandler(Keep())
logging.getLogger().setLevel(logging.WARNING)

from ts.handler_utils.timer import timed
from ts.handler_utils.utils import import_class
from ts.utils.util import CLEANUP_REGEX, PT2Backend, check_valid_pt2_backend, deprecated, load_label_mapping

work = sys.argv[1]
out = {}
out["pt2"] = [[m.name, m.value, m == m.value] for m in PT2Backend]
records.clear()
out["valid"] = [check_valid_pt2_backend(b) for b in ["inductor", "openvino", "nope", ""]]
out["valid_logs"] = list(records)
out["cleanup_pattern"] = CLEANUP_REGEX.pattern
out["cleanup"] = CLEANUP_REGEX.sub("", "<b>Hi</b> &amp; &#39;x&#x27; &nbsp;<br/> a<b &AMP; &#1234567;")

@deprecated("0.9", "new_fn")
def old(x):
    return x + 1

@deprecated("1.0", klass=DeprecationWarning)
def older():
    return "ok"

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    results = [old(1), older()]
out["deprecated"] = [results, old.__name__, [[str(w.message), w.category.__name__, w.lineno] for w in caught]]

def outcome(call):
    try:
        found = call()
        return ["ok", found.__module__, found.__name__]
    except Exception as e:
        return [type(e).__name__, str(e)]

out["import_class"] = [
    outcome(lambda: import_class("collections.OrderedDict")),
    outcome(lambda: import_class("OrderedDict", "collections")),
    outcome(lambda: import_class("abc.ABCMeta", "collections")),
    outcome(lambda: import_class("handler_utils.utils.import_class", "ts")),
    outcome(lambda: import_class("")),
    outcome(lambda: import_class("OrderedDict")),
    outcome(lambda: import_class("collections.Nope")),
    outcome(lambda: import_class("Nope", "collections")),
]

class Metrics:
    def __init__(self):
        self.calls = []
    def add_time(self, name, value, *args, **kwargs):
        self.calls.append([name, type(value).__name__, value >= 0, list(args), kwargs])

class Context:
    def __init__(self, config):
        self.model_yaml_config = config
        self.metrics = Metrics()

class Steps:
    def __init__(self, context):
        self.context = context
    @timed
    def preprocess(self, x, scale=2):
        return x * scale

timings = []
for config in [{}, {"handler": {}}, {"handler": {"profile": False}}, {"handler": {"profile": True}}, {"handler": {"profile": 1}}]:
    steps = Steps(Context(config))
    result = steps.preprocess(3, scale=5)
    timings.append([config, result, steps.context.metrics.calls])
out["timed"] = timings
out["timed_without_context"] = Steps(None).preprocess(4)

mapping_path = os.path.join(work, "index_to_name.json")
with open(mapping_path, "w") as f:
    json.dump({"object_type_names": ["person", "bicycle"], "9": "x"}, f)
out["object_type_names"] = load_label_mapping(mapping_path)
records.clear()
out["missing_mapping"] = [load_label_mapping(os.path.join(work, "none.json")), [r[2].replace(work, "<work>") for r in records]]

import torch
from ts.torch_handler.base_handler import BaseHandler

class Double(torch.nn.Module):
    def forward(self, x):
        return x * 2

torch.jit.script(Double()).save(os.path.join(work, "double.pt"))

class Ctx:
    def __init__(self):
        self.system_properties = {"model_dir": work, "gpu_id": None, "batch_size": 1}
        self.manifest = {"model": {"modelName": "double", "serializedFile": "double.pt"}}
        self.model_yaml_config = {}
        self.metrics = Metrics()
    def get_request_header(self, idx, key):
        return None

handler = BaseHandler()
handler.initialize(Ctx())
out["device"] = str(handler.get_device())
handler.context = Ctx()
traces = []
from torch.profiler import ProfilerActivity
handler.profiler_args = {"activities": [ProfilerActivity.CPU], "on_trace_ready": lambda prof: traces.append(type(prof).__name__)}
output, prof = handler._infer_with_profiler([[1.0, 2.5]])
names = {event.key for event in prof.key_averages()}
out["profiled"] = [output, traces, sorted(n for n in names if n in ("preprocess", "inference", "postprocess", "explain"))]
os.environ["ENABLE_TORCH_PROFILER"] = "1"
out["handle_profiled"] = handler.handle([[3.0]], Ctx())
print(json.dumps(out, sort_keys=True, indent=1))
"""


def test_helpers_match_torchserve(tmp_path):
    lantern, reference = run_lantern_and_reference(tmp_path, HELPERS_SCRIPT)
    assert lantern == reference
    results = json.loads(lantern)
    assert results["valid"] == [True, True, False, False]
    assert results["timed"][3][2][0][0] == "ts_handler_preprocess"
    assert results["profiled"][0] == [[2.0, 5.0]]
    assert results["profiled"][2] == ["inference", "postprocess", "preprocess"]

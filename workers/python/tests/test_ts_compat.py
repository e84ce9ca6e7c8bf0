"""The ``ts`` compatibility package: TorchServe's public names backed by Lantern's worker. The torch
parts run under Debian's /usr/bin/python3 (python3-torch), the only interpreter here that has torch."""
import json
import os
import subprocess
import textwrap

import pytest

import lantern_worker.context
import lantern_worker.exceptions
import lantern_worker.streaming
from ts.context import Context
from ts.handler_utils.utils import send_intermediate_predict_response as from_handler_utils
from ts.protocol.otf_message_handler import send_intermediate_predict_response as from_otf
from ts.utils.util import PredictionException, load_label_mapping, map_class_to_label

WORKERS_PYTHON = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_PYTHON = "/usr/bin/python3"


def test_torchserve_names_are_lanterns_objects():
    assert Context is lantern_worker.context.Context
    assert from_handler_utils is lantern_worker.streaming.send_intermediate_predict_response
    assert from_otf is lantern_worker.streaming.send_intermediate_predict_response
    assert PredictionException is lantern_worker.exceptions.PredictionException


def test_map_class_to_label_labels_each_row_with_the_mapping_or_the_index():
    probs = [[0.7, 0.2], [0.6, 0.3]]
    assert map_class_to_label(probs, {"0": "cat", "1": "dog", "2": "fox"}, [[2, 0], [1, 0]]) == [
        {"fox": 0.7, "cat": 0.2},
        {"dog": 0.6, "cat": 0.3},
    ]
    assert map_class_to_label(probs) == [{"0": 0.7, "1": 0.2}, {"0": 0.6, "1": 0.3}]
    with pytest.raises(Exception, match="Convert classes to list"):
        map_class_to_label((0.1, 0.2))
    with pytest.raises(Exception, match="Mapping must be a dict"):
        map_class_to_label(probs, ["cat"])


def test_load_label_mapping_takes_the_last_element_of_list_labels(tmp_path):
    path = tmp_path / "index_to_name.json"
    path.write_text(json.dumps({"0": ["n01440764", "tench"], "1": "goldfish"}))
    assert load_label_mapping(str(path)) == {"0": "tench", "1": "goldfish"}
    assert load_label_mapping(str(tmp_path / "missing.json")) is None
    path.write_text(json.dumps(["tench"]))
    with pytest.raises(Exception, match='"class": "label" format'):
        load_label_mapping(str(path))
    path.write_text(json.dumps({"0": 5}))
    with pytest.raises(Exception, match="either str or List"):
        load_label_mapping(str(path))


BASE_HANDLER_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, torch
    from lantern_worker.context import Context, RequestProcessor
    from lantern_worker.loader import load_entry_point

    model_dir = sys.argv[1]

    class Double(torch.nn.Module):
        def forward(self, x):
            return x * 2

    torch.jit.script(Double()).save(os.path.join(model_dir, "double.pt"))
    manifest = {"model": {"modelName": "d", "serializedFile": "double.pt", "handler": "base_handler"}}
    results = {}

    def context_for(headers):
        ctx = Context("d", model_dir, manifest, 1, None)
        ctx.request_processor = [RequestProcessor(headers)]
        ctx.request_ids = {0: "r0"}
        return ctx

    ctx = context_for({})
    entry = load_entry_point("base_handler", ctx)
    handler = entry.__self__
    results["class"] = type(handler).__module__ + "." + type(handler).__name__
    results["device"] = str(handler.device)
    results["initialized"] = handler.initialized
    # Default preprocess is torch.as_tensor(data): a batch that already is numbers passes through.
    results["predict"] = entry([[1.0, 2.0]], ctx)
    results["describe"] = entry([{}], context_for({"describe": "True"}))

    bad = Context("d", model_dir, {"model": {"modelName": "d", "serializedFile": "weights.bin"}}, 1, None)
    try:
        load_entry_point("base_handler", bad)
    except RuntimeError as e:
        results["no_weights"] = str(e)
    print(json.dumps(results))
    """
)


def test_base_handler_loads_torchscript_and_answers_describe_requests(tmp_path):
    env = dict(os.environ, PYTHONPATH=WORKERS_PYTHON)
    script = tmp_path / "script.py"  # TorchScript compiles from source, so the script must be a file
    script.write_text(BASE_HANDLER_SCRIPT)
    done = subprocess.run(
        [TORCH_PYTHON, str(script), str(tmp_path)],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    results = json.loads(last)
    assert results["class"] == "ts.torch_handler.base_handler.BaseHandler"
    assert results["device"] == "cpu"
    assert results["initialized"] is True
    assert results["predict"] == [[2.0, 4.0]]
    assert results["describe"] == [None]
    assert results["no_weights"] == "No model weights could be loaded"
    assert "[METRICS]HandlerTime.Milliseconds:" in done.stdout

import json
import os
import subprocess
import sys

import pytest

from lantern_worker import PredictionException
from lantern_worker.codec import InferenceRequest, Parameter
from lantern_worker.context import Context, parse_simple_yaml, read_manifest, read_model_yaml_config
from lantern_worker.exceptions import PredictionException as PE2
from lantern_worker.service import Service, decode_value, encode_body, prepare_batch

from helpers import make_context


def req(rid, params=(), headers=()):
    return InferenceRequest(rid, list(headers), [Parameter(*p) for p in params])


# -- input decoding -------------------------------------------------------------------------


def test_decode_value_rules():
    assert decode_value("application/json", b'{"a": [1]}') == {"a": [1]}
    bad = decode_value("application/json", b"{nope")
    assert bad == bytearray(b"{nope") and isinstance(bad, bytearray)
    assert decode_value("application/json; charset=utf-8", b"{}") == bytearray(b"{}")
    assert decode_value("text/plain", "é".encode()) == "é"
    assert decode_value("text/csv", b"a,b") == "a,b"
    assert isinstance(decode_value("", b"\x00\x01"), bytearray)
    assert isinstance(decode_value("image/png", b"\x89PNG"), bytearray)
    assert decode_value("application/json", b"[1]", decode=False) == bytearray(b"[1]")


def test_prepare_batch(monkeypatch):
    monkeypatch.delenv("TS_DECODE_INPUT_REQUEST", raising=False)
    reqs = [
        req("a", [("body", "application/json", b"[1, 2]")], [("x-h", "1"), ("x-h", "2")]),
        req("b", [("data", "", b"first"), ("data", "image/png", b"second"), ("note", "text/plain", b"hi")]),
    ]
    data, ids, procs = prepare_batch(reqs)
    assert data == [{"body": [1, 2]}, {"data": bytearray(b"second"), "note": "hi"}]
    assert ids == {0: "a", 1: "b"}
    assert procs[0].get_request_properties() == {"x-h": "2", "body": {"content-type": "application/json"}}
    assert procs[1].get_request_property("data") == {"content-type": "image/png"}
    assert procs[1].get_request_property("note") == {"content-type": "text/plain"}


def test_decode_disabled_by_env(monkeypatch):
    monkeypatch.setenv("TS_DECODE_INPUT_REQUEST", "false")
    data, _, _ = prepare_batch([req("a", [("body", "application/json", b"[1]")])])
    assert data == [{"body": bytearray(b"[1]")}]


def test_describe_has_empty_dict():
    data, _, procs = prepare_batch([req("d", [], [("describe", "True")])])
    assert data == [{}]
    assert procs[0].get_request_property("describe") == "True"


# -- output encoding ---------------------------------------------------------------------------


def test_encode_body():
    assert encode_body(b"\x00") == b"\x00"
    assert encode_body(bytearray(b"ab")) == b"ab"
    assert encode_body("é") == "é".encode()
    assert encode_body({"a": [1, 2]}) == b'{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert encode_body(None) == b"null"
    assert encode_body(1.5) == b"1.5"


DEEP_ARRAYS = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECTS = b'{"a":' * 2_000 + b"1" + b"}" * 2_000


@pytest.mark.parametrize(
    "body",
    [DEEP_ARRAYS, DEEP_OBJECTS, b"[" * 1_000, b"9" * 5_000, b"\xff\xfe\x00"],
    ids=["deep arrays", "deep objects", "deep and unclosed", "int over the digit limit", "not UTF-8"],
)
def test_undecodable_json_bodies_reach_the_handler_as_bytes(body):
    value = decode_value("application/json", body)
    assert type(value) is bytearray
    assert value == body


def test_json_that_decodes_to_odd_values_still_decodes():
    assert decode_value("application/json", b"1e999999") == float("inf")
    assert decode_value("application/json", b'"\\ud800"') == "\ud800"


def test_an_exception_while_preparing_a_batch_fails_the_batch(monkeypatch):
    import lantern_worker.service as service_module

    def broken(headers):
        raise RuntimeError("no processor today")

    # A fault injected into a collaborator of prepare_batch: the batch fails, predict returns.
    monkeypatch.setattr(service_module, "RequestProcessor", broken)
    svc, _ = service_with(lambda data, ctx: [d["body"] for d in data])
    reply = svc.predict(two())
    assert (reply.code, reply.message) == (503, "Prediction failed")
    assert [(r.request_id, r.status) for r in reply.responses] == [("r1", 503), ("r2", 503)]


def test_a_str_output_that_is_not_unicode_text_fails_the_batch():
    svc, _ = service_with(lambda data, ctx: ["\ud800", "fine"])
    reply = svc.predict(two())
    assert (reply.code, reply.message) == (503, "Unsupported model output data type.")


def service_with(fn, n=2):
    ctx = make_context(batch_size=n)
    return Service(ctx, fn), ctx


def two():
    return [req("r1", [("body", "text/plain", b"one")]), req("r2", [("body", "", b"two")])]


def test_predict_success_defaults():
    svc, _ = service_with(lambda data, ctx: [d["body"] for d in data])
    reply = svc.predict(two())
    assert (reply.code, reply.message) == (200, "Prediction success")
    r1, r2 = reply.responses
    assert (r1.request_id, r1.content_type, r1.status, r1.reason, r1.headers, r1.body) == ("r1", "", 200, "", [], b"one")
    assert r2.body == b"two"


def test_predict_status_content_type_headers():
    def fn(data, ctx):
        ctx.set_response_content_type(0, "application/json")
        ctx.set_response_status(201, "Created", 0)
        ctx.set_response_header(1, "x-extra", 7)
        ctx.set_response_status(code=418, idx=1)
        assert ctx.get_response_content_type(0) == "application/json"
        assert ctx.get_response_status(0) == (201, "Created")
        return [{"a": 1}, "x"]

    svc, _ = service_with(fn)
    r1, r2 = svc.predict(two()).responses
    assert (r1.content_type, r1.status, r1.reason) == ("application/json", 201, "Created")
    assert r1.headers == [("content-type", "application/json")]
    assert r1.body == b'{\n  "a": 1\n}'
    assert (r2.content_type, r2.status, r2.reason, r2.headers) == ("", 418, "", [("x-extra", "7")])


def test_set_all_response_status():
    def fn(data, ctx):
        ctx.set_all_response_status(202, "Accepted")
        return ["a", "b"]

    svc, _ = service_with(fn)
    assert [(r.status, r.reason) for r in svc.predict(two()).responses] == [(202, "Accepted")] * 2


def test_state_does_not_leak_between_batches():
    calls = []

    def fn(data, ctx):
        if not calls:
            ctx.set_response_header(0, "x", "1")
            ctx.set_response_status(500, "no", 0)
        calls.append(1)
        return ["a", "b"]

    svc, _ = service_with(fn)
    svc.predict(two())
    r = svc.predict(two()).responses[0]
    assert (r.status, r.headers) == (200, [])


def raiser(exc):
    def fn(data, ctx):
        raise exc

    return fn


@pytest.mark.parametrize(
    "fn, code, message",
    [
        (raiser(PredictionException("bad input", 400)), 400, "bad input"),
        (raiser(PE2("default code")), 500, "default code"),
        (raiser(MemoryError()), 507, "Out of resources"),
        (raiser(RuntimeError("CUDA out of memory")), 507, "Out of resources"),
        (raiser(ValueError("boom")), 503, "Prediction failed"),
        (lambda d, c: "not a list", 503, "Invalid model predict output"),
        (lambda d, c: ("a", "b"), 503, "Invalid model predict output"),
        (lambda d, c: ["only one"], 503, "number of batch response mismatched"),
        (lambda d, c: ["a", "b", "c"], 503, "number of batch response mismatched"),
        (lambda d, c: ["a", object()], 503, "Unsupported model output data type."),
        (lambda d, c: ["a", {1, 2}], 503, "Unsupported model output data type."),
    ],
)
def test_error_mapping(fn, code, message):
    svc, _ = service_with(fn)
    reply = svc.predict(two())
    assert (reply.code, reply.message) == (code, message)
    assert [(r.request_id, r.content_type, r.status, r.reason, r.headers, r.body) for r in reply.responses] == [
        ("r1", "", code, "", [], b"error"),
        ("r2", "", code, "", [], b"error"),
    ]


def test_traceback_logged_to_stderr(capsys):
    svc, _ = service_with(raiser(ValueError("boom-trace")))
    svc.predict(two())
    assert "boom-trace" in capsys.readouterr().err


def test_prediction_time_metric(capsys):
    svc, _ = service_with(lambda d, c: ["a", "b"])
    svc.predict(two())
    out = capsys.readouterr().out
    assert "[METRICS]PredictionTime.Milliseconds:" in out
    line = [l for l in out.splitlines() if l.startswith("[METRICS]PredictionTime")][0]
    assert "|#ModelName:m,Level:Model|#type:GAUGE|#hostname:" in line
    assert line.endswith(",r1,r2")


TORCH_PYTHON = "/usr/bin/python3"  # Debian's python3-torch imports only there (.ci/run installs it)

TENSOR_ROUND_TRIP = """
import io, torch
from lantern_worker.service import encode_body
body = encode_body(torch.tensor([1.0, 2.0]))
print(torch.load(io.BytesIO(body)).tolist())
"""


def test_torch_tensor_output_is_torch_save_bytes():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [TORCH_PYTHON, "-c", TENSOR_ROUND_TRIP],
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1.0, 2.0]"


# -- context -----------------------------------------------------------------------------------


def test_context_properties():
    ctx = Context("name", "/models/x", {"model": {"modelName": "orig"}}, 4, None, "1.2.3", False)
    assert ctx.system_properties == {
        "model_dir": "/models/x",
        "gpu_id": None,
        "batch_size": 4,
        "server_name": "MMS",
        "server_version": "1.2.3",
        "limit_max_image_pixels": False,
    }
    assert ctx.manifest["model"]["modelName"] == "orig"
    assert ctx.request_processor is None and ctx.stopping_criteria is None
    assert ctx.model_yaml_config == {}


def test_context_request_accessors():
    seen = {}

    def fn(data, ctx):
        seen["id"] = ctx.get_request_id(1)
        seen["hdr"] = ctx.get_request_header(0, "x-a")
        seen["all"] = ctx.get_all_request_header(1)
        seen["seq"] = ctx.get_sequence_id(0)
        seen["ids"] = dict(ctx.request_ids)
        return [1, 2]

    svc, _ = service_with(fn)
    svc.predict([req("r1", [], [("x-a", "v"), ("ts_request_sequence_id", "s1")]), req("r2", [("p", "", b"")])])
    assert seen == {
        "id": "r2",
        "hdr": "v",
        "all": {"p": {"content-type": ""}},
        "seq": "s1",
        "ids": {0: "r1", 1: "r2"},
    }


def test_manifest_and_yaml_config(tmp_path):
    (tmp_path / "MAR-INF").mkdir()
    manifest = {"model": {"modelName": "m", "handler": "h.py", "configFile": "model-config.yaml"}}
    (tmp_path / "MAR-INF" / "MANIFEST.json").write_text(json.dumps(manifest))
    (tmp_path / "model-config.yaml").write_text("batchSize: 4\nhandler:\n  profile: true\n  threshold: 0.5\n")
    m = read_manifest(str(tmp_path))
    assert m == manifest
    assert read_model_yaml_config(str(tmp_path), m) == {"batchSize": 4, "handler": {"profile": True, "threshold": 0.5}}
    assert read_manifest(str(tmp_path / "nope")) is None
    assert read_model_yaml_config(str(tmp_path), None) == {}
    assert read_model_yaml_config(str(tmp_path), {"model": {}}) == {}


def test_simple_yaml_fallback():
    text = "# c\nminWorkers: 1\nname: 'a b'\nflag: false\nnested:\n  k: v\n  deeper:\n    x: 2\nids:\n- 0\n- 1\ninline: [1, two]\nempty:\n"
    assert parse_simple_yaml(text) == {
        "minWorkers": 1,
        "name": "a b",
        "flag": False,
        "nested": {"k": "v", "deeper": {"x": 2}},
        "ids": [0, 1],
        "inline": [1, "two"],
        "empty": {},
    }


def test_metrics_api(capsys):
    from lantern_worker.metrics import MetricTypes

    ctx = make_context()
    ctx.metrics.request_ids = {0: "a", 1: "b"}
    m = ctx.metrics
    m.add_counter("Calls", 1, idx=1, dimensions=[("Stage", "pre")])
    m.add_time("Step", 12.5)
    m.add_size("Mem", 3, unit="GB")
    m.add_percent("Util", 50)
    m.add_error("Oops", 1)
    metric = m.add_metric_to_cache("Custom", "count", ["D"], MetricTypes.GAUGE)
    metric.add_or_update(4, ["v"])
    assert m.get_metric("Custom", MetricTypes.GAUGE) is metric
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("[METRICS]")]
    assert lines[0].startswith("[METRICS]Calls.Count:1|#Stage:pre,ModelName:m,Level:Model|#type:COUNTER|#hostname:")
    assert lines[0].endswith(",b")
    assert lines[1].startswith("[METRICS]Step.Milliseconds:12.5|#ModelName:m,Level:Model|#type:GAUGE|#hostname:")
    assert lines[1].endswith(",a,b")
    assert lines[2].startswith("[METRICS]Mem.Gigabytes:3|")
    assert lines[3].startswith("[METRICS]Util.Percent:50|")
    assert lines[5].startswith("[METRICS]Custom.Count:4|#D:v|#type:GAUGE|#hostname:")
    with pytest.raises(ValueError):
        m.add_time("Bad", 1, unit="parsecs")


class FakeConnection:
    def __init__(self):
        self.payloads = []

    def send(self, *parts):
        self.payloads.append(b"".join(parts))


def test_streaming_unit_and_reset_between_batches():
    from lantern_worker.codec import decode_infer_reply
    from lantern_worker.streaming import send_intermediate_predict_response

    state = {"stream": True}

    def fn(data, ctx):
        if state["stream"]:
            send_intermediate_predict_response(["p"], {0: ctx.request_ids[0]}, "Intermediate", 206, ctx)
        return ["f", "g"]

    svc, ctx = service_with(fn)
    ctx._connection = FakeConnection()
    final = svc.predict(two())
    (inter,) = [decode_infer_reply(p) for p in ctx._connection.payloads]
    assert (inter.code, inter.message) == (206, "Intermediate")
    assert [(r.request_id, r.body, r.headers) for r in inter.responses] == [("r1", b"p", [("ts_stream_next", "true")])]
    assert final.responses[0].headers == [("ts_stream_next", "false")]
    assert final.responses[1].headers == []
    state["stream"] = False
    again = svc.predict(two())
    assert [r.headers for r in again.responses] == [[], []]


def test_stopping_criteria_drives_header():
    def fn(data, ctx):
        ctx.stopping_criteria = [lambda out: out == "done", lambda out: out == "done"]
        return ["done", "more"]

    svc, _ = service_with(fn)
    r1, r2 = svc.predict(two()).responses
    assert r1.headers == [("ts_stream_next", "false")]
    assert r2.headers == [("ts_stream_next", "true")]


def test_stopping_criteria_none_leaves_the_reply_without_a_stream_header():
    # TorchServe's continuous-batching example answers None for a request that ends there.
    def fn(data, ctx):
        ctx.stopping_criteria = [lambda out: None, lambda out: False]
        return ["start", "more"]

    svc, _ = service_with(fn)
    r1, r2 = svc.predict(two()).responses
    assert r1.headers == []
    assert r2.headers == [("ts_stream_next", "true")]


def test_streaming_without_connection_fails_batch():
    from lantern_worker.streaming import send_intermediate_predict_response

    def fn(data, ctx):
        send_intermediate_predict_response(["p", "q"], ctx.request_ids, "x", 200, ctx)
        return ["a", "b"]

    svc, _ = service_with(fn)
    assert svc.predict(two()).code == 503

"""service_envelope (spec §2.5) against TorchServe 0.12.0's own request envelopes: the same handler and
requests run through TorchServe's ``ts.service.Service`` with its envelope and through Lantern's
``Service`` with ours; status, message and every reply's bytes must match."""
import json

import pytest

from lantern_worker.envelope import wrap

from helpers import make_context
from reference_ts import run_lantern_and_reference

SCRIPT = r'''
import json, struct, sys
work = sys.argv[1]
sys.path.insert(0, work)
cases = json.loads(sys.argv[2])
open(work + "/handlers.py", "w").write("""
def double(data, context):
    if data is None:
        return None
    return [x * 2 for x in data]

def echo(data, context):
    return data

def tensors(data, context):
    if data is None:
        return None
    return [t["data"] for t in data]

def mixed(data, context):
    if data is None:
        return None
    return [[1, 2.5], [True, 3], ["a", 1, 2.5, True], [[1, 2], [3, 4]], 7, 2.0, [True, False], [None, 1], [2 ** 64]]

def typed(data, context):
    if data is None:
        return None
    import numpy, torch
    return [torch.tensor([[1.5, 2.0]]), numpy.array([1, 2], dtype="int32"), numpy.array(["x", "yz"]), torch.tensor([1, 2]), numpy.array([True])]

def one_number(data, context):
    return None if data is None else [len(data)]
""")
import handlers

MANIFEST = {"model": {"modelName": "adder", "modelVersion": "2.0", "handler": "handlers.py"}}

def decode(content_type, value):
    raw = bytearray(value.encode("latin-1"))
    if content_type == "application/json":
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    if content_type.startswith("text"):
        return raw.decode("utf-8")
    return raw

try:
    import lantern_worker
except ImportError:
    lantern_worker = None

def run_reference(case):
    from ts.model_loader import TsModelLoader
    from ts.service import Service
    loader = TsModelLoader()
    env_cls = loader._load_default_envelope(case["envelope"])
    entry = env_cls(getattr(handlers, case["handler"])).handle

    class Metrics:
        request_ids = None
        def add_time(self, *a, **k):
            pass
    service = Service("adder", work, MANIFEST, entry, None, len(case["requests"]), True, Metrics())
    service.set_cl_socket(None)
    batch = []
    for i, r in enumerate(case["requests"]):
        batch.append({
            "requestId": ("req-%d" % i).encode(),
            "parameters": [{"name": n, "contentType": ct, "value": decode(ct, v)} for n, ct, v in r["params"]],
            "headers": [{"name": k.encode(), "value": v.encode()} for k, v in r["headers"]],
        })
    msg = bytes(service.predict(batch))
    pos = 0
    def take_int():
        nonlocal pos
        (v,) = struct.unpack_from("!i", msg, pos)
        pos += 4
        return v
    def take_bytes():
        nonlocal pos
        n = take_int()
        if n < 0:
            return None
        b = msg[pos:pos + n]
        pos += n
        return b
    code = take_int()
    message = take_bytes().decode()
    replies = []
    while True:
        rid = take_bytes()
        if rid is None:
            break
        take_bytes()  # content type
        status = take_int()
        take_bytes()  # phrase
        for _ in range(take_int()):
            take_bytes(); take_bytes()
        replies.append([status, take_bytes().decode("latin-1")])
    return [code, message, replies]

def run_lantern(case):
    from lantern_worker.codec import InferenceRequest, Parameter
    from lantern_worker.context import Context
    from lantern_worker.envelope import wrap
    from lantern_worker.service import Service
    ctx = Context(model_name="adder", model_dir=work, manifest=MANIFEST, batch_size=len(case["requests"]), gpu=None)
    service = Service(ctx, wrap(case["envelope"], getattr(handlers, case["handler"])))
    reqs = [
        InferenceRequest("req-%d" % i, [tuple(h) for h in r["headers"]],
                         [Parameter(n, ct, v.encode("latin-1")) for n, ct, v in r["params"]])
        for i, r in enumerate(case["requests"])
    ]
    reply = service.predict(reqs)
    return [reply.code, reply.message, [[e.status, bytes(e.body).decode("latin-1")] for e in reply.responses]]

run = run_lantern if lantern_worker is not None else run_reference
print(json.dumps([run(case) for case in cases]))
'''


def one(params, headers=()):
    return {"params": [list(p) for p in params], "headers": [list(h) for h in headers]}


def body(value, content_type="application/json"):
    return one([("body", content_type, value if isinstance(value, str) else json.dumps(value))], [("explain", "False")])


V2 = {
    "id": "r1",
    "inputs": [
        {"name": "ints", "shape": [2, 2], "datatype": "INT64", "data": [1, 2, 3, 4]},
        {"name": "floats", "shape": [3], "datatype": "FP32", "data": [0.5, 1.5, 2]},
        {"name": "words", "shape": [1], "datatype": "BYTES", "data": ["hello"]},
        {"name": "flags", "shape": [2], "datatype": "BOOL", "data": [True, False]},
    ],
}

CASES = [
    {"envelope": "kserve", "handler": "double", "requests": [body({"instances": [1, 2, 3]})]},
    {"envelope": "kserve", "handler": "double", "requests": [body('{"instances": ["a"]}', "application/octet-stream")]},
    {
        "envelope": "kserve",
        "handler": "double",
        "requests": [one([("body", "application/json", '{"instances": [[1, 2]]}')], [("explain", "True")])],
    },
    {"envelope": "kserve", "handler": "double", "requests": [body("not json at all", "text/plain")]},
    {"envelope": "kservev2", "handler": "tensors", "requests": [body(V2)]},
    {"envelope": "kservev2", "handler": "tensors", "requests": [body({k: v for k, v in V2.items() if k != "id"})]},
    {"envelope": "kservev2", "handler": "tensors", "requests": [body(dict(V2, id="  "))]},
    {"envelope": "kservev2", "handler": "tensors", "requests": [body(json.dumps(V2), "application/octet-stream")]},
    {
        "envelope": "kservev2",
        "handler": "tensors",
        "requests": [body({"inputs": [{"name": "x", "shape": [3], "datatype": "INT32", "data": [1, 2]}]})],
    },
    {"envelope": "kservev2", "handler": "one_number", "requests": [body(V2)]},
    {
        "envelope": "kservev2",
        "handler": "tensors",
        "requests": [
            body(
                {
                    "inputs": [
                        {"name": "a", "shape": [2, -1], "datatype": "FP32", "data": [1, 2.5, 3, 4]},
                        {"name": "b", "shape": [2, 1], "datatype": "INT64", "data": [[True], [2]]},
                        {"name": "c", "shape": [3], "datatype": "BYTES", "data": [["x", "y"], "z"]},
                        {"name": "d", "shape": [], "datatype": "INT64", "data": [9]},
                        {"name": "e", "shape": [0], "datatype": "FP32", "data": []},
                    ]
                }
            )
        ],
    },
    {
        "envelope": "kservev2",
        "handler": "mixed",
        "requests": [body({"inputs": [{"name": "n%d" % i, "shape": [1], "datatype": "INT64", "data": [i]} for i in range(9)]})],
    },
    {
        "envelope": "kservev2",
        "handler": "typed",
        "requests": [body({"inputs": [{"name": "t%d" % i, "shape": [1], "datatype": "INT64", "data": [i]} for i in range(5)]})],
    },
    {
        "envelope": "kservev2",
        "handler": "tensors",
        "requests": [body({"inputs": [{"name": "r", "shape": [2, 2], "datatype": "INT64", "data": [[1, 2], [3]]}]})],
    },
    {"envelope": "json", "handler": "double", "requests": [body({"instances": [1, 2]}), body({"instances": [5]})]},
    {"envelope": "json", "handler": "echo", "requests": [body({"instances": [{"b64": "aGk="}, {"b64": "eW8="}]})]},
    {"envelope": "body", "handler": "echo", "requests": [body({"a": 1}), body("plain", "text/plain")]},
]


def test_every_envelope_answers_what_torchserves_envelope_answers_byte_for_byte(tmp_path):
    ours, theirs = run_lantern_and_reference(tmp_path, SCRIPT, [json.dumps(CASES)])
    # Metric lines may precede the answer on stdout; the answer is the last line.
    ours, theirs = json.loads(ours.splitlines()[-1]), json.loads(theirs.splitlines()[-1])
    for case, mine, reference in zip(CASES, ours, theirs):
        assert mine == reference, f"{case['envelope']} {case['handler']}: {mine} != {reference}"
    # The comparison is not vacuous: the envelopes reshaped input and output.
    assert ours[0] == [200, "Prediction success", [[200, json.dumps({"predictions": [2, 4, 6]}, indent=2)]]]
    assert json.loads(ours[2][2][0][1]) == {"explanations": [[1, 2, 1, 2]]}
    assert ours[3][:2] == [503, "Prediction failed"]
    v2 = json.loads(ours[4][2][0][1])
    assert v2["id"] == "r1" and v2["model_name"] == "adder" and v2["model_version"] == "2.0"
    assert [(o["name"], o["datatype"], o["shape"]) for o in v2["outputs"]] == [
        ("ints", "INT64", [4]),
        ("floats", "FP64", [3]),
        ("words", "BYTES", [1]),
        ("flags", "BOOL", [2]),
    ]
    assert json.loads(ours[5][2][0][1])["id"] == "req-0"
    assert ours[8][:2] == [503, "Prediction failed"]
    reshaped = json.loads(ours[10][2][0][1])["outputs"]
    assert [(o["datatype"], o["data"]) for o in reshaped] == [
        ("FP64", [1.0, 2.5, 3.0, 4.0]),
        ("INT64", [1, 2]),
        ("BYTES", ["x", "y"]),
        ("INT64", [9]),
        ("FP64", []),
    ]
    mixed = json.loads(ours[11][2][0][1])["outputs"]
    assert [o["datatype"] for o in mixed] == ["FP64", "INT64", "BYTES", "INT64", "INT64", "FP64", "BOOL", "BYTES", "BYTES"]
    typed = json.loads(ours[12][2][0][1])["outputs"]
    assert [o["datatype"] for o in typed] == ["FP32", "INT32", "BYTES", "INT64", "BOOL"]
    assert ours[13][:2] == [503, "Prediction failed"]


def test_kserve_envelopes_wrap_each_request_of_a_batch_where_torchserve_fails_the_batch():
    ctx = make_context(batch_size=2)
    ctx.manifest = {"model": {"modelName": "m", "modelVersion": "1.0"}}
    from lantern_worker.codec import InferenceRequest, Parameter
    from lantern_worker.service import Service

    def tensors(data, context):
        return None if data is None else [t["data"] for t in data]

    service = Service(ctx, wrap("kservev2", tensors))
    reqs = [
        InferenceRequest(
            f"id-{i}",
            [],
            [Parameter("body", "application/json", json.dumps({"inputs": [{"name": f"in{i}", "shape": [1], "datatype": "INT64", "data": [i]}]}).encode())],
        )
        for i in range(2)
    ]
    reply = service.predict(reqs)
    assert reply.code == 200
    bodies = [json.loads(e.body) for e in reply.responses]
    assert [(b["id"], b["outputs"][0]["name"], b["outputs"][0]["data"]) for b in bodies] == [("id-0", "in0", [0]), ("id-1", "in1", [1])]
    assert ctx.request_ids == {0: "id-0", 1: "id-1"}  # the batch's context is back after the passes


def test_an_unknown_envelope_is_refused():
    with pytest.raises(ValueError, match="Unknown service envelope 'soap'"):
        wrap("soap", lambda data, context: data)

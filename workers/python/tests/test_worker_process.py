"""Runs the real worker process over a socketpair, as the front end does."""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from lantern_worker import codec
from lantern_worker.codec import InferenceMessage, InferenceRequest, LoadMessage, Parameter

WORKERS_PYTHON = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 30


def _interpreters():
    """The running interpreter plus the system one: the front end may start either."""
    found = [sys.executable]
    system = "/usr/bin/python3"
    if os.path.exists(system) and os.path.realpath(system) != os.path.realpath(sys.executable):
        found.append(system)
    return found

HANDLER = """
import json

def handle(data, context):
    if data is None:
        return None
    if context.get_request_header(0, "describe") == "True":
        return [json.dumps({"describe": True, "data": data})]
    out = []
    for idx, row in enumerate(data):
        body = row.get("body")
        if idx == 1:
            context.set_response_content_type(idx, "application/json")
            context.set_response_status(201, "Created", idx)
            context.set_response_header(idx, "x-idx", str(idx))
            out.append({"echo": body, "model": context.model_name, "batch": context.system_properties["batch_size"]})
        else:
            out.append(body)
    return out
"""

STREAM_HANDLER = """
from lantern_worker.streaming import send_intermediate_predict_response

def handle(data, context):
    if data is None:
        return None
    for i in range(2):
        send_intermediate_predict_response(
            [f"part{i}-{idx}" for idx in range(len(data))], context.request_ids, "Intermediate Prediction success", 200, context
        )
    return [f"final-{idx}" for idx in range(len(data))]
"""

CLASS_HANDLER = """
class Doubler:
    def initialize(self, context):
        self.factor = context.model_yaml_config.get("factor", 2)
    def handle(self, data, context):
        return [row["body"] * self.factor for row in data]
"""


class Worker:
    def __init__(self, model_dir, env=None, python=sys.executable):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = parent
        self.sock.settimeout(TIMEOUT)
        self.reader = codec.FrameReader(self.sock)
        child_fd = child.fileno()
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join([str(model_dir), WORKERS_PYTHON])
        full_env.update(env or {})
        # fd 3 in the child is the socket: dup2 before exec; close_fds=False keeps only inheritable fds.
        self.proc = subprocess.Popen(
            [python, "-u", "-m", "lantern_worker"],
            cwd=str(model_dir),
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            close_fds=False,
            preexec_fn=lambda: os.dup2(child_fd, 3),
        )
        child.close()
        self.first_lines = [self.proc.stdout.readline().decode().rstrip("\n") for _ in range(2)]

    def send(self, raw):
        self.sock.sendall(raw)

    def load(self, handler, name="m", batch_size=2, model_path=None):
        self.send(codec.encode_load(LoadMessage(name, model_path or os.getcwd(), batch_size, handler, -1, "", True)))
        return codec.decode_load_reply(self.reader.read_payload())

    def infer(self, requests):
        self.send(codec.encode_inference(InferenceMessage(requests)))
        payload = self.reader.read_payload()
        assert payload is not None, "the worker closed its socket instead of replying"
        return codec.decode_infer_reply(payload)

    def finish(self):
        self.sock.close()
        out, err = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, out.decode(), err.decode()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        self.sock.close()


TYPE_HANDLER = """
def handle(data, context):
    if data is None:
        return None
    if context.get_request_header(0, "echo") == "str":
        return [row["body"]["s"] for row in data]
    # The context keeps stopping_criteria between batches: set it every time.
    raises = context.get_request_header(0, "criteria") == "raises"
    context.stopping_criteria = [lambda out: 1 / 0 for _ in data] if raises else None
    return [type(row["body"]).__name__ for row in data]
"""


@pytest.fixture
def model_dir(tmp_path):
    (tmp_path / "type_handler.py").write_text(textwrap.dedent(TYPE_HANDLER))
    (tmp_path / "my_handler.py").write_text(textwrap.dedent(HANDLER))
    (tmp_path / "stream_handler.py").write_text(textwrap.dedent(STREAM_HANDLER))
    (tmp_path / "class_handler.py").write_text(textwrap.dedent(CLASS_HANDLER))
    return tmp_path


@pytest.fixture(params=_interpreters())
def spawn(model_dir, request):
    workers = []

    def start(env=None):
        w = Worker(model_dir, env, request.param)
        workers.append(w)
        return w

    yield start
    for w in workers:
        w.kill()


def two_requests():
    return [
        InferenceRequest("r1", [("x-a", "1")], [Parameter("body", "text/plain", b"hello")]),
        InferenceRequest("r2", [], [Parameter("body", "application/json", b'{"k": [1, 2]}')]),
    ]


def test_handshake_load_batch_and_eof(spawn, model_dir):
    w = spawn()
    assert w.first_lines == [f"[PID]{w.proc.pid}", "Torch worker started."]
    reply = w.load("my_handler.py", name="mine", model_path=str(model_dir))
    assert (reply.code, reply.message) == (200, "loaded model mine")
    reply = w.infer(two_requests())
    assert (reply.code, reply.message) == (200, "Prediction success")
    r1, r2 = reply.responses
    assert (r1.request_id, r1.content_type, r1.status, r1.reason, r1.headers, r1.body) == ("r1", "", 200, "", [], b"hello")
    assert (r2.request_id, r2.content_type, r2.status, r2.reason) == ("r2", "application/json", 201, "Created")
    assert r2.headers == [("content-type", "application/json"), ("x-idx", "1")]
    assert json.loads(r2.body) == {"echo": {"k": [1, 2]}, "model": "mine", "batch": 2}
    # The batch's metric lines come with its reply, not on stdout.
    assert [line.split(":")[0] for line in reply.metric_lines] == ["[METRICS]PredictionTime.Milliseconds"]
    assert reply.metric_lines[0].endswith(",r1,r2")
    code, out, err = w.finish()
    assert code == 0, err
    assert "[METRICS]" not in out


def test_describe_passes_through(spawn, model_dir):
    w = spawn()
    assert w.load("my_handler", model_path=str(model_dir)).code == 200
    reply = w.infer([InferenceRequest("d1", [("describe", "True")], [])])
    assert reply.code == 200
    assert json.loads(reply.responses[0].body) == {"describe": True, "data": [{}]}
    assert w.finish()[0] == 0


def test_streaming_replies(spawn, model_dir):
    w = spawn()
    assert w.load("stream_handler.py", model_path=str(model_dir)).code == 200
    w.send(codec.encode_inference(InferenceMessage(two_requests())))
    replies = [codec.decode_infer_reply(w.reader.read_payload()) for _ in range(3)]
    for i in range(2):
        assert replies[i].code == 200 and replies[i].message == "Intermediate Prediction success"
        assert [(r.request_id, r.body, r.headers) for r in replies[i].responses] == [
            ("r1", f"part{i}-0".encode(), [("ts_stream_next", "true")]),
            ("r2", f"part{i}-1".encode(), [("ts_stream_next", "true")]),
        ]
    final = replies[2]
    assert (final.code, final.message) == (200, "Prediction success")
    assert [(r.request_id, r.body, r.headers) for r in final.responses] == [
        ("r1", b"final-0", [("ts_stream_next", "false")]),
        ("r2", b"final-1", [("ts_stream_next", "false")]),
    ]
    assert w.finish()[0] == 0


def test_class_handler_with_yaml_config(spawn, model_dir):
    (model_dir / "MAR-INF").mkdir()
    (model_dir / "MAR-INF" / "MANIFEST.json").write_text(
        json.dumps({"model": {"modelName": "c", "handler": "class_handler.py", "configFile": "cfg.yaml"}})
    )
    (model_dir / "cfg.yaml").write_text("factor: 3\n")
    w = spawn()
    assert w.load("class_handler.py", model_path=str(model_dir)).code == 200
    reply = w.infer([InferenceRequest("r1", [], [Parameter("body", "", b"ab")])])
    assert reply.responses[0].body == b"ababab"


def test_builtin_echo_and_no_decoding(spawn, model_dir):
    w = spawn(env={"TS_DECODE_INPUT_REQUEST": "false"})
    assert w.load("echo", model_path=str(model_dir)).code == 200
    reply = w.infer([InferenceRequest("r1", [], [Parameter("body", "application/json", b'{"a":1}')])])
    assert reply.responses[0].body == b'{"a":1}'


def test_handler_error_is_a_batch_error(spawn, model_dir):
    (model_dir / "bad.py").write_text("def handle(data, context):\n    if data is None: return\n    raise ValueError('kaput')\n")
    w = spawn()
    assert w.load("bad", model_path=str(model_dir)).code == 200
    reply = w.infer(two_requests())
    assert (reply.code, reply.message) == (503, "Prediction failed")
    assert [(r.request_id, r.status, r.body) for r in reply.responses] == [("r1", 503, b"error"), ("r2", 503, b"error")]
    code, _, err = w.finish()
    assert code == 0 and "kaput" in err


@pytest.mark.parametrize(
    "handler, source, code, fragment",
    [
        ("no_such_handler_mod", None, 500, "ModuleNotFoundError"),
        ("fails_init", "def handle(d, c):\n    raise RuntimeError('weights missing')\n", 500, "RuntimeError: weights missing"),
        ("oom_init", "def handle(d, c):\n    raise MemoryError('too big')\n", 507, "MemoryError: too big"),
        ("two_classes", "class A: pass\nclass B: pass\n", 500, "ValueError"),
    ],
)
def test_failed_load_replies_then_exits_1(spawn, model_dir, handler, source, code, fragment):
    if source:
        (model_dir / f"{handler}.py").write_text(source)
    w = spawn()
    reply = w.load(handler, model_path=str(model_dir))
    assert reply.code == code and fragment in reply.message
    assert w.proc.wait(timeout=TIMEOUT) == 1
    assert w.reader.read_payload() is None


def test_sigterm_exits_0(spawn, model_dir):
    w = spawn()
    assert w.load("echo", model_path=str(model_dir)).code == 200
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(timeout=TIMEOUT) == 0


def test_eof_before_load_exits_0(spawn):
    w = spawn()
    assert w.finish()[0] == 0


def test_protocol_error_exits_1(spawn):
    w = spawn()
    w.send(codec.frame(b"Zjunk"))
    assert w.proc.wait(timeout=TIMEOUT) == 1


def test_hostile_bodies_fail_no_worker(spawn, model_dir):
    w = spawn()
    assert w.load("type_handler.py", model_path=str(model_dir)).code == 200
    deep = b"[" * 50_000 + b"]" * 50_000
    reply = w.infer([
        InferenceRequest("deep", [], [Parameter("body", "application/json", deep)]),
        InferenceRequest("fine", [], [Parameter("body", "application/json", b"[1]")]),
    ])
    assert reply.code == 200, reply.message
    assert [r.body for r in reply.responses] == [b"bytearray", b"list"]
    # A lone surrogate decodes from JSON but cannot be sent back as UTF-8: that batch fails alone.
    surrogate = InferenceRequest("s", [("echo", "str")], [Parameter("body", "application/json", b'{"s": "\\ud800"}')])
    reply = w.infer([surrogate])
    assert (reply.code, reply.message) == (503, "Unsupported model output data type.")
    # Handler code that runs after the handler returns fails its batch too, not the worker.
    reply = w.infer([InferenceRequest("c", [("criteria", "raises")], [Parameter("body", "", b"x")])])
    assert (reply.code, reply.message) == (503, "Prediction failed")
    assert w.proc.poll() is None
    reply = w.infer([InferenceRequest("after", [], [Parameter("body", "", b"x")])])
    assert [r.body for r in reply.responses] == [b"bytearray"]
    assert w.finish()[0] == 0

import base64
import json
import os
import struct

import pytest

from lantern_worker import codec
from lantern_worker.codec import (
    FrameReader,
    InferenceMessage,
    InferenceRequest,
    InferReply,
    LoadMessage,
    LoadReply,
    Parameter,
    ProtocolError,
    ResponseEntry,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FRAMES = os.path.join(REPO, "test", "fixtures", "frames.json")


def unb64(s):
    return base64.b64decode(s)


def message_from_json(m):
    kind = m["kind"]
    if kind == "load":
        return LoadMessage(
            m["modelName"], m["modelPath"], m["batchSize"], m["handler"], m["gpuId"], m["envelope"], m["limitMaxImagePixels"]
        )
    if kind == "infer":
        return InferenceMessage(
            [
                InferenceRequest(
                    r["requestId"],
                    [tuple(h) for h in r["headers"]],
                    [Parameter(p["name"], p["contentType"], unb64(p["valueB64"])) for p in r["parameters"]],
                )
                for r in m["requests"]
            ]
        )
    if kind == "loadReply":
        return LoadReply(m["code"], m["message"])
    if kind == "inferReply":
        return InferReply(
            m["code"],
            m["message"],
            [
                ResponseEntry(
                    r["requestId"], r["contentType"], r["status"], r["reason"], [tuple(h) for h in r["headers"]], unb64(r["bodyB64"])
                )
                for r in m["responses"]
            ],
            list(m.get("metricLines", [])),
        )
    raise AssertionError(kind)


def encode(msg):
    if isinstance(msg, LoadMessage):
        return codec.encode_load(msg)
    if isinstance(msg, InferenceMessage):
        return codec.encode_inference(msg)
    if isinstance(msg, LoadReply):
        return codec.encode_load_reply(msg)
    return codec.encode_infer_reply(msg)


def decode(kind, payload):
    if kind in ("load", "infer"):
        return codec.decode_to_worker(payload)
    if kind == "loadReply":
        return codec.decode_load_reply(payload)
    return codec.decode_infer_reply(payload)


def golden():
    with open(FRAMES, encoding="utf-8") as f:
        return json.load(f)


def test_golden_file_covers_every_kind():
    kinds = {f["message"]["kind"] for f in golden()}
    assert kinds == {"load", "infer", "loadReply", "inferReply"}
    for f in golden():
        assert f["direction"] == ("to-worker" if f["message"]["kind"] in ("load", "infer") else "to-frontend")


@pytest.mark.parametrize("entry", golden(), ids=lambda f: f["name"])
def test_golden_frame_encodes_byte_exact(entry):
    assert encode(message_from_json(entry["message"])).hex() == entry["hex"]


@pytest.mark.parametrize("entry", golden(), ids=lambda f: f["name"])
def test_golden_frame_decodes(entry):
    raw = bytes.fromhex(entry["hex"])
    reader = FrameReader(codec.InMemorySocket(raw))
    payload = reader.read_payload()
    assert reader.read_payload() is None
    assert struct.unpack(">I", raw[:4])[0] == len(payload)
    assert decode(entry["message"]["kind"], payload) == message_from_json(entry["message"])


def test_golden_generator_is_deterministic(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_golden_frames", os.path.join(REPO, "workers", "python", "tools", "make_golden_frames.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "frames.json"
    mod.main(["x", str(out)])
    with open(FRAMES, encoding="utf-8") as f:
        assert out.read_text(encoding="utf-8") == f.read()


def test_round_trips():
    msgs = [
        LoadMessage("m", "/p", 1, "h", -1, "", True),
        LoadMessage("ü", "/p/ü", 8, "a/b/c.py:fn", 3, "json", False),
        InferenceMessage([]),
        InferenceMessage([InferenceRequest("id", [("a", ""), ("", "b")], [Parameter("", "", b"")])]),
        LoadReply(507, "MemoryError"),
        InferReply(200, "ok", []),
        InferReply(200, "ok", [ResponseEntry("r", "ct", 299, "Fine", [("k", "v"), ("k", "v2")], b"\x00" * 1000)]),
    ]
    for m in msgs:
        raw = encode(m)
        payload = raw[4:]
        kind = {LoadMessage: "load", InferenceMessage: "infer", LoadReply: "loadReply", InferReply: "inferReply"}[type(m)]
        assert decode(kind, payload) == m


class TrickleSocket:
    """Hands out at most ``step`` bytes per receive, as a slow socket would."""

    def __init__(self, data, step):
        self.inner = codec.InMemorySocket(data)
        self.step = step

    def recv_into(self, buffer, nbytes=0):
        return self.inner.recv_into(buffer, min(nbytes or len(buffer), self.step))


def test_frame_reader_reads_frames_received_a_byte_at_a_time():
    a = codec.encode_load_reply(LoadReply(200, "loaded model x"))
    b = codec.encode_infer_reply(InferReply(200, "Prediction success", [ResponseEntry("r", body=b"x")]))
    reader = FrameReader(TrickleSocket(a + b, 1))
    assert reader.read_payload() == a[4:]
    assert reader.read_payload() == b[4:]
    assert reader.read_payload() is None
    assert reader.buffered == 0


def test_frame_reader_decodes_messages_across_frames_and_staging_refills():
    big = bytes(range(256)) * 1000
    first = InferenceMessage([
        InferenceRequest("r1", [("h" * 300, "v" * 5000)], [Parameter("body", "application/octet-stream", big)]),
        InferenceRequest("r2", [], [Parameter("data", "text/plain", b"small")]),
    ])
    load = LoadMessage("m", "/p", 1, "h", -1, "", True)
    stream = codec.encode_inference(first) + codec.encode_load(load) + codec.encode_inference(first)
    for step in (1, 7, 4096, 1 << 20):
        reader = FrameReader(TrickleSocket(stream, step), staging_bytes=1024)
        assert reader.read_message() == first
        assert reader.read_message() == load
        again = reader.read_message()
        assert again == first
        assert reader.read_message() is None
        value = again.requests[0].parameters[0].value
        assert type(value) is bytearray
        value.extend(b"!")  # the handler owns its input: no buffer export is left on it


def test_frame_reader_refuses_a_frame_cut_short():
    raw = codec.encode_inference(InferenceMessage([InferenceRequest("r", [], [Parameter("b", "", b"x" * 100)])]))
    with pytest.raises(EOFError):
        FrameReader(codec.InMemorySocket(raw[:50])).read_message()
    with pytest.raises(EOFError):
        FrameReader(codec.InMemorySocket(raw[:2])).read_message()


def test_frame_reader_refuses_field_lengths_beyond_the_frame():
    # A value claiming 1 GB inside a 20-byte frame is refused before anything is allocated for it.
    payload = b"I" + struct.pack(">i", 1) + b"r" + struct.pack(">i", -1) + struct.pack(">i", 0) + struct.pack(">i", 0)
    payload += struct.pack(">i", 1 << 30)
    with pytest.raises(ProtocolError, match="Truncated"):
        FrameReader(codec.InMemorySocket(codec.frame(payload) + b"\0" * 64)).read_message()


def test_frame_reader_limits():
    with pytest.raises(ProtocolError):
        FrameReader(codec.InMemorySocket(struct.pack(">I", 11)), max_frame=10).read_message()
    with pytest.raises(ProtocolError):
        FrameReader(codec.InMemorySocket(struct.pack(">I", 0))).read_payload()
    with pytest.raises(ProtocolError):
        codec.frame(b"")


@pytest.mark.parametrize(
    "payload",
    [
        b"X",
        b"L",
        b"I",
        b"I" + struct.pack(">i", -1) + b"extra",
        b"I" + struct.pack(">i", -5),
        b"I" + struct.pack(">i", 2) + b"\xff\xfe" + struct.pack(">i", -1) * 3,
    ],
)
def test_malformed_payloads_are_refused(payload):
    with pytest.raises(ProtocolError):
        codec.decode_to_worker(payload)


def test_load_reply_with_predictions_is_refused():
    payload = struct.pack(">i", 200) + struct.pack(">i", 0) + struct.pack(">i", 0)
    with pytest.raises(ProtocolError):
        codec.decode_load_reply(payload)


def test_frame_reader_and_writer_over_a_socket():
    import socket

    a, b = socket.socketpair()
    try:
        raw = codec.encode_load_reply(LoadReply(200, "ok"))
        a.sendall(raw[:3])
        a.sendall(raw[3:])
        codec.FrameWriter(a).write(*codec.encode_load_reply_parts(LoadReply(507, "full")))
        reader = FrameReader(b)
        assert codec.decode_load_reply(reader.read_payload()) == LoadReply(200, "ok")
        assert codec.decode_load_reply(reader.read_payload()) == LoadReply(507, "full")
        a.close()
        assert reader.read_payload() is None
    finally:
        b.close()


def test_a_body_reaches_the_handler_with_one_allocation_of_its_size():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "measure_body_copies", os.path.join(REPO, "workers", "python", "tools", "measure_body_copies.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    size = 4 << 20
    peak, held = mod.measure_once(size)
    # Before the reader received into the handler's bytearray, the peak was about 3x the body.
    assert peak < size * 1.1, peak
    assert held < size * 1.1, held

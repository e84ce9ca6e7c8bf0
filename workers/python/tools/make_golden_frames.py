"""Writes test/fixtures/frames.json: frames both codecs must produce and parse byte for byte.

Usage (from the repo root): python3 workers/python/tools/make_golden_frames.py [output path]
The output is deterministic: re-running it must not change the file.
"""
from __future__ import annotations

import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from lantern_worker.codec import (  # noqa: E402
    InferenceMessage,
    InferenceRequest,
    InferReply,
    LoadMessage,
    LoadReply,
    Parameter,
    ResponseEntry,
    encode_infer_reply,
    encode_inference,
    encode_load,
    encode_load_reply,
)

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))), "test", "fixtures", "frames.json")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def load_json(m: LoadMessage) -> dict:
    return {
        "kind": "load",
        "modelName": m.model_name,
        "modelPath": m.model_path,
        "batchSize": m.batch_size,
        "handler": m.handler,
        "gpuId": m.gpu_id,
        "envelope": m.envelope,
        "limitMaxImagePixels": m.limit_max_image_pixels,
    }


def infer_json(m: InferenceMessage) -> dict:
    return {
        "kind": "infer",
        "requests": [
            {
                "requestId": r.request_id,
                "headers": [[k, v] for k, v in r.headers],
                "parameters": [
                    {"name": p.name, "contentType": p.content_type, "valueB64": b64(p.value)} for p in r.parameters
                ],
            }
            for r in m.requests
        ],
    }


def load_reply_json(m: LoadReply) -> dict:
    return {"kind": "loadReply", "code": m.code, "message": m.message}


def infer_reply_json(m: InferReply) -> dict:
    return {
        "kind": "inferReply",
        "code": m.code,
        "message": m.message,
        "responses": [
            {
                "requestId": r.request_id,
                "contentType": r.content_type,
                "status": r.status,
                "reason": r.reason,
                "headers": [[k, v] for k, v in r.headers],
                "bodyB64": b64(r.body),
            }
            for r in m.responses
        ],
        **({"metricLines": list(m.metric_lines)} if m.metric_lines else {}),
    }


def build() -> list[dict]:
    frames = []

    def add(name, direction, message_json, raw):
        frames.append({"name": name, "direction": direction, "message": message_json, "hex": raw.hex()})

    load = LoadMessage(
        model_name="mnist",
        model_path="/tmp/lantern/models/mnist",
        batch_size=4,
        handler="mnist_handler.py:handle",
        gpu_id=-1,
        envelope="",
        limit_max_image_pixels=True,
    )
    add("load", "to-worker", load_json(load), encode_load(load))

    load_gpu = LoadMessage("résumé", "/models/r", 1, "image_classifier", 2, "kserve", False)
    add("load with gpu, envelope and non-ASCII name", "to-worker", load_json(load_gpu), encode_load(load_gpu))

    infer = InferenceMessage(
        [
            InferenceRequest(
                "5b8e1e7a-0000-4000-8000-000000000001",
                [("content-type", "application/json"), ("url_path", ""), ("explain", "False")],
                [Parameter("body", "application/json", b'{"instances": [1, 2, 3]}')],
            ),
            InferenceRequest(
                "5b8e1e7a-0000-4000-8000-000000000002",
                [("content-type", "multipart/form-data; boundary=xyz"), ("url_path", ""), ("explain", "False")],
                [
                    Parameter("raw", "", bytes([0x00, 0xFF, 0x10, 0x80, 0x7F])),
                    Parameter("data", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
                    Parameter("note", "text/plain", "héllo".encode("utf-8")),
                ],
            ),
        ]
    )
    add("inference batch of 2", "to-worker", infer_json(infer), encode_inference(infer))

    describe = InferenceMessage(
        [InferenceRequest("5b8e1e7a-0000-4000-8000-000000000003", [("describe", "True")], [])]
    )
    add("describe (no parameters)", "to-worker", infer_json(describe), encode_inference(describe))

    empty_body = InferenceMessage(
        [InferenceRequest("5b8e1e7a-0000-4000-8000-000000000004", [], [Parameter("body", "", b"")])]
    )
    add("inference with empty body and no headers", "to-worker", infer_json(empty_body), encode_inference(empty_body))

    ok = LoadReply(200, "loaded model mnist")
    add("load reply 200", "to-frontend", load_reply_json(ok), encode_load_reply(ok))

    failed = LoadReply(500, "ModuleNotFoundError: No module named 'missing'")
    add("load reply 500", "to-frontend", load_reply_json(failed), encode_load_reply(failed))

    reply = InferReply(
        200,
        "Prediction success",
        [
            ResponseEntry(
                "5b8e1e7a-0000-4000-8000-000000000001",
                "application/json",
                201,
                "Created",
                [("content-type", "application/json"), ("x-model", "mnist")],
                b'{\n  "predictions": [\n    0.5\n  ]\n}',
            ),
            ResponseEntry("5b8e1e7a-0000-4000-8000-000000000002", "", 200, "", [], bytes([0x00, 0x01, 0xFE])),
        ],
    )
    add("inference reply with 2 responses", "to-frontend", infer_reply_json(reply), encode_infer_reply(reply))

    stream = InferReply(
        200,
        "Prediction success",
        [ResponseEntry("5b8e1e7a-0000-4000-8000-000000000001", "text/plain", 200, "", [("ts_stream_next", "true")], b"tok")],
    )
    add("streaming intermediate reply", "to-frontend", infer_reply_json(stream), encode_infer_reply(stream))

    err = InferReply(
        503,
        "Prediction failed",
        [
            ResponseEntry("5b8e1e7a-0000-4000-8000-000000000001", "", 503, "", [], b"error"),
            ResponseEntry("5b8e1e7a-0000-4000-8000-000000000002", "", 503, "", [], b"error"),
        ],
    )
    add("whole-batch error reply", "to-frontend", infer_reply_json(err), encode_infer_reply(err))

    with_metrics = InferReply(
        200,
        "Prediction success",
        [ResponseEntry("5b8e1e7a-0000-4000-8000-000000000001", "", 200, "", [], b"ok")],
        [
            "[METRICS]HandlerTime.Milliseconds:0.12|#ModelName:mnist,Level:Model|#hostname:box,requestID:5b8e1e7a-0000-4000-8000-000000000001,timestamp:1764050000",
            "[METRICS]PredictionTime.Milliseconds:0.12|#ModelName:mnist,Level:Model|#hostname:box,requestID:5b8e1e7a-0000-4000-8000-000000000001,timestamp:1764050000",
        ],
    )
    add("inference reply with the batch's metric lines", "to-frontend", infer_reply_json(with_metrics), encode_infer_reply(with_metrics))
    return frames


def main(argv: list[str]) -> int:
    out = argv[1] if len(argv) > 1 else DEFAULT_OUT
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(build(), f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

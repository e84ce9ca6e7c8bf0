"""The predict path (spec §2.3, §2.4, §8.4): decode a batch, call the handler, build the reply."""
from __future__ import annotations

import json
import os
import sys
import time
import traceback

from .codec import InferReply, InferenceRequest, ResponseEntry
from .context import Context, RequestProcessor
from .exceptions import PredictionException

SUCCESS_MESSAGE = "Prediction success"
STREAM_HEADER = "ts_stream_next"


class UnsupportedOutput(Exception):
    """A handler output that cannot be turned into body bytes."""


class BatchError(Exception):
    """Fails the whole batch with ``code`` and ``message``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# Input


def decode_input_enabled() -> bool:
    return os.environ.get("TS_DECODE_INPUT_REQUEST", "true").strip().lower() != "false"


def decode_value(content_type: str, value: bytes | bytearray, decode: bool = True):
    """One parameter value as the handler sees it."""
    # The codec gives each value a bytearray of its own: the handler's raw input, not copied again.
    raw = value if isinstance(value, bytearray) else bytearray(value)
    # Any failure, not only ValueError: a client's body must never stop the worker. JSON nested
    # ~1,000 deep raises RecursionError, a body too big to parse MemoryError; the handler gets
    # the bytes instead, as TorchServe's worker gives undecodable bodies.
    if decode and content_type == "application/json":
        try:
            return json.loads(raw)
        except Exception:  # noqa: BLE001
            return raw
    if decode and content_type and content_type.startswith("text"):
        try:
            return raw.decode("utf-8")
        except Exception:  # noqa: BLE001
            return raw
    return raw


def prepare_batch(requests: list[InferenceRequest], decode: bool | None = None):
    """Returns (data, request_ids, request processors) for a batch."""
    if decode is None:
        decode = decode_input_enabled()
    data, request_ids, processors = [], {}, []
    for idx, req in enumerate(requests):
        headers = dict(req.headers)
        values = {}
        for p in req.parameters:
            values[p.name] = decode_value(p.content_type, p.value, decode)
            headers[p.name] = {"content-type": p.content_type}
        data.append(values)
        request_ids[idx] = req.request_id
        processors.append(RequestProcessor(headers))
    return data, request_ids, processors


# ---------------------------------------------------------------------------------------------
# Output


def encode_body(value) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return value  # framed as it is, without a copy
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as e:  # a lone surrogate, e.g. from JSON's "\ud800"
            raise UnsupportedOutput(str(e)) from e
    torch = sys.modules.get("torch")  # a tensor can only exist if torch was imported
    if torch is not None and isinstance(value, getattr(torch, "Tensor", ())):
        import io

        buf = io.BytesIO()
        torch.save(value, buf)
        return buf.getvalue()
    try:
        return json.dumps(value, indent=2).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as e:
        raise UnsupportedOutput(str(e)) from e


def _content_type(headers: dict) -> str:
    if "content-type" in headers:
        value = headers["content-type"]
    else:
        value = next((v for k, v in headers.items() if str(k).lower() == "content-type"), None)
    return "" if value is None else str(value)


def response_entry(context: Context, idx: int, request_id: str, body: bytes) -> ResponseEntry:
    processor: RequestProcessor = context.request_processor[idx]
    headers = processor.get_response_headers()
    phrase = processor.get_response_status_phrase()
    return ResponseEntry(
        request_id=str(request_id),
        content_type=_content_type(headers),
        status=int(processor.get_response_status_code()),
        reason="" if phrase is None else str(phrase),
        headers=[(str(k), "" if v is None else str(v)) for k, v in headers.items()],
        body=body,
    )


def error_reply(code: int, message: str, request_ids) -> InferReply:
    return InferReply(
        code,
        message,
        [ResponseEntry(request_id=str(rid), status=code, body=b"error") for rid in request_ids],
    )


def map_exception(e: BaseException) -> tuple[int, str]:
    if isinstance(e, PredictionException):
        return int(e.error_code), str(e.message)
    if isinstance(e, MemoryError) or "CUDA" in str(e):
        return 507, "Out of resources"
    return 503, "Prediction failed"


# ---------------------------------------------------------------------------------------------


class Service:
    """A loaded handler bound to its context."""

    def __init__(self, context: Context, entry_point) -> None:
        self.context = context
        self.entry_point = entry_point

    def predict(self, requests: list[InferenceRequest]) -> InferReply:
        ctx = self.context
        try:
            data, request_ids, processors = prepare_batch(requests)
        except Exception as e:  # noqa: BLE001 — one batch's input must not stop the worker
            traceback.print_exc(file=sys.stderr)
            return error_reply(*map_exception(e), [r.request_id for r in requests])
        ctx.request_ids = request_ids
        ctx.request_processor = processors
        ctx._streamed = set()
        ctx.metrics.request_ids = request_ids
        ids = [r.request_id for r in requests]
        try:
            start = time.perf_counter()
            try:
                ret = self.entry_point(data, ctx)
            except Exception as e:  # noqa: BLE001 — every handler failure becomes a reply
                traceback.print_exc(file=sys.stderr)
                raise BatchError(*map_exception(e)) from e
            elapsed_ms = (time.perf_counter() - start) * 1000.0
            if not isinstance(ret, list):
                print(f"Invalid model predict output: expected a list, got {type(ret).__name__}", file=sys.stderr)
                raise BatchError(503, "Invalid model predict output")
            if len(ret) != len(requests):
                print(
                    f"number of batch response mismatched: expected {len(requests)}, got {len(ret)}",
                    file=sys.stderr,
                )
                raise BatchError(503, "number of batch response mismatched")
            self._apply_stream_flags(ret)
            entries = []
            for idx, value in enumerate(ret):
                try:
                    body = encode_body(value)
                except UnsupportedOutput as e:
                    print(f"Unsupported model output data type: {e}", file=sys.stderr)
                    raise BatchError(503, "Unsupported model output data type.") from e
                entries.append(response_entry(ctx, idx, request_ids[idx], body))
            try:
                ctx.metrics.add_time("PredictionTime", round(elapsed_ms, 2), None, "ms")
            except Exception:  # noqa: BLE001 — a metrics failure must not fail the batch
                traceback.print_exc(file=sys.stderr)
            return InferReply(200, SUCCESS_MESSAGE, entries)
        except BatchError as e:
            return error_reply(e.code, e.message, ids)

    def _apply_stream_flags(self, ret: list) -> None:
        ctx = self.context
        criteria = ctx.stopping_criteria
        for idx in range(len(ret)):
            decided = False
            if criteria is not None:
                try:
                    crit = criteria[idx]
                except (KeyError, IndexError, TypeError):
                    crit = None
                if callable(crit):
                    # As TorchServe: True stops the stream, False continues it, None leaves the
                    # reply final without saying so (continuous batching ends the request there).
                    is_stop = crit(ret[idx])
                    if is_stop is not None:
                        ctx.set_response_header(idx, STREAM_HEADER, "false" if is_stop else "true")
                    decided = True
            if not decided and idx in ctx._streamed:
                ctx.set_response_header(idx, STREAM_HEADER, "false")

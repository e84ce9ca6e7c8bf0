"""Request envelopes (spec §2.5): ``service_envelope`` = body, json, kserve or kservev2 reshapes the
handler's input and output, with the behaviour of TorchServe 0.12.0's ``ts.torch_handler.request_envelope``.

TorchServe's kserve and kservev2 envelopes read only the first request of a batch and answer one
output, so a batch of two fails; Lantern runs each request of a batch through the envelope on its
own (docs/compatibility.md). body and json handle a batch as TorchServe does."""
from __future__ import annotations

import json
from base64 import b64decode
from itertools import chain

ENVELOPES = ("body", "json", "kserve", "kservev2")


class Envelope:
    """Wraps ``handle_fn(data, context)``; subclasses reshape input and output."""

    def __init__(self, handle_fn) -> None:
        self._handle_fn = handle_fn
        self.context = None

    def handle(self, data, context):
        self.context = context
        if data:
            data = self.parse_input(data)
        results = self._handle_fn(data, context)
        if results:
            results = self.format_output(results)
        return results

    def parse_input(self, data):
        raise NotImplementedError

    def format_output(self, data):
        raise NotImplementedError


def _payload(row):
    return row.get("data") or row.get("body")


class BodyEnvelope(Envelope):
    def parse_input(self, data):
        return [_payload(row) for row in data]

    def format_output(self, data):
        return data


class JsonEnvelope(Envelope):
    """``{"instances": [...]}`` per request, ``{"b64": ...}`` values decoded; the batch's instances
    are joined for the handler and its outputs split back per request as ``{"predictions": [...]}``."""

    def __init__(self, handle_fn) -> None:
        super().__init__(handle_fn)
        self._lengths: list[int] = []

    def parse_input(self, data):
        batches = [self._rows(row) for row in data]
        self._lengths = [len(rows) for rows in batches]
        return list(chain.from_iterable(batches))

    @staticmethod
    def _rows(row):
        rows = (row.get("data") or row.get("body") or row)["instances"]
        if isinstance(rows[0], dict):
            for i, item in enumerate(rows):
                if list(item.keys()) == ["b64"]:
                    rows[i] = b64decode(item["b64"])
                    continue
                for key, value in item.items():
                    if isinstance(value, dict) and list(value.keys()) == ["b64"]:
                        item[key] = b64decode(value["b64"])
        return rows

    def format_output(self, data):
        outputs, cursor = [], 0
        for length in self._lengths:
            outputs.append(json.dumps({"predictions": data[cursor : cursor + length]}))
            cursor += length
        return outputs


class KServeEnvelope(Envelope):
    """KServe v1: the handler gets ``instances``; its output becomes ``{"predictions": ...}``, or
    ``{"explanations": ...}`` when the request's ``explain`` header is ``True``."""

    def parse_input(self, data):
        body = _payload(data[0])
        if isinstance(body, (bytes, bytearray)):
            body = json.loads(body.decode())
        return body.get("instances")

    def format_output(self, data):
        explain = self.context is not None and self.context.get_request_header(0, "explain") == "True"
        return [{"explanations" if explain else "predictions": data}]


class KServeV2Envelope(Envelope):
    """Open Inference Protocol: the handler gets the ``inputs`` list (non-BYTES data reshaped to
    ``shape``, BYTES data its first element); output i becomes a flattened tensor named after input i."""

    def __init__(self, handle_fn) -> None:
        super().__init__(handle_fn)
        self._input_names: list[str] = []
        self._request_id = None

    def parse_input(self, data):
        body = _payload(data[0])
        if isinstance(body, (bytes, bytearray)):
            body = json.loads(body.decode("utf8"))
        names = []
        for tensor in body["inputs"]:
            if tensor["datatype"] == "BYTES":
                tensor["data"] = tensor["data"][0]
            else:
                values, _ = _coerced(_leaves(tensor["data"]))
                tensor["data"] = _reshape(values, tuple(tensor["shape"]))
            names.append(tensor["name"])
        self._input_names = names
        request_id = body.get("id")
        self._request_id = request_id if request_id and request_id.strip() else None
        return body.get("inputs")

    def format_output(self, data):
        ctx = self.context
        request_id, self._request_id = self._request_id, None
        model = (ctx.manifest or {}).get("model") or {}
        names, self._input_names = self._input_names, []
        return [
            {
                "id": request_id if request_id is not None else ctx.get_request_id(0),
                "model_name": model.get("modelName"),
                "model_version": model.get("modelVersion"),
                "outputs": [_tensor(item, names[i]) for i, item in enumerate(data)],
            }
        ]


# The tensor conversions TorchServe's envelope gets from numpy (np.array(x), reshape, flatten,
# tolist, dtype → datatype), in plain Python: the worker's core needs no numpy.

_DATATYPES = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
    "half": "FP16",
    "float": "FP32",
    "double": "FP64",
    "long": "INT64",
    "int": "INT32",
    "short": "INT16",
}
_INT64 = (-(2**63), 2**63 - 1)


def _leaves(value) -> list:
    """The values of a nested list in order; a ragged nesting is refused, as numpy refuses it."""
    if not isinstance(value, (list, tuple)):
        return [value]
    out: list = []
    depth = None
    for item in value:
        nested = isinstance(item, (list, tuple))
        shape = _depth_shape(item) if nested else ()
        if depth is None:
            depth = shape
        elif shape != depth:
            raise ValueError("setting an array element with a sequence: the nested lists are not rectangular")
        out.extend(_leaves(item) if nested else [item])
    return out


def _depth_shape(value) -> tuple:
    if not isinstance(value, (list, tuple)):
        return ()
    return (len(value),) + (_depth_shape(value[0]) if value else ())


def _coerced(values: list) -> tuple[list, str]:
    """numpy's common type for plain values: (the converted values, its datatype)."""
    kinds = {type(v) for v in values}
    if not values or kinds <= {float}:
        return [float(v) for v in values], "FP64"
    if kinds <= {bool}:
        return values, "BOOL"
    if kinds <= {bool, int}:
        if all(_INT64[0] <= v <= _INT64[1] for v in values):
            return [int(v) for v in values], "INT64"
        return values, "BYTES"
    if kinds <= {bool, int, float}:
        return [float(v) for v in values], "FP64"
    if kinds <= {bool, int, float, str}:
        return [str(v) for v in values], "BYTES"
    return values, "BYTES"


def _reshape(values: list, shape: tuple):
    if list(shape).count(-1) == 1:
        known = 1
        for n in shape:
            known *= n if n != -1 else 1
        if known == 0 or len(values) % known:
            raise ValueError(f"cannot reshape array of size {len(values)} into shape {shape}")
        shape = tuple(len(values) // known if n == -1 else n for n in shape)
    size = 1
    for n in shape:
        size *= n
    if size != len(values) or any(n < 0 for n in shape):
        raise ValueError(f"cannot reshape array of size {len(values)} into shape {shape}")
    if not shape:
        return values[0]

    def build(offset: int, dims: tuple):
        if len(dims) == 1:
            return values[offset : offset + dims[0]]
        step = 1
        for n in dims[1:]:
            step *= n
        return [build(offset + i * step, dims[1:]) for i in range(dims[0])]

    return build(0, shape)


def _tensor(item, name: str) -> dict:
    dtype = getattr(item, "dtype", None)
    if dtype is not None and callable(getattr(item, "tolist", None)):
        # A numpy array or torch tensor keeps its own element type.
        kind = getattr(dtype, "kind", "")
        text = str(dtype).replace("torch.", "")
        values = _leaves(item.tolist())
        if kind in ("U", "O") or text == "object":
            datatype = "BYTES"
        elif text in _DATATYPES:
            datatype = _DATATYPES[text]
        else:
            raise TypeError(f"no Open Inference datatype for element type {dtype}")
    else:
        values, datatype = _coerced(_leaves(item))
    return {"name": name, "datatype": datatype, "data": values, "shape": [len(values)]}


_CLASSES = {"body": BodyEnvelope, "json": JsonEnvelope, "kserve": KServeEnvelope, "kservev2": KServeV2Envelope}


class PerRequest:
    """Runs each request of a batch through its own pass of ``envelope``, the context narrowed to
    that request, and joins the replies; a batch of one is a single pass."""

    def __init__(self, envelope: Envelope) -> None:
        self._envelope = envelope

    def __call__(self, data, context):
        if data is None or len(data) <= 1:
            return self._envelope.handle(data, context)
        request_ids, processors = context.request_ids, context.request_processor
        metric_ids = getattr(context.metrics, "request_ids", None)
        results = []
        try:
            for idx, row in enumerate(data):
                one = {0: request_ids[idx]}
                context.request_ids = one
                context.request_processor = [processors[idx]]
                if context.metrics is not None:
                    context.metrics.request_ids = one
                out = self._envelope.handle([row], context)
                if not isinstance(out, list) or len(out) != 1:
                    return out  # the predict path reports the wrong shape
                results.append(out[0])
        finally:
            context.request_ids, context.request_processor = request_ids, processors
            if context.metrics is not None:
                context.metrics.request_ids = metric_ids
        return results


def wrap(name: str, entry_point):
    """The entry point seen through envelope ``name``; ValueError for a name TorchServe has no envelope for."""
    cls = _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"Unknown service envelope {name!r}; expected one of {', '.join(ENVELOPES)}")
    envelope = cls(entry_point)
    if name in ("kserve", "kservev2"):
        return PerRequest(envelope)
    return envelope.handle

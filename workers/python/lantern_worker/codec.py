"""Encoding and decoding of the frames exchanged with the front end (docs/protocol.md).

A frame is a uint32 big-endian payload length followed by the payload. Inside a payload every
integer is a big-endian signed int32, a string is an int32 byte length plus UTF-8 bytes, a bool is
one byte and lists end with int32 -1. Everything here is pure except ``read_frame``/``write_frame``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

END = -1
CMD_LOAD = 0x4C
CMD_INFER = 0x49
DEFAULT_MAX_FRAME = 0x7FFFFFFF

_INT = struct.Struct(">i")
_UINT = struct.Struct(">I")


class ProtocolError(Exception):
    """A frame or payload that does not follow the protocol."""


# ---------------------------------------------------------------------------------------------
# Message types


@dataclass
class LoadMessage:
    model_name: str
    model_path: str
    batch_size: int
    handler: str
    gpu_id: int = -1
    envelope: str = ""
    limit_max_image_pixels: bool = True


@dataclass
class Parameter:
    name: str
    content_type: str  # "" = none
    value: bytes


@dataclass
class InferenceRequest:
    request_id: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)


@dataclass
class InferenceMessage:
    requests: list[InferenceRequest]


@dataclass
class LoadReply:
    code: int
    message: str


@dataclass
class ResponseEntry:
    request_id: str
    content_type: str = ""
    status: int = 200
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class InferReply:
    code: int
    message: str
    responses: list[ResponseEntry] = field(default_factory=list)
    # The batch's [METRICS] lines, sent after the responses instead of on stdout.
    metric_lines: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Writing


class _Writer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def byte(self, value: int) -> "_Writer":
        self.parts.append(bytes((value,)))
        return self

    def int(self, value: int) -> "_Writer":
        self.parts.append(_INT.pack(value))
        return self

    def bytes(self, value: bytes | bytearray | memoryview) -> "_Writer":
        self.int(len(value))
        self.parts.append(bytes(value))
        return self

    def str(self, value: str | None) -> "_Writer":
        return self.bytes((value or "").encode("utf-8"))

    def bool(self, value: bool) -> "_Writer":
        return self.byte(1 if value else 0)

    def pairs(self, pairs) -> "_Writer":
        for name, value in pairs:
            self.str(name).str(value)
        return self

    def payload(self) -> bytes:
        return b"".join(self.parts)


def frame(payload: bytes) -> bytes:
    """Wraps a payload in its length prefix."""
    if not payload:
        raise ProtocolError("Empty payload")
    return _UINT.pack(len(payload)) + payload


def encode_load_payload(msg: LoadMessage) -> bytes:
    return (
        _Writer()
        .byte(CMD_LOAD)
        .str(msg.model_name)
        .str(msg.model_path)
        .int(msg.batch_size)
        .str(msg.handler)
        .int(msg.gpu_id)
        .str(msg.envelope)
        .bool(msg.limit_max_image_pixels)
        .payload()
    )


def encode_inference_payload(msg: InferenceMessage | list[InferenceRequest]) -> bytes:
    requests = msg.requests if isinstance(msg, InferenceMessage) else msg
    w = _Writer().byte(CMD_INFER)
    for req in requests:
        w.str(req.request_id).pairs(req.headers).int(END)
        for p in req.parameters:
            w.str(p.name).str(p.content_type).bytes(p.value)
        w.int(END)
    return w.int(END).payload()


def encode_load_reply_payload(reply: LoadReply) -> bytes:
    return _Writer().int(reply.code).str(reply.message).int(END).payload()


def encode_infer_reply_payload(reply: InferReply) -> bytes:
    # Sent once per batch: built with local functions rather than _Writer's chained methods.
    pack = _INT.pack
    parts: list[bytes] = []
    add = parts.append

    def text(value: str | None) -> None:
        raw = (value or "").encode("utf-8")
        add(pack(len(raw)))
        add(raw)

    add(pack(reply.code))
    text(reply.message)
    for r in reply.responses:
        headers = list(r.headers)
        text(r.request_id)
        text(r.content_type)
        add(pack(r.status))
        text(r.reason)
        add(pack(len(headers)))
        for name, value in headers:
            text(name)
            text(value)
        body = r.body
        add(pack(len(body)))
        add(bytes(body))
    add(pack(END))
    # After the responses: the batch's metric lines, one string, empty when there are none.
    text("\n".join(reply.metric_lines))
    return b"".join(parts)


def encode_load(msg: LoadMessage) -> bytes:
    return frame(encode_load_payload(msg))


def encode_inference(msg: InferenceMessage | list[InferenceRequest]) -> bytes:
    return frame(encode_inference_payload(msg))


def encode_load_reply(reply: LoadReply) -> bytes:
    return frame(encode_load_reply_payload(reply))


def encode_infer_reply(reply: InferReply) -> bytes:
    return frame(encode_infer_reply_payload(reply))


# ---------------------------------------------------------------------------------------------
# Reading


class _Reader:
    def __init__(self, payload: bytes | bytearray | memoryview) -> None:
        self.buf = memoryview(payload)
        self.pos = 0

    def _need(self, n: int) -> None:
        if self.pos + n > len(self.buf):
            raise ProtocolError("Truncated message")

    def byte(self) -> int:
        self._need(1)
        v = self.buf[self.pos]
        self.pos += 1
        return v

    def int(self) -> int:
        self._need(4)
        (v,) = _INT.unpack_from(self.buf, self.pos)
        self.pos += 4
        return v

    def bytes_of(self, length: int) -> bytes:
        if length < 0:
            raise ProtocolError(f"Negative field length: {length}")
        self._need(length)
        v = bytes(self.buf[self.pos : self.pos + length])
        self.pos += length
        return v

    def bytes(self) -> bytes:
        return self.bytes_of(self.int())

    def text_of(self, length: int) -> str:
        raw = self.bytes_of(length)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(f"Invalid UTF-8 in string field: {e}") from None

    def str(self) -> str:
        return self.text_of(self.int())

    def bool(self) -> bool:
        return self.byte() != 0

    def pairs_until_end(self) -> list[tuple[str, str]]:
        out = []
        while True:
            n = self.int()
            if n == END:
                return out
            name = self.text_of(n)
            out.append((name, self.str()))

    def end(self) -> None:
        if self.pos != len(self.buf):
            raise ProtocolError(f"{len(self.buf) - self.pos} trailing bytes after message")


def decode_to_worker(payload: bytes) -> LoadMessage | InferenceMessage:
    """Decodes one front-end → worker payload (without its length prefix)."""
    r = _Reader(payload)
    cmd = r.byte()
    if cmd == CMD_LOAD:
        msg = LoadMessage(
            model_name=r.str(),
            model_path=r.str(),
            batch_size=r.int(),
            handler=r.str(),
            gpu_id=r.int(),
            envelope=r.str(),
            limit_max_image_pixels=r.bool(),
        )
        r.end()
        return msg
    if cmd != CMD_INFER:
        raise ProtocolError(f"Unknown command byte 0x{cmd:02x}")
    return _decode_inference(bytes(payload))


def _decode_inference(buf: bytes) -> InferenceMessage:
    """The inference message, read with local state only: it is decoded once per batch, so it
    avoids the per-field method calls of ``_Reader`` (same checks, same errors)."""
    size = len(buf)
    unpack = _INT.unpack_from
    pos = 1

    def length_at(at: int) -> int:
        if at + 4 > size:
            raise ProtocolError("Truncated message")
        return unpack(buf, at)[0]

    def field(at: int, n: int) -> bytes:
        if n < 0:
            raise ProtocolError(f"Negative field length: {n}")
        if at + n > size:
            raise ProtocolError("Truncated message")
        return buf[at : at + n]

    def text(at: int, n: int) -> str:
        try:
            return field(at, n).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(f"Invalid UTF-8 in string field: {e}") from None

    requests = []
    while True:
        n = length_at(pos)
        pos += 4
        if n == END:
            break
        req = InferenceRequest(request_id=text(pos, n))
        pos += n
        headers = req.headers
        while True:
            n = length_at(pos)
            pos += 4
            if n == END:
                break
            name = text(pos, n)
            pos += n
            n = length_at(pos)
            value = text(pos + 4, n)
            pos += 4 + n
            headers.append((name, value))
        params = req.parameters
        while True:
            n = length_at(pos)
            pos += 4
            if n == END:
                break
            name = text(pos, n)
            pos += n
            n = length_at(pos)
            content_type = text(pos + 4, n)
            pos += 4 + n
            n = length_at(pos)
            value = field(pos + 4, n)
            pos += 4 + n
            params.append(Parameter(name, content_type, value))
        requests.append(req)
    if pos != size:
        raise ProtocolError(f"{size - pos} trailing bytes after message")
    return InferenceMessage(requests)


def decode_load_reply(payload: bytes) -> LoadReply:
    r = _Reader(payload)
    code = r.int()
    message = r.str()
    if r.int() != END:
        raise ProtocolError("Load reply carries predictions")
    r.end()
    return LoadReply(code, message)


def decode_infer_reply(payload: bytes) -> InferReply:
    r = _Reader(payload)
    reply = InferReply(r.int(), r.str())
    while True:
        n = r.int()
        if n == END:
            break
        entry = ResponseEntry(request_id=r.text_of(n))
        entry.content_type = r.str()
        entry.status = r.int()
        entry.reason = r.str()
        count = r.int()
        if count < 0:
            raise ProtocolError(f"Negative header count: {count}")
        entry.headers = [(r.str(), r.str()) for _ in range(count)]
        entry.body = r.bytes()
        reply.responses.append(entry)
    metrics = r.str()
    if metrics:
        reply.metric_lines = metrics.split("\n")
    r.end()
    return reply


class FrameReader:
    """Cuts a byte stream into payloads, incrementally."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Adds received bytes; returns every payload they complete, in order."""
        self._buf += data
        out = []
        while len(self._buf) >= 4:
            (n,) = _UINT.unpack_from(self._buf, 0)
            if n == 0:
                raise ProtocolError("Empty frame")
            if n > self.max_frame:
                raise ProtocolError(f"Message size exceed limit: {n}")
            if len(self._buf) < 4 + n:
                break
            out.append(bytes(self._buf[4 : 4 + n]))
            del self._buf[: 4 + n]
        return out

    @property
    def buffered(self) -> int:
        return len(self._buf)


def _recv_exact(sock, n: int) -> bytes | None:
    """Reads exactly n bytes; None on end of file before the first byte, ProtocolError mid-way."""
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(min(n - len(chunks), 1 << 20))
        if not chunk:
            if not chunks:
                return None
            raise EOFError(f"End of file after {len(chunks)} of {n} bytes")
        chunks += chunk
    return bytes(chunks)


def read_frame(sock, max_frame: int = DEFAULT_MAX_FRAME) -> bytes | None:
    """Blocks for one payload from a socket; None at a clean end of file."""
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    (n,) = _UINT.unpack(head)
    if n == 0:
        raise ProtocolError("Empty frame")
    if n > max_frame:
        raise ProtocolError(f"Message size exceed limit: {n}")
    payload = _recv_exact(sock, n)
    if payload is None:
        raise EOFError(f"End of file after the length prefix of a {n}-byte frame")
    return payload

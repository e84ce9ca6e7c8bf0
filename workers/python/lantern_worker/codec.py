"""Encoding and decoding of the frames exchanged with the front end (docs/protocol.md).

A frame is a uint32 big-endian payload length followed by the payload. Inside a payload every
integer is a big-endian signed int32, a string is an int32 byte length plus UTF-8 bytes, a bool is
one byte and lists end with int32 -1. Everything here is pure except ``FrameReader`` and
``FrameWriter``, the one reader and the one writer of frames on the worker's socket.
"""
from __future__ import annotations

import struct
import threading
from dataclasses import dataclass, field

END = -1
CMD_LOAD = 0x4C
CMD_INFER = 0x49
DEFAULT_MAX_FRAME = 0x7FFFFFFF
# FrameReader's fixed buffer: a usual frame (headers and a small body) arrives in one receive, and a
# value that does not fit is received into its own bytearray instead of through this buffer.
STAGING_BYTES = 1 << 16

_INT = struct.Struct(">i")
_UINT = struct.Struct(">I")
_unpack_int = _INT.unpack_from


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
    # Decoded frames carry a bytearray of their own (the handler's raw input, as in TorchServe).
    value: bytes | bytearray


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
    body: bytes | bytearray = b""


@dataclass
class InferReply:
    code: int
    message: str
    responses: list[ResponseEntry] = field(default_factory=list)
    # The batch's [METRICS] lines, sent after the responses instead of on stdout.
    metric_lines: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Writing: payloads are built as lists of parts (bodies included as they are) and joined once,
# with the length prefix, by ``frame``.


class _Writer:
    def __init__(self) -> None:
        self.parts: list[bytes | bytearray] = []

    def byte(self, value: int) -> "_Writer":
        self.parts.append(bytes((value,)))
        return self

    def int(self, value: int) -> "_Writer":
        self.parts.append(_INT.pack(value))
        return self

    def bytes(self, value: bytes | bytearray | memoryview) -> "_Writer":
        if isinstance(value, memoryview):
            value = value.tobytes()  # len() of a memoryview counts items, not bytes
        self.int(len(value))
        self.parts.append(value)
        return self

    def str(self, value: str | None) -> "_Writer":
        return self.bytes((value or "").encode("utf-8"))

    def bool(self, value: bool) -> "_Writer":
        return self.byte(1 if value else 0)

    def pairs(self, pairs) -> "_Writer":
        for name, value in pairs:
            self.str(name).str(value)
        return self


def frame(*parts: bytes | bytearray) -> bytes:
    """The length prefix and the payload's parts, joined in one copy."""
    size = sum(map(len, parts))
    if size == 0:
        raise ProtocolError("Empty payload")
    return b"".join((_UINT.pack(size), *parts))


def encode_load_parts(msg: LoadMessage) -> list:
    w = _Writer().byte(CMD_LOAD).str(msg.model_name).str(msg.model_path).int(msg.batch_size)
    w.str(msg.handler).int(msg.gpu_id).str(msg.envelope).bool(msg.limit_max_image_pixels)
    return w.parts


def encode_inference_parts(msg: InferenceMessage | list[InferenceRequest]) -> list:
    requests = msg.requests if isinstance(msg, InferenceMessage) else msg
    w = _Writer().byte(CMD_INFER)
    for req in requests:
        w.str(req.request_id).pairs(req.headers).int(END)
        for p in req.parameters:
            w.str(p.name).str(p.content_type).bytes(p.value)
        w.int(END)
    return w.int(END).parts


def encode_load_reply_parts(reply: LoadReply) -> list:
    return _Writer().int(reply.code).str(reply.message).int(END).parts


def encode_infer_reply_parts(reply: InferReply) -> list:
    # Sent once per batch: built with local functions rather than _Writer's chained methods.
    pack = _INT.pack
    parts: list = []
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
        if isinstance(body, memoryview):
            body = body.tobytes()
        add(pack(len(body)))
        add(body)
    add(pack(END))
    # After the responses: the batch's metric lines, one string, empty when there are none.
    text("\n".join(reply.metric_lines))
    return parts


def encode_load_payload(msg: LoadMessage) -> bytes:
    return b"".join(encode_load_parts(msg))


def encode_inference_payload(msg: InferenceMessage | list[InferenceRequest]) -> bytes:
    return b"".join(encode_inference_parts(msg))


def encode_load_reply_payload(reply: LoadReply) -> bytes:
    return b"".join(encode_load_reply_parts(reply))


def encode_infer_reply_payload(reply: InferReply) -> bytes:
    return b"".join(encode_infer_reply_parts(reply))


def encode_load(msg: LoadMessage) -> bytes:
    return frame(*encode_load_parts(msg))


def encode_inference(msg: InferenceMessage | list[InferenceRequest]) -> bytes:
    return frame(*encode_inference_parts(msg))


def encode_load_reply(reply: LoadReply) -> bytes:
    return frame(*encode_load_reply_parts(reply))


def encode_infer_reply(reply: InferReply) -> bytes:
    return frame(*encode_infer_reply_parts(reply))


class FrameWriter:
    """Writes whole frames to a socket under a lock: streaming handlers may write from other threads."""

    def __init__(self, sock) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def write(self, *parts: bytes | bytearray) -> None:
        data = frame(*parts)
        with self._lock:
            self._sock.sendall(data)


# ---------------------------------------------------------------------------------------------
# Reading


class InMemorySocket:
    """Bytes already in memory, read through ``recv_into`` as ``FrameReader`` reads a socket."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._view = memoryview(data).cast("B")
        self._pos = 0

    def recv_into(self, buffer, nbytes: int = 0) -> int:
        n = min(nbytes or len(buffer), len(self._view) - self._pos)
        buffer[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n


class FrameReader:
    """Reads frames from a socket (anything with ``recv_into``), decoding while it receives.

    Why it decodes while receiving rather than buffering a whole frame first: a parameter value
    (a request body) is received straight into the bytearray the handler gets, so a 4 MB body
    costs the handler's 4 MB and no more. Everything else passes through one fixed staging buffer
    that usually holds a whole small frame after one receive; bytes past the current frame stay
    there for the next one.
    """

    def __init__(self, sock, max_frame: int = DEFAULT_MAX_FRAME, staging_bytes: int = STAGING_BYTES) -> None:
        self._sock = sock
        self.max_frame = max_frame
        self._staging = bytearray(staging_bytes)
        self._view = memoryview(self._staging)
        self._start = 0  # the first received byte not yet taken
        self._end = 0  # the end of the received bytes
        self._left = 0  # the bytes of the current payload not yet taken

    @property
    def buffered(self) -> int:
        """Bytes received but not yet taken."""
        return self._end - self._start

    def read_message(self) -> LoadMessage | InferenceMessage | None:
        """Blocks for the next front end → worker message; None at a clean end of file."""
        size = self._begin_frame()
        return None if size is None else self._read_to_worker(size)

    def read_payload(self) -> bytearray | None:
        """Blocks for the next payload, whole and undecoded; None at a clean end of file."""
        size = self._begin_frame()
        if size is None:
            return None
        self._left = size
        return self._bytearray(size)

    # -- frames and the staging buffer

    def _begin_frame(self) -> int | None:
        if self._start == self._end and self._receive() == 0:
            return None
        self._ensure(4)
        (n,) = _UINT.unpack_from(self._staging, self._start)
        self._start += 4
        if n == 0:
            raise ProtocolError("Empty frame")
        if n > self.max_frame:
            raise ProtocolError(f"Message size exceed limit: {n}")
        return n

    def _receive(self) -> int:
        """Receives more bytes after those held, moving those to the front of the staging buffer."""
        if self._start:
            held = self._end - self._start
            self._view[:held] = self._view[self._start : self._end]
            self._start, self._end = 0, held
        got = self._sock.recv_into(self._view[self._end :])
        self._end += got
        return got

    def _ensure(self, n: int) -> None:
        """Holds at least n (at most the staging size) received bytes."""
        while self._end - self._start < n:
            if self._receive() == 0:
                raise EOFError(f"End of file with {self._end - self._start} bytes of an unfinished frame")

    # -- fields of the current payload

    def _take(self, n: int) -> int:
        """Consumes n bytes of the payload, at most the staging size; returns where they start."""
        if n < 0:
            raise ProtocolError(f"Negative field length: {n}")
        if n > self._left:
            raise ProtocolError("Truncated message")
        self._ensure(n)
        at = self._start
        self._start += n
        self._left -= n
        return at

    def _byte(self) -> int:
        return self._staging[self._take(1)]

    def _int(self) -> int:
        at = self._start
        # The usual case inline (the frame's bytes are held): this runs for every field.
        if self._left >= 4 and self._end - at >= 4:
            self._start = at + 4
            self._left -= 4
            return _unpack_int(self._staging, at)[0]
        return _unpack_int(self._staging, self._take(4))[0]

    def _bytearray(self, n: int) -> bytearray:
        """n bytes of the payload in a bytearray of their own: copied from the staging buffer as far
        as it holds them, the rest received straight into the bytearray."""
        if n < 0:
            raise ProtocolError(f"Negative field length: {n}")
        if n > self._left:
            raise ProtocolError("Truncated message")
        at, held = self._start, self._end - self._start
        if n <= held:
            self._start += n
            self._left -= n
            return self._staging[at : at + n]
        out = bytearray(n)
        # Released before returning: a live export would stop the handler from resizing its input.
        with memoryview(out) as dest:
            dest[:held] = self._view[at : self._end]
            self._start = self._end = 0
            got = held
            while got < n:
                more = self._sock.recv_into(dest[got:])
                if more == 0:
                    raise EOFError(f"End of file {n - got} bytes before the end of a field")
                got += more
        self._left -= n
        return out

    def _text(self, n: int) -> str:
        at = self._start
        if 0 <= n <= self._left and self._end - at >= n:
            self._start = at + n
            self._left -= n
            raw = self._view[at : at + n]
        elif 0 <= n <= len(self._staging):
            at = self._take(n)
            raw = self._view[at : at + n]
        else:
            raw = self._bytearray(n)
        try:
            return str(raw, "utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(f"Invalid UTF-8 in string field: {e}") from None

    def _str(self) -> str:
        return self._text(self._int())

    def _end_of_payload(self) -> None:
        if self._left:
            raise ProtocolError(f"{self._left} trailing bytes after message")

    # -- messages

    def _read_to_worker(self, size: int) -> LoadMessage | InferenceMessage:
        self._left = size
        cmd = self._byte()
        if cmd == CMD_LOAD:
            s, i = self._str, self._int
            msg = LoadMessage(s(), s(), i(), s(), i(), s(), self._byte() != 0)
        elif cmd == CMD_INFER:
            msg = self._read_inference()
        else:
            raise ProtocolError(f"Unknown command byte 0x{cmd:02x}")
        self._end_of_payload()
        return msg

    def _read_inference(self) -> InferenceMessage:
        # Once per batch, with bound methods in locals: the fields of a small request are many.
        int_, text, value = self._int, self._text, self._bytearray
        requests = []
        while (n := int_()) != END:
            req = InferenceRequest(request_id=text(n))
            headers = req.headers
            while (n := int_()) != END:
                name = text(n)
                headers.append((name, text(int_())))
            params = req.parameters
            while (n := int_()) != END:
                name = text(n)
                content_type = text(int_())
                params.append(Parameter(name, content_type, value(int_())))
            requests.append(req)
        return InferenceMessage(requests)

    def _read_load_reply(self, size: int) -> LoadReply:
        self._left = size
        reply = LoadReply(self._int(), self._str())
        if self._int() != END:
            raise ProtocolError("Load reply carries predictions")
        self._end_of_payload()
        return reply

    def _read_infer_reply(self, size: int) -> InferReply:
        self._left = size
        int_, s = self._int, self._str
        reply = InferReply(int_(), s())
        while (n := int_()) != END:
            entry = ResponseEntry(request_id=self._text(n), content_type=s(), status=int_(), reason=s())
            count = int_()
            if count < 0:
                raise ProtocolError(f"Negative header count: {count}")
            entry.headers = [(s(), s()) for _ in range(count)]
            entry.body = self._bytearray(int_())
            reply.responses.append(entry)
        metrics = s()
        if metrics:
            reply.metric_lines = metrics.split("\n")
        self._end_of_payload()
        return reply


def _payload_reader(payload) -> tuple[FrameReader, int]:
    view = memoryview(payload).cast("B")
    return FrameReader(InMemorySocket(view)), len(view)


def decode_to_worker(payload: bytes | bytearray | memoryview) -> LoadMessage | InferenceMessage:
    """Decodes one front end → worker payload (without its length prefix)."""
    reader, size = _payload_reader(payload)
    return reader._read_to_worker(size)


def decode_load_reply(payload: bytes | bytearray | memoryview) -> LoadReply:
    reader, size = _payload_reader(payload)
    return reader._read_load_reply(size)


def decode_infer_reply(payload: bytes | bytearray | memoryview) -> InferReply:
    reader, size = _payload_reader(payload)
    return reader._read_infer_reply(size)

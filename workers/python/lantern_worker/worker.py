"""The worker process: handshake on stdout, then load and inference messages on fd 3."""
from __future__ import annotations

import json
import os
import platform
import signal
import socket
import sys
import threading
import time
import traceback
import uuid

from . import __version__, envelope
from .codec import (
    DEFAULT_MAX_FRAME,
    FrameReader,
    FrameWriter,
    InferenceMessage,
    LoadMessage,
    LoadReply,
    ProtocolError,
    encode_infer_reply_parts,
    encode_load_reply_parts,
)
from .context import Context, read_manifest, read_model_yaml_config
from .loader import load_entry_point
from .metrics import MetricsCache, defer_lines, flush_deferred_lines, take_deferred_lines


def seeded_metrics_cache(model_name: str) -> MetricsCache:
    """``context.metrics`` as TorchServe's worker makes it: seeded from the metrics configuration's
    ``model_metrics`` (the server passes them as LANTERN_MODEL_METRICS), with a fresh request id for
    what the handler reports while it loads."""
    section = None
    text = os.environ.get("LANTERN_MODEL_METRICS")
    if text:
        try:
            section = json.loads(text)
        except ValueError as e:
            print(f"Ignoring LANTERN_MODEL_METRICS: {e}", file=sys.stderr)
    cache = MetricsCache(model_name, config_file_path=os.environ.get("LANTERN_METRICS_CONFIG") or None, model_metrics=section)
    if section:
        try:
            cache.initialize_cache()
        except Exception as e:  # noqa: BLE001 — a bad section leaves the cache empty, not the worker dead
            print(f"Failed to initialize metrics from the metrics configuration: {e}", file=sys.stderr)
    cache.set_request_ids(str(uuid.uuid4()))
    return cache
from .service import Service, error_reply, map_exception

SOCKET_FD = 3


class Connection:
    """The worker's socket: one frame reader, one frame writer."""

    def __init__(self, sock: socket.socket, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.sock = sock
        self._reader = FrameReader(sock, max_frame)
        self._writer = FrameWriter(sock)

    def send(self, *parts: bytes | bytearray) -> None:
        """Sends one payload, given as its parts."""
        self._writer.write(*parts)

    def read_message(self) -> LoadMessage | InferenceMessage | None:
        """Blocks for the next message; None at a clean end of file."""
        return self._reader.read_message()


class LoadFailed(Exception):
    pass


def _describe_exception(e: BaseException) -> str:
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _apply_image_pixel_limit(limit: bool) -> None:
    if limit:
        return
    try:
        from PIL import Image  # type: ignore
    except Exception:  # noqa: BLE001 — Pillow is optional
        return
    Image.MAX_IMAGE_PIXELS = None


def load_model(msg: LoadMessage, connection: Connection | None) -> Service:
    """Builds the context and resolves/initializes the handler; raises on failure."""
    model_dir = msg.model_path
    manifest = read_manifest(model_dir)
    yaml_config = read_model_yaml_config(model_dir, manifest)
    gpu = msg.gpu_id if msg.gpu_id >= 0 else None
    context = Context(
        model_name=msg.model_name,
        model_dir=model_dir,
        manifest=manifest,
        batch_size=msg.batch_size,
        gpu=gpu,
        server_version=os.environ.get("LANTERN_SERVER_VERSION", __version__),
        limit_max_image_pixels=msg.limit_max_image_pixels,
        metrics=seeded_metrics_cache(msg.model_name),
        model_yaml_config=yaml_config,
    )
    if connection is not None:
        context.cl_socket = connection.sock
        context._connection = connection
    _apply_image_pixel_limit(msg.limit_max_image_pixels)
    if model_dir and model_dir not in sys.path:
        sys.path.insert(0, model_dir)
    entry = load_entry_point(msg.handler, context)
    if msg.envelope:
        entry = envelope.wrap(msg.envelope, entry)
    return Service(context, entry)


def serve(connection: Connection) -> int:
    """Runs the message loop; returns the process exit code."""
    service: Service | None = None
    while True:
        try:
            msg = connection.read_message()
        except EOFError as e:
            print(f"Front end connection closed mid-frame: {e}", file=sys.stderr)
            return 0
        except (ConnectionResetError, BrokenPipeError):
            return 0
        if msg is None:
            return 0
        if isinstance(msg, LoadMessage):
            if service is not None:
                connection.send(*encode_load_reply_parts(LoadReply(500, "A model is already loaded")))
                continue
            try:
                service = load_model(msg, connection)
            except MemoryError as e:
                traceback.print_exc(file=sys.stderr)
                connection.send(*encode_load_reply_parts(LoadReply(507, _describe_exception(e))))
                return 1
            except BaseException as e:  # noqa: BLE001 — includes SystemExit from handler code
                if isinstance(e, KeyboardInterrupt):
                    raise
                traceback.print_exc(file=sys.stderr)
                connection.send(*encode_load_reply_parts(LoadReply(500, _describe_exception(e))))
                return 1
            connection.send(*encode_load_reply_parts(LoadReply(200, f"loaded model {msg.model_name}")))
            print(f"Model {msg.model_name} loaded.", flush=True)
        elif isinstance(msg, InferenceMessage):
            # The batch's metric lines (PredictionTime, the handler's own) go with its reply.
            defer_lines()
            try:
                serve_batch(connection, service, msg)
            finally:
                flush_deferred_lines()


def serve_batch(connection: Connection, service: Service | None, msg: InferenceMessage) -> None:
    ids = [r.request_id for r in msg.requests]
    if service is None:
        reply = error_reply(503, "Model not loaded", ids)
    else:
        try:
            reply = service.predict(msg.requests)
        except Exception as e:  # noqa: BLE001 — handler code outside predict's own net (stopping
            # criteria, header values' __str__) fails its batch, not the worker and later batches
            traceback.print_exc(file=sys.stderr)
            reply = error_reply(*map_exception(e), ids)
    metric_lines = take_deferred_lines()
    reply.metric_lines = metric_lines
    try:
        parts = encode_infer_reply_parts(reply)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        failed = error_reply(503, f"Invalid response fields: {e}", ids)
        failed.metric_lines = metric_lines
        parts = encode_infer_reply_parts(failed)
    connection.send(*parts)


def _on_sigterm(signum, frame_) -> None:  # noqa: ARG001
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)


def _exit_when_orphaned(parent: int, interval_sec: float = 0.5) -> None:
    """Exits the process once the front end that started it is gone, even while a handler is busy
    (an idle worker already exits on end of file of its socket)."""

    def watch() -> None:
        while True:
            time.sleep(interval_sec)
            if os.getppid() != parent:
                # No last words: stdout and stderr were pipes to the front end and are broken now.
                os._exit(0)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def main() -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    _exit_when_orphaned(os.getppid())
    try:
        sock = socket.socket(fileno=SOCKET_FD)
    except OSError as e:
        print(f"No socket on fd {SOCKET_FD}: {e}", file=sys.stderr, flush=True)
        return 1
    max_frame = int(os.environ.get("LANTERN_MAX_FRAME_BYTES", DEFAULT_MAX_FRAME))
    connection = Connection(sock, max_frame)
    print(f"[PID]{os.getpid()}", flush=True)
    print("Torch worker started.", flush=True)
    print(f"Python runtime: {platform.python_version()}", flush=True)
    try:
        return serve(connection)
    except ProtocolError as e:
        print(f"Protocol error, closing: {e}", file=sys.stderr, flush=True)
        return 1
    except (BrokenPipeError, ConnectionResetError):
        print("Front end connection closed.", file=sys.stderr, flush=True)
        return 0
    finally:
        sys.stdout.flush()
        try:
            sock.close()
        except OSError:
            pass

"""Measures the Python worker's memory cost of receiving one request body (issue 20 item 5).

Sends one inference frame carrying a single request with a SIZE-byte ``application/octet-stream``
body over a socket pair, then takes the worker's own path from the socket to the handler's input:
``worker.Connection`` reads the frame, ``codec`` decodes it and ``service.prepare_batch`` builds the
``data`` list the handler is called with. tracemalloc's peak over that span is printed, with the
bytes still held once the handler's bytearray exists.

    cd workers/python && python3 tools/measure_body_copies.py [--size-mb 4] [--runs 5]

It runs against the worker of the checkout it sits in, so checking out an older commit and
running a copy of this file measures that commit the same way.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lantern_worker import codec  # noqa: E402
from lantern_worker.codec import InferenceMessage, InferenceRequest, Parameter  # noqa: E402
from lantern_worker.service import prepare_batch  # noqa: E402
from lantern_worker.worker import Connection  # noqa: E402


def read_one_message(connection: Connection):
    """The worker's receive path, whichever API the checkout has."""
    if hasattr(connection, "read_message"):
        return connection.read_message()
    return codec.decode_to_worker(connection.read_payload())


def measure_once(size_bytes: int) -> tuple[int, int]:
    body = os.urandom(size_bytes)
    request = InferenceRequest("req-1", [("content-type", "application/octet-stream")], [
        Parameter("body", "application/octet-stream", body)
    ])
    frame_bytes = codec.encode_inference(InferenceMessage([request]))
    front_end, worker_side = socket.socketpair()
    # The sender exists before tracing starts: it only passes an existing bytes object to sendall.
    sender = threading.Thread(target=front_end.sendall, args=(frame_bytes,))
    connection = Connection(worker_side)
    try:
        tracemalloc.start()
        sender.start()
        msg = read_one_message(connection)
        data, _ids, _processors = prepare_batch(msg.requests, decode=True)
        value = data[0]["body"]
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        sender.join()
        assert isinstance(value, bytearray), type(value)
        assert value == body
        return peak, current
    finally:
        front_end.close()
        worker_side.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=4.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    size = int(args.size_mb * 1024 * 1024)
    results = [measure_once(size) for _ in range(args.runs)]
    peaks = sorted(p for p, _ in results)
    held = sorted(c for _, c in results)
    mib = 1024 * 1024
    print(f"body {size} bytes ({size / mib:.2f} MiB), {args.runs} runs")
    print(f"peak traced bytes, socket to handler input: min {peaks[0]} max {peaks[-1]} "
          f"({peaks[0] / size:.2f}x to {peaks[-1] / size:.2f}x the body)")
    print(f"held when the handler's bytearray exists: min {held[0]} max {held[-1]} "
          f"({held[0] / size:.2f}x to {held[-1] / size:.2f}x the body)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

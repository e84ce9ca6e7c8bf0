"""The in-process ceiling of the `cnn` group: a built-in handler's preprocess, inference and
postprocess called in a loop, with no server, for `seconds`; prints one JSON line with the number
of requests answered and each batch's latency. The benchmark runs as many of these at once as the
servers have workers, with the same torch threads as their workers.

    python handler_ceiling.py MODEL_DIR HANDLER SERIALIZED_FILE MODEL_FILE|- INPUT BATCH SECONDS
"""
import json
import os
import sys
import time

from ts.torch_handler.unit_tests.test_utils.mock_context import MockContext


def main(model_dir, handler_name, serialized, model_file, input_file, batch, seconds):
    # As a worker does: the archive's folder is the working directory and on the import path (its model file).
    os.chdir(model_dir)
    sys.path.insert(0, model_dir)
    module = __import__(f"ts.torch_handler.{handler_name}", fromlist=["*"])
    handler_class = next(
        value for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__ and hasattr(value, "handle")
    )
    context = MockContext(model_pt_file=serialized, model_dir=model_dir, model_file=None if model_file == "-" else model_file, model_name="ceiling")
    handler = handler_class()
    handler.initialize(context)
    with open(input_file, "rb") as f:
        image = f.read()
    data = [{"body": bytearray(image)} for _ in range(batch)]
    # The first runs (allocations, lazy initialisation) are not the steady state the servers are measured in.
    for _ in range(3):
        handler.handle(data, context)
    latencies = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        handler.handle(data, context)
        latencies.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"requests": len(latencies) * batch, "batchMs": latencies}))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0], a[1], a[2], a[3], a[4], int(a[5]), float(a[6]))

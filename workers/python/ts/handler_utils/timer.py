"""``ts.handler_utils.timer.timed``: times a handler step when model-config.yaml asks for it.

With ``handler: {profile: true}`` in model-config.yaml, each decorated call records a gauge
``ts_handler_<method name>`` in milliseconds through ``context.metrics.add_time``, unrounded, as
TorchServe does. Without that setting the method runs untimed, so the decorator costs nothing on the
default path. On CUDA the time comes from CUDA events, because kernels run asynchronously and wall
time at return would miss them."""
from __future__ import annotations

import functools
import time

__all__ = ["timed"]


def _profiling_requested(context) -> bool:
    if not context:
        return False
    handler_config = (getattr(context, "model_yaml_config", None) or {}).get("handler")
    return isinstance(handler_config, dict) and bool(handler_config.get("profile"))


def _elapsed_ms(run):
    """Runs ``run()`` and returns (its result, milliseconds taken)."""
    import torch  # imported here: ts.handler_utils must import without torch

    if torch.cuda.is_available():
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        result = run()
        end.record()
        torch.cuda.synchronize()
        return result, start.elapsed_time(end)
    started = time.time()
    result = run()
    return result, (time.time() - started) * 1000


def timed(method):
    @functools.wraps(method)
    def timed_method(self, *args, **kwargs):
        context = getattr(self, "context", None)
        if not _profiling_requested(context):
            return method(self, *args, **kwargs)
        result, duration_ms = _elapsed_ms(lambda: method(self, *args, **kwargs))
        context.metrics.add_time("ts_handler_" + method.__name__, duration_ms)
        return result

    return timed_method

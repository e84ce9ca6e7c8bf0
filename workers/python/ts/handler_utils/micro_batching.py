"""``ts.handler_utils.micro_batching.MicroBatching``: splits a batch into micro-batches and runs them
through the handler's preprocess → inference → postprocess as a pipeline, each step on its own
threads, so that one micro-batch's preprocessing overlaps another's inference. Use it as the
handler's entry point: ``self.handle = MicroBatching(self, micro_batch_size=4)`` in ``__init__``.

One difference from TorchServe: a step that raises fails the call with that exception, where
TorchServe's pipeline thread dies and the batch never gets an answer."""
from __future__ import annotations

import copy
import os
import queue
import threading
import time
from dataclasses import dataclass

HANDLER_METHODS = ["preprocess", "inference", "postprocess"]
POLL_SECONDS = 0.5  # how often an idle pipeline thread checks whether it is told to stop


class _StepFailed:
    """Travels down the pipeline in place of a micro-batch whose step raised."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def execute_call(in_queue, out_queue, handle, thread_local_data, event):
    """One pipeline thread: applies ``handle`` to each (index, micro-batch) until ``event`` is set."""
    while not event.is_set():
        try:
            idx, in_data = in_queue.get(timeout=POLL_SECONDS)
        except queue.Empty:
            continue
        thread_local_data.micro_batch_idx = idx
        if isinstance(in_data, _StepFailed):
            out_queue.put((idx, in_data))
            continue
        try:
            out_queue.put((idx, handle(in_data)))
        except Exception as e:  # noqa: BLE001 — handed to the caller of handle()
            out_queue.put((idx, _StepFailed(e)))


@dataclass
class WorkerThread:
    event: threading.Event
    thread: threading.Thread


class MicroBatching:
    def __init__(self, parent_handler, micro_batch_size: int = 1, parallelism: dict | None = None):
        self.handler = parent_handler
        self.micro_batch_size = micro_batch_size
        self._parallelism = dict(parallelism) if parallelism is not None else {}
        self.thread_groups = {step: [] for step in HANDLER_METHODS}
        self.thread_local_data = threading.local()
        self.terminate = threading.Event()
        self.queues = self._linked_queues()
        self._update_threads()

    def __del__(self):
        self.shutdown()

    @property
    def parallelism(self) -> dict:
        """Threads per step (a copy; assign to change it). A step not named has one thread."""
        return copy.copy(self._parallelism)

    @parallelism.setter
    def parallelism(self, parallelism: dict):
        assert all(step in HANDLER_METHODS for step in parallelism)
        self._parallelism.update(parallelism)
        self._update_threads()

    def shutdown(self):
        """Stops and joins every pipeline thread."""
        for group in self.thread_groups.values():
            for worker in group:
                worker.event.set()
            for worker in group:
                worker.thread.join()
            group.clear()

    @staticmethod
    def _linked_queues() -> dict:
        """``<step>_in`` and ``<step>_out`` queues, each step's out being the next step's in."""
        queues = {}
        step_input = queue.Queue()
        for step in HANDLER_METHODS:
            queues[step + "_in"] = step_input
            step_input = queues[step + "_out"] = queue.Queue()
        return queues

    def _update_threads(self):
        for step in HANDLER_METHODS:
            wanted = self._parallelism.get(step, 1)
            assert wanted >= 0
            group = self.thread_groups[step]
            while len(group) < wanted:
                event = threading.Event()
                thread = threading.Thread(
                    target=execute_call,
                    args=(self.queues[step + "_in"], self.queues[step + "_out"], getattr(self.handler, step),
                          self.thread_local_data, event),
                    daemon=True,  # a handler that never calls shutdown must not keep the worker alive
                )
                thread.start()
                group.append(WorkerThread(event, thread))
            while len(group) > wanted:
                worker = group.pop()
                worker.event.set()
                worker.thread.join()

    def handle(self, data):
        """The handler's results for ``data``, computed micro-batch by micro-batch, in input order."""
        first_in = self.queues[HANDLER_METHODS[0] + "_in"]
        last_out = self.queues[HANDLER_METHODS[-1] + "_out"]
        starts = range(0, len(data), self.micro_batch_size)
        for idx, start in enumerate(starts):
            first_in.put_nowait((idx, data[start : start + self.micro_batch_size]))
        finished = sorted((last_out.get() for _ in starts), key=lambda done: done[0])
        for _, result in finished:
            if isinstance(result, _StepFailed):
                raise result.error
        return [item for _, result in finished for item in result]

    def get_micro_batch_idx(self):
        """The index of the micro-batch the calling pipeline thread is working on, else None."""
        return getattr(self.thread_local_data, "micro_batch_idx", None)

    def __call__(self, data, context):
        """The handler entry point: describe, explain and ENABLE_TORCH_PROFILER as BaseHandler.handle
        does, otherwise the pipeline. Records ``HandlerTime`` in ms."""
        start = time.time()
        self.handler.context = context
        if os.environ.get("ENABLE_TORCH_PROFILER"):
            output, _ = self.handler._infer_with_profiler(data=data)
        elif self.handler._is_describe():
            output = [self.handler.describe_handle()]
        elif self.handler._is_explain():
            output = self.handler.explain_handle(self.handler.preprocess(data), data)
        else:
            output = self.handle(data)
        context.metrics.add_time("HandlerTime", round((time.time() - start) * 1000, 2), None, "ms")
        return output

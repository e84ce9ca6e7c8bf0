"""``ts.torch_handler.unit_tests.test_utils.mock_context.MockContext``: a context for unit-testing a
handler's ``initialize`` and ``handle`` without a server, as TorchServe's handler tests do."""
from __future__ import annotations

import os

from lantern_worker.metrics import MetricsCache

from ....utils.util import get_yaml_config


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


class MockContext:
    def __init__(
        self,
        model_pt_file="model.pt",
        model_dir="ts/torch_handler/unit_tests/models/tmp",
        model_file="model.py",
        gpu_id="0",
        model_name="mnist",
        model_yaml_config_file=None,
    ):
        self.manifest = {"model": {}}
        if model_pt_file:
            self.manifest["model"]["serializedFile"] = model_pt_file
        if model_file:
            self.manifest["model"]["modelFile"] = model_file
        self.system_properties = {"model_dir": model_dir}
        if gpu_id and _cuda_available():
            self.system_properties["gpu_id"] = gpu_id
        self.explain = False
        self.metrics = MetricsCache(model_name)
        self.model_yaml_config = {}
        if model_yaml_config_file:
            self.model_yaml_config = get_yaml_config(os.path.join(model_dir, model_yaml_config_file))

    def get_request_header(self, idx, exp):
        """True only for a non-zero ``idx`` with ``explain`` set, as TorchServe's mock answers."""
        return bool(idx and exp and self.explain)

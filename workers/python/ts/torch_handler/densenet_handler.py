"""``ts.torch_handler.densenet_handler.DenseNetHandler``: a stand-alone handler (not a BaseHandler)
whose requests each carry a tensor saved with ``torch.save``. It stacks them, runs the model and
answers the whole batch's output tensor as the single element of its result, as TorchServe's does."""
from __future__ import annotations

import importlib
import io
import logging
import os
import time

import torch

from ..utils.util import list_classes_from_module  # noqa: F401 — TorchServe's module has this name

logger = logging.getLogger(__name__)


class DenseNetHandler:
    def __init__(self):
        self.model = None
        self.device = None
        self.initialized = False
        self.context = None
        self.manifest = None
        self.map_location = None

    def initialize(self, context):
        """Loads ``serializedFile``: into the class of ``modelFile`` when the archive has one,
        otherwise as TorchScript."""
        properties = context.system_properties
        gpu_id = properties.get("gpu_id")
        on_gpu = torch.cuda.is_available() and gpu_id is not None
        self.map_location = "cuda" if on_gpu else "cpu"
        self.device = torch.device(f"cuda:{gpu_id}" if on_gpu else "cpu")
        self.manifest = context.manifest
        model_dir = properties.get("model_dir")
        model_pt_path = os.path.join(model_dir, self.manifest["model"]["serializedFile"])
        if not os.path.isfile(model_pt_path):
            raise RuntimeError("Missing the model.pt file")
        model_file = self.manifest["model"].get("modelFile", "")
        if model_file:
            logger.debug("Loading eager model")
            self.model = self._load_pickled_model(model_dir, model_file, model_pt_path)
        else:
            logger.debug("Loading torchscript model")
            self.model = self._load_torchscript_model(model_pt_path)
        self.model.to(self.device)
        self.model.eval()
        logger.debug("Model file %s loaded successfully", model_pt_path)
        self.initialized = True

    def _load_torchscript_model(self, model_pt_path):
        return torch.jit.load(model_pt_path, map_location=self.map_location)

    def _load_pickled_model(self, model_dir, model_file, model_pt_path):
        if not os.path.isfile(os.path.join(model_dir, model_file)):
            raise RuntimeError("Missing the model.py file")
        module = importlib.import_module(model_file.split(".")[0])
        classes = list_classes_from_module(module)
        if len(classes) != 1:
            raise ValueError("Expected only one class as model definition. {}".format(classes))
        model = classes[0]()
        model.load_state_dict(torch.load(model_pt_path, map_location=self.map_location))
        return model

    def inference(self, data, *args, **kwargs):
        with torch.no_grad():
            return self.model(data.to(self.device), *args, **kwargs)

    def handle(self, data, context):
        start = time.time()
        self.context = context
        tensors = [torch.load(io.BytesIO(row.get("data") or row.get("body"))) for row in data]
        output = self.inference(torch.stack(tensors))
        context.metrics.add_time("HandlerTime", round((time.time() - start) * 1000, 2), None, "ms")
        return [output]

"""``ts.torch_handler.base_handler.BaseHandler``: the base class of TorchServe's default handlers and of
most custom ones (spec §8.5). Loads the archive's model on the best device, then runs
preprocess → inference → postprocess per batch, or answers describe and explain requests."""
from __future__ import annotations

import importlib
import logging
import os
import time

import torch

from ..handler_utils.timer import timed
from ..utils.util import check_valid_pt2_backend, list_classes_from_module, load_label_mapping

logger = logging.getLogger(__name__)

INDEX_TO_NAME = "index_to_name.json"
PROFILER_TRACE_ROOT = "/tmp/pytorch_profiler"


def _device_for(gpu_id) -> "torch.device":
    if gpu_id is not None and torch.cuda.is_available():
        return torch.device(f"cuda:{gpu_id}")
    xpu = getattr(torch, "xpu", None)
    if gpu_id is not None and xpu is not None and xpu.is_available():
        return torch.device(f"xpu:{gpu_id}")
    mps = getattr(torch.backends, "mps", None)
    if gpu_id is not None and mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _load_state_dict(path: str, device):
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except TypeError:  # torch without weights_only
        return torch.load(path, map_location=device)


class BaseHandler:
    """Override ``preprocess``, ``inference`` and ``postprocess`` (or ``handle``) as needed."""

    def __init__(self):
        self.model = None
        self.mapping = None
        self.device = None
        self.initialized = False
        self.context = None
        self.manifest = None
        self.map_location = None
        self.explain = False
        self.target = 0
        self.model_pt_path = None
        self.model_yaml_config = {}
        self.profiler_args = {}

    # -- loading -------------------------------------------------------------------------------

    def initialize(self, context):
        """Picks the device and loads ``serializedFile``: with ``modelFile`` an eager model (the one
        class in that file, state dict loaded into it), a ``.pt`` file as TorchScript, an ``.onnx``
        file with ONNX Runtime. Then reads ``index_to_name.json`` if the archive has one."""
        self.context = context
        properties = context.system_properties
        self.manifest = context.manifest or {}
        self.model_yaml_config = getattr(context, "model_yaml_config", None) or {}
        self.device = _device_for(properties.get("gpu_id"))
        self.map_location = self.device.type
        model_dir = properties.get("model_dir")
        model = self.manifest.get("model", {})

        serialized_file = model.get("serializedFile")
        self.model_pt_path = os.path.join(model_dir, serialized_file) if serialized_file else None
        model_file = model.get("modelFile", "")
        if model_file:
            logger.debug("Loading eager model")
            self.model = self._load_pickled_model(model_dir, model_file, self.model_pt_path)
            self.model.to(self.device)
            self.model.eval()
        elif self.model_pt_path is not None and self.model_pt_path.endswith(".onnx"):
            self.model = self._load_onnx_model(self.model_pt_path)
        elif self.model_pt_path is not None and self.model_pt_path.endswith(".pt"):
            self.model = self._load_torchscript_model(self.model_pt_path)
            self.model.eval()
        else:
            raise RuntimeError("No model weights could be loaded")
        self._maybe_compile()
        logger.debug("Model file %s loaded successfully", self.model_pt_path)
        self.mapping = load_label_mapping(os.path.join(model_dir, INDEX_TO_NAME))
        self.initialized = True

    def _load_torchscript_model(self, model_pt_path):
        return torch.jit.load(model_pt_path, map_location=self.device)

    def _load_pickled_model(self, model_dir, model_file, model_pt_path):
        """Instantiates the only class defined in ``model_file`` and loads the state dict into it."""
        model_def_path = os.path.join(model_dir, model_file)
        if not os.path.isfile(model_def_path):
            raise RuntimeError("Missing the model.py file")
        module = importlib.import_module(os.path.splitext(os.path.basename(model_file))[0])
        classes = list_classes_from_module(module)
        if len(classes) != 1:
            raise ValueError(
                "Expected only one class as model definition. {}".format([c.__name__ for c in classes])
            )
        model = classes[0]()
        if model_pt_path:
            model.load_state_dict(_load_state_dict(model_pt_path, self.device))
        return model

    def _load_onnx_model(self, path):
        import onnxruntime as ort  # optional: only ONNX archives need it

        providers = ["CPUExecutionProvider"]
        if self.device.type == "cuda":
            providers.insert(0, "CUDAExecutionProvider")
        return ort.InferenceSession(path, providers=providers)

    def _compile_options(self):
        """``torch.compile`` keyword arguments from model-config.yaml's ``pt2``, or None when the
        model is not to be compiled: ``pt2: {compile: {enable: true, ...}}``, or the older forms
        ``pt2: <backend>`` and ``pt2: {backend: ..., ...}``. A backend outside PT2Backend is not
        compiled (with a warning), and ``pt2: {export: ...}`` is not compiled here either."""
        pt2 = self.model_yaml_config.get("pt2")
        if pt2 is None:
            return None
        if isinstance(pt2, dict) and "compile" in pt2:
            options = dict(pt2["compile"])
            if options.pop("enable", False) is not True:
                return None
        elif isinstance(pt2, dict) and "export" in pt2:
            return None
        elif isinstance(pt2, (str, dict)):
            options = {"backend": pt2} if isinstance(pt2, str) else dict(pt2)
            logger.warning("pt2 given as a backend or as torch.compile arguments is deprecated; use pt2: {compile: {enable: true, ...}}")
        else:
            raise ValueError("pt2 should be str or dict")
        if "backend" in options and not check_valid_pt2_backend(options["backend"]):
            return None
        return options

    def _maybe_compile(self):
        options = self._compile_options()
        if options is None or not isinstance(self.model, torch.nn.Module):
            return
        compile_fn = getattr(torch, "compile", None)
        if compile_fn is None:
            logger.warning("pt2 is configured but this torch has no torch.compile; serving the model uncompiled")
            return
        try:
            self.model = compile_fn(self.model, **options)
            logger.info("Compiled model with %s", options)
        except Exception as e:  # noqa: BLE001 — an uncompiled model still serves
            logger.warning("Compiling the model with %s failed (%s); serving it uncompiled", options, e)

    def get_device(self):
        """The device the model was loaded on."""
        return self.device

    # -- per batch -----------------------------------------------------------------------------

    @timed
    def preprocess(self, data):
        """The batch as a tensor on the model's device (override for real inputs)."""
        return torch.as_tensor(data, device=self.device)

    @timed
    def inference(self, data, *args, **kwargs):
        with torch.inference_mode():
            return self.model(data.to(self.device), *args, **kwargs)

    @timed
    def postprocess(self, data):
        """A list with one element per request."""
        return data.tolist()

    def handle(self, data, context):
        """Describe request → ``[describe_handle()]``; explain request → ``explain_handle``; else
        preprocess → inference → postprocess. With ENABLE_TORCH_PROFILER set, the steps run under
        the PyTorch profiler instead. Records ``HandlerTime`` in ms."""
        start = time.time()
        self.context = context
        metrics = context.metrics
        if os.environ.get("ENABLE_TORCH_PROFILER"):
            if self.manifest is None:
                self.manifest = context.manifest  # the trace directory is named after the model
            output, _ = self._infer_with_profiler(data=data)
        elif self._is_describe():
            output = [self.describe_handle()]
        else:
            data_preprocess = self.preprocess(data)
            if not self._is_explain():
                output = self.postprocess(self.inference(data_preprocess))
            else:
                output = self.explain_handle(data_preprocess, data)
        metrics.add_time("HandlerTime", round((time.time() - start) * 1000, 2), None, "ms")
        return output

    def _infer_with_profiler(self, data):
        """Runs preprocess, inference (or explain) and postprocess under ``torch.profiler``, each as
        a recorded function, and returns (output, profiler). Unless ``self.profiler_args`` says
        otherwise it profiles CPU and CUDA with shapes and writes a TensorBoard trace to
        /tmp/pytorch_profiler/<model name>."""
        from torch.profiler import ProfilerActivity, profile, record_function

        if not self.profiler_args:
            self.profiler_args["activities"] = [ProfilerActivity.CPU, ProfilerActivity.CUDA]
            self.profiler_args["record_shapes"] = True
        if "on_trace_ready" not in self.profiler_args:
            model_name = ((self.manifest or {}).get("model") or {}).get("modelName", "")
            trace_dir = os.path.join(PROFILER_TRACE_ROOT, model_name)
            self.profiler_args["on_trace_ready"] = torch.profiler.tensorboard_trace_handler(trace_dir)
            logger.info("Saving chrome trace to : %s", trace_dir)
        with profile(**self.profiler_args) as prof:
            with record_function("preprocess"):
                data_preprocess = self.preprocess(data)
            if not self._is_explain():
                with record_function("inference"):
                    output = self.inference(data_preprocess)
                with record_function("postprocess"):
                    output = self.postprocess(output)
            else:
                with record_function("explain"):
                    output = self.explain_handle(data_preprocess, data)
        logger.info(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
        return output, prof

    # -- describe and explain ------------------------------------------------------------------

    def _header_is_true(self, name) -> bool:
        if self.context is None:
            return False
        try:
            return self.context.get_request_header(0, name) == "True"
        except (IndexError, KeyError, TypeError):
            return False

    def _is_describe(self) -> bool:
        return self._header_is_true("describe")

    def _is_explain(self) -> bool:
        if self._header_is_true("explain"):
            self.explain = True
            return True
        return False

    def describe_handle(self):
        """Customized metadata for ``GET /models/{name}?customized=true``; None unless overridden."""
        logger.info("Collect customized metadata")
        return None

    def explain_handle(self, data_preprocess, raw_data):
        """Calls ``get_insights`` with the first request's ``data`` (or ``body``) and ``target``."""
        inputs, target = None, 0
        row = raw_data[0] if raw_data else None
        if isinstance(row, dict):
            inputs = row.get("data") or row.get("body")
            target = row.get("target") or 0
        return self.get_insights(data_preprocess, inputs, target)

    def get_insights(self, tensor_data, raw_data, target):
        raise NotImplementedError("This handler does not implement get_insights (explanations)")

"""A TorchServe-style handler for a one-input ONNX model on ONNX Runtime's Python API: each
request's body is the raw float32 bytes of one sample; the batch runs as one tensor and each
request gets its output as a JSON list. The benchmark serves the same archive with TorchServe
and with Lantern's Python worker, so that only the servers differ.

Threads and spinning come from model-config.yaml, as for Lantern's built-in onnx handler:
    onnx:
      intraOpNumThreads: 2
      allowSpinning: false
"""
import os

import numpy as np
import onnxruntime as ort


class OnnxRawHandler:
    def __init__(self):
        self.session = None
        self.input_name = None
        self.sample_shape = None

    def initialize(self, context):
        properties = context.system_properties
        model_file = context.manifest["model"]["serializedFile"]
        settings = (getattr(context, "model_yaml_config", None) or {}).get("onnx", {})
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(settings.get("intraOpNumThreads", 0))
        options.inter_op_num_threads = int(settings.get("interOpNumThreads", 0))
        if "allowSpinning" in settings:
            options.add_session_config_entry("session.intra_op.allow_spinning", "1" if settings["allowSpinning"] else "0")
        self.session = ort.InferenceSession(
            os.path.join(properties["model_dir"], model_file), options, providers=["CPUExecutionProvider"]
        )
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        self.sample_shape = list(model_input.shape[1:])

    def handle(self, data, context):
        if data is None:
            return None
        samples = []
        for row in data:
            body = row.get("body") if row.get("body") is not None else row.get("data")
            samples.append(np.frombuffer(body, dtype=np.float32).reshape(self.sample_shape))
        (outputs,) = self.session.run(None, {self.input_name: np.stack(samples)})
        return [output.tolist() for output in outputs]

"""``ts.utils.util``: class-label mapping, module inspection, torch.compile backend names, a
deprecation decorator and the exception that picks a batch's error code. Standard library only;
torch is not needed here."""
from __future__ import annotations

import enum
import functools
import inspect
import itertools
import json
import logging
import os
import re
import warnings

from lantern_worker.exceptions import PredictionException  # noqa: F401 — re-exported by name

logger = logging.getLogger(__name__)

__all__ = [
    "CLEANUP_REGEX",
    "PT2Backend",
    "PredictionException",
    "check_valid_pt2_backend",
    "deprecated",
    "list_classes_from_module",
    "load_label_mapping",
    "map_class_to_label",
    "get_yaml_config",
]


class PT2Backend(str, enum.Enum):
    """The ``torch.compile`` backends model-config.yaml's ``pt2`` may name."""

    EAGER = "eager"
    AOT_EAGER = "aot_eager"
    INDUCTOR = "inductor"
    NVFUSER = "nvfuser"
    AOT_NVFUSER = "aot_nvfuser"
    AOT_CUDAGRAPHS = "aot_cudagraphs"
    OFI = "ofi"
    FX2TRT = "fx2trt"
    ONNXRT = "onnxrt"
    IPEX = "ipex"
    TORCHXLA_TRACE_ONCE = "torchxla_trace_once"
    OPENVINO = "openvino"
    TENSORRT = "tensorrt"
    HPU_BACKEND = "hpu_backend"


# What text handlers strip before tokenizing: HTML tags and character entities (&amp; &#39; &#x27;).
CLEANUP_REGEX = re.compile("<.*?>|&([a-z0-9]+|#[0-9]{1,6}|#x[0-9a-f]{1,6});")


def check_valid_pt2_backend(backend: str) -> bool:
    """True when ``backend`` is one of PT2Backend's values; otherwise logs a warning."""
    if backend in {member.value for member in PT2Backend}:
        return True
    logger.warning(f"{backend} is not a supported backend")
    return False


def deprecated(version, replacement="", klass=PendingDeprecationWarning):
    """Marks a function as deprecated: each call warns (category ``klass``) that it goes away in
    ``version`` in favour of ``replacement``, pointing at the caller's line."""

    def decorate(func):
        @functools.wraps(func)
        def warn_then_call(*args, **kwargs):
            warnings.warn(f"{func.__name__} is deprecated in {version} and moved to {replacement}", klass, stacklevel=2)
            return func(*args, **kwargs)

        return warn_then_call

    return decorate


def list_classes_from_module(module, parent_class=None) -> list:
    """The classes defined in ``module`` itself (imported ones do not count), optionally only the
    subclasses of ``parent_class``."""
    found = [
        member
        for _, member in inspect.getmembers(module, inspect.isclass)
        if member.__module__ == module.__name__
    ]
    if parent_class is not None:
        found = [cls for cls in found if issubclass(cls, parent_class)]
    return found


def load_label_mapping(mapping_file_path):
    """Reads an ``index_to_name.json`` mapping (``{"0": "cat"}``; a list value stands for its last
    element, as in ImageNet's ``["n01440764", "tench"]``; older detection examples give
    ``{"object_type_names": [...]}``, numbered from 0). A missing file gives None."""
    if not os.path.isfile(mapping_file_path):
        logger.warning(f"{mapping_file_path!r} is missing. Inference output will not include class name.")
        return None
    with open(mapping_file_path, encoding="utf-8") as f:
        mapping = json.load(f)
    if not isinstance(mapping, dict):
        raise Exception('index->name JSON mapping should be in "class": "label" format.')
    names = mapping.get("object_type_names")
    if isinstance(names, list):
        return {str(index): name for index, name in enumerate(names)}
    for key in list(mapping):
        label = mapping[key]
        if isinstance(label, list):
            label = label[-1]
        if not isinstance(label, str):
            raise Exception("labels in index->name mapping must be either str or List[str]")
        mapping[key] = label
    return mapping


def map_class_to_label(probs, mapping=None, lbl_classes=None) -> list:
    """Turns per-row probabilities into ``[{label: probability}, ...]``. ``lbl_classes`` gives each
    row's class indexes (default 0..n-1); labels come from ``mapping`` or are the index as a string."""
    if not isinstance(probs, list) or not all(isinstance(row, list) for row in probs):
        raise Exception("Convert classes to list before doing mapping")
    if mapping is not None and not isinstance(mapping, dict):
        raise Exception("Mapping must be a dict")
    if lbl_classes is None:
        lbl_classes = itertools.repeat(range(len(probs[0]) if probs else 0), len(probs))

    def label(index) -> str:
        return mapping[str(index)] if mapping is not None else str(index)

    return [
        {label(index): prob for index, prob in zip(classes, row)}
        for classes, row in zip(lbl_classes, probs)
    ]


def get_yaml_config(yaml_file_path) -> dict:
    """Reads a YAML file into a dict (needs PyYAML, as in TorchServe)."""
    import yaml  # imported here: only handlers that call this need PyYAML

    with open(yaml_file_path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}

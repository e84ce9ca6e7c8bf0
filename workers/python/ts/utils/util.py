"""``ts.utils.util``: class-label mapping, module inspection and the exception that picks a batch's
error code. Standard library only; torch is not needed here."""
from __future__ import annotations

import inspect
import itertools
import json
import logging
import os

from lantern_worker.exceptions import PredictionException  # noqa: F401 — re-exported by name

logger = logging.getLogger(__name__)

__all__ = [
    "PredictionException",
    "list_classes_from_module",
    "load_label_mapping",
    "map_class_to_label",
    "get_yaml_config",
]


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
    element, as in ImageNet's ``["n01440764", "tench"]``). A missing file gives None."""
    if not os.path.isfile(mapping_file_path):
        logger.warning("Missing the index_to_name.json file. Inference output will not include class name.")
        return None
    with open(mapping_file_path, encoding="utf-8") as f:
        mapping = json.load(f)
    if not isinstance(mapping, dict):
        raise Exception('index -> name JSON mapping should be in "class": "label" format.')
    for key in list(mapping):
        label = mapping[key]
        if isinstance(label, list):
            label = label[-1]
        if not isinstance(label, str):
            raise Exception("labels in index-> name mapping must be either str or List[str]")
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

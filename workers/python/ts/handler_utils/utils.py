"""``ts.handler_utils.utils``: helpers handlers import by name."""
from __future__ import annotations

import importlib

from lantern_worker.streaming import send_intermediate_predict_response  # noqa: F401

__all__ = ["import_class", "send_intermediate_predict_response"]


def import_class(class_name: str, module_prefix=None):
    """The class named by ``class_name`` ("pkg.module.Class"; a bare "Class" needs ``module_prefix``),
    looked up in ``module_prefix.pkg.module``, or in ``module_prefix`` itself for a bare name."""
    if not class_name:
        raise ImportError("class name is not defined")
    module_name, _, bare_name = class_name.rpartition(".")
    if module_prefix:
        module = importlib.import_module(f"{module_prefix}.{module_name}" if module_name else module_prefix)
    elif module_name:
        module = importlib.import_module(module_name)
    else:
        raise ImportError("module name is not defined.")
    found = getattr(module, bare_name, None)
    if found is None:
        raise ImportError(f"class:{bare_name} not found in module:{module_name}.")
    return found

"""Handler resolution (spec §8.1): ``module[:function]`` → an entry point ``fn(data, context)``."""
from __future__ import annotations

import importlib
import inspect

BUILTIN_PACKAGES = ("lantern_worker.builtin", "ts.torch_handler")


def parse_handler(handler: str) -> tuple[str, str]:
    """Splits a handler string into (module name, function name)."""
    if not handler:
        raise ValueError("No handler given")
    module_part, sep, function = handler.rpartition(":")
    if not sep:
        module_part, function = handler, ""
    if module_part.endswith(".py"):
        module_part = module_part[: -len(".py")]
    module_part = module_part.rsplit("/", 1)[-1]
    if not module_part:
        raise ValueError(f"Invalid handler: {handler!r}")
    return module_part, function or "handle"


def _is_missing(err: ImportError, name: str) -> bool:
    """True when ``err`` says ``name`` itself (or one of its parent packages) does not exist."""
    missing = getattr(err, "name", None)
    if missing is None:
        return True
    return name == missing or name.startswith(missing + ".")


def import_handler_module(name: str):
    """Imports the handler module; falls back to the built-in packages when it does not exist.
    An ImportError raised from inside an existing module is not masked."""
    try:
        return importlib.import_module(name)
    except ImportError as first:
        if not _is_missing(first, name):
            raise
        for package in BUILTIN_PACKAGES:
            candidate = f"{package}.{name}"
            try:
                return importlib.import_module(candidate)
            except ImportError as e:
                if not _is_missing(e, candidate):
                    raise
        raise first


def classes_defined_in(module) -> list[type]:
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__
    ]


def load_entry_point(handler: str, context):
    """Resolves the handler, runs its initialization with ``context`` and returns the callable
    invoked per batch as ``entry(data, context)``."""
    module_name, function_name = parse_handler(handler)
    module = import_handler_module(module_name)
    if hasattr(module, function_name):
        entry = getattr(module, function_name)
        if not callable(entry):
            raise ValueError(f"{module_name}.{function_name} is not callable")
        entry(None, context)
        return entry
    classes = classes_defined_in(module)
    if len(classes) != 1:
        raise ValueError(
            f"Expected only one class as model definition in handler module {module_name} "
            f"(no function named {function_name}); found {len(classes)}: {[c.__name__ for c in classes]}"
        )
    service = classes[0]()
    entry = getattr(service, function_name, None)
    if entry is None or not callable(entry):
        raise ValueError(f"Expect {function_name} method in class {classes[0].__name__}")
    initialize = getattr(service, "initialize", None)
    if callable(initialize):
        initialize(context)
    return entry

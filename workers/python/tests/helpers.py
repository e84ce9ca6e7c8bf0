import importlib
import sys
import textwrap

from lantern_worker.context import Context


def make_context(model_dir="/tmp/none", batch_size=2, name="m"):
    return Context(model_name=name, model_dir=model_dir, manifest=None, batch_size=batch_size, gpu=None)


def write_module(directory, name, source):
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return path

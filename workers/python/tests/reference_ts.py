"""Runs one script twice, against Lantern's ``ts`` (Debian's /usr/bin/python3 with workers/python on
the path) and against TorchServe 0.12.0's own ``ts`` (the venv bench/setup-torchserve.sh makes), so a
test can compare the two outputs byte for byte.

TorchServe's vision and text handlers import captum at module level, only for explanations, and the
venv has no captum; the reference run gets an inert stand-in so those modules import. Lantern's
handlers import captum only when it is there, so the Lantern run gets no stand-in."""
from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

WORKERS_PYTHON = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(os.path.dirname(WORKERS_PYTHON))
TORCH_PYTHON = "/usr/bin/python3"
REFERENCE_PYTHON = os.path.join(REPO_ROOT, "bench", ".cache", "torchserve", "bin", "python")

CAPTUM_STAND_IN = '''
class _Inert:
    def __init__(self, *args, **kwargs):
        pass

IntegratedGradients = LayerIntegratedGradients = TokenReferenceBase = _Inert
'''


def _interpreters_or_skip() -> None:
    if not os.access(TORCH_PYTHON, os.X_OK):
        pytest.skip("needs Debian's /usr/bin/python3 with python3-torch")
    if not os.access(REFERENCE_PYTHON, os.X_OK):
        pytest.skip("needs TorchServe 0.12.0 (bench/setup-torchserve.sh)")


def _captum_stand_in(directory) -> str:
    package = directory / "captum_stand_in" / "captum"
    (package / "attr").mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "attr" / "__init__.py").write_text(CAPTUM_STAND_IN)
    return str(package.parent)


def _run(python, script_path, args, env, cwd) -> str:
    done = subprocess.run(
        [python, str(script_path), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{python} failed:\n{done.stderr[-4000:]}"
    return done.stdout


def run_lantern_and_reference(tmp_path, script: str, args=()) -> tuple[str, str]:
    """(Lantern's stdout, TorchServe's stdout) for ``script`` run from its own file in ``tmp_path``
    (TorchScript compiles from source, so it must be a file). Each run gets its own working
    directory under ``tmp_path``, given as the first argument, for the files it makes."""
    _interpreters_or_skip()
    script_path = tmp_path / "compare.py"
    script_path.write_text(textwrap.dedent(script))
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    base_env["OMP_NUM_THREADS"] = "1"  # same thread count, so float reductions round alike
    outputs = []
    for name, python, path in (
        ("lantern", TORCH_PYTHON, WORKERS_PYTHON),
        ("reference", REFERENCE_PYTHON, _captum_stand_in(tmp_path)),
    ):
        work = tmp_path / name
        work.mkdir(exist_ok=True)
        env = dict(base_env, PYTHONPATH=path)
        outputs.append(_run(python, script_path, [str(work), *args], env, str(work)))
    return outputs[0], outputs[1]

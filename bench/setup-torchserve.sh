#!/usr/bin/env bash
# Installs TorchServe, for the benchmark's side-by-side rows (the `torchserve` group of
# bench/run.mjs) and the conformance suite (src/e2e/conformance.e2e.test.ts), into
# bench/.cache/torchserve: a virtual environment of Debian's Python that also sees Debian's
# python3-torch (TorchServe's worker imports torch), with onnxruntime for the resnet18 handler both
# servers run, and captum, which TorchServe's vision handlers import (the `cnn` rows and the
# conformance suite run them). TorchServe's front end needs Java 11 or later on the PATH.
#   bash bench/setup-torchserve.sh        (about 60 MB from PyPI; does nothing when already there)
set -euo pipefail
cd "$(dirname "$0")"
venv=.cache/torchserve
python=${LANTERN_BENCH_TORCH_PYTHON:-/usr/bin/python3}
# captum without its dependencies: they would bring a NumPy 2 that Debian's torch cannot load; it
# needs matplotlib, which Debian's python3-matplotlib gives (scripts/test-setup installs it).
install_captum() {
  "$python" -c 'import matplotlib' || { echo "setup-torchserve: $python cannot import matplotlib (apt-get install python3-matplotlib)" >&2; exit 1; }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps captum==0.7.0
}
if [ -x "$venv/bin/torchserve" ] && "$venv/bin/python" -c 'import ts, onnxruntime' 2>/dev/null; then
  "$venv/bin/python" -c 'import captum.attr' 2>/dev/null || install_captum
  exit 0
fi
"$python" -c 'import torch' || { echo "setup-torchserve: $python cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
command -v java >/dev/null || { echo "setup-torchserve: TorchServe needs java (Java 11 or later) on the PATH" >&2; exit 1; }
rm -rf "$venv"
"$python" -m venv --system-site-packages "$venv"
# onnxruntime at the version of onnxruntime-node in package-lock.json: the same engine on both sides.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check torchserve==0.12.0 onnxruntime==1.30.0
install_captum
"$venv/bin/python" -c 'import ts, onnxruntime, captum.attr'
echo "TorchServe installed in bench/$venv"

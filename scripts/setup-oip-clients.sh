#!/usr/bin/env bash
# Installs the Open Inference and KServe clients the e2e tests drive (src/e2e/oip-clients.e2e.test.ts)
# into bench/.cache/oip-clients: a virtual environment of their own, since their protobuf and grpcio
# pins conflict with the grpcio-tools the gRPC tests use. LANTERN_OIP_CLIENTS names another folder.
#   bash scripts/setup-oip-clients.sh        (about 500 MB from PyPI; does nothing when already there)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LANTERN_OIP_CLIENTS:-bench/.cache/oip-clients}
python=/usr/bin/python3
# The two SDKs register the same protobuf names, so they are checked (and used) in separate processes.
if "$venv/bin/python" -c 'import tritonclient.http, tritonclient.grpc' 2>/dev/null && "$venv/bin/python" -c 'import kserve' 2>/dev/null; then
  exit 0
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'tritonclient[http,grpc]==2.73.0' 'kserve==0.21.0'
"$venv/bin/python" -c 'import tritonclient.http, tritonclient.grpc'
"$venv/bin/python" -c 'import kserve'
echo "Open Inference clients installed in $venv"

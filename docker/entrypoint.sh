#!/bin/sh
# The image's entry point, with TorchServe's image conventions:
#   serve [lantern flags]   Lantern in the foreground with /home/model-server/config.properties
#                           (it is PID 1's only child: SIGTERM reaches it and drains)
#   anything else           run as given; `torchserve ...` (bin/torchserve, on the PATH) runs
#                           Lantern in the foreground with those flags: `--start` does not detach
set -eu
if [ "${1:-}" = serve ]; then
  shift
  # Generated keys (key_file.json) go to the working directory: the writable temp volume.
  cd "${TEMP:-/home/model-server/tmp}"
  exec lantern --foreground --ts-config /home/model-server/config.properties "$@"
fi
exec "$@"

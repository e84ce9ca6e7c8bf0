"""TorchServe's public Python names, implemented by Lantern, so that handlers written for TorchServe
run unchanged in Lantern's worker without TorchServe installed."""

from lantern_worker import __version__  # noqa: F401

"""Lantern's Python worker: runs TorchServe-style handlers behind Lantern's front end."""

__version__ = "0.1.0"

from .exceptions import PredictionException  # noqa: E402

__all__ = ["PredictionException", "__version__"]

"""``ts.handler_utils.utils``: helpers handlers import by name."""

from lantern_worker.streaming import send_intermediate_predict_response  # noqa: F401

__all__ = ["send_intermediate_predict_response"]

"""``ts.protocol.otf_message_handler``: older handlers import the streaming helper from here."""

from lantern_worker.streaming import send_intermediate_predict_response  # noqa: F401

__all__ = ["send_intermediate_predict_response"]

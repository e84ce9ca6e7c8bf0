"""Intermediate replies for streaming handlers (spec §2.6, §8.7)."""
from __future__ import annotations

from .codec import InferReply, encode_infer_reply_parts
from .service import STREAM_HEADER, encode_body, response_entry


def send_intermediate_predict_response(ret_list, request_id_map, message, code, context) -> None:
    """Sends one complete inference reply for the requests in ``request_id_map`` ({idx: request id})
    with ``ts_stream_next: true``; the handler's final return value closes those streams."""
    connection = getattr(context, "_connection", None)
    if connection is None:
        raise RuntimeError("send_intermediate_predict_response needs a context with a worker connection")
    entries = []
    for idx, request_id in request_id_map.items():
        context.set_response_header(idx, STREAM_HEADER, "true")
        entries.append(response_entry(context, idx, request_id, encode_body(ret_list[idx])))
        context._streamed.add(idx)
    connection.send(*encode_infer_reply_parts(InferReply(int(code), str(message), entries)))

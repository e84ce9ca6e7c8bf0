"""``ts.handler_utils.hf_batch_streamer.TextIteratorStreamerBatch``: streams the text a Hugging Face
``generate`` call produces for a batch, one ``TextIteratorStreamer`` per row; each step yields
``[{"text": ...}, ...]``, one per row, until any row ends. Needs ``transformers``."""
from __future__ import annotations

try:
    from transformers.generation.streamers import BaseStreamer, TextIteratorStreamer
except ImportError as e:
    raise ImportError(
        "ts.handler_utils.hf_batch_streamer needs transformers (pip install transformers)", name="transformers"
    ) from e


class TextIteratorStreamerBatch(BaseStreamer):
    def __init__(self, tokenizer, batch_size: int, skip_prompt: bool = False, timeout=None, **decode_kwargs):
        self.batch_size = batch_size
        self.streamers = [
            TextIteratorStreamer(tokenizer, skip_prompt, timeout, **decode_kwargs) for _ in range(batch_size)
        ]
        self.streamer_iterators = [iter(streamer) for streamer in self.streamers]

    def put(self, value):
        if value.shape[0] != self.batch_size:
            raise ValueError(
                f"TextIteratorStreamerBatch batch size is set to {self.batch_size} but got input tensor of shape {value.shape}"
            )
        for row, streamer in enumerate(self.streamers):
            streamer.put(value[row : row + 1])

    def end(self):
        for streamer in self.streamers:
            streamer.end()

    def __iter__(self):
        return self

    def __next__(self):
        texts = [next(iterator, None) for iterator in self.streamer_iterators]
        if None in texts:  # the batch ends with its first finished row (every row still advanced)
            raise StopIteration()
        return [{"text": text} for text in texts]

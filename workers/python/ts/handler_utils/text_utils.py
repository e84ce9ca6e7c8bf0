"""``ts.handler_utils.text_utils``: torchtext's ``get_tokenizer`` ("basic_english" or whitespace) and
``ngrams_iterator``, so that text handlers need no torchtext to tokenize."""
from __future__ import annotations

import re

__all__ = ["get_tokenizer", "ngrams_iterator"]


def ngrams_iterator(token_list, ngrams):
    """Yields the tokens, then every run of 2, 3, ... ``ngrams`` consecutive tokens joined by a space:
    ``['here', 'we', 'are']``, 2 → here, we, are, here we, we are."""
    yield from token_list
    for n in range(2, ngrams + 1):
        for run in zip(*(token_list[start:] for start in range(n))):
            yield " ".join(run)


# torchtext's basic_english rules, applied in this order to lower-cased text.
_BASIC_ENGLISH_RULES = [
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\'", " '  "),
        (r"\"", ""),
        (r"\.", " . "),
        (r"<br \/>", " "),
        (r",", " , "),
        (r"\(", " ( "),
        (r"\)", " ) "),
        (r"\!", " ! "),
        (r"\?", " ? "),
        (r"\;", " "),
        (r"\:", " "),
        (r"\s+", " "),
    )
]


def _basic_english_normalize(line):
    line = line.lower()
    for pattern, replacement in _BASIC_ENGLISH_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


def _split_tokenizer(line):
    return line.split()


def get_tokenizer(tokenizer, language="en"):
    """``None`` → split on whitespace; ``"basic_english"`` → lower-case, space out punctuation, split.
    Any other name gives None, as in TorchServe (which dropped torchtext's other tokenizers)."""
    if tokenizer is None:
        return _split_tokenizer
    if tokenizer == "basic_english":
        if language != "en":
            raise ValueError("Basic normalization is only available for Enlish(en)")
        return _basic_english_normalize
    return None

"""``ts.torch_handler.text_handler.TextHandler``: the base of text handlers. Loads the archive's
source vocabulary (``source_vocab.pt``, or the manifest's older ``sourceVocab``) next to the model
and offers the clean-up steps text classifiers apply before tokenizing: HTML tags, contractions,
accents, punctuation."""
from __future__ import annotations

import logging
import os
import re
import string
import unicodedata
from abc import ABC

import torch
import torch.nn.functional as F

from ..handler_utils.text_utils import get_tokenizer
from ..utils.util import CLEANUP_REGEX
from .base_handler import BaseHandler
from .contractions import CONTRACTION_MAP

logger = logging.getLogger(__name__)

# Keys in CONTRACTION_MAP's order: at one position the first key that matches wins.
CONTRACTIONS_PATTERN = re.compile("({})".format("|".join(CONTRACTION_MAP)), flags=re.IGNORECASE | re.DOTALL)
SOURCE_VOCAB = "source_vocab.pt"


def implicit_softmax_dim(tensor) -> int:
    """The dimension ``F.softmax`` picks when given none (TorchServe's text handlers give none)."""
    return 0 if tensor.dim() in (0, 1, 3) else 1


class TextHandler(BaseHandler, ABC):
    def __init__(self):
        super().__init__()
        self.source_vocab = None
        self.tokenizer = get_tokenizer("basic_english")
        self.input_text = None
        self.lig = None
        self.initialized = None

    def initialize(self, context):
        super().initialize(context)
        self.initialized = False
        source_vocab = self.manifest["model"].get("sourceVocab")
        # sourceVocab is the pre-0.2 manifest field, a path relative to the worker's directory
        self.source_vocab = torch.load(source_vocab or self.get_source_vocab_path(context))
        self.lig = self._layer_integrated_gradients()
        self.initialized = True

    def _layer_integrated_gradients(self):
        try:
            from captum.attr import LayerIntegratedGradients  # optional: only explanations need it
        except ImportError:
            return None
        return LayerIntegratedGradients(self.model, self.model.embedding)

    def get_source_vocab_path(self, ctx):
        path = os.path.join(ctx.system_properties.get("model_dir"), SOURCE_VOCAB)
        if not os.path.isfile(path):
            raise Exception(
                "Missing the source_vocab file. Refer default handler documentation for details on using text_handler."
            )
        return path

    def _expand_contractions(self, text):
        """Expands contractions (keeping the first letter's case), then drops every apostrophe."""

        def expansion(match):
            found = match.group(0)
            expanded = CONTRACTION_MAP.get(found) or CONTRACTION_MAP.get(found.lower())
            return found[0] + expanded[1:]

        return re.sub("'", "", CONTRACTIONS_PATTERN.sub(expansion, text))

    def _remove_accented_characters(self, text):
        return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("utf-8", "ignore")

    def _remove_html_tags(self, text):
        return CLEANUP_REGEX.sub("", text)

    def _remove_puncutation(self, *args, **kwargs):
        """The misspelled name TorchServe's early handlers call."""
        return self._remove_punctuation(*args, **kwargs)

    def _remove_punctuation(self, text):
        return text.translate(str.maketrans("", "", string.punctuation))

    def _tokenize(self, text):
        return self.tokenizer(text)

    def get_word_token(self, input_tokens):
        """The tokens without the "Ġ" that byte-level BPE tokenizers put for a leading space."""
        return [token.replace("Ġ", "") for token in input_tokens]

    def summarize_attributions(self, attributions):
        attributions = F.softmax(attributions, dim=implicit_softmax_dim(attributions))
        attributions_sum = attributions.sum(dim=-1)
        logger.info("attributions sum shape %s", attributions_sum.shape)
        return attributions / torch.norm(attributions_sum)

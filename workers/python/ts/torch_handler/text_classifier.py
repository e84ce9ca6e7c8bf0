"""``ts.torch_handler.text_classifier.TextClassifier``: classifies one text with an
``nn.EmbeddingBag``-style model called as ``model(token_ids, offsets)``. The text is cleaned (HTML
tags, lower case, contractions, accents, punctuation), tokenized as torchtext's basic_english, and
its tokens and bigrams are looked up in the source vocabulary. Only the first request of a batch is
read, as in TorchServe; the answer is the softmax over classes, labelled by ``index_to_name.json``."""
from __future__ import annotations

import logging

import torch
import torch.nn.functional as F

from ..handler_utils.text_utils import ngrams_iterator
from ..utils.util import map_class_to_label
from .text_handler import TextHandler, implicit_softmax_dim

logger = logging.getLogger(__name__)


class TextClassifier(TextHandler):
    ngrams = 2

    def preprocess(self, data):
        """(tensor of vocabulary ids of the tokens and their n-grams, the tokens)."""
        row = data[0]
        text = row.get("data") or row.get("body")
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8")
        text = self._remove_html_tags(text).lower()
        text = self._remove_punctuation(self._remove_accented_characters(self._expand_contractions(text)))
        tokens = self._tokenize(text)
        ids = [self.source_vocab[token] for token in ngrams_iterator(tokens, self.ngrams)]
        return torch.as_tensor(ids, device=self.device), tokens

    def inference(self, data, *args, **kwargs):
        text_tensor, _ = data
        offsets = torch.as_tensor([0], device=self.device)  # the whole tensor is one bag
        return super().inference(text_tensor, offsets)

    def postprocess(self, data):
        probabilities = F.softmax(data, dim=implicit_softmax_dim(data))
        return map_class_to_label(probabilities.tolist(), self.mapping)

    def get_insights(self, text_preprocess, _, target=0):
        """``[{"importances": [...], "words": [...]}]``: each token's attribution (captum's layer
        integrated gradients on the embedding) for class ``target``."""
        from captum.attr import TokenReferenceBase  # optional: only explanations need it

        if self.lig is None:
            raise RuntimeError("Explanations need captum (pip install captum)")
        text_tensor, tokens = text_preprocess
        logger.info("get_insights target %s", target)
        offsets = torch.tensor([0]).to(self.device)
        reference = TokenReferenceBase().generate_reference(text_tensor.shape[0], device=self.device).squeeze(0)
        attributions = self.lig.attribute(
            text_tensor, reference, additional_forward_args=(offsets), return_convergence_delta=False, target=target
        )
        importances = self.summarize_attributions(attributions)
        return [{"importances": importances.tolist(), "words": self.get_word_token(tokens)}]

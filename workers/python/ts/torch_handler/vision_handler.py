"""``ts.torch_handler.vision_handler.VisionHandler``: the base of image handlers. Each request's
``data`` (or ``body``) is an encoded image (bytes, or base64 text) that is decoded with Pillow and
passed through ``self.image_processing``, or a nested list taken as the image tensor itself."""
from __future__ import annotations

import base64
import io
from abc import ABC

import torch
from PIL import Image

from ..handler_utils.timer import timed
from .base_handler import BaseHandler


class VisionHandler(BaseHandler, ABC):
    image_processing = None  # a callable PIL image → tensor; subclasses set it

    def initialize(self, context):
        super().initialize(context)
        if not context.system_properties.get("limit_max_image_pixels"):
            Image.MAX_IMAGE_PIXELS = None
        self.ig = None
        try:
            from captum.attr import IntegratedGradients  # optional: only explanations need it

            self.ig = IntegratedGradients(self.model)
        except Exception:  # noqa: BLE001 — captum is optional
            self.ig = None
        self.initialized = True

    @timed
    def preprocess(self, data):
        images = []
        for row in data:
            image = row.get("data") or row.get("body")
            if isinstance(image, str):
                image = base64.b64decode(image)
            if isinstance(image, (bytes, bytearray)):
                image = self.image_processing(Image.open(io.BytesIO(image)))
            else:
                image = torch.FloatTensor(image)
            images.append(image)
        return torch.stack(images).to(self.device)

    def get_insights(self, tensor_data, _, target=0):
        if self.ig is None:
            raise RuntimeError("Explanations need captum (pip install captum)")
        return self.ig.attribute(tensor_data, target=target, n_steps=15).tolist()

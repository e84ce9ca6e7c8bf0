"""``ts.torch_handler.image_segmenter.ImageSegmenter``: semantic segmentation (torchvision's FCN and
DeepLab style models, whose output is a dict with ``out`` of shape [N, K, H, W]). Images are prepared
as for ImageNet classification; the answer per image is, for every pixel, ``[class, probability]`` of
its most likely class, because all K probabilities per pixel would make replies of tens of MB."""
from __future__ import annotations

import torch
from torchvision import transforms

from .image_classifier import IMAGENET_MEAN, IMAGENET_STD
from .vision_handler import VisionHandler


class ImageSegmenter(VisionHandler):
    image_processing = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
        ]
    )

    def postprocess(self, data):
        probabilities = torch.nn.functional.softmax(data["out"], dim=1)
        best = torch.max(probabilities, dim=1)
        # [N, H, W, 2]: the class index as a float beside its probability
        return torch.stack([best.indices.type(best.values.dtype), best.values], dim=3).tolist()

"""``ts.torch_handler.image_classifier.ImageClassifier``: ImageNet-style classification. The image is
resized to 256, center-cropped to 224 and normalized with ImageNet's mean and deviation; the answer
per image is the top 5 classes with their softmax probabilities, labelled with ``index_to_name.json``."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision import transforms

from ..handler_utils.timer import timed
from ..utils.util import map_class_to_label
from .vision_handler import VisionHandler

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class ImageClassifier(VisionHandler):
    topk = 5
    image_processing = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
        ]
    )

    def set_max_result_classes(self, topk):
        self.topk = topk

    def get_max_result_classes(self):
        return self.topk

    @timed
    def postprocess(self, data):
        probabilities = F.softmax(data, dim=1)
        probs, classes = torch.topk(probabilities, self.topk, dim=1)
        return map_class_to_label(probs.tolist(), self.mapping, classes.tolist())

"""``ts.torch_handler.object_detector.ObjectDetector``: torchvision detection models (Faster R-CNN,
RetinaNet, ...), which take a list of image tensors and return per image a dict of ``boxes``,
``labels`` and ``scores``. The answer per image is a list of ``{label: [x1, y1, x2, y2], "score": s}``
for the detections scoring at least ``threshold``, labels named by ``index_to_name.json``."""
from __future__ import annotations

from torchvision import transforms

from ..utils.util import map_class_to_label
from .vision_handler import VisionHandler


class ObjectDetector(VisionHandler):
    image_processing = transforms.Compose([transforms.ToTensor()])
    threshold = 0.5

    def postprocess(self, data):
        return [self._detections_of(image) for image in data]

    def _detections_of(self, image) -> list:
        kept = image["scores"] >= self.threshold
        boxes, labels, scores = (image[key][kept].tolist() for key in ("boxes", "labels", "scores"))
        detections = []
        for box, label, score in zip(boxes, labels, scores):
            detection = map_class_to_label([[box]], self.mapping, [[label]])[0]
            detection["score"] = score
            detections.append(detection)
        return detections

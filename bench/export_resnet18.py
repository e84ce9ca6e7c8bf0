"""Exports torchvision's resnet18 (random weights: the benchmark times it, it does not classify)
to ONNX with a free batch axis. Run with a Python that has torch and torchvision
(Debian's python3-torch / python3-torchvision: /usr/bin/python3).

    /usr/bin/python3 bench/export_resnet18.py bench/.cache/resnet18.onnx
"""
import os
import sys

import torch
import torchvision


def main(out: str) -> None:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1000)
    model.eval()
    sample = torch.randn(1, 3, 224, 224)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    partial = out + ".part"
    with torch.no_grad():
        torch.onnx.export(
            model,
            sample,
            partial,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
            opset_version=13,
        )
    os.replace(partial, out)  # never leave a half-written model where the benchmark looks
    print(f"exported resnet18 to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".cache", "resnet18.onnx"))

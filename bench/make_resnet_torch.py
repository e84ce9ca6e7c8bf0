"""Makes what the benchmark's `cnn` group serves: torchvision's resnet18 with seeded random weights
(the benchmark times it, it does not classify) as an eager model (model.py + state dict) and as
TorchScript (traced), and a 224x224 JPEG to post. Run with a Python that has torch, torchvision and
Pillow (Debian's python3-torch / python3-torchvision: /usr/bin/python3).

    /usr/bin/python3 bench/make_resnet_torch.py OUT_DIR

Writes OUT_DIR/{model.py, resnet18.pth, resnet18.pt, index_to_name.json, input.jpg}.
"""
import io
import json
import os
import sys

import torch
import torchvision
from PIL import Image

# The eager model's file, as torch-model-archiver's --model-file expects: one class that builds the
# architecture; the handler loads the state dict into it.
MODEL_FILE = '''from torchvision.models.resnet import BasicBlock, ResNet


class ResNet18(ResNet):
    def __init__(self):
        super().__init__(BasicBlock, [2, 2, 2, 2])
'''


def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1000)
    model.eval()
    with open(os.path.join(out, "model.py"), "w") as f:
        f.write(MODEL_FILE)
    torch.save(model.state_dict(), os.path.join(out, "resnet18.pth"))
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.randn(1, 3, 224, 224))
    traced.save(os.path.join(out, "resnet18.pt"))
    with open(os.path.join(out, "index_to_name.json"), "w") as f:
        json.dump({str(i): f"class_{i}" for i in range(1000)}, f)
    # A photo-like input: smooth colour gradients with noise, so that JPEG decoding costs what it does for a photo.
    generator = torch.Generator().manual_seed(1)
    ramp = torch.linspace(0, 1, 224)
    pixels = torch.stack([ramp.unsqueeze(0).expand(224, 224), ramp.unsqueeze(1).expand(224, 224), (ramp.unsqueeze(0) + ramp.unsqueeze(1)) / 2])
    pixels = (pixels + 0.15 * torch.rand(3, 224, 224, generator=generator)).clamp(0, 1)
    image = Image.fromarray((pixels.permute(1, 2, 0) * 255).to(torch.uint8).numpy())
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    with open(os.path.join(out, "input.jpg"), "wb") as f:
        f.write(buffer.getvalue())


if __name__ == "__main__":
    main(sys.argv[1])

"""The built-in handlers TorchServe names (image_segmenter, object_detector, densenet_handler,
text_classifier), each run in-process on the same tiny seeded model and inputs by Lantern's ``ts``
(loaded by name, as ``--handler image_segmenter`` is) and by TorchServe 0.12.0's, outputs compared
byte for byte. The models are small stand-ins with the output shapes of torchvision's segmentation
and detection models and of an EmbeddingBag text classifier, so the handlers' own code is what
runs; real torchvision architectures would only add minutes."""
import json

from reference_ts import run_lantern_and_reference

HANDLERS_SCRIPT = r'''
import base64, collections, io, json, os, sys
import torch
from PIL import Image

work = sys.argv[1]
sys.path.insert(0, work)  # handlers import an archive's modelFile from the model directory
torch.manual_seed(0)
torch.set_num_threads(1)

MODELS = {
    "seg_net.py": """
import torch
class SegNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=8)
    def forward(self, x):
        return {"out": self.conv(x), "aux": x.mean()}
""",
    "detect_net.py": """
import torch
class DetectNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(3, 12)
    def forward(self, images):
        found = []
        for image in images:
            raw = self.head(image.mean(dim=(1, 2)))
            found.append({
                "boxes": raw[:8].reshape(2, 4).abs() * 100,
                "labels": torch.tensor([1, 2]),
                "scores": torch.stack([torch.sigmoid(raw[8]), 1 - torch.sigmoid(raw[9])]),
            })
        return found
""",
    "bag_net.py": """
import torch
class BagNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.EmbeddingBag(40, 8, mode="mean")
        self.fc = torch.nn.Linear(8, 3)
    def forward(self, text, offsets):
        return self.fc(self.embedding(text, offsets))
""",
}
for name, source in MODELS.items():
    with open(os.path.join(work, name), "w") as f:
        f.write(source)

from seg_net import SegNet
from detect_net import DetectNet
from bag_net import BagNet

for cls, weights in ((SegNet, "seg.pth"), (DetectNet, "detect.pth"), (BagNet, "bag.pth")):
    torch.save(cls().state_dict(), os.path.join(work, weights))

class Double(torch.nn.Module):
    def forward(self, x):
        return x * 2 + 1
torch.jit.script(Double()).save(os.path.join(work, "double.pt"))

words = "the movie was not good it is great i would do fun bad".split()
vocab = collections.defaultdict(int, {w: i + 1 for i, w in enumerate(words)})
vocab.update({a + " " + b: 20 + i for i, (a, b) in enumerate(zip(words, words[1:]))})
torch.save(vocab, os.path.join(work, "source_vocab.pt"))
with open(os.path.join(work, "index_to_name.json"), "w") as f:
    json.dump({"0": "negative", "1": "neutral", "2": "positive"}, f)

class Metrics:
    def add_time(self, *args, **kwargs):
        pass

class Context:
    def __init__(self, serialized_file, model_file):
        self.system_properties = {"model_dir": work, "gpu_id": None, "batch_size": 2, "limit_max_image_pixels": True}
        self.manifest = {"model": {"modelName": "m", "serializedFile": serialized_file}}
        if model_file:
            self.manifest["model"]["modelFile"] = model_file
        self.model_yaml_config = {}
        self.metrics = Metrics()
    def get_request_header(self, idx, key):
        return None

def load(handler_name, context):
    """By name through Lantern's loader; TorchServe's module directly (its worker does the same)."""
    try:
        from lantern_worker.loader import load_entry_point
    except ImportError:
        import importlib
        from ts.utils.util import list_classes_from_module
        module = importlib.import_module("ts.torch_handler." + handler_name)
        handler = list_classes_from_module(module)[0]()
        handler.initialize(context)
        return handler.handle
    return load_entry_point(handler_name, context)

def image(width, height, shift):
    picture = Image.new("RGB", (width, height))
    picture.putdata([((x * 7 + shift) % 256, (y * 5) % 256, (x * y + shift) % 256) for y in range(height) for x in range(width)])
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()

out = {}
first, second = image(300, 260, 0), image(240, 320, 90)
third = image(300, 260, 90)  # detection stacks a batch's images unresized, so they must match

ctx = Context("seg.pth", "seg_net.py")
handle = load("image_segmenter", ctx)
out["image_segmenter"] = [type(handle.__self__).__module__, handle([{"data": first}, {"body": base64.b64encode(second).decode()}], ctx)]

ctx = Context("detect.pth", "detect_net.py")
handle = load("object_detector", ctx)
for threshold in (0.5, 0.0):
    handle.__self__.threshold = threshold
    out["object_detector_%s" % threshold] = [type(handle.__self__).__module__, handle([{"data": first}, {"body": bytearray(third)}], ctx)]

ctx = Context("double.pt", None)
handle = load("densenet_handler", ctx)
rows = []
for values in ([1.0, 2.0], [3.5, -1.0]):
    buffer = io.BytesIO()
    torch.save(torch.tensor(values), buffer)
    rows.append({"data": buffer.getvalue()})
result = handle(rows, ctx)
out["densenet_handler"] = [type(handle.__self__).__module__, len(result), result[0].tolist()]

ctx = Context("bag.pth", "bag_net.py")
handle = load("text_classifier", ctx)
texts = [
    "The movie <b>wasn't</b> good &amp; it's NOT fun!",
    "I'd say: caf\u00e9 movie was great, wouldn't you?".encode("utf-8"),
    "Y'ALL can't've done it; o'clock",
]
out["text_classifier"] = [type(handle.__self__).__module__] + [handle([{"data": t}], ctx) for t in texts]
out["text_classifier_tokens"] = [handle.__self__.preprocess([{"body": t}])[1] for t in texts]
from ts.torch_handler.text_handler import CONTRACTIONS_PATTERN
from ts.torch_handler.contractions import CONTRACTION_MAP
out["contractions"] = [len(CONTRACTION_MAP), CONTRACTIONS_PATTERN.pattern, CONTRACTIONS_PATTERN.flags]
from ts.handler_utils.text_utils import get_tokenizer, ngrams_iterator
out["text_utils"] = [
    get_tokenizer("basic_english")('He said: "Hi!" (twice), <br />then; left... ok?'),
    get_tokenizer(None)("  a  b\tc "),
    get_tokenizer("spacy"),
    list(ngrams_iterator(["here", "we", "are", "now"], 3)),
]
print(json.dumps(out, indent=1))
'''


def test_builtin_handlers_match_torchserve(tmp_path):
    lantern, reference = run_lantern_and_reference(tmp_path, HANDLERS_SCRIPT)
    assert lantern == reference
    results = json.loads(lantern)
    assert results["image_segmenter"][0] == "ts.torch_handler.image_segmenter"
    assert len(results["image_segmenter"][1][0]) == 28  # 224 / 8 pixels a side, [class, probability] each
    kept, all_found = results["object_detector_0.5"][1][0], results["object_detector_0.0"][1][0]
    assert 0 < len(kept) < len(all_found), "the threshold case filtered nothing"
    assert results["densenet_handler"][2] == [[3.0, 5.0], [8.0, -1.0]]
    assert set(results["text_classifier"][1][0]) == {"negative", "neutral", "positive"}

"""Tests for the bundled Iris example (examples/iris, examples/model-store/iris).

Standard library + pytest only. The handler is loaded straight from the
model-store directory and driven with a minimal fake TorchServe context.
"""

import csv
import filecmp
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
EXAMPLE_DIR = os.path.join(ROOT, "examples", "iris")
MODEL_DIR = os.path.join(ROOT, "examples", "model-store", "iris")
CSV_PATH = os.path.join(EXAMPLE_DIR, "data", "iris.csv")
WEIGHTS_PATH = os.path.join(MODEL_DIR, "iris_weights.json")

CLASSES = ["setosa", "versicolor", "virginica"]
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


class FakeContext:
    """The parts of TorchServe's Context that the handler uses."""

    def __init__(self, model_dir, headers=None):
        self.system_properties = {"model_dir": model_dir, "gpu_id": None, "batch_size": 1}
        with open(os.path.join(model_dir, "MAR-INF", "MANIFEST.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        self._headers = headers or {}

    def get_request_header(self, idx, key):
        return self._headers.get(idx, {}).get(key)


def load_handler_module():
    spec = importlib.util.spec_from_file_location("iris_handler_under_test", os.path.join(MODEL_DIR, "iris_handler.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_handler(headers=None):
    module = load_handler_module()
    classes = [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module.__name__]
    # TorchServe picks the single class defined in a handler module.
    assert len(classes) == 1, classes
    handler = classes[0]()
    ctx = FakeContext(MODEL_DIR, headers)
    handler.initialize(ctx)
    return handler, ctx


def read_csv():
    with open(CSV_PATH, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [([float(v) for v in line[:4]], int(line[4])) for line in reader if line]
    return header, rows


@pytest.fixture(scope="module")
def handler_ctx():
    return make_handler()


def predict_one(handler, ctx, body):
    out = handler.handle([{"body": body}], ctx)
    assert isinstance(out, list) and len(out) == 1
    return out[0]


def top(probs):
    return next(iter(probs))


def test_files_and_manifest():
    header, rows = read_csv()
    assert header == ["150", "4"] + CLASSES
    assert len(rows) == 150
    assert sorted({y for _, y in rows}) == [0, 1, 2]
    with open(os.path.join(MODEL_DIR, "MAR-INF", "MANIFEST.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["runtime"] == "python"
    assert manifest["model"] == {
        "modelName": "iris",
        "serializedFile": "iris_weights.json",
        "handler": "iris_handler.py",
        "modelVersion": "1.0",
    }
    with open(WEIGHTS_PATH, encoding="utf-8") as f:
        weights = json.load(f)
    assert weights["classes"] == CLASSES
    assert weights["features"] == FEATURES
    assert len(weights["test_indices"]) == 30


def test_held_out_accuracy(handler_ctx):
    handler, ctx = handler_ctx
    _, rows = read_csv()
    with open(WEIGHTS_PATH, encoding="utf-8") as f:
        test_indices = json.load(f)["test_indices"]
    assert len(set(test_indices)) == 30
    # Stratified: 10 held-out rows per class.
    assert sorted(sum(1 for i in test_indices if rows[i][1] == c) for c in range(3)) == [10, 10, 10]
    held_out = [rows[i] for i in test_indices]
    out = handler.handle([{"body": [x for x, _ in held_out]}], ctx)[0]
    assert len(out) == 30
    hits = sum(top(p) == CLASSES[y] for p, (_, y) in zip(out, held_out))
    assert hits / len(held_out) >= 0.9
    # All 150 rows, for good measure.
    everything = handler.handle([{"body": [x for x, _ in rows]}], ctx)[0]
    assert sum(top(p) == CLASSES[y] for p, (_, y) in zip(everything, rows)) / 150 >= 0.9


def test_dict_input(handler_ctx):
    handler, ctx = handler_ctx
    out = predict_one(handler, ctx, {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2})
    assert isinstance(out, dict)
    assert set(out) == set(CLASSES)
    assert top(out) == "setosa"
    values = list(out.values())
    assert values == sorted(values, reverse=True)
    assert abs(sum(values) - 1) < 1e-3
    assert all(round(v, 4) == v for v in values)


def test_list_input_and_same_answer_as_dict(handler_ctx):
    handler, ctx = handler_ctx
    as_list = predict_one(handler, ctx, [5.1, 3.5, 1.4, 0.2])
    as_dict = predict_one(handler, ctx, dict(zip(FEATURES, [5.1, 3.5, 1.4, 0.2])))
    assert as_list == as_dict
    assert top(predict_one(handler, ctx, [6.4, 3.2, 4.5, 1.5])) == "versicolor"
    assert top(predict_one(handler, ctx, [6.3, 3.3, 6.0, 2.5])) == "virginica"
    # Integers are numbers too.
    assert top(predict_one(handler, ctx, [7, 3, 6, 2])) == "virginica"


def test_list_of_rows(handler_ctx):
    handler, ctx = handler_ctx
    out = predict_one(
        handler,
        ctx,
        [[5.1, 3.5, 1.4, 0.2], dict(zip(FEATURES, [6.4, 3.2, 4.5, 1.5])), [6.3, 3.3, 6.0, 2.5]],
    )
    assert isinstance(out, list)
    assert [top(p) for p in out] == CLASSES
    single = predict_one(handler, ctx, [[5.1, 3.5, 1.4, 0.2]])
    assert isinstance(single, list) and len(single) == 1


@pytest.mark.parametrize(
    "wrap",
    [
        lambda v: {"body": v},
        lambda v: {"body": json.dumps(v)},
        lambda v: {"body": json.dumps(v).encode()},
        lambda v: {"body": bytearray(json.dumps(v).encode())},
        lambda v: {"data": json.dumps(v).encode()},
        lambda v: {"data": json.dumps(v)},
    ],
    ids=["decoded", "str", "bytes", "bytearray", "form-bytes", "form-str"],
)
def test_encodings(handler_ctx, wrap):
    handler, ctx = handler_ctx
    expected = predict_one(handler, ctx, [6.4, 3.2, 4.5, 1.5])
    row = dict(zip(FEATURES, [6.4, 3.2, 4.5, 1.5]))
    assert handler.handle([wrap(row)], ctx) == [expected]
    assert handler.handle([wrap([6.4, 3.2, 4.5, 1.5])], ctx) == [expected]
    assert handler.handle([wrap([[6.4, 3.2, 4.5, 1.5]])], ctx) == [[expected]]


def test_batch_of_requests(handler_ctx):
    handler, ctx = handler_ctx
    data = [
        {"body": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}},
        {"body": b"[6.4, 3.2, 4.5, 1.5]"},
        {"body": bytearray(b'[[6.3, 3.3, 6.0, 2.5], [4.9, 3.0, 1.4, 0.2]]')},
        {"data": "[5.9, 3.0, 5.1, 1.8]"},
    ]
    out = handler.handle(data, ctx)
    assert len(out) == 4
    assert top(out[0]) == "setosa"
    assert top(out[1]) == "versicolor"
    assert [top(p) for p in out[2]] == ["virginica", "setosa"]
    assert top(out[3]) == "virginica"
    # Same answers one by one.
    for request, answer in zip(data, out):
        assert handler.handle([request], ctx) == [answer]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4}, "petal_width"),
        ({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2, "x": 1}, "unknown x"),
        ({"a": 1, "b": 2, "c": 3, "d": 4}, "sepal_length"),
        ([5.1, 3.5, 1.4], "expected 4"),
        ([5.1, 3.5, 1.4, 0.2, 9.9], "expected 4"),
        ([], "expected 4"),
        ([5.1, "3.5", 1.4, 0.2], "must be a number"),
        ([5.1, None, 1.4, 0.2], "must be a number"),
        ([5.1, True, 1.4, 0.2], "must be a number"),
        ({"sepal_length": "x", "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}, "must be a number"),
        ([[5.1, 3.5, 1.4, 0.2], [1, 2]], "row 1"),
        ([[5.1, 3.5, 1.4, 0.2], 7], "row 1 must be an object or a list"),
        ('"setosa"', "must be an object or a list"),
        ("setosa", "not valid JSON"),
        (42, "must be an object or a list"),
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "UTF-8"),
        ("[1, 2, NaN, 4]", "finite"),
    ],
)
def test_bad_input_raises(handler_ctx, body, fragment):
    handler, ctx = handler_ctx
    with pytest.raises(Exception) as info:
        handler.handle([{"body": body}], ctx)
    message = str(info.value)
    assert fragment in message
    assert "expected" in message


def test_missing_body_raises(handler_ctx):
    handler, ctx = handler_ctx
    with pytest.raises(Exception, match="no body"):
        handler.handle([{}], ctx)


def test_describe():
    handler, ctx = make_handler(headers={0: {"describe": "True"}})
    out = handler.handle([{"body": b""}], ctx)
    assert isinstance(out, list) and len(out) == 1
    desc = out[0]
    assert desc["dataset"] == "iris"
    assert desc["classes"] == CLASSES
    assert desc["features"] == FEATURES
    assert desc["test_accuracy"] >= 0.9
    json.dumps(out)  # serialisable


def test_handle_initialises_lazily():
    module = load_handler_module()
    handler = module.IrisHandler()
    ctx = FakeContext(MODEL_DIR)
    assert top(handler.handle([{"body": [5.1, 3.5, 1.4, 0.2]}], ctx)[0]) == "setosa"


def test_train_is_reproducible(tmp_path):
    # Rebuild the example layout in a temp directory, without the weights file.
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLE_DIR, work / "iris", ignore=shutil.ignore_patterns("__pycache__"))
    store = work / "model-store" / "iris"
    store.mkdir(parents=True)
    out = store / "iris_weights.json"
    subprocess.run(
        [sys.executable, str(work / "iris" / "train.py")],
        check=True,
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
    )
    assert out.exists()
    assert filecmp.cmp(str(out), WEIGHTS_PATH, shallow=False), "retrained weights differ from the committed file"

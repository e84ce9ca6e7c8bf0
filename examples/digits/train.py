#!/usr/bin/env python3
"""Train the bundled handwritten-digits model and write it as ONNX.

A small multilayer perceptron (64 -> 32 ReLU -> 10 softmax) trained with NumPy on
scikit-learn's copy of the UCI optical handwritten digits data (8x8 images, pixels
0..16). The graph takes raw pixels (the /16 scaling is part of it) and returns class
probabilities. Everything is seeded, so a re-run with the pinned NumPy writes the same
weights.

Held-out rule (also used by the server test, src/e2e/digits-example.e2e.test.ts): the
rows whose index is a multiple of 5 are held out, the others are trained on.

Usage (needs numpy and onnx: pip install -r examples/digits/requirements.txt):
    python3 examples/digits/train.py             # writes examples/model-store/digits/digits.onnx
    python3 examples/digits/train.py --out FILE  # writes FILE instead
"""

import argparse
import gzip
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "data", "digits.csv.gz")
DEFAULT_OUT = os.path.join(HERE, "..", "model-store", "digits", "digits.onnx")

SEED = 1998  # the year the data set was donated
HIDDEN = 32
EPOCHS = 80
BATCH = 32
LEARNING_RATE = 0.005
L2 = 1e-4
HOLD_OUT_EVERY = 5
OPSET = 13
IR_VERSION = 8  # readable by every ONNX Runtime since 1.10


def load(path):
    """(pixels float64 [n, 64], labels int64 [n]) from scikit-learn's digits.csv.gz:
    one image per line, 64 pixel values then the digit."""
    with gzip.open(path, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return rows[:, :64].astype(np.float64), rows[:, 64]


def split(n):
    held_out = np.arange(n) % HOLD_OUT_EVERY == 0
    return ~held_out, held_out


def forward(params, x):
    w1, b1, w2, b2 = params
    h = np.maximum(x @ w1 + b1, 0.0)
    logits = h @ w2 + b2
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return h, p / p.sum(axis=1, keepdims=True)


def train(x, y):
    rng = np.random.default_rng(SEED)
    params = [
        rng.normal(0.0, np.sqrt(2.0 / 64), (64, HIDDEN)),
        np.zeros(HIDDEN),
        rng.normal(0.0, np.sqrt(2.0 / HIDDEN), (HIDDEN, 10)),
        np.zeros(10),
    ]
    # Adam
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    onehot = np.eye(10)[y]
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            idx = order[start : start + BATCH]
            xb, tb = x[idx], onehot[idx]
            h, p = forward(params, xb)
            d_logits = (p - tb) / len(idx)
            w1, _, w2, _ = params
            d_h = (d_logits @ w2.T) * (h > 0)
            grads = [xb.T @ d_h + L2 * w1, d_h.sum(0), h.T @ d_logits + L2 * w2, d_logits.sum(0)]
            step += 1
            for i, g in enumerate(grads):
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                m_hat = m[i] / (1 - beta1**step)
                v_hat = v[i] / (1 - beta2**step)
                params[i] = params[i] - LEARNING_RATE * m_hat / (np.sqrt(v_hat) + eps)
    return params


def accuracy(params, x, y):
    _, p = forward(params, x)
    return float((p.argmax(axis=1) == y).mean())


def to_onnx(params, train_acc, test_acc):
    w1, b1, w2, b2 = (p.astype(np.float32) for p in params)
    inits = [
        numpy_helper.from_array(np.array([1.0 / 16.0], dtype=np.float32), "scale"),
        numpy_helper.from_array(w1, "w1"),
        numpy_helper.from_array(b1, "b1"),
        numpy_helper.from_array(w2, "w2"),
        numpy_helper.from_array(b2, "b2"),
    ]
    nodes = [
        helper.make_node("Mul", ["pixels", "scale"], ["scaled"]),
        helper.make_node("Gemm", ["scaled", "w1", "b1"], ["hidden_pre"]),
        helper.make_node("Relu", ["hidden_pre"], ["hidden"]),
        helper.make_node("Gemm", ["hidden", "w2", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "digits_mlp",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        producer_name="lantern examples/digits/train.py",
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string="8x8 handwritten digits (pixels 0..16, row-major) -> probabilities of 0..9",
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(
        model,
        {
            "dataset": "UCI optical handwritten digits (scikit-learn digits.csv.gz)",
            "train_accuracy": f"{train_acc:.4f}",
            "test_accuracy": f"{test_acc:.4f}",
        },
    )
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    x, y = load(args.data)
    train_rows, test_rows = split(len(x))
    params = train(x[train_rows] / 16.0, y[train_rows])
    train_acc = accuracy(params, x[train_rows] / 16.0, y[train_rows])
    test_acc = accuracy(params, x[test_rows] / 16.0, y[test_rows])
    onnx.save(to_onnx(params, train_acc, test_acc), args.out)
    print(
        f"train accuracy {train_acc:.4f} ({train_rows.sum()} rows), "
        f"held-out accuracy {test_acc:.4f} ({test_rows.sum()} rows) -> {os.path.abspath(args.out)}"
    )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Train the bundled Iris example model (standard library only).

Multinomial logistic regression (softmax) on standardised features, trained by
full-batch gradient descent. Everything is deterministic: a fixed seed drives
the stratified split, weights start at zero, and the number of steps is fixed,
so running this script twice writes byte-identical output.

Usage:
    python3 examples/iris/train.py            # writes examples/model-store/iris/iris_weights.json
    python3 examples/iris/train.py --out FILE # writes FILE instead
"""

import argparse
import csv
import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, "data", "iris.csv")
DEFAULT_OUT = os.path.join(HERE, "..", "model-store", "iris", "iris_weights.json")

CLASSES = ["setosa", "versicolor", "virginica"]
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

SEED = 1936  # Fisher's paper
TEST_PER_CLASS = 10  # 50 per class -> 40 train / 10 held out; 120 / 30 overall
LEARNING_RATE = 0.1
STEPS = 3000
L2 = 1e-3
DECIMALS = 10  # weights are rounded before writing, for a stable text file


def load_csv(path):
    """Return (rows, labels) from scikit-learn's iris.csv.

    The first line is a header "150,4,setosa,versicolor,virginica" (number of
    samples, number of features, class names); each further line is four
    measurements in cm followed by the class index.
    """
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        n_samples, n_features = int(header[0]), int(header[1])
        if header[2:] != CLASSES or n_features != len(FEATURES):
            raise ValueError("unexpected iris.csv header: %r" % (header,))
        rows, labels = [], []
        for line in reader:
            if not line:
                continue
            rows.append([float(v) for v in line[:n_features]])
            labels.append(int(line[n_features]))
    if len(rows) != n_samples:
        raise ValueError("expected %d rows, got %d" % (n_samples, len(rows)))
    return rows, labels


def stratified_split(labels, test_per_class=TEST_PER_CLASS, seed=SEED):
    """Return (train_indices, test_indices), both sorted, stratified by class."""
    rng = random.Random(seed)
    train, test = [], []
    for c in range(len(CLASSES)):
        idx = [i for i, y in enumerate(labels) if y == c]
        rng.shuffle(idx)
        test.extend(idx[:test_per_class])
        train.extend(idx[test_per_class:])
    return sorted(train), sorted(test)


def softmax(z):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


def standardise(row, means, stds):
    return [(x - m) / s for x, m, s in zip(row, means, stds)]


def predict_proba(row, model):
    x = standardise(row, model["means"], model["stds"])
    z = [b + sum(w * v for w, v in zip(ws, x)) for ws, b in zip(model["weights"], model["biases"])]
    return softmax(z)


def accuracy(rows, labels, model):
    hits = 0
    for row, y in zip(rows, labels):
        p = predict_proba(row, model)
        hits += int(max(range(len(p)), key=p.__getitem__) == y)
    return hits / len(rows)


def train(x, y, n_classes, lr=LEARNING_RATE, steps=STEPS, l2=L2):
    """Full-batch gradient descent on mean cross-entropy + (l2/2)*||W||^2."""
    n, d = len(x), len(x[0])
    w = [[0.0] * d for _ in range(n_classes)]
    b = [0.0] * n_classes
    for _ in range(steps):
        gw = [[0.0] * d for _ in range(n_classes)]
        gb = [0.0] * n_classes
        for xi, yi in zip(x, y):
            p = softmax([b[k] + sum(wk * v for wk, v in zip(w[k], xi)) for k in range(n_classes)])
            for k in range(n_classes):
                err = p[k] - (1.0 if k == yi else 0.0)
                gb[k] += err
                gwk = gw[k]
                for j in range(d):
                    gwk[j] += err * xi[j]
        for k in range(n_classes):
            b[k] -= lr * gb[k] / n
            for j in range(d):
                w[k][j] -= lr * (gw[k][j] / n + l2 * w[k][j])
    return w, b


def build_model(data_path=DEFAULT_DATA):
    rows, labels = load_csv(data_path)
    train_idx, test_idx = stratified_split(labels)
    x_train = [rows[i] for i in train_idx]
    y_train = [labels[i] for i in train_idx]

    d = len(FEATURES)
    means = [sum(r[j] for r in x_train) / len(x_train) for j in range(d)]
    stds = [math.sqrt(sum((r[j] - means[j]) ** 2 for r in x_train) / len(x_train)) for j in range(d)]
    means = [round(v, DECIMALS) for v in means]
    stds = [round(v, DECIMALS) for v in stds]

    xs = [standardise(r, means, stds) for r in x_train]
    w, b = train(xs, y_train, len(CLASSES))

    model = {
        "dataset": "iris",
        "model": "multinomial logistic regression (softmax) on standardised features",
        "classes": CLASSES,
        "features": FEATURES,
        "means": means,
        "stds": stds,
        "weights": [[round(v, DECIMALS) for v in row] for row in w],
        "biases": [round(v, DECIMALS) for v in b],
        "training": {
            "seed": SEED,
            "learning_rate": LEARNING_RATE,
            "steps": STEPS,
            "l2": L2,
            "train_size": len(train_idx),
            "test_size": len(test_idx),
        },
        "test_indices": test_idx,
    }
    # Accuracies are computed with the rounded weights that are written out.
    model["train_accuracy"] = round(accuracy(x_train, y_train, model), 4)
    model["test_accuracy"] = round(
        accuracy([rows[i] for i in test_idx], [labels[i] for i in test_idx], model), 4
    )
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="path to iris.csv")
    ap.add_argument("--out", default=DEFAULT_OUT, help="where to write iris_weights.json")
    args = ap.parse_args()

    model = build_model(args.data)
    out = os.path.normpath(args.out)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w", newline="\n") as f:
        json.dump(model, f, indent=2)
        f.write("\n")
    print(
        "train accuracy %.4f (%d rows), held-out accuracy %.4f (%d rows) -> %s"
        % (
            model["train_accuracy"],
            model["training"]["train_size"],
            model["test_accuracy"],
            model["training"]["test_size"],
            out,
        )
    )


if __name__ == "__main__":
    main()

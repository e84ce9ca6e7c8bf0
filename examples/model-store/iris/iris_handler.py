"""TorchServe-style handler for the bundled Iris example (standard library only).

The model is a multinomial logistic regression whose parameters live in
iris_weights.json (written by examples/iris/train.py).

Accepted input per request (JSON, in the "body" or the "data" form field):
  {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
  [5.1, 3.5, 1.4, 0.2]
  a list of such rows (then the answer is a list)
Output per request: class probabilities, highest first, rounded to 4 decimals,
  {"setosa": 0.97, "versicolor": 0.02, "virginica": 0.01}
or a list of such dicts for a list of rows.

With the request header "describe: True" the handler returns a description of
the model instead of predictions.
"""

import json
import math
import numbers
import os

EXPECTED = (
    "expected a JSON object with numeric keys sepal_length, sepal_width, petal_length, "
    "petal_width, a list of 4 numbers, or a list of such rows"
)


def _decode(payload):
    """Turn a request payload into a JSON value."""
    if isinstance(payload, (bytes, bytearray)):
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("request body is not UTF-8 text; " + EXPECTED)
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            raise ValueError("request body is not valid JSON; " + EXPECTED)
    return payload


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _number(v, where):
    if not _is_number(v):
        raise ValueError("%s must be a number, got %s; %s" % (where, json.dumps(v), EXPECTED))
    v = float(v)
    if not math.isfinite(v):
        raise ValueError("%s must be a finite number; %s" % (where, EXPECTED))
    return v


class IrisHandler:
    def __init__(self):
        self.initialized = False
        self.model = None
        self.classes = []
        self.features = []

    def initialize(self, context):
        properties = context.system_properties
        model_dir = properties.get("model_dir") or os.path.dirname(os.path.abspath(__file__))
        serialized = "iris_weights.json"
        manifest = getattr(context, "manifest", None) or {}
        if manifest.get("model", {}).get("serializedFile"):
            serialized = manifest["model"]["serializedFile"]
        with open(os.path.join(model_dir, serialized), encoding="utf-8") as f:
            self.model = json.load(f)
        self.classes = list(self.model["classes"])
        self.features = list(self.model["features"])
        self.initialized = True

    # -- input ---------------------------------------------------------------

    def _row(self, value, where):
        """Validate one row (dict or list of 4 numbers) and return 4 floats."""
        if isinstance(value, dict):
            missing = [k for k in self.features if k not in value]
            extra = sorted(k for k in value if k not in self.features)
            if missing or extra:
                problems = []
                if missing:
                    problems.append("missing " + ", ".join(missing))
                if extra:
                    problems.append("unknown " + ", ".join(extra))
                raise ValueError("%s: %s; %s" % (where, "; ".join(problems), EXPECTED))
            return [_number(value[k], "%s.%s" % (where, k)) for k in self.features]
        if isinstance(value, list):
            if len(value) != len(self.features):
                raise ValueError(
                    "%s has %d values, expected %d (%s); %s"
                    % (where, len(value), len(self.features), ", ".join(self.features), EXPECTED)
                )
            return [_number(v, "%s[%d]" % (where, i)) for i, v in enumerate(value)]
        raise ValueError("%s must be an object or a list, got %s; %s" % (where, json.dumps(value), EXPECTED))

    def preprocess(self, data):
        """Return, per request, (rows, is_batch)."""
        out = []
        for i, request in enumerate(data):
            if isinstance(request, dict):
                payload = request.get("data")
                if payload is None:
                    payload = request.get("body")
            else:
                payload = request
            if payload is None:
                raise ValueError("request %d has no body; %s" % (i, EXPECTED))
            value = _decode(payload)
            where = "request %d" % i
            if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
                rows = [self._row(v, "%s row %d" % (where, j)) for j, v in enumerate(value)]
                out.append((rows, True))
            else:
                out.append(([self._row(value, where)], False))
        return out

    # -- model ---------------------------------------------------------------

    def predict_proba(self, row):
        m = self.model
        x = [(v - mu) / sd for v, mu, sd in zip(row, m["means"], m["stds"])]
        z = [b + sum(w * v for w, v in zip(ws, x)) for ws, b in zip(m["weights"], m["biases"])]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        s = sum(e)
        return [v / s for v in e]

    def _format(self, probs):
        order = sorted(range(len(probs)), key=lambda k: (-probs[k], k))
        return {self.classes[k]: round(probs[k], 4) for k in order}

    def inference(self, prepared):
        return [[self.predict_proba(r) for r in rows] for rows, _ in prepared]

    def postprocess(self, outputs, prepared):
        result = []
        for probs, (_, is_batch) in zip(outputs, prepared):
            formatted = [self._format(p) for p in probs]
            result.append(formatted if is_batch else formatted[0])
        return result

    # -- entry points --------------------------------------------------------

    def describe(self):
        return {
            "dataset": "iris",
            "model": self.model.get("model"),
            "classes": self.classes,
            "features": self.features,
            "train_accuracy": self.model.get("train_accuracy"),
            "test_accuracy": self.model.get("test_accuracy"),
        }

    @staticmethod
    def _is_describe(context):
        get_header = getattr(context, "get_request_header", None)
        if get_header is None:
            return False
        try:
            return get_header(0, "describe") == "True"
        except (IndexError, KeyError, TypeError):
            return False  # no request headers available (e.g. a bare test context)

    def handle(self, data, context):
        if not self.initialized:
            self.initialize(context)
        if self._is_describe(context):
            return [self.describe() for _ in (data or [None])]
        prepared = self.preprocess(data)
        return self.postprocess(self.inference(prepared), prepared)

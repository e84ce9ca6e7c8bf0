"""The ``context`` object handlers receive (TorchServe handler contract, spec §8.3)."""
from __future__ import annotations

import json
import os

from . import __version__
from .metrics import MetricsCache


class RequestProcessor:
    """Headers of one request and the response fields the handler sets for it."""

    def __init__(self, request_header: dict) -> None:
        self._request_header = request_header
        self._status_code = 200
        self._reason_phrase = ""
        self._response_header: dict = {}

    def get_request_property(self, key):
        return self._request_header.get(key)

    def get_request_properties(self) -> dict:
        return self._request_header

    def report_status(self, code: int = 200, reason_phrase: str = "") -> None:
        self._status_code = code
        self._reason_phrase = reason_phrase

    def get_response_status_code(self) -> int:
        return self._status_code

    def get_response_status_phrase(self) -> str:
        return self._reason_phrase

    def add_response_property(self, key, value) -> None:
        self._response_header[key] = value

    def get_response_headers(self) -> dict:
        return self._response_header

    def get_response_header(self, key):
        return self._response_header.get(key)


class Context:
    def __init__(
        self,
        model_name: str,
        model_dir: str,
        manifest: dict | None,
        batch_size: int,
        gpu: int | None,
        server_version: str = __version__,
        limit_max_image_pixels: bool = True,
        metrics: MetricsCache | None = None,
        model_yaml_config: dict | None = None,
    ) -> None:
        self.model_name = model_name
        self.manifest = manifest
        self._system_properties = {
            "model_dir": model_dir,
            "gpu_id": gpu,
            "batch_size": batch_size,
            "server_name": "MMS",
            "server_version": server_version,
            "limit_max_image_pixels": limit_max_image_pixels,
        }
        self.request_ids: dict | None = None
        self.request_processor: list[RequestProcessor] | None = None
        self._metrics = metrics if metrics is not None else MetricsCache(model_name)
        self.model_yaml_config = model_yaml_config if model_yaml_config is not None else {}
        self.stopping_criteria = None
        self.cl_socket = None
        self._connection = None  # lantern_worker.worker.Connection while serving
        self._streamed: set = set()  # request indexes that got an intermediate reply this batch
        self.header_key_sequence_id = os.environ.get("TS_REQUEST_SEQUENCE_ID", "ts_request_sequence_id")
        self.header_key_sequence_start = os.environ.get("TS_REQUEST_SEQUENCE_START", "ts_request_sequence_start")
        self.header_key_sequence_end = os.environ.get("TS_REQUEST_SEQUENCE_END", "ts_request_sequence_end")

    @property
    def system_properties(self) -> dict:
        return self._system_properties

    @property
    def metrics(self) -> MetricsCache:
        return self._metrics

    @metrics.setter
    def metrics(self, value) -> None:
        self._metrics = value

    # -- requests ----------------------------------------------------------------------------
    def _processor(self, idx: int) -> RequestProcessor:
        if self.request_processor is None:
            raise IndexError("No request is being served (called during initialization?)")
        return self.request_processor[idx]

    def get_request_id(self, idx: int = 0):
        return self.request_ids.get(idx) if self.request_ids else None

    def get_request_header(self, idx: int, key):
        return self._processor(idx).get_request_property(key)

    def get_all_request_header(self, idx: int) -> dict:
        return self._processor(idx).get_request_properties()

    def get_sequence_id(self, idx: int):
        return self.get_request_header(idx, self.header_key_sequence_id)

    # -- responses ---------------------------------------------------------------------------
    def set_response_content_type(self, idx: int, value) -> None:
        self.set_response_header(idx, "content-type", value)

    def get_response_content_type(self, idx: int):
        return self.get_response_headers(idx).get("content-type")

    def get_response_status(self, idx: int):
        p = self._processor(idx)
        return p.get_response_status_code(), p.get_response_status_phrase()

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        if self.request_processor is not None and 0 <= idx < len(self.request_processor):
            self.request_processor[idx].report_status(code, phrase)

    def set_all_response_status(self, code: int = 200, phrase: str = "") -> None:
        for p in self.request_processor or []:
            p.report_status(code, phrase)

    def get_response_headers(self, idx: int) -> dict:
        return self._processor(idx).get_response_headers()

    def set_response_header(self, idx: int, key, value) -> None:
        self._processor(idx).add_response_property(key, value)

    def __eq__(self, other) -> bool:
        return isinstance(other, Context) and self.__dict__ == other.__dict__

    __hash__ = object.__hash__


# ---------------------------------------------------------------------------------------------
# Model directory helpers


def read_manifest(model_dir: str) -> dict | None:
    """Parses <model_dir>/MAR-INF/MANIFEST.json; None when absent."""
    path = os.path.join(model_dir, "MAR-INF", "MANIFEST.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_model_yaml_config(model_dir: str, manifest: dict | None) -> dict:
    """Parses the manifest's ``model.configFile`` (relative to the model dir); {} without one."""
    if not manifest:
        return {}
    model = manifest.get("model") if isinstance(manifest.get("model"), dict) else manifest
    config_file = model.get("configFile") if isinstance(model, dict) else None
    if not config_file:
        return {}
    path = config_file if os.path.isabs(config_file) else os.path.join(model_dir, config_file)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        import yaml  # type: ignore
    except ImportError:
        return parse_simple_yaml(text)
    loaded = yaml.safe_load(text)
    return loaded if isinstance(loaded, dict) else {}


def _scalar(text: str):
    s = text.strip()
    if not s:
        return None
    if (s[0] == s[-1]) and s[0] in "'\"" and len(s) >= 2:
        return s[1:-1]
    if s.startswith("[") and s.endswith("]"):
        inner = s[1:-1].strip()
        return [_scalar(x) for x in inner.split(",")] if inner else []
    low = s.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("null", "~", "none"):
        return None
    for conv in (int, float):
        try:
            return conv(s)
        except ValueError:
            pass
    return s


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def parse_simple_yaml(text: str) -> dict:
    """A small YAML subset for when PyYAML is missing: nested ``key: value`` maps by indentation,
    ``- item`` lists of scalars, inline ``[a, b]`` lists, comments, and plain/quoted scalars."""
    root: dict = {}
    # stack of (indent, container, parent, key) — container is a dict or list
    stack: list[tuple[int, object, object, object]] = [(-1, root, None, None)]
    for raw in text.splitlines():
        line = _strip_comment(raw).rstrip()
        if not line.strip() or line.strip() in ("---", "..."):
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        is_item = body.startswith("- ") or body == "-"
        while len(stack) > 1 and (indent < stack[-1][0] if is_item else indent <= stack[-1][0]):
            stack.pop()
        _, container, parent, key = stack[-1]
        if is_item:
            if isinstance(container, dict):
                if container or parent is None:
                    # a list under the last key with an empty value
                    continue
                container = []
                parent[key] = container
                stack[-1] = (stack[-1][0], container, parent, key)
            container.append(_scalar(body[1:]))
            continue
        if ":" not in body or not isinstance(container, dict):
            continue
        k, _, v = body.partition(":")
        k = _scalar(k)
        if v.strip():
            container[k] = _scalar(v)
        else:
            child: dict = {}
            container[k] = child
            stack.append((indent, child, container, k))
    return root

import sys

import pytest

from lantern_worker.loader import classes_defined_in, load_entry_point, parse_handler

from helpers import make_context, write_module


@pytest.fixture
def mdir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path


@pytest.mark.parametrize(
    "handler, expected",
    [
        ("my_handler", ("my_handler", "handle")),
        ("my_handler.py", ("my_handler", "handle")),
        ("my_handler:predict", ("my_handler", "predict")),
        ("my_handler.py:predict", ("my_handler", "predict")),
        ("/abs/dir/my_handler.py", ("my_handler", "handle")),
        ("sub/dir/my_handler.py:fn", ("my_handler", "fn")),
        ("pkg.mod", ("pkg.mod", "handle")),
    ],
)
def test_parse_handler(handler, expected):
    assert parse_handler(handler) == expected


def test_function_entry_initialized_with_none(mdir):
    write_module(
        mdir,
        "fn_handler_a",
        """
        calls = []
        def handle(data, context):
            calls.append((data, context.model_name))
            return data
        """,
    )
    ctx = make_context()
    entry = load_entry_point("fn_handler_a.py", ctx)
    mod = sys.modules["fn_handler_a"]
    assert mod.calls == [(None, "m")]
    assert entry([1], ctx) == [1]


def test_module_function_selection(mdir):
    write_module(
        mdir,
        "fn_handler_b",
        """
        def handle(data, context):
            return "handle"
        def other(data, context):
            return "other"
        """,
    )
    ctx = make_context()
    assert load_entry_point(f"{mdir}/fn_handler_b.py:other", ctx)([], ctx) == "other"


def test_class_entry(mdir):
    write_module(
        mdir,
        "cls_handler_a",
        """
        import json
        from collections import OrderedDict  # imported classes do not count
        class Handler:
            def __init__(self):
                self.ctx = None
            def initialize(self, context):
                self.ctx = context
            def handle(self, data, context):
                return [self.ctx is context] * len(data)
        """,
    )
    ctx = make_context()
    entry = load_entry_point("cls_handler_a", ctx)
    assert entry([{}, {}], ctx) == [True, True]
    assert [c.__name__ for c in classes_defined_in(sys.modules["cls_handler_a"])] == ["Handler"]


def test_class_entry_with_named_method(mdir):
    write_module(
        mdir,
        "cls_handler_b",
        """
        class H:
            def initialize(self, context): pass
            def run(self, data, context): return ["run"]
        """,
    )
    ctx = make_context()
    assert load_entry_point("cls_handler_b:run", ctx)([{}], ctx) == ["run"]


@pytest.mark.parametrize("n", [0, 2])
def test_exactly_one_class_rule(mdir, n):
    body = "".join(f"class C{i}:\n    def handle(self, d, c): return d\n" for i in range(n))
    write_module(mdir, f"cls_count_{n}", body or "X = 1\n")
    with pytest.raises(ValueError):
        load_entry_point(f"cls_count_{n}", make_context())


def test_class_without_method(mdir):
    write_module(mdir, "cls_no_method", "class C:\n    def initialize(self, c): pass\n")
    with pytest.raises(ValueError):
        load_entry_point("cls_no_method", make_context())


def test_builtin_fallback():
    ctx = make_context()
    entry = load_entry_point("echo", ctx)
    assert entry([{"body": b"x"}, {"data": 1}], ctx) == [b"x", 1]


def test_missing_module_raises_import_error():
    with pytest.raises(ImportError) as e:
        load_entry_point("definitely_not_a_module_xyz", make_context())
    assert "definitely_not_a_module_xyz" in str(e.value)


def test_import_error_inside_handler_is_not_masked(mdir):
    write_module(mdir, "echo_broken", "import some_missing_dependency_abc\n")
    with pytest.raises(ImportError) as e:
        load_entry_point("echo_broken", make_context())
    assert e.value.name == "some_missing_dependency_abc"


def test_initialize_errors_propagate(mdir):
    write_module(
        mdir,
        "cls_bad_init",
        """
        class H:
            def initialize(self, context): raise RuntimeError("no weights")
            def handle(self, d, c): return d
        """,
    )
    with pytest.raises(RuntimeError, match="no weights"):
        load_entry_point("cls_bad_init", make_context())

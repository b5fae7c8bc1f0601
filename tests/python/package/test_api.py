# SPDX-License-Identifier: Apache-2.0
"""The package's surface: the stubs (_tspike.pyi) list exactly what the
compiled module has, every public name has a docstring (help() explains
it), and the error classes follow the C++ ErrorCode."""

import ast
import inspect
import os
import pydoc

import pytest

import tspike
import tspike._tspike as native
import tspike.dask


def stub_tree():
    with open(os.path.join(os.path.dirname(tspike.__file__), "_tspike.pyi")) as f:
        return ast.parse(f.read())


def public(names):
    return {n for n in names if not n.startswith("_")} | ({"__version__"} & set(names))


def test_the_stub_lists_exactly_the_compiled_names():
    names = set()
    for node in stub_tree().body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
    type_aliases = {"PathLike", "FileContents", "ArrayLike", "Outputs"}  # assignments, not annotations
    assert public(names) == public(dir(native)), public(names) ^ public(dir(native))
    assert not type_aliases & names


def test_the_stub_lists_every_method_of_each_class():
    for node in stub_tree().body:
        if isinstance(node, ast.ClassDef):
            cls = getattr(native, node.name)
            in_stub = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} | \
                      {n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
            in_module = {n for n in dir(cls) if not n.startswith("__")}
            assert in_stub - {"__init__"} == in_module, node.name


def test_every_public_name_has_a_docstring():
    for name in tspike.__all__:
        obj = getattr(tspike, name)
        if callable(obj):
            assert inspect.getdoc(obj), name
    for cls in (tspike.Model, tspike.Session, tspike.Limits, tspike.NodeOutput):
        for attr, value in vars(cls).items():
            if not attr.startswith("_") and attr not in ("timestep", "node", "op_type", "value", "data"):
                assert inspect.getdoc(value), f"{cls.__name__}.{attr}"
    for fn in (tspike.dask.classify, tspike.from_torch):
        assert inspect.getdoc(fn)


def test_help_explains_the_session():
    text = pydoc.render_doc(tspike.Session, renderer=pydoc.plaintext)
    for needle in ("run(", "step(", "observe(", "without a", "GIL", "as_dict", "dict"):
        assert needle in text, needle


def test_error_classes_follow_the_error_codes():
    assert [c.name for c in tspike.ErrorCode] == ["PARSE", "INVALID_MODEL", "UNSUPPORTED_OP", "SHAPE_MISMATCH",
                                                 "RESOURCE_LIMIT", "BAD_INPUT", "IO"]
    assert [int(c) for c in tspike.ErrorCode] == list(range(1, 8))  # the C API's TSPIKE_ERR_*
    for code, cls in tspike._errors.BY_CODE.items():
        assert issubclass(cls, tspike.Error) and cls.code == code
    assert issubclass(tspike.BadInputError, ValueError)
    assert issubclass(tspike.FileIOError, OSError)


def test_errors_survive_pickling():
    """Dask sends a worker's exception to the client pickled."""
    import pickle
    for cls in tspike._errors.BY_CODE.values():
        e = pickle.loads(pickle.dumps(cls("message naming file.onnx")))
        assert type(e) is cls and str(e) == "message naming file.onnx" and e.code == cls.code


def test_limits_survive_pickling():
    """Model.load's limits may travel to Dask workers."""
    import pickle
    limits = tspike.Limits(max_file_bytes=12345, max_timesteps=7)
    copy = pickle.loads(pickle.dumps(limits))
    assert copy.as_dict() == limits.as_dict()


def test_version():
    """The package reports the library's version, as the tools do."""
    from conftest import run_tool
    assert tspike.__version__.count(".") == 2
    assert run_tool("tsrun", "--version").strip() == f"tsrun {tspike.__version__}"


def test_the_runtime_names_say_how_to_build_when_the_module_is_missing(tmp_path):
    """A source checkout's python/ without the build: tspike.torch imports,
    tspike.Model says what to build."""
    import subprocess
    import sys
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))), "python")
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import tspike, tspike._errors\n"
              "assert tspike.Error is tspike._errors.Error\n"
              "try:\n    tspike.Model\nexcept ImportError as e:\n    print(e)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", script, src], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "tspike._tspike" in r.stdout and "cmake" in r.stdout.lower()

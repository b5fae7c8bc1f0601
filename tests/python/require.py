#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Runs a Python test after checking that its modules import.

    require.py MODULE... -- SCRIPT [ARGS...]

A missing module fails the test with the Debian package that provides it,
instead of the test vanishing from the suite.
"""
import importlib
import os
import sys

PACKAGES = {"torch": "python3-torch", "onnx": "python3-onnx", "numpy": "python3-numpy",
            "pytest": "python3-pytest", "distributed": "python3-distributed", "dask": "python3-dask",
            # tspike's own compiled module, built by CMake when pybind11 is found.
            "tspike._tspike": "the build's Python module: TSPIKE_BUILD_PYTHON, pybind11-dev, python3-dev"}

sep = sys.argv.index("--")
missing = []
for name in sys.argv[1:sep]:
    try:
        importlib.import_module(name)
    except ImportError as e:
        missing.append(f"{name} ({PACKAGES.get(name, 'python3-' + name)}): {e}")
if missing:
    sys.exit(f"FAILED: {sys.executable} cannot import " + "; ".join(missing) +
             " (scripts/install-deps.sh installs them)")
script = sys.argv[sep + 1]
os.execv(sys.executable, [sys.executable, script, *sys.argv[sep + 2:]])

# SPDX-License-Identifier: Apache-2.0
"""The hostile corpus (tests/broken/) through Python: every file gives the
tspike.Error subclass of the ErrorCode that tests/broken/README.md lists
for it, with a message naming the file, from a path and from bytes; never
a crash. A second run goes through a child process whose address space is
capped, so that nothing allocates what a file merely declares."""

import os
import re
import resource
import subprocess
import sys

import numpy as np
import pytest

import tspike
from conftest import BROKEN, DATA, DEMO

CODES = {"kParse": tspike.ErrorCode.PARSE, "kInvalidModel": tspike.ErrorCode.INVALID_MODEL,
         "kUnsupportedOp": tspike.ErrorCode.UNSUPPORTED_OP, "kShapeMismatch": tspike.ErrorCode.SHAPE_MISMATCH,
         "kResourceLimit": tspike.ErrorCode.RESOURCE_LIMIT, "kBadInput": tspike.ErrorCode.BAD_INPUT,
         "kIO": tspike.ErrorCode.IO}


def documented_cases():
    """{file: (ErrorCode, whether the error comes from a Session)} from the
    README's table, whose rows list files in backquotes and end with the
    code, "(Session)" when the file loads and the run fails."""
    cases = {}
    with open(os.path.join(BROKEN, "README.md")) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 3 or not cells[2].startswith("k"):
                continue
            code = CODES[cells[2].split()[0]]
            for name in re.findall(r"`([^`]+)`", cells[0]):
                cases[name] = (code, "(Session)" in cells[2])
    return cases


CASES = documented_cases()
FILES = sorted(f for f in os.listdir(BROKEN) if f != "README.md")


def test_every_file_is_documented():
    assert sorted(CASES) == FILES


def session_input(model):
    """Zeros of the model's input shape with N = 1."""
    return np.zeros([1 if d is None else d for d in model.info["input"]["shape"]], np.float32)


def trigger(name, source):
    """What a user would do with the file: load it as a model, an image or a
    .npy input, and run a Session where the README says the error is there."""
    code, in_session = CASES[name]
    if name.endswith(".onnx"):
        model = tspike.Model.load(source)
        if in_session:
            tspike.Session(model).run(session_input(model))
    elif name.endswith(".npy"):
        x = tspike.load_npy(source)
        if in_session:
            tspike.Session(os.path.join(DATA, "residual_block.onnx")).run(x)
    else:
        tspike.load_image(source, tspike.Model.load(DEMO))


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("how", ["path", "bytes"])
def test_broken_file_raises_its_error(name, how):
    code, _ = CASES[name]
    path = os.path.join(BROKEN, name)
    if how == "path":
        source = path
    else:
        with open(path, "rb") as f:
            source = f.read()
    with pytest.raises(tspike.Error) as e:
        trigger(name, source)
    assert e.value.code == code, str(e.value)
    assert type(e.value) is tspike._errors.BY_CODE[code]
    if how == "path" and not CASES[name][1]:
        assert path in str(e.value)


def test_a_wrong_shape_from_a_file_names_both_shapes():
    with pytest.raises(tspike.BadInputError, match=r"\[1,2,8,8\].*\[-1,1,8,8\]"):
        tspike.Session(os.path.join(DATA, "residual_block.onnx")).run(tspike.load_npy(os.path.join(BROKEN,
                                                                                                   "wrong_shape.npy")))


CHILD = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
import test_hostile as t
import tspike
failures = []
for name in t.FILES:
    try:
        t.trigger(name, os.path.join(t.BROKEN, name))
        failures.append(name + ": no error")
    except tspike.Error as e:
        if e.code != t.CASES[name][0]:
            failures.append(f"{name}: {e.code!r} {e}")
print("\n".join(failures) or "ok")
"""


def test_the_corpus_within_a_capped_address_space():
    """The C++ test holds tsrun to 256 MB of address space; the Python
    interpreter with NumPy and the library mapped needs more to start, so
    the cap here is what it needs plus 256 MB: a file that made the library
    allocate what it declares (gigabytes) fails."""
    probe = subprocess.run([sys.executable, "-c", "import tspike, numpy; print(open('/proc/self/status').read())"],
                           capture_output=True, text=True, check=True)
    vm = int(re.search(r"VmPeak:\s+(\d+) kB", probe.stdout).group(1)) * 1024
    cap = vm + (256 << 20)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    r = subprocess.run([sys.executable, "-c", CHILD, os.path.dirname(os.path.abspath(__file__))],
                       capture_output=True, text=True, preexec_fn=limit, timeout=600)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-2000:]}"
    assert r.stdout.strip() == "ok", r.stdout

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""tsrun --trace against the numpy reference (tools/tspike_ref.py).

    /usr/bin/python3 tests/python/test_trace.py [-v]

Needs python3-onnx, python3-numpy and the built tools: TSPIKE_TOOLS_DIR
(default build/tools of this checkout) must hold tsrun.

- The spike map of every TernarySpike node at every timestep equals the
  reference's, on the shipped models, with every engine. Equality as the format spec
  says: a spike may differ only where the reference's membrane lies within
  float rounding of the threshold; such a flip changes everything after it,
  so the rest of that sample is not compared.
- The files have the shapes trace.json gives, and the time-mean of the
  per-timestep outputs equals the logits tsrun prints.
- Node and output names from the file become safe, unique file names.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import tspike_ref  # noqa: E402

TOOLS = os.environ.get("TSPIKE_TOOLS_DIR", os.path.join(ROOT, "build", "tools"))
TSRUN = os.path.join(TOOLS, "tsrun")
SAFE_FILE = re.compile(r"^[A-Za-z0-9_-]+\.(npy|json)$")


def tsrun(*args, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    r = subprocess.run([TSRUN, *args], capture_output=True, text=True, env=full_env)
    if r.returncode != 0:
        raise AssertionError(f"tsrun {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def neurons(model_path):
    """Threshold and mode of every TernarySpike node, by the name tsrun uses."""
    model = onnx.load(model_path)
    out = {}
    for n in model.graph.node:
        if n.domain == "tspike" and n.op_type == "TernarySpike":
            a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
            mode = a.get("mode", b"ternary")
            out[n.name or n.output[0]] = (np.float32(a.get("threshold", 0.5)),
                                          mode.decode() if isinstance(mode, bytes) else mode)
    return out


class TraceTest(unittest.TestCase):
    def run_trace(self, model, x, *extra, env=None):
        tmp = tempfile.mkdtemp(prefix="tspike_trace_")
        self.addCleanup(shutil.rmtree, tmp, True)
        inp = os.path.join(tmp, "x.npy")
        np.save(inp, x.astype(np.float32))
        out_dir = os.path.join(tmp, "trace")
        printed = json.loads(tsrun(model, "--input", inp, "--trace", out_dir, "--json", *extra, env=env))
        with open(os.path.join(out_dir, "trace.json")) as f:
            listing = json.load(f)
        return tmp, out_dir, printed, listing

    def check_files(self, out_dir, listing, printed):
        T = listing["timesteps"]
        files = ["trace.json"]
        self.assertEqual(sorted(e["node"] for e in listing["spike_nodes"]), sorted(printed["firing_rates"]))
        for e in listing["spike_nodes"] + listing["outputs"]:
            files.append(e["file"])
            a = np.load(os.path.join(out_dir, e["file"]))
            self.assertEqual(a.dtype, np.float32)
            self.assertEqual(list(a.shape), e["shape"])
            self.assertEqual(a.shape[0], T)
        for e in listing["spike_nodes"]:
            a = np.load(os.path.join(out_dir, e["file"]))
            if e["values"] == "spikes":
                self.assertTrue(np.all((a == 0) | (a == 1) | (a == -1)), e["node"])
            self.assertAlmostEqual(e["firing_rate"], np.count_nonzero(a) / a.size, places=12)
            self.assertAlmostEqual(e["firing_rate"], printed["firing_rates"][e["node"]], places=9)
        self.assertEqual(sorted(os.listdir(out_dir)), sorted(files))
        self.assertEqual(len({f.lower() for f in files}), len(files))
        for f in files:
            self.assertRegex(f, SAFE_FILE)
        # The readout of the per-timestep outputs is what tsrun printed.
        readout = {"mean": lambda a: a.mean(axis=0), "sum": lambda a: a.sum(axis=0), "last": lambda a: a[-1]}
        for e, o in zip(listing["outputs"], printed["outputs"]):
            self.assertEqual(e["name"], o["name"])
            steps = np.load(os.path.join(out_dir, e["file"]))
            logits = np.array(o["data"], dtype=np.float32).reshape(o["shape"])
            scale = max(1.0, float(np.abs(logits).max()))
            np.testing.assert_allclose(readout[listing["readout"]](steps), logits, rtol=0, atol=1e-5 * scale)

    def check_against_reference(self, model, x, out_dir, listing):
        ref = tspike_ref.run_model(model, x)
        params = neurons(model)
        T = ref["timesteps"]
        self.assertEqual(listing["timesteps"], T)
        N = listing["spike_nodes"][0]["shape"][1]
        flipped = set()
        compared = 0
        for t in range(T):
            for e in listing["spike_nodes"]:  # graph order: a flip shows first where it happens
                name = e["node"]
                got = np.load(os.path.join(out_dir, e["file"]))
                # tsrun folds amplitudes into the consumers: its spike nodes emit s.
                want = ref["spikes"][name] if e["values"] == "spikes" else ref["node_outputs"][name]
                u = ref["membranes_before_fire"][name]
                theta, mode = params[name]
                for n in range(N):
                    if n in flipped:
                        continue
                    diff = got[t, n] != want[t, n]
                    compared += got[t, n].size
                    if not diff.any():
                        continue
                    scale = max(1.0, float(np.abs(u[t, n]).max()))
                    near = u[t, n][diff]
                    dist = np.abs(near - theta) if mode == "binary" else np.abs(np.abs(near) - theta)
                    self.assertTrue(np.all(dist <= 1e-5 * scale),
                                    f"{model}: {name} t={t} sample {n}: {int(diff.sum())} spikes differ, "
                                    f"membrane up to {dist.max():.3g} from the threshold")
                    flipped.add(n)
        # Most samples must be compared all the way (a flip is rare).
        self.assertLessEqual(len(flipped), N // 4, f"{model}: samples with a flip: {sorted(flipped)}")
        self.assertGreater(compared, 0)

    def test_shipped_models_match_reference(self):
        for name in ("fashion_tsnet", "fashion_tsnet_binary", "fashion_resnet"):
            model = os.path.join(ROOT, "models", name + ".onnx")
            x = np.load(os.path.join(ROOT, "models", "golden", name + ".input.npy"))
            for engine in ("auto", "event", "dense"):
                with self.subTest(model=name, engine=engine):
                    _, out_dir, printed, listing = self.run_trace(model, x, "--engine", engine)
                    self.check_files(out_dir, listing, printed)
                    self.check_against_reference(model, x, out_dir, listing)

    def test_sequence_model(self):
        model = os.path.join(ROOT, "tests", "data", "binary_sequence.onnx")
        x = np.load(os.path.join(ROOT, "tests", "data", "binary_sequence.input0.npy"))
        _, out_dir, printed, listing = self.run_trace(model, x)
        self.assertEqual(listing["encoding"], "sequence")
        self.assertEqual(listing["timesteps"], x.shape[0])
        self.check_files(out_dir, listing, printed)
        self.check_against_reference(model, x, out_dir, listing)

    def test_errors_are_one_line(self):
        tmp = tempfile.mkdtemp(prefix="tspike_trace_err_")
        self.addCleanup(shutil.rmtree, tmp, True)
        seq = os.path.join(ROOT, "tests", "data", "binary_sequence")
        blocker = os.path.join(tmp, "file")
        open(blocker, "w").close()
        for args, needle in (
                # A sequence's T is its length, as in a run without --trace.
                ([seq + ".onnx", "--input", seq + ".input0.npy", "-t", "5", "--trace", os.path.join(tmp, "t")],
                 "5 were asked for"),
                ([seq + ".onnx", "--input", seq + ".input0.npy", "--trace", os.path.join(blocker, "t")],
                 "--trace")):
            r = subprocess.run([TSRUN, *args], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
            self.assertIn(needle, r.stderr)

    def test_hostile_names_become_safe_unique_files(self):
        names = ["../../evil", "a/b", "a_b", "A_B", "..", ".hidden", "c:\\windows\\x", "x" * 300,
                 "trace", "sp\u00e4ter", "output_y"]
        nodes, prev = [], "X"
        for k, name in enumerate(names):
            out = "../../y" if k == len(names) - 1 else f"v{k}"
            nodes.append(helper.make_node("TernarySpike", [prev], [out], name=name, domain="tspike",
                                          threshold=0.5))
            prev = out
        graph = helper.make_graph(nodes, "hostile",
                                  [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
                                  [helper.make_tensor_value_info("../../y", TensorProto.FLOAT, [None, 4])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                        helper.make_opsetid("tspike", 1)])
        tmp = tempfile.mkdtemp(prefix="tspike_trace_hostile_")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "hostile.onnx")
        onnx.save(model, path)
        x = np.array([[3.0, -3.0, 0.7, 0.2], [1.0, 0.0, -0.6, 2.0]], dtype=np.float32)
        run_dir, out_dir, printed, listing = self.run_trace(path, x)
        self.assertEqual(sorted(os.listdir(run_dir)), ["trace", "x.npy"])
        self.assertEqual(sorted(os.listdir(tmp)), ["hostile.onnx"])
        self.assertEqual([e["node"] for e in listing["spike_nodes"]], names)
        self.check_files(out_dir, listing, printed)
        self.check_against_reference(path, x, out_dir, listing)
        # The reference writes the same file names.
        ref_dir = os.path.join(tmp, "ref")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "tspike_ref.py"), path,
                        os.path.join(run_dir, "x.npy"), "--trace", ref_dir], check=True, capture_output=True)
        self.assertEqual(sorted(os.listdir(ref_dir)), sorted(os.listdir(out_dir)))


class UnbatchedInput(unittest.TestCase):
    def test_the_batch_dimension_may_be_left_out_as_in_tsrun(self):
        """[1, 28, 28] for a [N, 1, 28, 28] model: tsrun takes it as one
        sample, and so does the reference, with the same outputs."""
        model = os.path.join(ROOT, "models", "fashion_tsnet.onnx")
        x = np.random.default_rng(3).random((1, 1, 28, 28), dtype=np.float32)
        batched = tspike_ref.run_model(model, x)
        unbatched = tspike_ref.run_model(model, x[0])
        for (name_b, b), (name_u, u) in zip(batched["outputs"], unbatched["outputs"]):
            self.assertEqual(name_b, name_u)
            np.testing.assert_array_equal(b, u)
        tmp = tempfile.mkdtemp(prefix="tspike_unbatched_")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "x.npy")
        np.save(path, x[0])
        printed = json.loads(tsrun(model, "--input", path, "--json"))
        logits = np.array(printed["outputs"][0]["data"], dtype=np.float32)
        np.testing.assert_allclose(unbatched["outputs"][0][1].reshape(-1), logits, rtol=0, atol=1e-4)


if __name__ == "__main__":
    unittest.main()

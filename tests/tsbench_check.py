#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""ctest tsbench_tiny: tsbench runs and its JSON has what it should. A
benchmark, not a test of speed: no timing is asserted.

    tsbench_check.py TSBENCH SOURCE_DIR WORK_DIR

It makes the `tiny` benchmark model (tools/bench/make_bench_models.py, with
Debian's python3-torch, which scripts/install-deps.sh installs) and runs
tsbench with --torch, and with --ort when tools/bench/node_modules has
onnxruntime-node (scripts/install-bench-deps.sh; optional, the line says
which); the columns must agree on the logits (spec section 4). Also: a bad
--input is one line on stderr and exit code 1.
"""

import json
import math
import os
import subprocess
import sys

tsbench, source, work = sys.argv[1:4]
bench_dir = os.path.join(source, "tools", "bench")
has_torch = subprocess.run(["/usr/bin/python3", "-c", "import torch, onnx"],
                           capture_output=True).returncode == 0
has_ort = os.path.isdir(os.path.join(bench_dir, "node_modules", "onnxruntime-node"))
if not has_torch:
    sys.exit("FAILED: /usr/bin/python3 cannot import torch and onnx "
             "(python3-torch, python3-onnx: scripts/install-deps.sh installs them)")
print("onnxruntime column:", "on" if has_ort else "off (scripts/install-bench-deps.sh installs onnxruntime-node)")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


subprocess.run(["/usr/bin/python3", os.path.join(bench_dir, "make_bench_models.py"), "--arch", "tiny",
                "--density", "0.1", "--out", work, "--name", "tiny"], check=True,
               stdout=subprocess.DEVNULL)
model = os.path.join(work, "tiny.tspike.onnx")
meta = json.load(open(os.path.join(work, "tiny.json")))
for name, d in meta["torch_step_density"].items():
    check(0.05 < d < 0.2, f"calibrated density of {name} is {d}, asked 0.1")

iters, batch = 3, 2
cmd = [tsbench, model, "--json", "--iters", str(iters), "--warmup", "1", "--batch", str(batch), "--threads", "2"]
cmd += ["--torch"]
cmd += ["--ort"] if has_ort else []
r = subprocess.run(cmd, capture_output=True, text=True)
if r.returncode != 0:
    sys.exit(f"tsbench failed ({r.returncode}): {r.stderr}")
out = json.loads(r.stdout)
print(json.dumps({k: v for k, v in out.items() if k != "columns"}, indent=1))

want = ["tspike event", "tspike dense", "pytorch eager"] + (["onnxruntime"] if has_ort else [])
names = [c["name"] for c in out["columns"]]
check(names == want, f"columns {names}, want {want}")
check(out["batch"] == batch and out["threads"] == 2 and out["timesteps"] == 4, "run settings echoed")
for c in out["columns"]:
    n = c["name"]
    print(f"{n}: median {c['median_ms']:.3f} ms, memory {c['memory_mb']:.1f} MB, "
          f"diff {c['max_rel_diff_to_event']:.1e}")
    check(len(c["times_ms"]) == iters and all(t > 0 for t in c["times_ms"]), f"{n}: {iters} positive times")
    check(c["p10_ms"] <= c["median_ms"] <= c["p90_ms"], f"{n}: p10 <= median <= p90")
    check(math.isclose(c["inferences_per_s"], batch * 1e3 / c["median_ms"]), f"{n}: throughput")
    check(math.isfinite(c["memory_mb"]) and c["memory_kind"], f"{n}: memory reported")
    # Same network, same input: the logits agree (a near-threshold spike flip
    # may move them a little, never the predictions on this input).
    check(c["max_rel_diff_to_event"] <= 1e-3, f"{n}: logits differ by {c['max_rel_diff_to_event']}")
    check(c["argmax_equal_to_event"] == batch, f"{n}: predictions differ from tspike event")
check(out["columns"][0]["event_speedup"] == 1.0, "event is the reference column")
check(out["peak_add"]["per_thread_per_s"] > 1e8 and out["peak_add"]["isa"], "peak add rate measured")
peak = out["peak_add"]
# Loading a row per add cannot beat adding registers by much (a loose bound:
# on a shared machine each figure is measured at a different moment).
for cache in ("l1", "l2"):
    rate = peak[f"rows_from_{cache}_per_s"]
    check(1e8 < rate < 2 * peak["per_thread_per_s"] and peak[f"{cache}_buffer_bytes"] > 0,
          f"adds with rows from the {cache}: {rate}")
check(out["firing_rates"] and 0 < out["mean_firing_rate"] < 1, "firing rates")
sop = out.get("sop", {})
check(sop.get("ac_per_run", 0) > 0 and 0 < sop.get("fraction_of_peak_add", 0) < 1, f"sop {sop}")

# A bad input: one line on stderr, exit code 1.
bad = os.path.join(work, "bad.npy")
with open(bad, "wb") as f:
    f.write(b"not a npy file")
r = subprocess.run([tsbench, model, "--input", bad], capture_output=True, text=True)
check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, f"bad input: {r.returncode} {r.stderr!r}")

if failures:
    sys.exit("FAILED:\n  " + "\n  ".join(failures))
print("tsbench_tiny: ok")

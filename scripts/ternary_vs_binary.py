#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Ternary vs binary spikes at the same T: train, evaluate, compare.

    /usr/bin/python3 scripts/ternary_vs_binary.py run [--jobs 2] [--work DIR]
    /usr/bin/python3 scripts/ternary_vs_binary.py report [--results models/study/ternary_vs_binary.json]

`run` trains fashion_tsnet's network (scripts/train_fashion.py, FashionTSNet)
for every seed in --seeds, T in --timesteps and mode in {ternary, binary},
with everything else equal (same initial weights per seed, same data order,
epochs, optimizer, schedule, no firing-rate penalty), each with
scripts/train_fashion_variants.py (one thread, under nice) and at most
--jobs at once; then runs tseval (--tools) on every exported model for
tspike's accuracy, firing rates and energy per image, and collects all of it,
with PyTorch's predictions, into --results. It skips runs whose result is
already in --work, so it can be stopped and started again.

`report` prints the markdown table of models/README.md from --results: per
(T, mode) the mean and standard deviation over seeds of test accuracy,
firing rate and energy per image, and per T the paired comparison: the
difference per seed, a paired t-test over seeds, and exact McNemar tests on
the test images (per seed, and pooled over seeds).

Needs Debian 12's python3-torch python3-onnx python3-numpy,
dataset-fashion-mnist, and the built tools (build/tools/tseval).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ("ternary", "binary")


def run_name(mode, timesteps, seed):
    return f"tsnet_{mode}_t{timesteps}_s{seed}"


def tseval_json(tools, onnx_path, golden, timesteps):
    cmd = [os.path.join(tools, "tseval"), onnx_path, "--json", "--timesteps", str(timesteps),
           "--compare", golden]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def command_run(args):
    os.makedirs(args.work, exist_ok=True)
    todo = [(m, t, s) for s in args.seeds for t in args.timesteps for m in MODES]
    running = []  # (name, Popen, log file)

    def finished(name):
        return os.path.exists(os.path.join(args.work, name + ".json"))

    def start(mode, timesteps, seed):
        name = run_name(mode, timesteps, seed)
        log = open(os.path.join(args.work, name + ".log"), "w")
        cmd = ["nice", "-n", "10", sys.executable, os.path.join(ROOT, "scripts", "train_fashion_variants.py"),
               "--model", "tsnet", "--mode", mode, "--timesteps", str(timesteps), "--seed", str(seed),
               "--epochs", str(args.epochs), "--threads", "1", "--no-verify", "--name", name,
               "--out", args.work, "--results", os.path.join(args.work, name + ".train.json")]
        print(f"start {name}", flush=True)
        return name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log

    def finish(name):
        train = json.load(open(os.path.join(args.work, name + ".train.json")))
        onnx_path = os.path.join(args.work, name + ".onnx")
        golden = os.path.join(args.work, "golden", name + ".test_predictions.npy")
        ev = tseval_json(args.tools, onnx_path, golden, train["timesteps"])
        result = {"name": name, "train": train, "tseval": ev}
        with open(os.path.join(args.work, name + ".json"), "w") as f:
            json.dump(result, f)
        print(f"done {name}: PyTorch {train['test_accuracy']:.4f}, tspike {ev['accuracy']:.4f}, "
              f"same predictions {ev['compare']['identical']}/{ev['images']}", flush=True)

    for m, t, s in todo:
        name = run_name(m, t, s)
        if finished(name):
            continue
        if os.path.exists(os.path.join(args.work, name + ".train.json")):  # trained, not evaluated
            finish(name)
            continue
        while len(running) >= args.jobs:
            time.sleep(10)
            for r in list(running):
                if r[1].poll() is not None:
                    running.remove(r)
                    r[2].close()
                    if r[1].returncode != 0:
                        raise SystemExit(f"{r[0]} failed, see {r[2].name}")
                    finish(r[0])
        running.append(start(m, t, s))
    for name, proc, log in running:
        proc.wait()
        log.close()
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed, see {log.name}")
        finish(name)

    runs = []
    for m, t, s in todo:
        r = json.load(open(os.path.join(args.work, run_name(m, t, s) + ".json")))
        tr, ev = r["train"], r["tseval"]
        runs.append({"mode": m, "timesteps": t, "seed": s, "epochs": tr["epochs"],
                     "train_seconds": tr["train_seconds"], "history": tr["history"],
                     "pytorch_accuracy": tr["test_accuracy"], "pytorch_firing_rates": tr["firing_rates"],
                     "tspike_accuracy": ev["accuracy"], "tspike_same_predictions": ev["compare"]["identical"],
                     "tspike_firing_rates": ev["firing_rates"], "tspike_mean_firing_rate": ev["mean_firing_rate"],
                     "energy": ev["energy"], "predictions": tr["predictions"]})
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "w") as f:
        json.dump({"what": "scripts/ternary_vs_binary.py run", "runs": runs}, f, indent=0)
    print(f"wrote {args.results}")


# ---- statistics (no scipy in Debian's python3 by default) ----

def mean_sd(xs):
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, sd


def mcnemar_exact(b, c):
    """Two-sided exact McNemar p: discordant pairs b, c under Binomial(b+c, 1/2)."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n  # exact integers: no overflow for large n
    return min(1.0, 2 * tail)


def _betacf(a, b, x):
    # Continued fraction of the regularized incomplete beta (Lentz).
    tiny, qab, qap, qam = 1e-300, a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c if abs(1 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c if abs(1 + aa / c) > tiny else tiny
        h *= d * c
        if abs(d * c - 1) < 1e-12:
            break
    return h


def student_t_two_sided(t, df):
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    x = df / (df + t * t)
    a, b = df / 2, 0.5
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(lbeta + a * math.log(x) + b * math.log(1 - x))
    ibeta = front * _betacf(a, b, x) / a if x < (a + 1) / (a + b + 2) else 1 - front * _betacf(b, a, 1 - x) / b
    return ibeta


def paired_t(diffs):
    m, sd = mean_sd(diffs)
    if sd == 0:
        return float("inf") if m else 0.0, 0.0 if m else 1.0
    t = m / (sd / math.sqrt(len(diffs)))
    return t, student_t_two_sided(t, len(diffs) - 1)


def command_report(args):
    data = json.load(open(args.results))
    runs = data["runs"]
    labels = _labels(args.data)
    ts = sorted({r["timesteps"] for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    by = {(r["mode"], r["timesteps"], r["seed"]): r for r in runs}
    epochs = sorted({r["epochs"] for r in runs})

    print(f"{len(seeds)} seeds ({', '.join(map(str, seeds))}), {', '.join(map(str, epochs))} epochs, "
          f"fashion_tsnet's network; mean +- standard deviation over seeds; accuracy by tspike (tseval) "
          f"on the 10,000 test images; firing rate over all spike layers; energy per image at 45 nm "
          f"(0.9 pJ per AC, 4.6 pJ per MAC; the same network as a dense ANN: "
          f"{runs[0]['energy']['dense_ann_nj_per_image']:.0f} nJ).\n")
    print("| T | neuron | test accuracy | firing rate | spike layer 1 / 2 | energy per image | ANN / SNN |")
    print("|---|---|---|---|---|---|---|")
    for t in ts:
        for mode in MODES:
            rs = [by[(mode, t, s)] for s in seeds]
            acc = mean_sd([100 * r["tspike_accuracy"] for r in rs])
            fr = mean_sd([100 * r["tspike_mean_firing_rate"] for r in rs])
            layer_rates = [list(r["tspike_firing_rates"].values()) for r in rs]
            per_layer = " / ".join(f"{100 * sum(l[k] for l in layer_rates) / len(rs):.1f}%"
                                   for k in range(len(layer_rates[0])))
            en = mean_sd([r["energy"]["nj_per_image"] for r in rs])
            ratio = mean_sd([r["energy"]["ratio_dense_ann_to_snn"] for r in rs])
            print(f"| {t} | {mode} | {acc[0]:.2f} +- {acc[1]:.2f} % | {fr[0]:.1f} +- {fr[1]:.1f} % | {per_layer} "
                  f"| {en[0]:.0f} +- {en[1]:.0f} nJ | {ratio[0]:.2f} |")

    print("\nPaired by seed (same initial weights and data order), ternary minus binary:\n")
    print("| T | accuracy difference per seed (points) | mean | paired t-test (df = "
          f"{len(seeds) - 1}) | McNemar per seed: ternary-only right / binary-only right, p | "
          "pooled over seeds: b / c, p | energy ternary / binary |")
    print("|---|---|---|---|---|---|---|")
    for t in ts:
        diffs, per_seed, B, C = [], [], 0, 0
        for s in seeds:
            a, b = by[("ternary", t, s)], by[("binary", t, s)]
            diffs.append(100 * (a["tspike_accuracy"] - b["tspike_accuracy"]))
            # McNemar on PyTorch's predictions (equal to tspike's where they agree).
            ra = [p == str(y) for p, y in zip(a["predictions"], labels)]
            rb = [p == str(y) for p, y in zip(b["predictions"], labels)]
            bb = sum(x and not y for x, y in zip(ra, rb))
            cc = sum(y and not x for x, y in zip(ra, rb))
            B, C = B + bb, C + cc
            per_seed.append(f"{bb}/{cc}, p={mcnemar_exact(bb, cc):.2g}")
        tt, p = paired_t(diffs)
        energy = mean_sd([by[("ternary", t, s)]["energy"]["nj_per_image"] /
                          by[("binary", t, s)]["energy"]["nj_per_image"] for s in seeds])
        print(f"| {t} | {', '.join(f'{d:+.2f}' for d in diffs)} | {sum(diffs) / len(diffs):+.2f} | "
              f"t = {tt:.2f}, p = {p:.2g} | {'; '.join(per_seed)} | {B}/{C}, p = {mcnemar_exact(B, C):.2g} "
              f"| {energy[0]:.2f}x |")


def _labels(data_dir):
    import gzip
    with gzip.open(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"), "rb") as f:
        return list(f.read()[8:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train and evaluate every configuration")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--timesteps", type=int, nargs="+", default=[1, 2, 4])
    r.add_argument("--epochs", type=int, default=3)
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--work", default="/tmp/ternary_vs_binary", help="where models and logs go")
    r.add_argument("--tools", default=os.path.join(ROOT, "build", "tools"))
    r.add_argument("--results", default=os.path.join(ROOT, "models", "study", "ternary_vs_binary.json"))
    p = sub.add_parser("report", help="print the markdown tables from the results")
    p.add_argument("--results", default=os.path.join(ROOT, "models", "study", "ternary_vs_binary.json"))
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    command_run(args) if args.command == "run" else command_report(args)


if __name__ == "__main__":
    main()

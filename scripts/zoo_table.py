#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The model zoo table of models/README.md, made by running tseval.

    /usr/bin/python3 scripts/zoo_table.py                 # print the table
    /usr/bin/python3 scripts/zoo_table.py --update        # rewrite it in models/README.md

Runs `tseval --json --golden models/golden` over every image model in
models/*.onnx (those with sequence encoding, the event-camera ones, are
evaluated by their own scripts and left out) on the Fashion-MNIST test set (10,000 images; Debian's dataset-fashion-mnist) and
prints one markdown row per model: tspike's accuracy, how many predictions
equal PyTorch's, the firing rate of every spike layer, the estimated energy
per image and its ratio to the same network as a dense ANN, and how many
Conv / Gemm layers are add-only (consume {-1, 0, +1}). --update replaces the
lines between the markers `<!-- zoo table -->` and `<!-- /zoo table -->` in
models/README.md. Needs the built tools (build/tools, or --tools).
"""

import argparse
import glob
import json
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- zoo table -->", "<!-- /zoo table -->"


def short(node):
    """'/layer1/spike2/TernarySpike' -> 'layer1/spike2'."""
    return re.sub(r"/TernarySpike$", "", node).strip("/")


def table(evals):
    lines = ["| model | T | tspike test accuracy | = PyTorch | add-only layers | firing rate (all layers) "
             "| firing rate per spike layer | energy per image (SNN / dense ANN) | ANN / SNN |",
             "|---|---|---|---|---|---|---|---|---|"]
    for e in evals:
        name = os.path.basename(e["model"])
        same = f"{e['compare']['identical']:,}/{e['images']:,}" if "compare" in e else "-"
        rates = ", ".join(f"{short(k)} {100 * v:.1f}" for k, v in e["firing_rates"].items())
        en = e["energy"]
        lines.append(f"| `{name}` | {e['timesteps']} | {100 * e['accuracy']:.2f} % | {same} "
                     f"| {e['layers']['multiplication_free']} of {e['layers']['total']} "
                     f"| {100 * e['mean_firing_rate']:.1f} % | {rates} "
                     f"| {en['nj_per_image']:.0f} / {en['dense_ann_nj_per_image']:.0f} nJ "
                     f"| {en['ratio_dense_ann_to_snn']:.2f} |")
    return "\n".join(lines)


def image_models(paths):
    """The models whose input is one image (not a sequence of event frames)."""
    import onnx
    keep = []
    for path in paths:
        meta = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
        if meta.get("tspike.encoding", "direct") != "sequence":
            keep.append(path)
    return keep


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tools", default=os.path.join(ROOT, "build", "tools"))
    ap.add_argument("--models", nargs="*", default=None, help="default: models/*.onnx")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--update", action="store_true", help="rewrite the table in models/README.md")
    args = ap.parse_args()
    models = args.models or image_models(sorted(glob.glob(os.path.join(ROOT, "models", "*.onnx"))))
    cmd = [os.path.join(args.tools, "tseval"), *[os.path.relpath(m, ROOT) for m in models], "--json",
           "--golden", "models/golden", "--threads", str(args.threads)]
    out = json.loads(subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    evals = out["models"] if "models" in out else [out]
    text = table(evals)
    if not args.update:
        print(text)
        return
    path = os.path.join(ROOT, "models", "README.md")
    readme = open(path).read()
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"{path}: no {BEGIN} ... {END} markers")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(f"{head}{BEGIN}\n{text}\n{END}{tail}")
    print(f"updated {path}")


if __name__ == "__main__":
    main()

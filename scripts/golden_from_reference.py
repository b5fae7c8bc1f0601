#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Golden inputs and outputs for a model whose first test images all come
too close to a threshold to test logits on.

    /usr/bin/python3 scripts/golden_from_reference.py models/fashion_resnet19.onnx

A deep network has so many membranes that, on most images, one of them ends
up within float32 rounding (about 2e-6 here) of the threshold; there float32
and float64 may decide that spike differently (the format allows it), and the
logits move with it. The tests compare tspike's logits with the golden ones
only on inputs whose membranes all stay --min-margin away. This script
picks the first --count Fashion-MNIST test images (in test-set order) whose
smallest distance of a membrane from the threshold, over every spike layer
and timestep, is at least --min-margin, runs them through the NumPy
reference interpreter of the file (tspike.torch.reference, float64), and
writes models/golden/<model>.input.npy, .output.npy (mean-over-T logits),
.margin.npy and .input_index.npy (the test-set index of each image). The
model's test_predictions.npy (PyTorch's class for every test image) is left
as it is.
"""

import argparse
import os

import numpy as np

from fashion_reference import ROOT, Reference, load, logits_and_margin, preprocess


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--min-margin", type=float, default=1e-5)
    ap.add_argument("--search", type=int, default=500, help="look at most this many test images")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "golden"))
    args = ap.parse_args()
    name = os.path.splitext(os.path.basename(args.model))[0]
    ref = Reference(args.model)
    images, labels = load(args.data, "test")
    x = preprocess(images[:args.search])
    chosen, outputs, margins = [], [], []
    for i in range(len(x)):
        logits, margin, _ = logits_and_margin(ref, x[i:i + 1])
        if margin >= args.min_margin:
            chosen.append(i)
            outputs.append(logits)
            margins.append(margin)
            if len(chosen) == args.count:
                break
    if len(chosen) < args.count:
        raise SystemExit(f"only {len(chosen)} of the first {args.search} test images have a margin >= "
                         f"{args.min_margin}")
    np.save(os.path.join(args.out, f"{name}.input.npy"), x[chosen].astype(np.float32))
    np.save(os.path.join(args.out, f"{name}.output.npy"), np.array(outputs, np.float32))
    np.save(os.path.join(args.out, f"{name}.margin.npy"), np.array(margins, np.float32))
    np.save(os.path.join(args.out, f"{name}.input_index.npy"), np.array(chosen, np.int64))
    predicted = np.argmax(outputs, 1)
    print(f"{name}: test images {chosen} (labels {[int(labels[i]) for i in chosen]}, predicted "
          f"{[int(p) for p in predicted]}); margins " + " ".join(f"{m:.2g}" for m in margins)
          + f"; max |logit| {np.abs(outputs).max():.3g}")


if __name__ == "__main__":
    main()

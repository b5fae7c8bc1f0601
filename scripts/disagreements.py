#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Why tspike and PyTorch disagree on a test image, image by image.

    /usr/bin/python3 scripts/disagreements.py models/fashion_resnet20.onnx

Runs `tseval --predictions` on the Fashion-MNIST test set, compares with
models/golden/<model>.test_predictions.npy (PyTorch's classes), and runs each
image where they differ through the NumPy reference interpreter of the file
(tspike.torch.reference) in float64, printing the smallest distance of any
membrane from the threshold over all spike layers and timesteps. The format
allows a spike to differ where rounding decides it (a membrane within float
rounding of the threshold), and everything downstream of it with it; a
disagreement with a large margin is a bug. Exits 1 if any disagreeing image
has a margin above --tolerance.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

from fashion_reference import ROOT, Reference, load, logits_and_margin


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--golden", default=None, help="PyTorch's classes (default models/golden/<model>.test_predictions.npy)")
    ap.add_argument("--tools", default=os.path.join(ROOT, "build", "tools"))
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--tolerance", type=float, default=1e-5,
                    help="largest margin still counted as a rounding flip (float32 membranes of these models "
                         "differ from float64 ones by up to about 2e-6)")
    args = ap.parse_args()
    name = os.path.splitext(os.path.basename(args.model))[0]
    golden = args.golden or os.path.join(ROOT, "models", "golden", name + ".test_predictions.npy")
    with tempfile.TemporaryDirectory() as tmp:
        ours = os.path.join(tmp, "predictions.npy")
        subprocess.run([os.path.join(args.tools, "tseval"), args.model, "--quiet", "--predictions", ours,
                        "--dataset", args.data], check=True, stdout=subprocess.DEVNULL)
        tspike = np.load(ours).astype(np.int64)
    torch_pred = np.load(golden).astype(np.int64)
    differ = np.flatnonzero(tspike != torch_pred)
    print(f"{name}: tspike and PyTorch agree on {len(tspike) - len(differ)} of {len(tspike)} test images")
    if len(differ) == 0:
        return 0
    ref = Reference(args.model)
    meta = ref.meta
    scale = float(meta.get("tspike.image.scale", 1.0))
    mean = np.array([float(v) for v in meta.get("tspike.image.mean", "0").split(",")])
    std = np.array([float(v) for v in meta.get("tspike.image.std", "1").split(",")])
    images, labels = load(args.data, "test")
    worst = 0.0
    for i in differ:
        x = (images[i:i + 1].astype(np.float64) * scale - mean) / std
        x = x.reshape(1, 1, *images.shape[1:])
        logits, margin, node = logits_and_margin(ref, x)
        worst = max(worst, margin)
        top2 = np.sort(logits)[-2:]
        print(f"image {i} (label {labels[i]}): tspike {tspike[i]}, PyTorch {torch_pred[i]}, float64 reference "
              f"{int(np.argmax(logits))} (top two logits {top2[1]:.4f} / {top2[0]:.4f}); smallest margin "
              f"{margin:.2g} at {node}")
    ok = worst <= args.tolerance
    print(f"largest margin among them {worst:.2g}: "
          + ("every disagreement is a spike decided by rounding" if ok else "ABOVE the tolerance"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

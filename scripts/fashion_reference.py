# SPDX-License-Identifier: Apache-2.0
"""What scripts/disagreements.py and scripts/golden_from_reference.py share:
the NumPy reference interpreter (tspike.torch.reference, float64), the
Fashion-MNIST loader and preprocessing of scripts/train_fashion.py, and one
image's logits with its smallest membrane margin."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from tspike.torch.reference import Reference  # noqa: E402,F401
from train_fashion import load, preprocess  # noqa: E402,F401


def logits_and_margin(ref, x):
    """Runs one preprocessed image [1, C, H, W] through `ref`; returns its
    mean-over-T logits, the smallest distance of any membrane from the
    threshold over every spike layer and timestep, and that layer's name."""
    stats = {}
    logits = ref.run(x, stats=stats)[0][0]
    node, margin = min(((n, s[2]) for n, s in stats.items()), key=lambda p: p[1])
    return logits, margin, node

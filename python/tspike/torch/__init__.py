# SPDX-License-Identifier: Apache-2.0
"""tspike.torch: train ternary-spike SNNs in PyTorch and export them to the
tspike ONNX format (see docs/format.md).

`export` is `export_tspike`; the module that defines it is
`tspike.torch.exporter`.
"""

from .neuron import TernarySpike, reset_net, spike_fn, spike_layers
from .exporter import export_tspike, check, identity_copy

export = export_tspike

__all__ = ["TernarySpike", "reset_net", "spike_fn", "spike_layers",
           "export", "export_tspike", "check", "identity_copy"]

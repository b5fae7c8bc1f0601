"""tspike_torch: train ternary-spike SNNs in PyTorch and export them to the
tspike ONNX format (see docs/format.md)."""

from .neuron import TernarySpike, reset_net, spike_fn, spike_layers
from .export import export_tspike, check, identity_copy

__all__ = ["TernarySpike", "reset_net", "spike_fn", "spike_layers",
           "export_tspike", "check", "identity_copy"]

"""tspike: ternary-spike neural networks in Python.

`tspike.torch` trains ternary-spike networks in PyTorch and exports them to
the tspike ONNX format (docs/format.md).
"""

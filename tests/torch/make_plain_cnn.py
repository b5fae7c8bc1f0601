#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write plain_cnn_avgpool.onnx: a CNN without a spike layer, as a user
exports it from PyTorch, with AvgPool2d(padding=1) (which torch.onnx writes
as a Pad and an unpadded AveragePool), its input and PyTorch's output.

    /usr/bin/python3 tests/torch/make_plain_cnn.py

Debian's python3 with python3-torch (1.13) and python3-numpy. Fixed seed.
tests/test_cli_preprocessing.cpp runs the model with tsrun.
"""

import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class PlainCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.pool = torch.nn.AvgPool2d(3, stride=2, padding=1)
        self.fc = torch.nn.Linear(4 * 5 * 5, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


def main():
    torch.manual_seed(20261205)
    net = PlainCnn().eval()
    x = torch.rand(2, 1, 12, 12)
    path = os.path.join(HERE, "plain_cnn_avgpool.onnx")
    torch.onnx.export(net, x, path, opset_version=13, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})
    np.save(os.path.join(HERE, "plain_cnn_avgpool.input.npy"), x.numpy())
    with torch.no_grad():
        np.save(os.path.join(HERE, "plain_cnn_avgpool.output.npy"), net(x).numpy())


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: Apache-2.0
"""tspike.torch (the PyTorch side) and tspike.from_torch: a network with
TernarySpike neurons becomes a ready Model whose outputs are PyTorch's
mean over T."""

import numpy as np
import pytest
import torch
from torch import nn

import tspike
import tspike.torch as tt


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.spike1 = tt.TernarySpike()
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 5)
        self.spike2 = tt.TernarySpike(threshold=0.3, decay=0.5)
        self.out = nn.Linear(5, 3)

    def forward(self, x):
        x = self.pool(self.spike1(self.bn(self.conv(x))))
        return self.out(self.spike2(self.fc(torch.flatten(x, 1))))


def torch_mean_over_t(net, x, timesteps):
    tt.reset_net(net)
    with torch.no_grad():
        return torch.stack([net(x) for _ in range(timesteps)]).mean(0).numpy()


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(3)
    n = SmallNet()
    with torch.no_grad():
        n.conv.weight.mul_(3)
        n.spike1.amplitude.fill_(0.75)
        n.spike2.amplitude.fill_(1.5)
    return n.eval()


def test_the_package_carries_the_pytorch_tooling():
    assert tt.export is tt.export_tspike
    from tspike.torch.reference import Reference  # noqa: F401
    from tspike.torch.reference_compat import from_reference  # noqa: F401
    assert issubclass(tt.TernarySpike, nn.Module)


def test_from_torch_returns_a_model_equal_to_pytorch(net):
    x = torch.rand(6, 1, 8, 8) * 2
    model = tspike.from_torch(net, x[:1], timesteps=5, labels=["a", "b", "c"])
    assert isinstance(model, tspike.Model)
    assert model.timesteps == 5 and model.labels == ["a", "b", "c"]
    assert model.info["path"] == "from_torch(SmallNet)"
    assert any(l["multiplication_free"] for l in model.info["layers"])
    y = tspike.Session(model).run(x.numpy())
    expected = torch_mean_over_t(net, x, 5)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-5 * max(1, np.abs(expected).max()))


def test_export_writes_a_file_that_loads(net, tmp_path):
    x = torch.rand(2, 1, 8, 8)
    tt.export(net, x[:1], str(tmp_path / "m.onnx"), timesteps=3)
    model = tspike.Model.load(tmp_path / "m.onnx")
    np.testing.assert_allclose(tspike.Session(model).run(x.numpy()), torch_mean_over_t(net, x, 3),
                               rtol=0, atol=1e-5)


def test_from_torch_passes_load_options(net):
    model = tspike.from_torch(net, torch.zeros(1, 1, 8, 8), load_options={"engine": "dense"})
    assert all("event" not in l["kernel"] for l in model.info["layers"])


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("count_include_pad", [False, True])
def test_reference_pools_like_pytorch(ceil_mode, count_include_pad):
    # The NumPy reference interprets shipped models with ceil_mode average
    # pools (ResNet-20's shortcuts); its pools must be PyTorch's.
    from tspike.torch.reference import _pool
    rng = np.random.default_rng(5)
    checked = 0
    for h, w in [(7, 7), (8, 5), (3, 4), (1, 6)]:
        for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 3, 1), (2, 1, 1), (1, 2, 0)]:
            if h + 2 * p < k or w + 2 * p < k:
                continue
            x = rng.standard_normal((2, 3, h, w))
            attrs = {"kernel_shape": [k, k], "strides": [s, s], "pads": [p] * 4,
                     "ceil_mode": int(ceil_mode), "count_include_pad": int(count_include_pad)}
            xt = torch.from_numpy(x)
            avg = nn.functional.avg_pool2d(xt, k, s, p, ceil_mode=ceil_mode,
                                           count_include_pad=count_include_pad).numpy()
            mx = nn.functional.max_pool2d(xt, k, s, p, ceil_mode=ceil_mode).numpy()
            np.testing.assert_allclose(_pool(x, attrs, "avg"), avg, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(_pool(x, attrs, "max"), mx, rtol=1e-12, atol=1e-12)
            checked += 1
    assert checked >= 15

# SPDX-License-Identifier: Apache-2.0
"""Checkpoints of the Ternary-Spike reference training code to tsrun output
in one step (tsconvert --from-reference), with tspike.torch's own
definitions of the reference's architectures (tspike.torch.reference_nets)
at small widths, and checkpoints laid out as the reference's training
script saves them (the state_dict of its SpikeModel)."""

import json
import os
import subprocess
import warnings

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from conftest import run_tool, tool
from tspike.torch import TernarySpike, export_tspike, reference_nets, reset_net
from tspike.torch import reference_checkpoint as rc
from tspike.torch.reference_nets import reference_forward

T = 4

# The reference's SpikeModel(net).state_dict() with its published neuron
# (fire_ratio = 1, no key): number of keys and a few of them, as counted on
# the reference code (models/resnet.py, vggcifar.py, spike_model.py,
# spike_block.py). The layout does not depend on the width.
REFERENCE_KEYS = {
    "resnet19": (117, ["model.conv1.pool.weight", "model.bn1.conv.running_var", "model.layer1.2.bn2.bn.bias",
                       "model.layer2.0.downsample.0.pool.weight", "model.layer3.0.downsample.1.bn.running_mean",
                       "model.layer3.1.conv2.pool.weight", "model.fc.conv.bias", "model.scale"]),
    "resnet20": (129, ["model.layer3.2.bn2.bn.num_batches_tracked", "model.fc.conv.weight", "model.scale"]),
    "resnet20_modified": (135, ["model.conv1.0.pool.weight", "model.conv1.4.conv.running_mean",
                                "model.conv1.7.conv.bias", "model.layer2.0.downsample.1.pool.weight",
                                "model.layer2.0.downsample.2.bn.weight", "model.layer4.1.conv2.pool.weight",
                                "model.scale"]),
    "vgg16": (93, ["model.features.0.pool.bias", "model.features.1.conv.weight",
                   "model.features.41.conv.running_var", "model.classifier.conv.weight"]),
}

# (arch, amplitude, width, image size): the three kinds of amplitude the
# reference code trains.
CASES = [("resnet19", "layer", 8, 16), ("resnet20_modified", "channel", 4, 16),
         ("vgg16", "constant", 4, 32), ("resnet20", "constant", 4, 16)]


def images(seed, n, size):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def trained(arch, amplitude, width, size, seed=0):
    """A network as training leaves it: BatchNorm statistics of data,
    gammas and betas that make the neurons fire at some 10-40 %, and
    amplitudes away from 1 when they train."""
    torch.manual_seed(seed)
    net = reference_nets.build(arch, width=width, amplitude=amplitude)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.0, generator=g)
                m.bias.normal_(0.0, 0.2, generator=g)
                m.momentum = None          # running statistics: the average over the batches
            if isinstance(m, TernarySpike) and amplitude != "constant":
                m.amplitude.uniform_(0.5, 1.5, generator=g)
        net.train()
        reference_forward(net, images(seed + 100, 16, size), T)
    return net.eval()


def tsconvert(*args):
    return subprocess.run([tool("tsconvert"), *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("arch,amplitude,width,size", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_a_reference_checkpoint_converts_verifies_and_runs_like_the_reference(arch, amplitude, width, size, tmp_path):
    net = trained(arch, amplitude, width, size)
    state = rc.reference_state_dict(net)
    count, examples = REFERENCE_KEYS[arch]
    neurons = sum(isinstance(m, TernarySpike) for m in net.modules())
    assert len(state) == count + (0 if amplitude == "constant" else neurons)
    for key in examples:
        assert key in state, key
    torch.save(state, tmp_path / "ckpt.pth")

    r = tsconvert("--from-reference", arch, tmp_path / "ckpt.pth", "-o", tmp_path / "model.onnx", "--verify",
                  "--json", "--image-size", size, "--labels", "cifar10", "--keep-export", tmp_path / "trained.onnx")
    assert r.returncode == 0, r.stderr + r.stdout
    j = json.loads(r.stdout)
    assert j["verify"]["ok"], j["verify"]["failure"]
    assert j["verify"]["compared_spikes"] > 0
    assert j["unfolded_batchnorms"] == []          # every BatchNorm folded, merged parameters too
    assert j["kept_amplitudes"] == []
    kinds = {"constant": "constant 1", "layer": "per layer", "channel": "per channel"}
    assert any(f"{neurons} {kinds[amplitude]}" in n for n in j["reference"]["notes"]), j["reference"]["notes"]
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pth", "model.onnx", "trained.onnx"]

    # tsrun gives the reference forward's predictions (the image repeated
    # T times, the multi-step network, the mean over T).
    x = images(7, 6, size)
    with torch.no_grad():
        want = reference_forward(net, x, T).numpy()
    np.save(tmp_path / "x.npy", x.numpy())
    out = json.loads(run_tool("tsrun", tmp_path / "model.onnx", "--input", tmp_path / "x.npy", "--json"))
    got = np.array(out["outputs"][0]["data"], dtype=np.float32).reshape(want.shape)
    assert (got.argmax(1) == want.argmax(1)).all()
    per_sample = np.abs(got - want).max(1) / np.abs(want).max(1)
    assert np.median(per_sample) <= 1e-5, per_sample   # a sample may differ by a flip at the threshold
    rates = list(out["firing_rates"].values())
    assert 0.02 < float(np.mean(rates)) < 0.6, rates   # the neurons fire: the comparison means something


def test_the_published_constant_neuron_exports_without_warnings(tmp_path):
    """Every amplitude 1: torch merges them into one initializer behind
    Identity nodes; each TernarySpike gets its own again."""
    net = trained("resnet19", "constant", 4, 16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_tspike(net, torch.zeros(1, 3, 16, 16), str(tmp_path / "m.onnx"), fold_batchnorm=False)
    assert [str(w.message) for w in caught] == []
    m = onnx.load(str(tmp_path / "m.onnx"))
    inits = {t.name: t for t in m.graph.initializer}
    spikes = [n for n in m.graph.node if n.op_type == "TernarySpike"]
    assert len(spikes) == 17
    assert {n.input[1] for n in spikes} == {f"{name}.amplitude" for name, mod in net.named_modules()
                                            if isinstance(mod, TernarySpike)}
    for n in spikes:
        assert onnx.numpy_helper.to_array(inits[n.input[1]]).tolist() == [1.0]
    assert not any(n.op_type == "Identity" for n in m.graph.node)


def test_an_amplitude_computed_in_the_graph_is_named(tmp_path):
    class Computed(TernarySpike):
        def forward(self, x):
            saved = self.amplitude
            self.amplitude = saved * torch.ones_like(x).mean()   # depends on the input
            try:
                return super().forward(x)
            finally:
                self.amplitude = saved
    net = nn.Sequential(nn.Conv2d(1, 2, 3), Computed(trainable_amplitude=False))
    with pytest.raises(RuntimeError, match=r"amplitude of .*TernarySpike.* is computed by a Mul node"):
        export_tspike(net, torch.zeros(1, 1, 5, 5), str(tmp_path / "m.onnx"))


def test_checkpoints_that_do_not_fit_are_refused_by_name(tmp_path):
    net = trained("resnet19", "layer", 4, 16)
    good = rc.reference_state_dict(net)

    missing = dict(good)
    del missing["model.layer2.1.conv2.pool.weight"]
    with pytest.raises(rc.CheckpointError, match=r"missing 1 key\(s\): model\.layer2\.1\.conv2\.pool\.weight"):
        rc.load("resnet19", missing)

    wrong_shape = dict(good)
    wrong_shape["model.fc.conv.weight"] = torch.zeros(10, 3)
    with pytest.raises(rc.CheckpointError, match=r"model\.fc\.conv\.weight is \[10, 3\], resnet19 expects \[10, 16\]"):
        rc.load("resnet19", wrong_shape)

    other = rc.reference_state_dict(trained("resnet20_modified", "channel", 4, 16))
    with pytest.raises(rc.CheckpointError, match=r"does not fit resnet19.*unexpected.*Its keys are those of "
                                                 r"resnet20_modified"):
        rc.load("resnet19", other)

    along_w = dict(good)
    along_w["model.layer1.0.relu1.fire_ratio"] = torch.ones(4)
    with pytest.raises(rc.CheckpointError, match=r"layer1\.0\.relu1\.fire_ratio has shape \[4\]"):
        rc.load("resnet19", along_w)

    # rp=True: the reference multiplies the 4w pooled features by its
    # scale of 2048 values, which it cannot do for ResNet-19.
    scaled = dict(good)
    scaled["model.scale"] = torch.full((1, 1, 2048), 0.5)
    with pytest.raises(rc.CheckpointError, match=r"model\.scale has 2048 values but the classifier has 16"):
        rc.load("resnet19", scaled)

    with pytest.raises(ValueError, match=r"unknown architecture 'resnet18'.*resnet19 \(resnet19_cifar\)"):
        rc.load("resnet18", good)

    # From the command line: exit 1, the key named, nothing left behind.
    torch.save(missing, tmp_path / "ckpt.pth")
    r = tsconvert("--from-reference", "resnet19_cifar", tmp_path / "ckpt.pth", "-o", tmp_path / "model.onnx")
    assert r.returncode == 1
    assert "model.layer2.1.conv2.pool.weight" in r.stderr, r.stderr
    assert r.stderr.rstrip().endswith("failed (the exporter's message is above)"), r.stderr
    assert os.listdir(tmp_path) == ["ckpt.pth"]
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    r = tsconvert("--from-reference", "resnet19", tmp_path / "junk.pth", "-o", tmp_path / "model.onnx")
    assert r.returncode == 1 and "junk.pth: not a PyTorch checkpoint" in r.stderr, r.stderr


def test_rp_scale_is_folded_into_the_classifier():
    """rp=True: the reference multiplies the pooled features by model.scale
    before its classifier (multi-step only); the checkpoint's scale ends up
    in the classifier's weights."""
    net = trained("resnet20_modified", "layer", 4, 16)
    scale = torch.rand(1, 1, 512, generator=torch.Generator().manual_seed(5)) + 0.5
    state = rc.reference_state_dict(net, scale=scale)
    # What the reference computes: features * scale, then the classifier.
    # The reference's scale has 512 values for its width of 64; at width 4
    # the features are 32: the checkpoint gets a scale that fits them.
    assert net.fc.in_features == 32
    state["model.scale"] = scale[..., :32].clone()
    hook = net.fc.register_forward_pre_hook(lambda m, inp: (inp[0] * state["model.scale"].reshape(-1),))
    x = images(3, 4, 16)
    with torch.no_grad():
        want = reference_forward(net, x, T)
    hook.remove()
    loaded, notes = rc.load("resnet20_modified", state)
    assert any("rp=True" in n for n in notes), notes
    with torch.no_grad():
        got = reference_forward(loaded, x, T)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write the corpus of broken and hostile files in tests/broken/.

    /usr/bin/python3 tests/make_broken_files.py

Debian's python3 with python3-onnx (1.12) and python3-numpy. Deterministic: a
rerun writes the same bytes. tests/test_hostile.cpp expects, for each file,
the ErrorCode and the words of the message given in the table there (and in
tests/broken/README.md); tsrun must exit 1 with one line on each, within a few
hundred MB of address space.

Every file is small: the hostile ones *declare* huge sizes, they do not have
them.
"""

import os
import struct
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "broken")
GOOD = os.path.join(HERE, "data", "residual_block.onnx")
F32 = TensorProto.FLOAT
OPSETS = [helper.make_opsetid("", 13), helper.make_opsetid("tspike", 1)]


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def model_bytes(nodes, inits, input_shape=("N", 1, 8, 8), output="y", output_shape=("N", 3),
                extra_inputs=(), metadata=None, check=True):
    """A graph with one float input 'x'; serialized without onnx.checker when
    check is False (most of these models are meant to be invalid)."""
    graph = helper.make_graph(
        nodes, "broken",
        [helper.make_tensor_value_info("x", F32, list(input_shape))] + list(extra_inputs),
        [helper.make_tensor_value_info(output, F32, list(output_shape))],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=OPSETS, producer_name="make_broken_files")
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    if check:
        onnx.checker.check_model(model)
    return model.SerializeToString()


def init(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def small_net(weight=None, bias=None):
    """x [N,1,8,8] -> Conv(4, 3x3, pad 1) -> TernarySpike -> GlobalAveragePool -> Flatten -> Gemm(4->3)."""
    rng = np.random.default_rng(7)
    w = rng.normal(0, 0.5, size=(4, 1, 3, 3)).astype(np.float32) if weight is None else weight
    b = rng.normal(0, 0.1, size=3).astype(np.float32) if bias is None else bias
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("TernarySpike", ["c"], ["s"], name="spike", domain="tspike"),
        helper.make_node("GlobalAveragePool", ["s"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="fc"),
    ]
    inits = [init("conv.weight", w), init("fc.weight", rng.normal(0, 0.5, size=(4, 3))), init("fc.bias", b)]
    return nodes, inits


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png(width, height, idat):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def npy(header_dict, data):
    text = repr(header_dict).encode("latin1")
    text += b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f != "README.md":
            os.remove(os.path.join(OUT, f))
    good = open(GOOD, "rb").read()

    # ---- model files that are not models ---------------------------------
    write("empty.onnx", b"")
    write("truncated.onnx", good[: len(good) // 2])
    # The first single-bit flip (scanning from byte 0, bit 0) that protobuf
    # refuses: deterministic, and certainly not a model.
    for pos in range(len(good)):
        for bit in range(8):
            flipped = bytearray(good)
            flipped[pos] ^= 1 << bit
            try:
                onnx.load_from_string(bytes(flipped))
            except Exception:  # noqa: BLE001 - protobuf's DecodeError
                write("bitflip.onnx", bytes(flipped))
                break
        else:
            continue
        break
    write("text.onnx", b"this is not a model\n")

    # ---- graphs that break the rules -------------------------------------
    nodes, inits = small_net()
    # A cycle: the Conv reads the Gemm's output, the Gemm (indirectly) the Conv's.
    cyc = [helper.make_node("Add", ["x", "y2"], ["a"], name="add_cycle")] + [
        helper.make_node(n.op_type, ["a" if i == "x" else i for i in n.input], list(n.output), name=n.name,
                         domain=n.domain, **{a.name: helper.get_attribute_value(a) for a in n.attribute})
        for n in nodes]
    cyc.append(helper.make_node("Identity", ["y"], ["y2"], name="back_edge"))
    write("cycle.onnx", model_bytes(cyc, inits, check=False))

    # An input that no node produces.
    ghost = [helper.make_node("Add", ["x", "ghost"], ["y"], name="add_ghost")]
    write("ghost_input.onnx", model_bytes(ghost, [], output_shape=("N", 1, 8, 8), check=False))

    # Two nodes writing the same value.
    dup = [helper.make_node("Relu", ["x"], ["y"], name="relu1"), helper.make_node("Relu", ["x"], ["y"], name="relu2")]
    write("duplicate_output.onnx", model_bytes(dup, [], output_shape=("N", 1, 8, 8), check=False))

    # An initializer defined twice.
    nodes, inits = small_net()
    write("duplicate_initializer.onnx", model_bytes(nodes, inits + [init("fc.bias", [1, 2, 3])], check=False))

    # A graph input that declares 2^40 elements.
    write("huge_input.onnx", model_bytes([helper.make_node("Relu", ["x"], ["y"], name="relu")], [],
                                         input_shape=(1, 1, 1 << 20, 1 << 20), output_shape=(1, 1, 1 << 20, 1 << 20)))

    # A negative dimension in the graph input.
    write("negative_dim.onnx", model_bytes([helper.make_node("Relu", ["x"], ["y"], name="relu")], [],
                                           input_shape=("N", -3, 8, 8), output_shape=("N", -3, 8, 8), check=False))

    # A Concat whose output, once planned for N = 1, has 300 x 2^20 elements
    # (over the default limit of 2^28), from a 4 MB input.
    cat = [helper.make_node("Concat", ["x"] * 300, ["y"], name="concat_huge", axis=1)]
    write("concat_huge.onnx", model_bytes(cat, [], input_shape=("N", 1 << 20), output_shape=("N", 300 << 20)))

    # A Reshape to a shape whose element count overflows int64.
    shape = numpy_helper.from_array(np.array([1 << 62, 4, 1], dtype=np.int64), "shape")
    rs = [helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape_overflow")]
    write("reshape_overflow.onnx", model_bytes(rs, [shape], input_shape=("N", 4), output_shape=("A", "B", "C"), check=False))

    # External data that points outside the model's folder.
    nodes, inits = small_net()
    ext = TensorProto()
    ext.name = "conv.weight"
    ext.data_type = F32
    ext.dims.extend([4, 1, 3, 3])
    ext.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../../../../etc/passwd"), ("offset", "0"), ("length", "144")):
        entry = ext.external_data.add()
        entry.key, entry.value = k, v
    write("external_data.onnx", model_bytes(nodes, [ext] + inits[1:], check=False))

    # raw_data shorter than the shape says (2^27 elements declared, 1 given).
    big = TensorProto()
    big.name = "conv.weight"
    big.data_type = F32
    big.dims.extend([1 << 27, 1, 1, 1])
    big.raw_data = b"\0\0\0\0"
    write("raw_data_short.onnx", model_bytes(nodes, [big] + inits[1:], check=False))

    # NaN in a Conv's weights; infinity in a Gemm's bias.
    w = np.random.default_rng(7).normal(0, 0.5, size=(4, 1, 3, 3)).astype(np.float32)
    w[2, 0, 1, 1] = np.nan
    nodes, inits = small_net(weight=w)
    write("nan_weights.onnx", model_bytes(nodes, inits))
    nodes, inits = small_net(bias=np.array([0.0, np.inf, 0.0], np.float32))
    write("inf_bias.onnx", model_bytes(nodes, inits))

    # An op that neither ONNX nor tspike knows; an ONNX op tspike does not run.
    unk = [helper.make_node("FancyOp", ["x"], ["y"], name="fancy")]
    write("unknown_op.onnx", model_bytes(unk, [], output_shape=("N", 1, 8, 8), check=False))
    sm = [helper.make_node("Softmax", ["x"], ["y"], name="softmax")]
    write("unsupported_op.onnx", model_bytes(sm, [], output_shape=("N", 1, 8, 8)))

    # Attributes of the wrong type: a string threshold, a float group.
    nodes, inits = small_net()
    nodes[1] = helper.make_node("TernarySpike", ["c"], ["s"], name="spike", domain="tspike", threshold="high")
    write("attr_type_spike.onnx", model_bytes(nodes, inits, check=False))
    nodes, inits = small_net()
    nodes[0] = helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv", kernel_shape=[3, 3], group=1.0)
    write("attr_type_conv.onnx", model_bytes(nodes, inits, check=False))

    # A stride of 0: ONNX's shape inference divides by it (SIGFPE inside
    # libonnx, found by fuzz_model), so it must be refused before that.
    nodes, inits = small_net()
    nodes[0] = helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="conv", kernel_shape=[3, 3],
                                strides=[0, 2])
    write("zero_stride.onnx", model_bytes(nodes, inits, check=False))

    # A threshold of NaN (a float, but not a valid one).
    nodes, inits = small_net()
    nodes[1] = helper.make_node("TernarySpike", ["c"], ["s"], name="spike", domain="tspike", threshold=float("nan"))
    write("nan_threshold.onnx", model_bytes(nodes, inits, check=False))

    # An op on an input of the wrong rank: Gemm on [N,1,8,8].
    gemm = [helper.make_node("Gemm", ["x", "w"], ["y"], name="gemm_rank4")]
    write("wrong_rank.onnx", model_bytes(gemm, [init("w", np.ones((8, 3)))], output_shape=("N", 3), check=False))

    # tspike.timesteps far beyond the limit.
    nodes, inits = small_net()
    write("huge_timesteps.onnx", model_bytes(nodes, inits, metadata={"tspike.timesteps": "100000000"}))

    # ---- images ----------------------------------------------------------
    # A PNG whose header says 4x4 but whose pixel data is not zlib data.
    write("lying_header.png", png(4, 4, b"this is not zlib data at all"))
    # A PNG whose header says 100000 x 100000 (10^10 pixels) in 60 bytes.
    write("huge_header.png", png(100000, 100000, zlib.compress(b"\0" * 16)))
    # A PNG cut off in the middle of its data.
    rows = b"".join(b"\0" + bytes(range(i * 8, i * 8 + 8)) for i in range(8))
    whole = png(8, 8, zlib.compress(rows))
    write("truncated.png", whole[: len(whole) - 30])

    # A BMP that stores its rows top-down (a negative height, 8195 x -63996):
    # stb reports the height as negative, which once slipped past the pixel
    # limit (found by fuzz_image). 54 bytes, no pixels.
    bmp = b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 8195, -63996, 1, 24, 0, 0, 0, 0, 0, 0)
    write("negative_height.bmp", bmp)

    # A 4x4 PNG whose IDAT chunk declares 1 GB and holds 16 bytes: the packaged
    # stb reserved 2 GB for it before reading (found by fuzz_image).
    head = png(4, 4, b"")[: -len(png_chunk(b"IDAT", b"")) - len(png_chunk(b"IEND", b""))]
    write("huge_idat.png", head + struct.pack(">I", 1 << 30) + b"IDAT" + b"\0" * 16)

    # A baseline 8x8 gray JPEG whose DC Huffman table declares 300 symbols:
    # the packaged stb wrote past its 256-entry table (found by fuzz_image).
    def jpeg_segment(marker, payload):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

    dqt = jpeg_segment(0xDB, b"\x00" + bytes([1] * 64))
    sof = jpeg_segment(0xC0, b"\x08" + struct.pack(">HH", 8, 8) + b"\x01" + b"\x01\x11\x00")
    scan = jpeg_segment(0xDA, b"\x01" + b"\x01\x01" + b"\x00\x3f\x00") + b"\x00" * 8
    big_table = jpeg_segment(0xC4, b"\x00" + bytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 150, 150]) + bytes(300))
    write("oversized_huffman.jpg", b"\xff\xd8" + dqt + sof + big_table + scan + b"\xff\xd9")

    # A GIF, a format tspike does not read.
    write("image.gif", b"GIF89a" + struct.pack("<HH", 2, 2) + b"\x00\x00\x00" + b"\x3b")

    # ---- .npy files --------------------------------------------------------
    write("wrong_dtype.npy", npy({"descr": "<f8", "fortran_order": False, "shape": (1, 1, 8, 8)}, b"\0" * 512))
    write("wrong_shape.npy", npy({"descr": "<f4", "fortran_order": False, "shape": (1, 2, 8, 8)},
                                 np.zeros((1, 2, 8, 8), np.float32).tobytes()))
    write("short_data.npy", npy({"descr": "<f4", "fortran_order": False, "shape": (1000, 1000)}, b"\0" * 16))
    write("huge_shape.npy", npy({"descr": "<f4", "fortran_order": False, "shape": (1 << 20, 1 << 20, 1 << 20)},
                                b"\0" * 16))
    write("bad_header.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4',\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

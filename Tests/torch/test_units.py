"""Unit checks of python/bwma_torch.py against brute-force references (run by Tests/torch/run.sh).

test_units.py REPO_ROOT"""
import json
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

sys.path.insert(0, os.path.join(sys.argv[1], "python"))
import bwma_torch as bt  # noqa: E402

rng = np.random.default_rng(0)


def check(cond, what):
    if not cond:
        sys.exit(f"test_units: FAILED: {what}")
    print(f"ok  {what}")


# The k-bit rule: brute force over every level's interval, half-way points included (round half to even).
q = bt.InputQuantizer(4, np.float32(3.0))
step = np.float32(3.0) / np.float32(15)
x = np.concatenate([np.linspace(-1, 4, 20001, dtype=np.float32), (np.arange(16, dtype=np.float32) + 0.5) * step])
codes = q.codes(torch.from_numpy(x)).numpy()
inv = np.float32(15) / np.float32(3.0)
ref = np.rint(np.clip(x, 0, np.float32(3.0)) * inv)  # numpy rint rounds half to even, float32 throughout
check(np.array_equal(codes, ref) and codes.min() == 0 and codes.max() == 15, "InputQuantizer codes = brute force")

# A one-layer export: a binary 3x3 convolution with known B (bit order little), alpha, beta, 4-bit input.
cout, cin, k = 5, 3, 3
signs = rng.choice([-1, 1], size=(cout, cin * k * k)).astype(np.int8)
bits = (signs > 0).astype(np.uint8)
packed = np.packbits(bits, axis=1, bitorder="little")
alpha = rng.uniform(0.5, 1.5, cout).astype(np.float32)
beta = rng.uniform(-0.2, 0.2, cout).astype(np.float32)
node = {"op": "conv2d", "name": "c", "in_channels": cin, "out_channels": cout, "kernel": [k, k], "stride": [1, 1],
        "padding": [1, 1], "bias": False, "binary_weights": True,
        "input_quant": {"bits": 4, "levels": 15, "clip": 3.0, "step": float(step), "quantizer": "bwma",
                        "rounding": "half_even"}}
meta = {"format": "bwma-deploy", "version": "2", "arch": "unit", "input_shape": json.dumps([cin, 6, 6]),
        "num_classes": "2", "normalization": json.dumps({"mean": [0.5] * cin, "std": [0.25] * cin, "pixel_scale": 255}),
        "preprocess": json.dumps({"kind": "none", "input_shape": [cin, 6, 6]}), "graph": json.dumps([node])}
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "unit.safetensors")
    save_file({"c.B": packed, "c.alpha": alpha, "c.beta": beta, "c.input_clip": np.float32([3.0])}, path, meta)
    net = bt.load(path)
    conv = net.layers[0]
    check(np.array_equal(conv.B.numpy().reshape(cout, -1), signs.astype(np.float32)), "B unpacked in little bit order")
    check(np.allclose(conv.weight.numpy().reshape(cout, -1), alpha[:, None] * signs + beta[:, None]),
          "weight = alpha*B + beta")
    xin = rng.uniform(-0.5, 3.5, (2, cin, 6, 6)).astype(np.float32)
    y = net(torch.from_numpy(xin)).numpy()
    # Brute force: integer sums in int64 over the zero-padded codes, then the per-channel combine.
    j = np.pad(np.rint(np.clip(xin, 0, 3) * inv).astype(np.int64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    s = np.zeros((2, cout, 6, 6), np.int64)
    w = np.zeros((2, 1, 6, 6), np.int64)
    sw = signs.reshape(cout, cin, k, k).astype(np.int64)
    for oy in range(6):
        for ox in range(6):
            patch = j[:, :, oy:oy + k, ox:ox + k]
            s[:, :, oy, ox] = np.einsum("ncij,ocij->no", patch, sw)
            w[:, 0, oy, ox] = patch.sum((1, 2, 3))
    ref = (alpha * step)[None, :, None, None] * s.astype(np.float32) + (beta * step)[None, :, None, None] * w.astype(np.float32)
    check(np.array_equal(y, ref.astype(np.float32)), "binary conv = exact integer form, bit for bit")
    yf = F.conv2d(torch.from_numpy(np.rint(np.clip(xin, 0, 3) * inv) * step), conv.weight, padding=1).numpy()
    check(np.allclose(y, yf, rtol=1e-5, atol=1e-5), "binary conv = float conv of quantized input with alpha*B+beta")
    # Refusals name the file and what was expected.
    save_file({"c.B": packed}, os.path.join(d, "foreign.safetensors"), {"format": "other"})
    for f, needle in [("foreign.safetensors", "not a bwma export")]:
        try:
            bt.load(os.path.join(d, f))
            check(False, f"{f} refused")
        except bt.ExportError as e:
            check(f in str(e) and needle in str(e), f"{f} refused: {e}")
    meta1 = dict(meta, version="1")
    save_file({"c.B": packed}, os.path.join(d, "v1.safetensors"), meta1)
    try:
        bt.load(os.path.join(d, "v1.safetensors"))
        check(False, "version 1 refused")
    except bt.ExportError as e:
        check("re-export" in str(e), f"version 1 refused: {e}")
    save_file({"c.B": packed, "c.alpha": alpha, "c.input_clip": np.float32([3.0])}, os.path.join(d, "missing.safetensors"), meta)
    try:
        bt.load(os.path.join(d, "missing.safetensors"))
        check(False, "missing tensor refused")
    except bt.ExportError as e:
        check("c.beta" in str(e), f"missing tensor refused: {e}")

# The CIFAR-10 reader on the real records: the first 20 labels of the official test batch.
with tempfile.TemporaryDirectory() as d:
    os.symlink(os.path.join(sys.argv[1], "Tests/DataTests/Fixtures/test_batch_first20.bin"),
               os.path.join(d, "test_batch.bin"))
    px, labels = bt.cifar10_test(d)
    check(px.shape == (20, 3, 32, 32) and labels.tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6],
          "CIFAR-10 reader: 20 records, official labels")
print("test_units: passed")

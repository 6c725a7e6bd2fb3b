#!/usr/bin/env python3
"""Checks a `bwma export` file with the Python `safetensors` package (docs/export.md).

    python3 -m venv /opt/stvenv && /opt/stvenv/bin/pip install safetensors numpy
    /opt/stvenv/bin/python bench/check_export.py model.safetensors

Loads every tensor with safetensors.numpy, checks the documented names, dtypes and shapes against the `layers`
metadata, unpacks each binary layer's B (little bit order), rebuilds W = alpha*B + beta and checks that each output
channel has exactly two levels beta +- alpha and, for `bwma` weights, is balanced (half the signs +1, at most one off
for odd K). Prints one JSON line with the counts; exits 1 with a message on the first problem.
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def fail(msg):
    print(f"check_export: {msg}", file=sys.stderr)
    sys.exit(1)


def main(path):
    tensors = load_file(path)
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata() or {}
    if meta.get("format") != "bwma-deploy":
        fail(f"metadata format is {meta.get('format')!r}, expected 'bwma-deploy'")
    layers = json.loads(meta["layers"])
    binary = 0
    for layer in layers:
        name = layer["name"]
        if layer["type"] == "batchnorm2d":
            for k in ("weight", "bias", "running_mean", "running_var"):
                t = tensors.get(f"{name}.{k}")
                if t is None or t.dtype != np.float32 or t.shape != (layer["channels"],):
                    fail(f"{name}.{k}: missing or not float32 [{layer['channels']}]")
            continue
        shape = tuple(layer["weight_shape"])
        cout, k = shape[0], int(np.prod(shape[1:]))
        if layer["binary_weights"]:
            b, alpha, beta = tensors.get(f"{name}.B"), tensors.get(f"{name}.alpha"), tensors.get(f"{name}.beta")
            if b is None or b.dtype != np.uint8 or b.shape != (cout, (k + 7) // 8):
                fail(f"{name}.B: missing or not uint8 [{cout}, {(k + 7) // 8}]")
            for t, n in ((alpha, "alpha"), (beta, "beta")):
                if t is None or t.dtype != np.float32 or t.shape != (cout,):
                    fail(f"{name}.{n}: missing or not float32 [{cout}]")
            if not (alpha >= 0).all():
                fail(f"{name}.alpha has negative entries")
            signs = np.unpackbits(b, axis=1, bitorder="little")[:, :k].astype(np.float32) * 2 - 1
            w = alpha[:, None] * signs + beta[:, None]
            for c in range(cout):
                levels = np.unique(w[c])
                if len(levels) > 2:
                    fail(f"{name}: channel {c} has {len(levels)} levels")
                if meta.get("weights") == "bwma" and alpha[c] > 0 and abs(int((signs[c] > 0).sum()) - k / 2) > 0.5:
                    fail(f"{name}: channel {c} is not balanced ({int((signs[c] > 0).sum())} of {k} are +1)")
            binary += 1
        else:
            w = tensors.get(f"{name}.weight")
            if w is None or w.dtype != np.float32 or w.shape != shape:
                fail(f"{name}.weight: missing or not float32 {list(shape)}")
        if layer["input_bits"] is not None:
            clip = tensors.get(f"{name}.input_clip")
            if clip is None or clip.shape != (1,) or not clip[0] > 0:
                fail(f"{name}.input_clip: missing or not a positive float32 [1]")
    print(json.dumps({"tensors": len(tensors), "layers": len(layers), "binary_layers": binary}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: check_export.py FILE.safetensors")
    main(sys.argv[1])

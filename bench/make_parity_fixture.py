#!/usr/bin/env python3
"""Writes the ResNet-20 gradient-parity fixture used by Tests/TrainingTests/GradientParityTests.swift.

PyTorch builds the reference ResNet-20 of pytorch_reference.py (1x28x28 input, 10 classes, seed 0, default init),
takes the first 32 real Fashion-MNIST training images (normalised as in training), and computes the cross-entropy
loss and the gradient of every parameter in float64. Files (little-endian, parameters in registration order, which
is the same in both frameworks):

    params.f32   initial parameters (float32)        x.f32   inputs [32, 1, 28, 28]
    labels.i32   labels [32]                          grad64.f32  float64 gradients rounded to float32
    meta.json    {"loss": float64 loss, "batch": 32}

Run: /opt/torchvenv/bin/python bench/make_parity_fixture.py
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_reference as pr  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TrainingTests", "Fixtures",
                   "resnet20-parity")
BATCH = 32


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = pr.build_model("resnet20", 1, 10)
    xtr, ytr, _, _, _, _ = pr.load_fashion_mnist(pr.DEFAULT_DATA)
    x, y = xtr[:BATCH].contiguous(), ytr[:BATCH].contiguous()
    params = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]).astype(np.float32)
    model = model.double().train()
    loss = F.cross_entropy(model(x.double()), y)
    loss.backward()
    grads = np.concatenate([p.grad.numpy().ravel() for p in model.parameters()]).astype(np.float32)
    os.makedirs(OUT, exist_ok=True)
    params.tofile(os.path.join(OUT, "params.f32"))
    x.numpy().astype(np.float32).tofile(os.path.join(OUT, "x.f32"))
    y.numpy().astype(np.int32).tofile(os.path.join(OUT, "labels.i32"))
    grads.tofile(os.path.join(OUT, "grad64.f32"))
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump({"loss": loss.item(), "batch": BATCH, "torch": torch.__version__}, f)
    print(f"wrote {OUT}: {params.size} parameters, loss {loss.item():.10f}")


if __name__ == "__main__":
    main()

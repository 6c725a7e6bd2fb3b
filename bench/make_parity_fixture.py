#!/usr/bin/env python3
"""Writes the ResNet-20 gradient-parity fixture used by Tests/TrainingTests/GradientParityTests.swift.

PyTorch builds the reference ResNet-20 of pytorch_reference.py (1x28x28 input, 10 classes, seed 0, default init),
takes BATCH consecutive real Fashion-MNIST training images (normalised as in training), and computes the
cross-entropy loss and the gradient of every parameter in float64. Files (little-endian, parameters in registration
order, which is the same in both frameworks):

    params.f32   initial parameters (float32)        x.f32   inputs [BATCH, 1, 28, 28]
    labels.i32   labels [BATCH]                       grad64.f32  float64 gradients rounded to float32
    meta.json    {"loss": float64 loss, "batch": BATCH, "offset": first image, "relu_margin": ...}

Kinks. A ReLU input within float32 rounding of zero makes the gradient depend on summation order: with the first 32
images, multiplying the input by 1 ± 3e-7 moved some gradients by 1 % (measured on the engine's reference
backend), so any correct fp32 engine that sums in another order (oneDNN, other instruction sets) failed a 1e-3
check. The script therefore takes the first window of BATCH images whose every ReLU input is at least MARGIN of
its layer's standard deviation away from zero (float64), so that the fixture tests gradient arithmetic, not
which side of a kink rounding falls on.

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
BATCH = 4
MARGIN = 3e-6


def relu_margin(model, x):
    """min over the network's ReLU inputs of |z| / std(z) of its layer (float64 forward, training mode)."""
    inputs = []
    relu = pr.F.relu

    def recording(t, *args, **kwargs):
        inputs.append(t.detach())
        return relu(t, *args, **kwargs)

    pr.F.relu = recording
    try:
        model(x)
    finally:
        pr.F.relu = relu
    return min((z.abs().min() / z.std()).item() for z in inputs)


def fresh_model():
    torch.manual_seed(0)
    return pr.build_model("resnet20", 1, 10)


def main():
    torch.set_num_threads(1)
    xtr, ytr, _, _, _, _ = pr.load_fashion_mnist(pr.DEFAULT_DATA)
    offset = 0
    while True:
        margin = relu_margin(fresh_model().double().train(), xtr[offset:offset + BATCH].double())
        if margin >= MARGIN:
            break
        offset += BATCH
    model = fresh_model()
    x, y = xtr[offset:offset + BATCH].contiguous(), ytr[offset:offset + BATCH].contiguous()
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
        json.dump({"loss": loss.item(), "batch": BATCH, "offset": offset, "relu_margin": margin,
                   "torch": torch.__version__}, f)
    print(f"wrote {OUT}: images {offset}..<{offset + BATCH}, ReLU margin {margin:.2e} of std, "
          f"{params.size} parameters, loss {loss.item():.10f}")


if __name__ == "__main__":
    main()

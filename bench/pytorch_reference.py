#!/usr/bin/env python3
"""PyTorch side-by-side reference for the Swift CNN trainer (`bwma`).

Dependencies: torch, numpy and the Python standard library only.

Subcommands
-----------
``train``  The reference training recipe, written to match the Swift trainer exactly.

    Data
        Fashion-MNIST read from the gzipped IDX files with gzip + numpy (magic numbers 2051 for images and
        2049 for labels are validated). Pixels are converted to float32 and divided by 255, then normalised
        with a single scalar mean and standard deviation computed (in float64) over *all* pixels of the
        training set (after ``--limit-train``, if given); the test set is normalised with the same two
        numbers. Input shape is 1x28x28. No augmentation.

    Model
        CIFAR-style ResNet-20 (He et al. 2016): conv3x3(1->16, pad 1, no bias) - BN - ReLU, then three
        stages of three BasicBlocks at 16, 32 and 64 channels (stride 2 in the first block of stages 2 and
        3), global average pooling and Linear(64, 10) with bias. BasicBlock: conv3x3(stride s, no bias) - BN
        - ReLU - conv3x3(no bias) - BN, plus the shortcut, then ReLU. The shortcut is the identity when the
        shape is unchanged, otherwise "option A": ``x[:, :, ::2, ::2]`` zero-padded with ``planes // 4``
        zero channels on each side. PyTorch's *default* initialisation is kept; BatchNorm uses its
        defaults (momentum 0.1, eps 1e-5). Parameters are initialised after ``torch.manual_seed(seed)``.

    Optimiser
        ``torch.optim.SGD(model.parameters(), lr, momentum=0.9, nesterov=True, weight_decay=5e-4)``, i.e.
        weight decay on ALL parameters (including BN affine parameters and biases).

    Schedule (per iteration)
        Let T = epochs * iters_per_epoch (total optimiser steps), W = warmup_epochs * iters_per_epoch,
        and t the 0-based index of the optimiser step over all epochs. The learning rate used by step t is

            t <  W:  lr0 * (t + 1) / W                                   (linear warm-up up to lr0)
            t >= W:  0.5 * lr0 * (1 + cos(pi * (t - W) / (T - W)))         (cosine to 0 over T - W steps)

        With the default ``--warmup-epochs 0`` this is just ``0.5 * lr0 * (1 + cos(pi * t / T))``.
        This is the same rule as ``LRSchedule.lr(at:)`` with ``.cosine(minLR: 0)`` in the Swift trainer.
        The value is written into ``param_group["lr"]`` before every step.

    Batching / loss
        Batch 128, reshuffled every epoch with ``torch.randperm`` driven by a ``torch.Generator`` seeded
        with ``seed + epoch`` (epoch 0-based); ``drop_last=False`` (the last batch of the 60,000-image set
        has 96 images). Loss is ``CrossEntropyLoss`` (mean reduction), ``--label-smoothing`` default 0.

    Evaluation / output
        After each epoch the model is evaluated in eval mode (running BN statistics) on the 10,000 test
        images in batches of 1000. One line per epoch goes to stderr (epoch, train loss, train accuracy,
        test accuracy, seconds). At the end ONE JSON object is printed on stdout:
        ``{"framework", "torch_version", "test_accuracy" (fraction), "epochs", "threads", "seed", "wall_s",
        "images_per_s" (training images per second, training time only)}`` plus a few informative extras.

``bench``  Training-step throughput, for comparison with ``bwma bench step``.

    ResNet-20 (same model) with ``--in-channels`` (default 3) inputs of shape ``--input`` (e.g. ``3x32x32``;
    a plain ``32x32`` takes the channel count from ``--in-channels``) and ``--classes`` outputs, seeded
    synthetic random inputs (standard normal) and labels, batch ``--batch``; ``--warmup`` untimed steps then
    ``--steps`` timed steps of forward + backward + SGD (Nesterov) step in train mode. Prints ONE JSON object:
    ``{"framework", "images_per_s", "ms_per_step", "peak_rss_mb", "threads", "batch", "input"}`` plus extras.
    ``--memory-format channels_last`` converts the model and the batch to ``torch.channels_last`` (NHWC), PyTorch's
    recommended layout for CPU convolutions (oneDNN's native one; ResNet-18 224 trains ~25 % faster so here);
    ``contiguous`` (default) is PyTorch's default NCHW.
    ``peak_rss_mb`` is ``resource.getrusage(RUSAGE_SELF).ru_maxrss / 1024`` (Linux reports KiB).

Threads: ``--threads`` (default 1) is applied with ``torch.set_num_threads`` and
``torch.set_num_interop_threads`` before any other torch work. Set ``OMP_NUM_THREADS`` to the same value.

Examples::

    OMP_NUM_THREADS=1 python bench/pytorch_reference.py train --epochs 3 --threads 1 --seed 0 > out.json
    OMP_NUM_THREADS=1 python bench/pytorch_reference.py train --limit-train 2048 --epochs 1
    OMP_NUM_THREADS=2 python bench/pytorch_reference.py bench --threads 2 --input 3x32x32 --steps 20
"""

import argparse
import gzip
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049


# --------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------

def read_idx_images(path):
    """Read a gzipped IDX3 image file into a uint8 array [N, rows, cols]."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = np.frombuffer(raw, dtype=">u4", count=4, offset=0)
    if magic != IMAGE_MAGIC:
        raise ValueError(f"{path}: bad image magic {magic}, expected {IMAGE_MAGIC}")
    data = np.frombuffer(raw, dtype=np.uint8, offset=16)
    if data.size != int(n) * int(rows) * int(cols):
        raise ValueError(f"{path}: expected {n}x{rows}x{cols} bytes of pixels, found {data.size}")
    return data.reshape(int(n), int(rows), int(cols))


def read_idx_labels(path):
    """Read a gzipped IDX1 label file into a uint8 array [N]."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n = np.frombuffer(raw, dtype=">u4", count=2, offset=0)
    if magic != LABEL_MAGIC:
        raise ValueError(f"{path}: bad label magic {magic}, expected {LABEL_MAGIC}")
    data = np.frombuffer(raw, dtype=np.uint8, offset=8)
    if data.size != int(n):
        raise ValueError(f"{path}: expected {n} labels, found {data.size}")
    return data


def load_fashion_mnist(root, limit_train=None):
    """Return (x_train, y_train, x_test, y_test, mean, std) as torch tensors, normalised as in the docstring."""
    xtr = read_idx_images(f"{root}/train-images-idx3-ubyte.gz")
    ytr = read_idx_labels(f"{root}/train-labels-idx1-ubyte.gz")
    xte = read_idx_images(f"{root}/t10k-images-idx3-ubyte.gz")
    yte = read_idx_labels(f"{root}/t10k-labels-idx1-ubyte.gz")
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise ValueError("image and label counts differ")
    if limit_train is not None:
        xtr, ytr = xtr[:limit_train], ytr[:limit_train]

    xtr = xtr.astype(np.float32) / np.float32(255)
    xte = xte.astype(np.float32) / np.float32(255)
    mean = float(xtr.astype(np.float64).mean())
    std = float(xtr.astype(np.float64).std())  # population std over all training pixels
    xtr = ((xtr - np.float32(mean)) / np.float32(std)).astype(np.float32)
    xte = ((xte - np.float32(mean)) / np.float32(std)).astype(np.float32)

    to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    return (to_t(xtr).unsqueeze(1), to_t(ytr.astype(np.int64)),
            to_t(xte).unsqueeze(1), to_t(yte.astype(np.int64)), mean, std)


# --------------------------------------------------------------------------------------------------------------
# Model: CIFAR ResNet-20 with option-A shortcuts
# --------------------------------------------------------------------------------------------------------------

def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class OptionAShortcut(nn.Module):
    """Parameter-free shortcut: subsample by 2 and zero-pad `planes // 4` channels on each side."""

    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a residual connection; `shortcut` where the shape changes
    (default: option A, as the CIFAR ResNets)."""

    def __init__(self, in_planes, planes, stride=1, shortcut=None):
        super().__init__()
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut = shortcut if shortcut is not None else OptionAShortcut(planes)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetCIFAR(nn.Module):
    """ResNet-(6n+2) for CIFAR-sized inputs; n = 3 gives ResNet-20."""

    def __init__(self, in_channels=1, num_classes=10, blocks_per_stage=3, widths=(16, 32, 64)):
        super().__init__()
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, in_planes = [], widths[0]
        for stage, planes in enumerate(widths):
            for b in range(blocks_per_stage):
                stride = 2 if (stage > 0 and b == 0) else 1
                layers.append(BasicBlock(in_planes, planes, stride))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


def projection_block(in_planes, planes, stride=1):
    """torchvision's BasicBlock: a 1x1 convolution + batch norm projection (option B) where the shape changes."""
    projection = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
    return BasicBlock(in_planes, planes, stride, shortcut=projection)


class ResNet18(nn.Module):
    """ImageNet ResNet-18 as torchvision builds it (the layout of the bwma zoo's resnet18)."""

    def __init__(self, in_channels=3, num_classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False),
                                  nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
        layers, in_planes = [], 64
        for stage, planes in enumerate((64, 128, 256, 512)):
            for b in range(2):
                layers.append(projection_block(in_planes, planes, 2 if (stage > 0 and b == 0) else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        out = self.layers(self.stem(x))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


def build_model(name, in_channels, num_classes):
    if name == "resnet20":
        return ResNetCIFAR(in_channels=in_channels, num_classes=num_classes, blocks_per_stage=3)
    if name == "resnet18":
        return ResNet18(in_channels=in_channels, num_classes=num_classes)
    raise SystemExit(f"error: model '{name}' is not implemented in the PyTorch reference (resnet20, resnet18)")


def make_sgd(model, lr):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)


# --------------------------------------------------------------------------------------------------------------
# Schedule
# --------------------------------------------------------------------------------------------------------------

def lr_at(t, lr0, total_steps, warmup_steps):
    """Learning rate for 0-based optimiser step t (see module docstring)."""
    if t < warmup_steps:
        return lr0 * (t + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    progress = min((t - warmup_steps) / span, 1.0)
    return 0.5 * lr0 * (1.0 + math.cos(math.pi * progress))


# --------------------------------------------------------------------------------------------------------------
# Subcommands
# --------------------------------------------------------------------------------------------------------------

def set_threads(n):
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError as e:  # only possible if parallel work already started
        print(f"warning: set_num_interop_threads({n}) failed: {e}", file=sys.stderr)


@torch.no_grad()
def evaluate(model, x, y, batch):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        logits = model(x[i:i + batch])
        correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def cmd_train(args):
    set_threads(args.threads)
    t_start = time.perf_counter()
    xtr, ytr, xte, yte, mean, std = load_fashion_mnist(args.data, args.limit_train)
    n = len(xtr)
    print(f"data: train {tuple(xtr.shape)} test {tuple(xte.shape)} mean {mean:.6f} std {std:.6f}", file=sys.stderr)

    torch.manual_seed(args.seed)
    model = build_model(args.model, in_channels=1, num_classes=10)
    opt = make_sgd(model, args.lr)
    criterion = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)

    iters_per_epoch = math.ceil(n / args.batch)  # drop_last=False
    total_steps = args.epochs * iters_per_epoch
    warmup_steps = args.warmup_epochs * iters_per_epoch
    if warmup_steps > total_steps:
        raise SystemExit("error: --warmup-epochs exceeds --epochs")

    step = 0
    train_seconds = 0.0
    history = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        gen = torch.Generator().manual_seed(args.seed + epoch)
        perm = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(0, n, args.batch):
            idx = perm[i:i + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            lr = lr_at(step, args.lr, total_steps, warmup_steps)
            for g in opt.param_groups:
                g["lr"] = lr
            logits = model(xb)
            loss = criterion(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            correct += (logits.detach().argmax(1) == yb).sum().item()
        t_train = time.perf_counter() - t0
        train_seconds += t_train
        test_acc = evaluate(model, xte, yte, args.eval_batch)
        secs = time.perf_counter() - t0
        rec = {"epoch": epoch + 1, "train_loss": loss_sum / n, "train_acc": correct / n,
               "test_acc": test_acc, "seconds": secs}
        history.append(rec)
        print(f"epoch {epoch + 1}/{args.epochs}  train_loss {rec['train_loss']:.4f}  "
              f"train_acc {rec['train_acc']:.4f}  test_acc {test_acc:.4f}  "
              f"lr_last {lr:.6f}  {secs:.1f}s (train {t_train:.1f}s)", file=sys.stderr, flush=True)

    wall = time.perf_counter() - t_start
    result = {
        "framework": "pytorch",
        "torch_version": torch.__version__,
        "test_accuracy": history[-1]["test_acc"] if history else None,
        "epochs": args.epochs,
        "threads": args.threads,
        "seed": args.seed,
        "wall_s": round(wall, 3),
        "images_per_s": round(args.epochs * n / train_seconds, 2) if train_seconds > 0 else None,
        "train_images": n,
        "batch": args.batch,
        "lr": args.lr,
        "warmup_epochs": args.warmup_epochs,
        "label_smoothing": args.label_smoothing,
        "data_mean": mean,
        "data_std": std,
        "history": history,
    }
    print(json.dumps(result))


def parse_input(spec, in_channels):
    """Resolve (C, H, W) from --input ("CxHxW" or "HxW") and --in-channels (default 3)."""
    if spec is None:
        spec = "32x32"
    try:
        parts = [int(p) for p in spec.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 2:
        return (in_channels if in_channels is not None else 3, parts[0], parts[1])
    if len(parts) == 3:
        if in_channels is not None and in_channels != parts[0]:
            raise SystemExit(f"error: --in-channels {in_channels} contradicts --input {spec}")
        return tuple(parts)
    raise SystemExit(f"error: --input must look like 3x32x32 or 32x32, got '{spec}'")


def cmd_bench(args):
    set_threads(args.threads)
    c, h, w = parse_input(args.input, args.in_channels)
    torch.manual_seed(args.seed)
    model = build_model(args.model, in_channels=c, num_classes=args.classes)
    model.train()
    if args.memory_format == "channels_last":  # before the optimiser takes the parameters
        model = model.to(memory_format=torch.channels_last)
    opt = make_sgd(model, args.lr)
    criterion = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch, c, h, w, generator=gen)
    y = torch.randint(0, args.classes, (args.batch,), generator=gen)
    if args.memory_format == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)

    # bf16: PyTorch's CPU autocast (bf16 convolutions and matmuls, fp32 weights, loss and optimiser).
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")

    def train_step():
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = criterion(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        train_step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = train_step()
    loss.item()
    elapsed = time.perf_counter() - t0

    result = {
        "framework": "pytorch",
        "images_per_s": round(args.steps * args.batch / elapsed, 2),
        "ms_per_step": round(1000.0 * elapsed / args.steps, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threads": args.threads,
        "batch": args.batch,
        "input": f"{c}x{h}x{w}",
        "model": args.model,
        "precision": args.precision,
        "memory_format": args.memory_format,
        "steps": args.steps,
        "warmup": args.warmup,
        "torch_version": torch.__version__,
    }
    print(json.dumps(result))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="reference Fashion-MNIST ResNet-20 training recipe")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--eval-batch", type=int, default=1000)
    t.add_argument("--lr", type=float, default=0.1)
    t.add_argument("--warmup-epochs", type=int, default=0)
    t.add_argument("--label-smoothing", type=float, default=0.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--data", default=DEFAULT_DATA)
    t.add_argument("--limit-train", type=int, default=None, help="use only the first N training images")
    t.add_argument("--model", default="resnet20", choices=["resnet20"])
    t.set_defaults(func=cmd_train)

    b = sub.add_parser("bench", help="training-step throughput on synthetic data")
    b.add_argument("--model", default="resnet20", choices=["resnet20", "resnet18"])
    b.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                   help="bf16: torch.autocast('cpu', dtype=torch.bfloat16)")
    b.add_argument("--memory-format", default="contiguous", choices=["contiguous", "channels_last"],
                   help="channels_last: model and batch in torch.channels_last (NHWC)")
    b.add_argument("--in-channels", type=int, default=None, help="input channels (default 3)")
    b.add_argument("--input", default=None,
                   help="CxHxW, e.g. 3x32x32, or HxW with channels from --in-channels (default: 3x32x32)")
    b.add_argument("--classes", type=int, default=10)
    b.add_argument("--batch", type=int, default=128)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--steps", type=int, default=20)
    b.add_argument("--lr", type=float, default=0.1)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--threads", type=int, default=1)
    b.set_defaults(func=cmd_bench)

    args = p.parse_args(argv)
    for name in ("epochs", "batch", "threads") if args.cmd == "train" else ("batch", "steps", "threads"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name} must be >= 1")
    args.func(args)


if __name__ == "__main__":
    main()

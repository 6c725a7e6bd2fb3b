#!/usr/bin/env python3
"""Load a `bwma export` file (format bwma-deploy, version 2) as a torch.nn.Module, and evaluate it.

    import bwma_torch
    model = bwma_torch.load("model.safetensors")      # eval mode, float32, CPU
    logits = model(x)                                 # x: [N, C, H, W], normalised as model.normalize() does

    python python/bwma_torch.py eval model.safetensors --dataset fashion-mnist --data /usr/share/datasets/fashion-mnist
    # {"accuracy": 0.9123, "images": 10000, ...}

Depends on torch, numpy and safetensors only (image folders also need Pillow, for JPEG decoding and resizing).
The network is rebuilt from the file's `graph` metadata alone (docs/export.md): no knowledge of the trainer's code.

Binarized layers are `QConv2d` / `QLinear` (subclasses of nn.Conv2d / nn.Linear whose `weight` holds alpha*B + beta,
so tools that walk nn.Conv2d modules see the binary weights) with buffers `B` (+1/-1), `alpha`, `beta` [Cout] and an
`input_quant` (`InputQuantizer`: k-bit codes). Their forward is the exact integer form of docs/method.md:
y = (alpha*step)*(B conv codes) + (beta*step)*(1 conv codes), the two convolutions of integers being exact in float32,
which is what `bwma eval` computes on its oneDNN backend: the two agree bit for bit for these layers.
"""

import argparse
import gzip
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import load_file, save_file
from safetensors import safe_open

FORMAT = "bwma-deploy"
VERSIONS = (2,)


class ExportError(Exception):
    """A file this loader cannot rebuild (names the file and what was expected)."""


# ----------------------------------------------------------------------------------------------------------- layers

class InputQuantizer(nn.Module):
    """k-bit unsigned input quantizer, float32 as the trainer computes it:
    code = round_half_even(clamp(x, 0, clip) * (levels / clip)), value = code * (clip / levels)."""

    def __init__(self, bits, clip):
        super().__init__()
        self.bits = int(bits)
        self.levels = (1 << self.bits) - 1
        clip = np.float32(clip)
        self.register_buffer("clip", torch.tensor(clip))
        self.register_buffer("inv", torch.tensor(np.float32(self.levels) / clip))
        self.register_buffer("step", torch.tensor(clip / np.float32(self.levels)))

    def codes(self, x):
        return torch.round(torch.clamp(x, min=0.0, max=float(self.clip)) * self.inv)

    def forward(self, x):
        return self.codes(x) * self.step


def _affine_out(y, scale, offset, window, bias, out_scale, out_bias, shape):
    """scale*S + (offset*W + bias) per output channel (the trainer's combine, op for op), then a folded BN."""
    y = scale.view(shape) * y + (offset.view(shape) * window + (bias.view(shape) if bias is not None else 0.0))
    if out_scale is not None:
        y = y * out_scale.view(shape) + out_bias.view(shape)
    return y


class _Binary:
    """Shared state of binarized layers: B, alpha, beta, optional folded BN (out_scale, out_bias)."""

    def _init_binary(self, signs, alpha, beta, quant, out_scale, out_bias):
        self.register_buffer("B", torch.from_numpy(signs))
        self.register_buffer("alpha", torch.from_numpy(alpha))
        self.register_buffer("beta", torch.from_numpy(beta))
        self.input_quant = quant
        self.register_buffer("out_scale", None if out_scale is None else torch.from_numpy(out_scale))
        self.register_buffer("out_bias", None if out_bias is None else torch.from_numpy(out_bias))
        w = self.alpha.view([-1] + [1] * (signs.ndim - 1)) * self.B + self.beta.view([-1] + [1] * (signs.ndim - 1))
        self.weight = nn.Parameter(w, requires_grad=False)


class QConv2d(nn.Conv2d, _Binary):
    """A convolution with binary weights alpha*B + beta (per output channel) and, usually, k-bit inputs."""

    def __init__(self, node, signs, alpha, beta, bias, quant, out_scale=None, out_bias=None):
        super().__init__(node["in_channels"], node["out_channels"], tuple(node["kernel"]), tuple(node["stride"]),
                         tuple(node["padding"]), bias=bias is not None)
        self.export_name = node["name"]
        self._init_binary(signs, alpha, beta, quant, out_scale, out_bias)
        if bias is not None:
            self.bias = nn.Parameter(torch.from_numpy(bias), requires_grad=False)
        self.register_buffer("ones", torch.ones(1, 1, *node["kernel"]))

    def forward(self, x):
        if self.input_quant is None:  # FP32 input: plain float convolution with alpha*B + beta
            y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
            return y if self.out_scale is None else y * self.out_scale.view(1, -1, 1, 1) + self.out_bias.view(1, -1, 1, 1)
        q = self.input_quant
        j = q.codes(x)
        s = F.conv2d(j, self.B, None, self.stride, self.padding)
        w = F.conv2d(j.sum(1, keepdim=True), self.ones, None, self.stride, self.padding)
        return _affine_out(s, self.alpha * q.step, self.beta * q.step, w, self.bias, self.out_scale, self.out_bias,
                           (1, -1, 1, 1))


class QLinear(nn.Linear, _Binary):
    """A fully connected layer with binary weights alpha*B + beta and, usually, k-bit inputs."""

    def __init__(self, node, signs, alpha, beta, bias, quant):
        super().__init__(node["in_channels"], node["out_channels"], bias=bias is not None)
        self.export_name = node["name"]
        self._init_binary(signs, alpha, beta, quant, None, None)
        if bias is not None:
            self.bias = nn.Parameter(torch.from_numpy(bias), requires_grad=False)

    def forward(self, x):
        x = torch.flatten(x, 1)
        if self.input_quant is None:
            return F.linear(x, self.weight, self.bias)
        q = self.input_quant
        j = q.codes(x)
        return _affine_out(j @ self.B.t(), self.alpha * q.step, self.beta * q.step, j.sum(1, keepdim=True), self.bias,
                           None, None, (1, -1))


class QuantizedInput(nn.Module):
    """An FP32-weight layer with a k-bit input: quantize, then the layer."""

    def __init__(self, quant, layer):
        super().__init__()
        self.input_quant = quant
        self.layer = layer

    def forward(self, x):
        return self.layer(self.input_quant(x))


def bn_affine(weight, bias, mean, var, eps):
    """Evaluation-mode batch norm as the trainer computes it, in float32 numpy (IEEE-exact sqrt, unlike torch.sqrt's
    vectorised one): s = gamma / sqrt(var + eps), t = beta - mean * s; y = x * s + t."""
    s = weight / np.sqrt(var + np.float32(eps))
    return s, bias - mean * s


class BatchNorm(nn.BatchNorm2d):
    """Evaluation-mode batch norm in the trainer's float32 operations (`bn_affine`, computed when the statistics
    are loaded), then ReLU where the trainer fused one."""

    def __init__(self, channels, eps, relu, weight, bias, mean, var):
        super().__init__(channels, eps=eps)
        self.relu = relu
        with torch.no_grad():
            for t, v in [(self.weight, weight), (self.bias, bias), (self.running_mean, mean), (self.running_var, var)]:
                t.copy_(torch.from_numpy(v))
        s, t = bn_affine(weight, bias, mean, var, eps)
        self.register_buffer("scale", torch.from_numpy(s))
        self.register_buffer("shift", torch.from_numpy(t))

    def forward(self, x):
        y = x * self.scale.view(1, -1, 1, 1) + self.shift.view(1, -1, 1, 1)
        return F.relu(y) if self.relu else y


class ChannelAffine(nn.Module):
    """A folded batch norm after an FP32 layer: y = x * out_scale + out_bias per channel."""

    def __init__(self, out_scale, out_bias):
        super().__init__()
        self.register_buffer("out_scale", torch.from_numpy(out_scale))
        self.register_buffer("out_bias", torch.from_numpy(out_bias))

    def forward(self, x):
        return x * self.out_scale.view(1, -1, 1, 1) + self.out_bias.view(1, -1, 1, 1)


class OptionA(nn.Module):
    """He et al.'s parameter-free shortcut: every stride-th pixel, channels zero-padded around the input's."""

    def __init__(self, stride, pad_front, out_channels):
        super().__init__()
        self.stride, self.pad_front, self.out_channels = stride, pad_front, out_channels

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad_front, self.out_channels - x.shape[1] - self.pad_front))


class BasicBlock(nn.Module):
    """relu(body(x) + shortcut(x))."""

    def __init__(self, body, shortcut, relu):
        super().__init__()
        self.body, self.shortcut, self.relu = body, shortcut, relu

    def forward(self, x):
        y = self.body(x) + self.shortcut(x)
        return F.relu(y) if self.relu else y


class Lambda(nn.Module):
    def __init__(self, fn, name):
        super().__init__()
        self.fn, self.name = fn, name

    def forward(self, x):
        return self.fn(x)

    def extra_repr(self):
        return self.name


class BWMANet(nn.Module):
    """The rebuilt network, with the export's metadata and input normalisation."""

    def __init__(self, layers, meta):
        super().__init__()
        self.layers = layers
        self.meta = meta
        self.arch = meta["arch"]
        self.num_classes = int(meta["num_classes"])
        self.input_shape = json.loads(meta["input_shape"])
        norm = json.loads(meta["normalization"])
        self.preprocess = json.loads(meta["preprocess"])
        std = np.asarray(norm["std"], np.float32)
        mean = np.asarray(norm["mean"], np.float32)
        # The trainer's float32 form of (p / 255 - mean) / std: p * (1 / (255 * std)) + (-mean / std).
        self.register_buffer("pixel_scale", torch.from_numpy(np.float32(1) / (np.float32(norm["pixel_scale"]) * std)))
        self.register_buffer("pixel_shift", torch.from_numpy(-mean / std))

    def normalize(self, pixels):
        """uint8 pixels [N, C, H, W] (RGB) -> model input."""
        x = pixels.to(torch.float32)
        return x * self.pixel_scale.view(1, -1, 1, 1) + self.pixel_shift.view(1, -1, 1, 1)

    def forward(self, x):
        return self.layers(x)


# ----------------------------------------------------------------------------------------------------------- loading

class _Builder:
    def __init__(self, path, tensors):
        self.path, self.t = path, tensors

    def tensor(self, name):
        if name not in self.t:
            raise ExportError(f"{self.path}: tensor '{name}' is missing (the graph metadata names it)")
        return self.t[name]

    def optional(self, name):
        return self.t.get(name)

    def quant(self, node):
        q = node.get("input_quant")
        if q is None:
            return None
        clip = self.tensor(node["name"] + ".input_clip")
        return InputQuantizer(q["bits"], clip.reshape(-1)[0])

    def weighted(self, node):
        name, quant = node["name"], self.quant(node)
        bias = self.optional(name + ".bias")
        if node.get("binary_weights"):
            packed, alpha, beta = self.tensor(name + ".B"), self.tensor(name + ".alpha"), self.tensor(name + ".beta")
            cout = node["out_channels"]
            k = node["in_channels"] * (node["kernel"][0] * node["kernel"][1] if node["op"] == "conv2d" else 1)
            if packed.shape != (cout, (k + 7) // 8):
                raise ExportError(f"{self.path}: {name}.B has shape {packed.shape}, expected {(cout, (k + 7) // 8)}")
            bits = np.unpackbits(packed, axis=1, bitorder="little")[:, :k].astype(np.float32)
            signs = 2 * bits - 1
            if node["op"] == "linear":
                return QLinear(node, signs, alpha, beta, bias, quant)
            signs = signs.reshape(cout, node["in_channels"], *node["kernel"])
            return QConv2d(node, signs, alpha, beta, bias, quant, self.optional(name + ".out_scale"),
                           self.optional(name + ".out_bias"))
        w = self.tensor(name + ".weight")
        if node["op"] == "conv2d":
            layer = nn.Conv2d(node["in_channels"], node["out_channels"], tuple(node["kernel"]), tuple(node["stride"]),
                              tuple(node["padding"]), bias=bias is not None)
        else:
            layer = nn.Linear(node["in_channels"], node["out_channels"], bias=bias is not None)
            w = w.reshape(node["out_channels"], node["in_channels"])
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))
            if bias is not None:
                layer.bias.copy_(torch.from_numpy(bias))
        if node["op"] == "linear":
            layer = nn.Sequential(nn.Flatten(1), layer)
        elif node.get("folded_batch_norm"):
            layer = nn.Sequential(layer, ChannelAffine(self.tensor(name + ".out_scale"), self.tensor(name + ".out_bias")))
        return layer if quant is None else QuantizedInput(quant, layer)

    def batchnorm(self, node):
        name = node["name"]
        stats = [self.tensor(f"{name}.{k}") for k in ("weight", "bias", "running_mean", "running_var")]
        return BatchNorm(node["out_channels"], np.float32(node["eps"]), bool(node.get("relu")), *stats)

    def node(self, node):
        op = node["op"]
        if op in ("conv2d", "linear"):
            return self.weighted(node)
        if op == "batchnorm2d":
            return self.batchnorm(node)
        if op == "relu":
            return nn.ReLU()
        if op == "hardtanh":
            return nn.Hardtanh(node["lo"], node["hi"])
        if op == "maxpool2d":
            return nn.MaxPool2d(tuple(node["kernel"]), tuple(node["stride"]), tuple(node["padding"]))
        if op == "avgpool2d":
            return nn.AvgPool2d(tuple(node["kernel"]), tuple(node["stride"]), tuple(node["padding"]))
        if op == "global_avgpool2d":
            return Lambda(lambda x: x.mean((2, 3)), "global_avgpool2d")
        if op == "flatten":
            return nn.Flatten(1)
        if op == "basic_block":
            sc = node["shortcut"]
            if sc["kind"] == "identity":
                shortcut = nn.Identity()
            elif sc["kind"] == "option_a":
                shortcut = OptionA(sc["stride"], sc["pad_front"], sc["out_channels"])
            elif sc["kind"] == "projection":
                shortcut = self.sequence(sc["body"])
            else:
                raise ExportError(f"{self.path}: block {node.get('name')}: unknown shortcut kind '{sc['kind']}'")
            return BasicBlock(self.sequence(node["body"]), shortcut, bool(node.get("relu", True)))
        raise ExportError(f"{self.path}: graph node op '{op}' is unknown to this loader (format version "
                          f"{VERSIONS[-1]}); update python/bwma_torch.py")

    def sequence(self, nodes):
        return nn.Sequential(*[self.node(n) for n in nodes])


def load(path):
    """The export at `path` as an evaluation-mode BWMANet (float32, CPU)."""
    with safe_open(path, "np") as f:
        meta = f.metadata() or {}
    if meta.get("format") != FORMAT:
        raise ExportError(f"{path}: not a bwma export (metadata format is {meta.get('format')!r}, expected {FORMAT!r})")
    if int(meta.get("version", 0)) not in VERSIONS:
        raise ExportError(f"{path}: export version {meta.get('version')}; this loader reads {VERSIONS}: re-export "
                          "with a current `bwma export`")
    graph = json.loads(meta["graph"])
    net = BWMANet(_Builder(path, load_file(path)).sequence(graph), meta)
    return net.eval()


# ----------------------------------------------------------------------------------------------------------- datasets

def _idx(path):
    """An IDX file (MNIST's format), plain or gzip: a numpy array of its dimensions."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            with (gzip.open(p, "rb") if p.endswith(".gz") else open(p, "rb")) as f:
                data = f.read()
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise ExportError(f"{path}(.gz): not found (an MNIST-family folder holds t10k-images-idx3-ubyte[.gz])")


def mnist_test(folder):
    """uint8 images [N, 1, 28, 28] and int labels of an MNIST-family test split."""
    x = _idx(os.path.join(folder, "t10k-images-idx3-ubyte"))
    y = _idx(os.path.join(folder, "t10k-labels-idx1-ubyte"))
    return x[:, None, :, :], y.astype(np.int64)


def cifar10_test(folder):
    """uint8 images [N, 3, 32, 32] and labels of CIFAR-10's binary test batch."""
    for p in (os.path.join(folder, "test_batch.bin"), os.path.join(folder, "cifar-10-batches-bin", "test_batch.bin")):
        if os.path.exists(p):
            rec = np.fromfile(p, np.uint8).reshape(-1, 3073)
            return rec[:, 1:].reshape(-1, 3, 32, 32), rec[:, 0].astype(np.int64)
    raise ExportError(f"{folder}: no test_batch.bin (CIFAR-10 binary version)")


def _dct_scale(width, height, out_w, out_h):
    """The trainer's DCT scale: the largest of 8, 4, 2 leaving at least twice the output's pixels on both axes."""
    for d in (8, 4, 2):
        if width / d >= 2 * out_w and height / d >= 2 * out_h:
            return d
    return 1


def image_folder_sample(path, pre):
    """One JPEG as the trainer's evaluation sees it: Resize(shorter side) with Pillow's antialiased bilinear filter,
    then CenterCrop; with `dct_scaling`, decoded at 1/d first (libjpeg's scaled IDCT) with the resize box scaled."""
    from PIL import Image  # Pillow: only image folders need it
    img = Image.open(path)
    w, h = img.size
    r, c = pre["resize"], pre["crop"]
    # torchvision's Resize(int): the shorter side becomes r, the longer int(r * long / short).
    ow, oh = (r, int(r * h / w)) if w <= h else (int(r * w / h), r)
    box = (0.0, 0.0, float(w), float(h))
    d = _dct_scale(w, h, ow, oh) if pre.get("dct_scaling") else 1
    if d > 1:
        img.draft("RGB", (w // d, h // d))
        if img.size != ((w + d - 1) // d, (h + d - 1) // d):
            raise ExportError(f"{path}: Pillow decoded at {img.size}, expected 1/{d} of {w}x{h}")
        box = (0.0, 0.0, w / d, h / d)
    img = img.convert("RGB").resize((ow, oh), Image.BILINEAR, box=box)
    # torchvision's CenterCrop offsets: round((in - out) / 2), half to even.
    left, top = round((ow - c) / 2), round((oh - c) / 2)
    img = img.crop((left, top, left + c, top + c))
    return np.asarray(img, np.uint8).transpose(2, 0, 1)


def image_folder_test(folder, pre):
    """ImageFolder layout ROOT/{val,test}/CLASS/*.jpg (or ROOT/CLASS/*.jpg): images and labels, classes sorted."""
    root = folder
    for split in ("val", "test"):
        if os.path.isdir(os.path.join(folder, split)):
            root = os.path.join(folder, split)
            break
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    xs, ys = [], []
    for label, cls in enumerate(classes):
        for name in sorted(os.listdir(os.path.join(root, cls))):
            if name.lower().endswith((".jpg", ".jpeg")):
                xs.append(image_folder_sample(os.path.join(root, cls, name), pre))
                ys.append(label)
    if not xs:
        raise ExportError(f"{root}: no JPEG images in class folders")
    return np.stack(xs), np.asarray(ys, np.int64)


def test_split(dataset, folder, model):
    if dataset in ("mnist", "fashion-mnist"):
        return mnist_test(folder)
    if dataset == "cifar10":
        return cifar10_test(folder)
    if dataset in ("imagefolder", "imagenet"):
        if model.preprocess.get("kind") != "resize_center_crop":
            raise ExportError(f"the export's preprocess is {model.preprocess}: it was not trained on an image folder")
        return image_folder_test(folder, model.preprocess)
    raise ExportError(f"unknown dataset '{dataset}' (mnist, fashion-mnist, cifar10, imagefolder)")


def evaluate(model, pixels, labels, batch_size=256, limit=None):
    """Accuracy over uint8 `pixels` [N, C, H, W]; also returns the logits [N, classes]."""
    n = len(labels) if limit is None else min(limit, len(labels))
    out = []
    with torch.no_grad():
        for i in range(0, n, batch_size):
            x = model.normalize(torch.from_numpy(np.array(pixels[i:min(i + batch_size, n)])))
            out.append(model(x))
    logits = torch.cat(out).numpy() if out else np.zeros((0, model.num_classes), np.float32)
    correct = int((logits.argmax(1) == labels[:n]).sum())
    return correct, n, logits


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("eval", help="test accuracy of an export; prints one JSON object")
    e.add_argument("export")
    e.add_argument("--dataset", required=True, choices=["mnist", "fashion-mnist", "cifar10", "imagefolder", "imagenet"])
    e.add_argument("--data", required=True, help="the dataset's folder")
    e.add_argument("--limit", type=int, help="evaluate only the first N test images")
    e.add_argument("--batch-size", type=int, default=256)
    e.add_argument("--threads", type=int, help="torch.set_num_threads")
    e.add_argument("--logits", help="write logits [N, classes] and labels to this safetensors file")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    try:
        model = load(a.export)
        pixels, labels = test_split(a.dataset, a.data, model)
        if list(pixels.shape[1:]) != model.input_shape:
            raise ExportError(f"{a.data}: images are {list(pixels.shape[1:])}, the model takes {model.input_shape}")
        correct, n, logits = evaluate(model, pixels, labels, a.batch_size, a.limit)
    except (ExportError, OSError, KeyError, ValueError) as err:
        print(f"bwma_torch: {err}", file=sys.stderr)
        return 1
    if a.logits:
        save_file({"logits": np.ascontiguousarray(logits, np.float32),
                   "labels": labels[:n].astype(np.int32)}, a.logits)
    print(json.dumps({"accuracy": correct / max(n, 1), "correct": correct, "images": n, "arch": model.arch,
                      "export": a.export}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

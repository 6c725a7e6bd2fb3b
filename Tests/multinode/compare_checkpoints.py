#!/usr/bin/env python3
"""Compare two safetensors checkpoints tensor by tensor (standard library only).

    compare_checkpoints.py A.safetensors B.safetensors [--prefix params/] [--rtol 1e-6]

Every tensor whose name starts with the prefix must exist in both files with the same dtype and shape, and
max |a - b| <= rtol * max(1, max |a|) for each. Prints one line per failing tensor and one summary line; exits 0
when all match, 1 when some differ, 2 on a malformed or unreadable file.

Format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}} plus an optional "__metadata__" string map, then the raw
little-endian data; offsets are relative to the end of the header.
"""
import argparse
import array
import json
import math
import struct
import sys

# dtype -> (array typecode or None, item size); F16 and BF16 are converted by hand.
DTYPES = {
    "F64": ("d", 8), "F32": ("f", 4), "F16": (None, 2), "BF16": (None, 2),
    "I64": ("q", 8), "I32": ("i", 4), "I16": ("h", 2), "I8": ("b", 1),
    "U64": ("Q", 8), "U32": ("I", 4), "U16": ("H", 2), "U8": ("B", 1), "BOOL": ("B", 1),
}


class FormatError(Exception):
    pass


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise FormatError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise FormatError(f"{path}: header length {n} runs past the end of the file")
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError as e:
        raise FormatError(f"{path}: header is not JSON ({e})")
    header.pop("__metadata__", None)
    return header, memoryview(raw)[8 + n:]


def values(path, name, info, data):
    dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
    if dtype not in DTYPES:
        raise FormatError(f"{path}: {name}: unsupported dtype {dtype}")
    code, size = DTYPES[dtype]
    count = math.prod(shape)
    if end - begin != count * size or end > len(data) or begin < 0:
        raise FormatError(f"{path}: {name}: data_offsets {begin}..{end} do not fit shape {shape} of {dtype}")
    chunk = data[begin:end]
    if dtype == "F16":
        return list(struct.unpack(f"<{count}e", chunk))
    if dtype == "BF16":
        halves = array.array("H", bytes(chunk))
        if sys.byteorder == "big":
            halves.byteswap()
        wide = array.array("I", (h << 16 for h in halves))
        return list(array.array("f", wide.tobytes()))
    a = array.array(code)
    if a.itemsize != size:
        raise FormatError(f"array typecode {code} is {a.itemsize} bytes here, not {size}")
    a.frombytes(bytes(chunk))
    if sys.byteorder == "big":
        a.byteswap()
    return a


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--prefix", default="params/", help="compare tensors whose name starts with this (default params/)")
    p.add_argument("--rtol", type=float, default=1e-6, help="tolerance relative to max(1, max|a|) (default 1e-6)")
    args = p.parse_args()
    try:
        ha, da = read(args.a)
        hb, db = read(args.b)
        na = sorted(k for k in ha if k.startswith(args.prefix))
        nb = sorted(k for k in hb if k.startswith(args.prefix))
        failures = []
        if not na:
            failures.append(f"no tensor named {args.prefix}* in {args.a}")
        for k in sorted(set(na) ^ set(nb)):
            failures.append(f"{k}: only in {args.a if k in ha else args.b}")
        worst, worst_name, elements, bitwise = 0.0, "", 0, 0
        for k in sorted(set(na) & set(nb)):
            ia, ib = ha[k], hb[k]
            if ia["dtype"] != ib["dtype"] or ia["shape"] != ib["shape"]:
                failures.append(f"{k}: {ia['dtype']}{ia['shape']} vs {ib['dtype']}{ib['shape']}")
                continue
            va, vb = values(args.a, k, ia, da), values(args.b, k, ib, db)
            scale = max([1.0] + [abs(x) for x in va])
            diff = max([0.0] + [abs(x - y) if not (math.isnan(x) and math.isnan(y)) else 0.0 for x, y in zip(va, vb)])
            if any(math.isnan(x) != math.isnan(y) for x, y in zip(va, vb)):
                diff = math.inf
            elements += len(va)
            bitwise += bytes(da[ia["data_offsets"][0]:ia["data_offsets"][1]]) == bytes(db[ib["data_offsets"][0]:ib["data_offsets"][1]])
            if diff / scale > worst:
                worst, worst_name = diff / scale, k
            if not diff <= args.rtol * scale:
                failures.append(f"{k}: max|a-b| = {diff:.3g} > {args.rtol:g} x {scale:.3g}")
    except (OSError, FormatError, KeyError, TypeError, ValueError) as e:
        print(f"compare_checkpoints: {e}", file=sys.stderr)
        return 2
    for f in failures:
        print(f"  {f}")
    common = len(set(na) & set(nb))
    summary = (f"{common} {args.prefix}* tensors ({elements} values), {bitwise} bitwise equal, "
               f"max relative difference {worst:.3g}{' (' + worst_name + ')' if worst_name else ''}, tolerance {args.rtol:g}")
    print(("MATCH: " if not failures else "DIFFER: ") + summary)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())

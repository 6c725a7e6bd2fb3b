#!/usr/bin/env python3
"""How close oneDNN's convolutions run to the core's peak, from one training step's ONEDNN_VERBOSE log.

    ONEDNN_VERBOSE=1 bwma bench step ... --warmup 1 --steps S > log 2>&1
    gcc -O2 -mavx512f -mavx512bf16 -mavx512vnni bench/peak_dot.c -o /tmp/peak_dot
    python3 bench/conv_roofline.py log --steps S+1 --threads T --peak "$(/tmp/peak_dot)"

Reads the `exec` lines of the last of the `--steps` logged steps (oneDNN 2.x lines, as the engine's Debian oneDNN
writes them, or oneDNN 3.x `v1` lines, as PyTorch's writes them); per pass (forward, backward data, backward weights,
and bf16 / int8 source type) prints the time, the multiply-adds that touch the input (taps over the zero padding
are not counted: kernels skip them), the rate and its share of `threads` × the measured peak of the instruction that
pass runs on (vdpbf16ps for bf16, vpdpbusd for u8 × s8, the bf16 peak / 2 for fp32 FMA); then the reorders, and the
floor: every convolution at its peak. Prints markdown.
"""
import argparse
import collections
import json
import re
import sys


def valid_taps(i, o, k, s, d, p):
    """Σ over output positions of the kernel taps that land inside the input (one dimension)."""
    return sum(1 for x in range(o) for t in range(k) if 0 <= x * s - p + t * (d + 1) < i)


def macs(shape):
    f = {k: int(v) for k, v in re.findall(r"([a-z]+)(\d+)", shape)}
    g = f.get("g", 1)
    per_tap = f["mb"] * (f["ic"] // g) * f["oc"]
    return per_tap * valid_taps(f["ih"], f["oh"], f["kh"], f["sh"], f.get("dh", 0), f["ph"]) \
        * valid_taps(f["iw"], f["ow"], f["kw"], f["sw"], f.get("dw", 0), f["pw"])


def exec_fields(line):
    """An `exec` line's fields in oneDNN 2.x order (`onednn_verbose,exec,cpu,<primitive>,<impl>,<pass>,<memory>,...`),
    or None. oneDNN 3.x writes `onednn_verbose,v1,primitive,exec,...`: the two extra fields are dropped."""
    f = line.strip().split(",")
    if f[:2] == ["onednn_verbose", "exec"]:
        return f
    if f[:4] == ["onednn_verbose", "v1", "primitive", "exec"]:
        return f[:1] + f[3:]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--steps", type=int, required=True, help="steps in the log, warm-up included")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--peak", required=True, help="bench/peak_dot's JSON (one core)")
    a = ap.parse_args()
    peak = json.loads(a.peak)
    lines = [exec_fields(l) for l in open(a.log)]
    lines = [l for l in lines if l]
    if not lines or len(lines) % a.steps:
        sys.exit(f"{a.log}: {len(lines)} exec lines do not split into {a.steps} equal steps")
    step = lines[-len(lines) // a.steps:]
    rows = collections.defaultdict(lambda: [0.0, 0, 0])
    other = collections.defaultdict(float)
    for l in step:
        ms = float(l[-1])
        if l[3] != "convolution":
            other[l[3]] += ms
            continue
        # The multiplied type: the weights' (the source's in backward weights, whose weights are its fp32 output).
        operand = "src" if l[5] == "backward_weights" else "wei"
        src = re.search(r"(?:^|\s)" + operand + r"[_:]([a-z0-9]+)", l[6]).group(1)
        row = rows[(l[5], src, l[4].split(":")[0])]
        row[0] += ms; row[1] += macs(l[-2]); row[2] += 1
    print(f"peak per core: bf16 {peak['bf16_gflops']:.0f} GFLOP/s, int8 {peak['int8_gops']:.0f} GOP/s; "
          f"threads {a.threads}\n")
    print("| pass | type | kernel | calls | ms/step | GFLOP | GFLOP/s | of peak | ms at peak |")
    print("|---|---|---|---|---|---|---|---|---|")
    total = floor = 0.0
    for (kind, src, kernel), (ms, m, n) in sorted(rows.items(), key=lambda r: -r[1][0]):
        unit = {"u8": peak["int8_gops"], "s8": peak["int8_gops"], "bf16": peak["bf16_gflops"]}.get(
            src, peak["bf16_gflops"] / 2) * a.threads
        gflop = 2 * m / 1e9
        rate = gflop / (ms / 1e3)
        best = gflop / unit * 1e3
        total += ms; floor += best
        print(f"| {kind} | {src} | {kernel} | {n} | {ms:.1f} | {gflop:.2f} | {rate:.0f} | {rate / unit:.0%} | "
              f"{best:.1f} |")
    print(f"| convolutions | | | | {total:.1f} | | | | {floor:.1f} |")
    for kind, ms in sorted(other.items(), key=lambda r: -r[1]):
        print(f"| {kind} | | | | {ms:.1f} | | | | |")


if __name__ == "__main__":
    main()

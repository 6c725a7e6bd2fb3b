#!/usr/bin/env python3
"""An alpha-beta (latency-bandwidth) model of data-parallel scaling (docs/distributed.md, "Scaling model").

Ring allreduce of n bytes over p ranks (Patarasuk & Yuan 2009; Thakur et al. 2005):
    t(n, p) = 2 (p - 1) alpha + 2 (p - 1) / p * n * beta
alpha and beta come from `bwma bench allreduce --json` measured over the link (2 ranks, t = 2 alpha + n beta):
alpha from the smallest message (latency-bound), beta by least squares on relative errors over the messages of at
least --fit-from bytes (default 4 MiB: back-to-back gradient buckets run at the link's steady rate; a shaped link is faster for small
messages, which fit within its burst). A step of compute time C (forward + backward + update; backward about 2/3 of it) with the
gradients in buckets b_1 .. b_k (first = the last layers', launched first):
    no overlap:  T = C + sum_i t(b_i, p)
    overlap:     T = C + max(t(b_k, p), sum_i t(b_i, p) - W),  W = (2/3) C the backward window
(every bucket but the last can be hidden behind the rest of backward; the last, the first layers' gradients, is
ready only when backward ends). Scaling efficiency = C / T (throughput per rank relative to one process).

    bench/scaling_model.py --allreduce ar.json --model resnet18:46.8:6250:32 --model resnet20:1.09:190:128 \
        [--gbps 1,10,25] [--nodes 2,4,...] [--batches 8,32,128] [--check measured.json]

--model NAME:GRADIENT_MB:COMPUTE_MS:BATCH gives the gradient size (MB = 1e6 bytes), the measured compute time of one
step at that per-rank batch, and the batch; compute is taken proportional to the batch for other batch sizes.
Standard library only.
"""
import argparse
import json
import sys

MIB = 1 << 20


def seconds(r):
    return min(r["communicator_ms"], r["gradient_sync_ms"]) / 1000


def fit(rows, fit_from):
    """alpha (s) from the smallest message, beta (s/byte) minimising the relative error of 2 alpha + n beta over
    the rows of at least `fit_from` bytes."""
    rows = sorted(rows, key=lambda r: r["bytes"])
    alpha = seconds(rows[0]) / 2
    big = [r for r in rows if r["bytes"] >= fit_from] or rows[-1:]
    # minimise sum ((2 alpha + n beta - t) / t)^2 over beta
    num = sum(r["bytes"] * (seconds(r) - 2 * alpha) / seconds(r) ** 2 for r in big)
    den = sum(r["bytes"] ** 2 / seconds(r) ** 2 for r in big)
    return alpha, num / den


def ring(n, p, alpha, beta):
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * n * beta if p > 1 else 0.0


def buckets(total, cap=4 * MIB, first=1 * MIB):
    """Bucket sizes for a gradient of `total` bytes in many small layers (bwma's defaults: 1 MiB first, 4 MiB)."""
    out, left = [], total
    c = first
    while left > 0:
        out.append(min(c, left))
        left -= out[-1]
        c = cap
    return out


def step_time(compute, sizes, p, alpha, beta, overlap):
    comm = [ring(b, p, alpha, beta) for b in sizes]
    if not overlap:
        return compute + sum(comm)
    return compute + max(comm[-1], sum(comm) - 2 / 3 * compute)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--allreduce", required=True, help="bwma bench allreduce --json output over the link (2 ranks)")
    ap.add_argument("--model", action="append", required=True, help="NAME:GRADIENT_MB:COMPUTE_MS:BATCH")
    ap.add_argument("--gbps", default="", help="also predict for these link speeds (Gbit/s, alpha as fitted)")
    ap.add_argument("--nodes", default="2,3,4,8,16,32,64,128,256")
    ap.add_argument("--bucket-mb", type=float, default=4, help="bucket cap (MiB; the first bucket is 1 MiB)")
    ap.add_argument("--fit-from", type=int, default=4 << 20, help="fit beta over messages of at least this many bytes")
    ap.add_argument("--batches", default="", help="per-rank batches to tabulate (default: the model's)")
    ap.add_argument("--check", action="append", default=[],
                    help="NAME:P:BATCH:MEASURED_EFFICIENCY_OVERLAP:MEASURED_EFFICIENCY_NO_OVERLAP[:COMPUTE_MS] to compare "
                         "(COMPUTE_MS: the measured compute time of that configuration's step)")
    a = ap.parse_args()
    rows = json.load(open(a.allreduce))["rows"]
    alpha, beta = fit(rows, a.fit_from)
    print(f"fit over {len(rows)} sizes ({rows[0]['bytes']}..{rows[-1]['bytes']} B): alpha = {alpha * 1e6:.1f} us, "
          f"beta = {beta * 1e9:.3f} ns/B ({8 / beta / 1e9:.2f} Gbit/s effective)")
    for r in rows:
        t = seconds(r) * 1000
        print(f"  {r['bytes']:>9} B: measured {t:.3f} ms, model {ring(r['bytes'], 2, alpha, beta) * 1000:.3f} ms")
    links = [("measured link", beta)] + [(f"{g} Gbit/s", 8 / (g * 1e9)) for g in map(float, filter(None, a.gbps.split(",")))]
    nodes = [int(x) for x in a.nodes.split(",")]
    for spec in a.model:
        name, mb, ms, batch = spec.split(":")
        grad, compute0, batch0 = float(mb) * 1e6, float(ms) / 1000, int(batch)
        sizes = buckets(grad, cap=int(a.bucket_mb * MIB))
        batches = [int(x) for x in a.batches.split(",")] if a.batches else [batch0]
        for label, b in links:
            print(f"\n{name}: gradient {grad / 1e6:.1f} MB in {len(sizes)} bucket(s), {label}; "
                  "scaling efficiency with overlap (without)")
            print("| per-rank batch | " + " | ".join(f"{p} nodes" for p in nodes) + " |")
            print("|---" * (len(nodes) + 1) + "|")
            for bt in batches:
                c = compute0 * bt / batch0
                cells = []
                for p in nodes:
                    on = c / step_time(c, sizes, p, alpha, b, True)
                    off = c / step_time(c, sizes, p, alpha, b, False)
                    cells.append(f"{100 * on:.0f} % ({100 * off:.0f} %)")
                print(f"| {bt} | " + " | ".join(cells) + " |")
    for chk in a.check:
        name, p, bt, on, off, *given = chk.split(":")
        spec = next(s for s in a.model if s.startswith(name + ":"))
        _, mb, ms, batch = spec.split(":")
        c = float(given[0]) / 1000 if given else float(ms) / 1000 * int(bt) / int(batch)
        sizes = buckets(float(mb) * 1e6, cap=int(a.bucket_mb * MIB))
        pred_on = c / step_time(c, sizes, int(p), alpha, beta, True)
        pred_off = c / step_time(c, sizes, int(p), alpha, beta, False)
        print(f"\ncheck {name} on {p} nodes, batch {bt}: overlap predicted {100 * pred_on:.1f} % measured "
              f"{100 * float(on):.1f} %; no overlap predicted {100 * pred_off:.1f} % measured {100 * float(off):.1f} %")


if __name__ == "__main__":
    sys.exit(main())

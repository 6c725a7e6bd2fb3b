#!/usr/bin/env python3
"""The knee on converged networks (issue 16, deliverable 5): BWMA ResNet-20 trained with the accuracy study's recipe
(bench/accuracy_study.py: 5 epochs, cosine, crop-flip, the first 30,000 Fashion-MNIST training images) at every
activation width A = 1 … 8, then each network on the simulated SRAM chip of docs/cim.md with the current cost model —
hardware-aware accuracy on all 10,000 test images, energy per image, area, latency — under several ADC precisions.
The knee per ADC is docs/cim.md §5's: the smallest width whose hardware-aware accuracy is within 0.5 points of the
best width's under that ADC (energy, area and latency all grow with A, so it is also the cheapest such width).

    bench/knee_study.py run [--seed 0] [--adc-bits 5,6,8] [--parallel 2]
    bench/knee_study.py table

Trains into runs/knee-study (resumable like the study; the study's own bwma-a2/a4 runs of the same seed are linked,
not retrained), runs `bwma cim report --checkpoint RUN --abits A --device sram --adc-bits B --json` per width and ADC
(cached in runs/knee-study/cim/), and writes knee.csv and knee.md there. One seed: a knee is read off one curve;
the main study gives the seed-to-seed spread at A = 2 and 4. The networks are trained in software, not CIM-aware:
the ADCs say how much precision the chip needs to keep a conventionally trained network (8 bits are lossless for
128-row subarrays; results.md's CIM-aware sweep shows what training through a 5-bit chip recovers).
"""

import argparse
import concurrent.futures
import csv
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import accuracy_study as study  # noqa: E402
import study_stats as st  # noqa: E402

WIDTHS = list(range(1, 9))
TOLERANCE = 0.5  # points: docs/cim.md §5


def study_args(args):
    """The accuracy study's settings (so the runs are the study's recipe), pointed at the knee folder."""
    return argparse.Namespace(out=args.out, bwma=args.bwma, epochs=args.epochs, limit_train=args.limit_train,
                              limit_test=0, threads=1, precision="fp32", data_path=args.data_path)


def link_study_runs(args):
    """Links the main study's finished bwma runs of this seed (same settings) instead of training them again."""
    settings = os.path.join(args.study, "settings.json")
    if not os.path.exists(settings):
        return
    with open(settings) as f:
        theirs = json.load(f)
    mine = {k: getattr(study_args(args), k)
            for k in ("epochs", "limit_train", "limit_test", "precision", "threads", "data_path")}
    if theirs != mine:
        return
    for a in WIDTHS:
        name = study.run_name("bwma", a, args.seed)
        src, dst = os.path.join(args.study, "runs", name), os.path.join(args.out, "runs", name)
        if os.path.exists(os.path.join(src, "summary.json")) and not os.path.exists(dst):
            os.symlink(src, dst)
            with open(os.path.join(args.out, "configs", name + ".json"), "w") as f:
                json.dump({"row": "bwma", "abits": a, "seed": args.seed}, f)


def cim_report(args, a, adc):
    """The cached `bwma cim report` JSON of width a under a b-bit ADC (run on one thread when missing)."""
    name = study.run_name("bwma", a, args.seed)
    path = os.path.join(args.out, "cim", f"{name}-adc{adc}.json")
    if not os.path.exists(path):
        cmd = ["bash", "-c", 'source launch/env.sh && exec "$@"', "bwma", args.bwma, "cim", "report", "--checkpoint",
               os.path.join(args.out, "runs", name), "--abits", str(a), "--device", "sram", "--adc-bits", str(adc),
               "--threads", "1", "--json"]
        out = subprocess.run(cmd, cwd=study.REPO, capture_output=True, text=True,
                             env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        if out.returncode != 0:
            raise RuntimeError(f"{name}, {adc}-bit ADC: bwma cim report failed: {out.stderr.strip()[-400:]}")
        with open(path + ".tmp", "w") as f:
            f.write(out.stdout)
        os.replace(path + ".tmp", path)
    with open(path) as f:
        return json.load(f)


def record(args, a, adc):
    r = cim_report(args, a, adc)
    chip = r["chip"]
    return {"abits": a, "adc_bits": adc, "software_accuracy": round(100 * r["software_accuracy"], 2),
            "hardware_accuracy": round(100 * r["hardware_accuracy"], 2),
            "energy_nj": round(chip["energy_pj"]["total"] / 1000, 2), "area_mm2": round(chip["area_mm2"]["total"], 4),
            "latency_us": round(chip["latency_ns"] / 1000, 1), "tops_per_w": round(chip["tops_per_w"], 1)}


def knee(records, tolerance=TOLERANCE):
    """Smallest width whose hardware-aware accuracy is within `tolerance` points of the best (None if empty)."""
    if not records:
        return None
    best = max(r["hardware_accuracy"] for r in records)
    return min(r["abits"] for r in records if r["hardware_accuracy"] >= best - tolerance)


FIELDS = ["abits", "adc_bits", "software_accuracy", "hardware_accuracy", "energy_nj", "area_mm2", "latency_us",
          "tops_per_w"]


def markdown(records):
    out = [f"Hardware-aware test accuracy on the simulated SRAM chip (docs/cim.md: 22 nm, 128×128 subarrays, every "
           f"layer mapped), BWMA ResNet-20 trained at each width; knee = the smallest width within {TOLERANCE} "
           f"points of the best width under the same ADC.", ""]
    for adc in sorted({r["adc_bits"] for r in records}):
        rs = sorted((r for r in records if r["adc_bits"] == adc), key=lambda r: r["abits"])
        k = knee(rs)
        out += [f"### {adc}-bit ADC — knee: {k} bit{'' if k == 1 else 's'}", "",
                "| A | software (%) | hardware-aware (%) | energy / image (nJ) | area (mm²) | latency (µs) | TOPS/W |",
                "|---|---|---|---|---|---|---|"]
        for r in rs:
            mark = " **(knee)**" if r["abits"] == k else ""
            out.append(f"| {r['abits']}{mark} | {r['software_accuracy']:.2f} | {r['hardware_accuracy']:.2f} | "
                       f"{r['energy_nj']:.1f} | {r['area_mm2']:.3f} | {r['latency_us']:.1f} | {r['tops_per_w']:.1f} |")
        out.append("")
    return "\n".join(out)


def write(args, records):
    with open(os.path.join(args.out, "knee.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(records)
    md = markdown(records)
    with open(os.path.join(args.out, "knee.md"), "w") as f:
        f.write(md)
    print(md)


def cmd_run(args):
    for sub in ("configs", "logs", "runs", "cim"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    link_study_runs(args)
    sargs = study_args(args)
    todo = [("bwma", a, args.seed) for a in WIDTHS
            if not os.path.exists(study.summary_path(args.out, study.run_name("bwma", a, args.seed)))]
    print(f"{len(WIDTHS) - len(todo)} of {len(WIDTHS)} widths trained; training {len(todo)}", flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.parallel) as pool:
        for name, rc, dt in pool.map(lambda r: study.run_one(r, sargs), todo):
            print(f"  {name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {dt:.0f} s", flush=True)
            if rc != 0:
                sys.exit(f"{name} failed (see {args.out}/logs/{name}.log); rerun to continue")
        jobs = [(a, adc) for adc in args.adc_bits for a in WIDTHS]
        records = list(pool.map(lambda j: record(args, *j), jobs))
    write(args, records)


def cmd_table(args):
    with open(os.path.join(args.out, "knee.csv"), newline="") as f:
        records = [{k: (int(v) if k in ("abits", "adc_bits") else float(v)) for k, v in r.items()}
                   for r in csv.DictReader(f)]
    write(args, records)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, fn in (("run", cmd_run), ("table", cmd_table)):
        s = sub.add_parser(name)
        s.set_defaults(fn=fn)
        s.add_argument("--out", default=os.path.join(study.REPO, "runs", "knee-study"))
        s.add_argument("--study", default=os.path.join(study.REPO, "runs", "accuracy-study"),
                       help="the accuracy study's folder (its bwma runs of the same seed are reused)")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--adc-bits", type=lambda v: [int(b) for b in v.split(",")], default=[5, 6, 8])
        s.add_argument("--epochs", type=int, default=5)
        s.add_argument("--limit-train", type=int, default=study.STUDY_TRAIN_IMAGES)
        s.add_argument("--parallel", type=int, default=2)
        s.add_argument("--data-path", default="/usr/share/datasets/fashion-mnist")
        s.add_argument("--bwma", default=os.path.join(study.REPO, ".build", "release", "bwma"))
    args = p.parse_args(argv)
    args.out = os.path.abspath(args.out)
    args.fn(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The accuracy study of issue 16: ResNet-20 on Fashion-MNIST, every baseline row at A ∈ {2, 4} activation bits and
the A = 4 ablations, 3 seeds each; results gathered into one CSV and a Markdown table (mean ± sample std per row,
BWMA − baseline paired by seed with a 95 % Student-t interval, a claim only where the interval excludes zero).
Python 3 standard library only; the statistics live in bench/study_stats.py.

    bench/accuracy_study.py plan  [options]    the runs, which rows are not expressible yet, the estimated time
    bench/accuracy_study.py run   [options]    train what is missing (resumable), then write results.csv and table.md
    bench/accuracy_study.py table [--csv F]    the Markdown table from an existing results.csv

Every run is one `bwma train` process on one thread (runtime.threads: 1) with its own generated config
(<out>/configs/<run>.yaml, derived from configs/fmnist-resnet20-w1a4-bwma.yaml): crop-flip augmentation (4-pixel
zero padding + random crop + horizontal flip), SGD 0.1 Nesterov 0.9, weight decay 5e-4, cosine schedule, batch 128,
first and last layer FP32, the CIM report off (the study measures software accuracy). `--parallel 2` keeps two runs
going at once, one per core. A run is skipped when <out>/runs/<run>/summary.json exists, continued from its
checkpoint (`bwma train --resume`) when it has one, so an interrupted study picks up where it stopped. The settings of
a study folder (epochs, limits, precision, ...) are recorded in <out>/settings.json; another setting needs another
--out.

Why not `bwma sweep`: its grid is a cartesian product (the study's rows are not: FP32 once per seed, ablations only at
A = 4), it evaluates every point on the simulated CIM chip, and it has no per-point resume (an interrupted sweep
starts over). Independent single-rank runs, two at a time, use both cores as well as two MPI groups would.

Rows that the engine cannot express yet (a quant key is missing) are listed by `plan` and skipped by `run`; their
intended keys are in ROWS below.

Full study (see `plan` for the time: 3 h 20 min estimated on this 2-core machine, 2 h 59 min of it the 61 runs of
the table; 5 epochs on the first 30,000 training images, every run tested on all 10,000 test images —
`--limit-train 0` trains on all 60,000, about twice as long), then the knee (bench/knee_study.py, into <out>-knee;
`--no-knee` skips it):
    swift build -c release --product bwma && bench/accuracy_study.py run --parallel 2
Smoke test of the plumbing (seconds):
    bench/accuracy_study.py run --rows bwma,bwn-ste --abits 4 --seeds 0 --epochs 1 --limit-train 256 \\
        --limit-test 500 --out runs/study-smoke --no-knee
"""

import argparse
import concurrent.futures
import csv
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import study_stats as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The recipe of every run: configs/fmnist-resnet20-w1a4-bwma.yaml with standard augmentation and one thread per run.
BASE = {
    "data": {"dataset": "fashion-mnist", "path": "/usr/share/datasets/fashion-mnist", "batch_size": 128,
             "augment": "crop-flip", "crop_padding": 4},
    "model": {"arch": "resnet20"},
    "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5.0e-4},
    "schedule": {"name": "cosine", "epochs": 5},
    "quant": {"first_layer": "fp32", "last_layer": "fp32"},
    "cim": {"report": "none"},
    "runtime": {"threads": 1, "log_every_steps": 100},
}

# The rows. `quant`: the keys of the quant section (abits is added per run); `fp`: full precision, one run per seed
# shared by every A; `ablation`: A = 4 only; `missing`: not expressible with the engine today (what is needed), so
# `plan` lists it and `run` skips it — set missing to None once the key exists.
ROWS = [
    ("fp32", "FP32 weights and activations", {"weights": "fp32", "activations": "fp32"}, {"fp": True}),
    ("bwn-ste", "BWN (α per layer) + uniform STE [0,1] (DoReFa)",
     {"weights": "bwn", "per_channel": False, "activations": "uniform-ste"}, {}),
    ("bwn-pact", "BWN (α per layer) + PACT", {"weights": "bwn", "per_channel": False, "activations": "pact"}, {}),
    ("bwn-lsq", "BWN (α per layer) + LSQ", {"weights": "bwn", "per_channel": False, "activations": "lsq"}, {}),
    ("xnor", "XNOR-Net weight scaling (BWN, α per filter) + uniform STE",
     {"weights": "bwn", "per_channel": True, "activations": "uniform-ste"}, {}),
    ("bwma-lsq", "BWMA weights + LSQ", {"weights": "bwma", "per_channel": True, "activations": "lsq"}, {}),
    ("bwma-pact", "BWMA weights + PACT", {"weights": "bwma", "per_channel": True, "activations": "pact"}, {}),
    ("bwma", "BWMA weights + BWMA activations (ours)",
     {"weights": "bwma", "per_channel": True, "activations": "bwma"}, {}),
    # Ablations of BWMA at A = 4 (the `bwma` row is their reference: balanced split, per filter, a = 1/2, κ_k·rms).
    ("abl-bwma-opt", "ablation: unconstrained two-level split (bwma-opt)",
     {"weights": "bwma-opt", "per_channel": True, "activations": "bwma"}, {"ablation": True}),
    ("abl-per-layer", "ablation: one split, α, β per layer",
     {"weights": "bwma", "per_channel": False, "activations": "bwma"}, {"ablation": True}),
    ("abl-amp0", "ablation: soft-staircase amplitude a = 0 (plain STE, κ_k·rms range)",
     {"weights": "bwma", "per_channel": True, "activations": "bwma", "bwma_amplitude": 0.0},
     {"ablation": True}),
    ("abl-amp1", "ablation: soft-staircase amplitude a = 1",
     {"weights": "bwma", "per_channel": True, "activations": "bwma", "bwma_amplitude": 1.0},
     {"ablation": True}),
    ("abl-learned-clip", "ablation: learned clip instead of κ_k·rms (soft-staircase gradient kept)",
     {"weights": "bwma", "per_channel": True, "activations": "bwma", "bwma_range": "learned"},
     {"ablation": True}),
]
# How far the FP32 row is from its plateau (the issue asks to say): one FP32 run, first seed only, PLATEAU_FACTOR
# times the epochs; reported beside the table, not compared.
PLATEAU_FACTOR = 3
ROWS.append(("fp32-plateau", f"FP32, {PLATEAU_FACTOR}x the epochs (the plateau check)",
             {"weights": "fp32", "activations": "fp32"}, {"fp": True, "plateau": True}))
ROW_INFO = {name: {"desc": desc, "quant": quant, **flags} for name, desc, quant, flags in ROWS}
OURS = "bwma"
FP_ABITS = 32  # the abits column of full-precision runs

# Measured on this machine (2 cores, avx512_core_bf16, oneDNN backend) on 2026-11-30, release build of e911fce, one
# process alone on one thread: the first 10,000 training images of Fashion-MNIST, crop-flip, batch 128, 1 epoch, then
# the 10,000 test images, e.g.
#   bench/accuracy_study.py run --rows bwma,fp32,bwn-lsq,bwn-pact,bwn-ste --abits 4 --seeds 0 --epochs 1 \
#       --limit-train 10000 --parallel 1 --out /tmp/speed [--precision bf16]
# Training images/s of one process by (activation quantizer, precision); the rest of each run (start-up, decoding the
# data set, evaluating the test set after the epoch) took 6.8-7.1 s.
TRAIN_IPS = {
    ("fp32", "fp32"): 520, ("bwma", "fp32"): 495, ("uniform-ste", "fp32"): 498, ("pact", "fp32"): 480,
    ("lsq", "fp32"): 408,
    ("bwma", "bf16"): 563, ("lsq", "bf16"): 458,
}
EVAL_S_PER_EPOCH = 5.0     # the 10,000 test images, evaluated after every epoch
STARTUP_S = 2.0            # process start, decoding the data set
TRAIN_IMAGES, TEST_IMAGES = 60000, 10000
# bench/knee_study.py's hardware-aware evaluations of one width on 10,000 test images, one thread, all its ADCs
# (5, 6 and 8 bits): the lossy ones run the bit-serial datapath (~35-40 s each at A = 4, more with more bit-planes),
# the 8-bit one is lossless for 128 rows and runs as the integer kernel (~7 s); measured on the CIM sweep's 4-bit
# model.
KNEE_CIM_S = 100.0
# The study trains on the first 30,000 training images (half of Fashion-MNIST's, all ten classes about equally): 60
# runs of 5 epochs on all 60,000 would take 5 h 30 min of this 2-core machine, twice the budget of about
# 3 h, and the issue asks for at least 5 epochs. Every run still tests on all 10,000 test images.
STUDY_TRAIN_IMAGES = 30000


def run_name(row, abits, seed):
    return f"{row}-s{seed}" if ROW_INFO[row].get("fp") else f"{row}-a{abits}-s{seed}"


def plan_runs(rows, abits_list, seeds, include_missing=False):
    """[(row, abits, seed)] in the order they run (seed-major, so a partial study already has paired seeds)."""
    runs = []
    for seed in seeds:
        for row in rows:
            info = ROW_INFO[row]
            if info.get("missing") and not include_missing:
                continue
            if info.get("plateau"):
                if seed == seeds[0]:
                    runs.append((row, FP_ABITS, seed))
            elif info.get("fp"):
                runs.append((row, FP_ABITS, seed))
            elif info.get("ablation"):
                if 4 in abits_list:
                    runs.append((row, 4, seed))
            else:
                runs.extend((row, a, seed) for a in abits_list)
    return runs


def epochs_of(row, args):
    return args.epochs * (PLATEAU_FACTOR if ROW_INFO[row].get("plateau") else 1)


def config_for(row, abits, seed, args):
    cfg = json.loads(json.dumps(BASE))
    cfg["name"] = run_name(row, abits, seed)
    cfg["seed"] = seed
    cfg["data"]["path"] = args.data_path
    cfg["data"]["limit_train"] = args.limit_train
    cfg["data"]["limit_test"] = args.limit_test
    cfg["schedule"]["epochs"] = epochs_of(row, args)
    cfg["quant"].update(ROW_INFO[row]["quant"])
    if not ROW_INFO[row].get("fp"):
        cfg["quant"]["abits"] = abits
    cfg["runtime"]["threads"] = args.threads
    cfg["runtime"]["precision"] = args.precision
    cfg["runtime"]["runs_dir"] = os.path.abspath(os.path.join(args.out, "runs"))
    return cfg


def to_yaml(d, indent=0):
    """A YAML block mapping of nested dicts of scalars (strings as JSON strings: valid YAML double-quoted scalars)."""
    lines = []
    for k, v in d.items():
        pad = "  " * indent
        if isinstance(v, dict):
            lines.append(f"{pad}{k}:")
            lines.append(to_yaml(v, indent + 1))
        elif isinstance(v, bool):
            lines.append(f"{pad}{k}: {'true' if v else 'false'}")
        elif isinstance(v, (int, float)):
            lines.append(f"{pad}{k}: {v!r}")
        else:
            lines.append(f"{pad}{k}: {json.dumps(str(v))}")
    return "\n".join(lines)


# --- time estimate ------------------------------------------------------------------------------------------------

def estimate_s(row, args):
    kind = ROW_INFO[row]["quant"]["activations"]
    ips = TRAIN_IPS.get((kind, args.precision))
    if ips is None:  # not measured: the fp32 speed scaled as the BWMA row's
        ips = TRAIN_IPS[(kind, "fp32")] * TRAIN_IPS[("bwma", args.precision)] / TRAIN_IPS[("bwma", "fp32")]
    n_train = args.limit_train or TRAIN_IMAGES
    n_test = args.limit_test or TEST_IMAGES
    return STARTUP_S + epochs_of(row, args) * (n_train / ips + EVAL_S_PER_EPOCH * n_test / TEST_IMAGES)


def fmt_s(s):
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min" if s >= 3600 else f"{s / 60:.1f} min"


# --- running ------------------------------------------------------------------------------------------------------

def summary_path(out, name):
    return os.path.join(out, "runs", name, "summary.json")


def has_checkpoint(out, name):
    d = os.path.join(out, "runs", name, "checkpoints")
    return os.path.isdir(d) and any(f.endswith(".safetensors") for f in os.listdir(d))


STOP = threading.Event()  # set on Ctrl-C: queued runs do not start


def run_one(run, args):
    row, abits, seed = run
    if STOP.is_set():
        return run_name(row, abits, seed), 130, 0.0
    name = run_name(row, abits, seed)
    cfg_path = os.path.join(args.out, "configs", name + ".yaml")
    with open(cfg_path, "w") as f:
        f.write(f"# generated by bench/accuracy_study.py: row {row}, abits {abits}, seed {seed}\n")
        f.write(to_yaml(config_for(row, abits, seed, args)) + "\n")
    with open(os.path.join(args.out, "configs", name + ".json"), "w") as f:  # what read_results gathers
        json.dump({"row": row, "abits": abits, "seed": seed}, f)
    if has_checkpoint(args.out, name):
        cmd = [args.bwma, "train", "--resume", os.path.join(args.out, "runs", name), "--json"]
    else:
        cmd = [args.bwma, "train", "--config", cfg_path, "--json"]
    # The environment every launch script gives the engine (OpenBLAS core type and threads, GOMP_SPINCOUNT).
    cmd = ["bash", "-c", 'source launch/env.sh && exec "$@"', "bwma"] + cmd
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    t0 = time.time()
    with open(os.path.join(args.out, "logs", name + ".log"), "a") as log:
        log.write("$ " + " ".join(cmd[4:]) + "\n")
        log.flush()
        rc = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=REPO)
    return name, rc, time.time() - t0


def read_results(out):
    """Records of every finished run of the study folder, whatever selection started it (accuracy in percent)."""
    recs, cfg_dir = [], os.path.join(out, "configs")
    runs = []
    for f in sorted(os.listdir(cfg_dir)) if os.path.isdir(cfg_dir) else []:
        if f.endswith(".json"):
            with open(os.path.join(cfg_dir, f)) as fh:
                r = json.load(fh)
            runs.append((r["row"], r["abits"], r["seed"]))
    order = {name: i for i, name in enumerate(ROW_INFO)}
    runs.sort(key=lambda r: (r[2], order.get(r[0], len(order)), r[0], r[1]))
    for row, abits, seed in runs:
        name = run_name(row, abits, seed)
        p = summary_path(out, name)
        if not os.path.exists(p):
            continue
        with open(p) as f:
            s = json.load(f)
        recs.append({"row": row, "abits": abits, "seed": seed, "accuracy": round(100 * s["test_accuracy"], 4),
                     "epochs": s["epochs"], "images_per_s": round(s["images_per_s"], 1),
                     "wall_s": round(s["wall_s"], 1), "run": name})
    return recs


CSV_FIELDS = ["row", "abits", "seed", "accuracy", "epochs", "images_per_s", "wall_s", "run"]


def write_csv(path, recs):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for r in recs:
            w.writerow({k: r.get(k, "") for k in CSV_FIELDS})


def read_csv(path):
    with open(path, newline="") as f:
        return [dict(r, abits=int(r["abits"]), seed=int(r["seed"]), accuracy=float(r["accuracy"]))
                for r in csv.DictReader(f)]


# --- the table ----------------------------------------------------------------------------------------------------

def _pm(xs):
    return f"{st.mean(xs):.2f} ± {st.sample_std(xs):.2f}" if len(xs) > 1 else f"{st.mean(xs):.2f}"


def _signed(x):
    return f"{x:+.2f}".replace("-", "−")


# Paired comparisons that say where the differences come from: (what is compared, first row, second row, the name of
# the first's change in a claim). BWMA against each row is the main table's.
FACTORS = [
    ("weights: BWMA vs BWN (LSQ activations)", "bwma-lsq", "bwn-lsq", "BWMA weights"),
    ("weights: BWMA vs BWN (PACT activations)", "bwma-pact", "bwn-pact", "BWMA weights"),
    ("activations: LSQ vs uniform STE (BWN weights)", "bwn-lsq", "bwn-ste", "LSQ"),
    ("activations: PACT vs uniform STE (BWN weights)", "bwn-pact", "bwn-ste", "PACT"),
    ("scaling: α per filter (XNOR) vs per layer (BWN), uniform STE", "xnor", "bwn-ste", "α per filter"),
]


def factor_section(by, rows, widths):
    """The FACTORS at every A, then each row's A = max vs A = min (the width's effect), paired by seed; `rows` in
    table order."""
    lines = []

    def line(label, a, first, second, name):
        seeds, diffs = st.paired_differences(first, second)
        if len(diffs) < 2:
            return
        ci = st.t_interval(diffs)
        claim = st.verdict(ci, higher=f"{name} higher", lower=f"{name} lower")
        lines.append(f"| {label} | {a} | {ci['n']} | {_signed(ci['mean'])} | "
                     f"[{_signed(ci['lo'])}, {_signed(ci['hi'])}] | {claim} |")

    for label, first, second, name in FACTORS:
        for a in sorted(widths, reverse=True):
            if (first, a) in by and (second, a) in by:
                line(label, a, by[(first, a)], by[(second, a)], name)
    if len(widths) > 1:
        hi, lo = max(widths), min(widths)
        for row in rows:
            if not row.startswith("abl-") and (row, hi) in by and (row, lo) in by:
                line(f"width: {row}, A = {hi} vs A = {lo}", f"{hi} − {lo}", by[(row, hi)], by[(row, lo)],
                     f"A = {hi}")
    if not lines:
        return []
    return ["## Where the differences come from", "",
            "Paired by seed (first − second, points), 95 % Student-t intervals as above:", "",
            "| comparison | A | pairs | mean difference | 95 % CI | claim |", "|---|---|---|---|---|---|",
            *lines, ""]


def markdown_table(recs, ours=OURS):
    """Per A: every row's mean ± sample std over seeds, then BWMA − each other row paired by seed with a 95 %
    t-interval. Full-precision rows (abits 32) are the reference in every A. Ablations (rows named abl-*) get their
    own section."""
    by = {}  # (row, abits) -> {seed: accuracy}
    for r in recs:
        by.setdefault((r["row"], r["abits"]), {})[r["seed"]] = r["accuracy"]
    order = {name: i for i, name in enumerate(ROW_INFO)}
    rows = sorted({row for row, _ in by}, key=lambda n: (order.get(n, len(order)), n))
    widths = sorted({a for _, a in by if a != FP_ABITS})
    plateau = [r for r in rows if ROW_INFO.get(r, {}).get("plateau")]
    rows = [r for r in rows if r not in plateau]
    fp_rows = [row for row in rows if (row, FP_ABITS) in by]
    out = ["Test accuracy (%) after the last epoch: mean ± sample standard deviation over seeds. Paired: BWMA − row "
           "on the same seed, in points, with the 95 % Student-t interval mean ± t₀.₉₇₅,ₙ₋₁·s/√n; a claim only where "
           "the interval excludes 0.", ""]

    def section(title, members, a):
        out.append(f"## {title}")
        out.append("")
        out.append("| row | method | seeds | accuracy (%) | per seed |")
        out.append("|---|---|---|---|---|")
        for row, key in members:
            accs = by[key]
            seeds = sorted(accs)
            out.append(f"| {row} | {ROW_INFO.get(row, {}).get('desc', '')} | {len(seeds)} | "
                       f"{_pm([accs[s] for s in seeds])} | {', '.join(f'{accs[s]:.2f}' for s in seeds)} |")
        out.append("")
        if (ours, a) not in by:
            return
        out.append(f"Paired differences, {ours} − row (points, same seed):")
        out.append("")
        out.append("| row | pairs | mean difference | 95 % CI | claim |")
        out.append("|---|---|---|---|---|")
        for row, key in members:
            if key == (ours, a):
                continue
            seeds, diffs = st.paired_differences(by[(ours, a)], by[key])
            if not diffs:
                out.append(f"| {row} | 0 | | | no common seed |")
                continue
            ci = st.t_interval(diffs)
            interval = "" if ci["lo"] is None else f"[{_signed(ci['lo'])}, {_signed(ci['hi'])}]"
            out.append(f"| {row} | {ci['n']} | {_signed(ci['mean'])} | {interval} | {st.verdict(ci)} |")
        out.append("")

    for a in sorted(widths, reverse=True):
        members = [(row, (row, a)) for row in rows if (row, a) in by and not row.startswith("abl-")]
        members += [(row, (row, FP_ABITS)) for row in fp_rows]
        section(f"A = {a} bits", members, a)
    out += factor_section(by, rows, widths)
    if any(row.startswith("abl-") for row in rows):
        a = 4
        members = [(row, (row, a)) for row in rows if (row, a) in by and (row.startswith("abl-") or row == ours)]
        section(f"Ablations of BWMA (A = {a} bits)", members, a)
    for row in plateau:
        for seed, acc in sorted(by[(row, FP_ABITS)].items()):
            same = by.get(("fp32", FP_ABITS), {}).get(seed)
            gap = f"; the FP32 row on the same seed: {same:.2f} % ({_signed(acc - same)} points to go)" if same else ""
            out.append(f"Plateau check: FP32 with {PLATEAU_FACTOR}x the epochs, seed {seed}: {acc:.2f} %{gap}.")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# --- commands -----------------------------------------------------------------------------------------------------

def selected(args):
    rows = args.rows.split(",") if args.rows else list(ROW_INFO)
    for r in rows:
        if r not in ROW_INFO:
            sys.exit(f"unknown row {r!r}; rows: {', '.join(ROW_INFO)}")
    if args.no_ablations:
        rows = [r for r in rows if not ROW_INFO[r].get("ablation")]
    abits = [int(a) for a in args.abits.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    return rows, abits, seeds


def cmd_plan(args):
    rows, abits, seeds = selected(args)
    runs = plan_runs(rows, abits, seeds)
    print(f"accuracy study: {len(runs)} runs, {args.epochs} epoch(s), "
          f"train {args.limit_train or TRAIN_IMAGES} / test {args.limit_test or TEST_IMAGES} images, "
          f"precision {args.precision}, {args.parallel} at a time, into {args.out}")
    total = 0.0
    for row, a, seed in runs:
        t = estimate_s(row, args)
        total += t
        done = " (done)" if os.path.exists(summary_path(args.out, run_name(row, a, seed))) else ""
        print(f"  {run_name(row, a, seed):24s} ~{fmt_s(t)}{done}")
    missing = [r for r in rows if ROW_INFO[r].get("missing")]
    if missing:
        print("not expressible with the engine today (skipped):")
        for r in missing:
            print(f"  {r}: {ROW_INFO[r]['desc']} — needs {ROW_INFO[r]['missing']}")
    knee = [a for a in range(1, 9) if a not in abits] if "bwma" in rows and 0 in seeds else []
    fixed = 8 * KNEE_CIM_S if knee else 0.0  # knee evaluations: independent of the epochs
    if knee:
        knee_s = len(knee) * estimate_s("bwma", args) + 8 * KNEE_CIM_S
        print(f"then bench/knee_study.py: BWMA at A = {', '.join(map(str, knee))} (seed 0), and 8 widths x 3 ADCs "
              f"on the CIM chip: ~{fmt_s(knee_s / args.parallel)} wall")
        total += knee_s
    print(f"estimated time: {fmt_s(total / args.parallel)} wall ({fmt_s(total)} of one core), from one-thread speeds "
          f"measured on this machine (TRAIN_IPS in this script: ResNet-20 W1A4 BWMA {TRAIN_IPS[('bwma', 'fp32')]} "
          f"img/s fp32, {TRAIN_IPS[('bwma', 'bf16')]} bf16; FP32 net {TRAIN_IPS[('fp32', 'fp32')]}; LSQ rows "
          f"{TRAIN_IPS[('lsq', 'fp32')]}), assuming two concurrent runs scale perfectly on the two cores")
    if runs:
        starts = (len(runs) + len(knee)) * STARTUP_S
        per_epoch = (total - fixed - starts) / args.epochs / args.parallel
        fit = int((args.budget_h * 3600 - (starts + fixed) / args.parallel) // per_epoch)
        print(f"epochs that fit in {args.budget_h:g} h with these runs: {fit} "
              f"({fmt_s(per_epoch)} per epoch of all runs)")


def cmd_run(args):
    rows, abits, seeds = selected(args)
    runs = plan_runs(rows, abits, seeds)
    if not os.path.exists(args.bwma):
        sys.exit(f"no bwma binary at {args.bwma}: swift build -c release --product bwma (or --bwma PATH)")
    for sub in ("configs", "logs", "runs"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    settings = {k: getattr(args, k)
                for k in ("epochs", "limit_train", "limit_test", "precision", "threads", "data_path")}
    sp = os.path.join(args.out, "settings.json")
    if os.path.exists(sp):
        with open(sp) as f:
            old = json.load(f)
        if old != settings:
            sys.exit(f"{args.out} holds a study with other settings {old}; give another --out")
    else:
        with open(sp, "w") as f:
            json.dump(settings, f, indent=1, sort_keys=True)
    todo = [r for r in runs if not os.path.exists(summary_path(args.out, run_name(*r)))]
    print(f"{len(runs) - len(todo)} of {len(runs)} runs done; running {len(todo)}, {args.parallel} at a time "
          f"(logs in {args.out}/logs)", flush=True)
    t0, failed = time.time(), []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.parallel)
    try:
        for name, rc, dt in pool.map(lambda r: run_one(r, args), todo):
            print(f"  {name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {dt:.0f} s "
                  f"[{time.time() - t0:.0f} s elapsed]", flush=True)
            if rc != 0:
                failed.append(name)
    except KeyboardInterrupt:
        # The runs in progress got the same SIGINT: they write a checkpoint and stop; start no other.
        STOP.set()
        pool.shutdown(wait=True, cancel_futures=True)
        sys.exit("interrupted: the runs in progress saved a checkpoint; the same command continues the study")
    pool.shutdown()
    recs = read_results(args.out)
    csv_path = os.path.join(args.out, "results.csv")
    write_csv(csv_path, recs)
    table = markdown_table(recs) if recs else "no finished runs\n"
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(table)
    print(table)
    print(f"written: {csv_path}, {os.path.join(args.out, 'table.md')}")
    if failed:
        sys.exit(f"{len(failed)} run(s) failed: {', '.join(failed)} (see {args.out}/logs/; rerun to retry)")
    if args.knee and not STOP.is_set():
        import knee_study  # the knee on the converged networks (issue 16 item 5), reusing this study's bwma runs
        knee_study.main(["run", "--study", args.out, "--out", args.out + "-knee", "--bwma", args.bwma,
                         "--epochs", str(args.epochs), "--limit-train", str(args.limit_train),
                         "--parallel", str(args.parallel), "--data-path", args.data_path])


def cmd_table(args):
    path = args.csv or os.path.join(args.out, "results.csv")
    table = markdown_table(read_csv(path))
    if args.md:
        with open(args.md, "w") as f:
            f.write(table)
    sys.stdout.write(table)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name, fn in (("plan", cmd_plan), ("run", cmd_run), ("table", cmd_table)):
        s = sub.add_parser(name)
        s.set_defaults(fn=fn)
        s.add_argument("--out", default=os.path.join(REPO, "runs", "accuracy-study"), help="study folder")
        if name == "table":
            s.add_argument("--csv", help="results CSV (default <out>/results.csv)")
            s.add_argument("--md", help="also write the table to this file")
            continue
        s.add_argument("--rows", help=f"comma-separated subset of: {', '.join(ROW_INFO)}")
        s.add_argument("--abits", default="2,4", help="activation widths of the main rows (ablations: A = 4)")
        s.add_argument("--seeds", default="0,1,2")
        s.add_argument("--no-ablations", action="store_true")
        s.add_argument("--epochs", type=int, default=5)
        s.add_argument("--limit-train", type=int, default=STUDY_TRAIN_IMAGES,
                       help=f"first N training images (data.limit_train; 0 = all 60,000; default {STUDY_TRAIN_IMAGES})")
        s.add_argument("--limit-test", type=int, default=0, help="first N test images (data.limit_test; 0 = all)")
        s.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="runtime.precision")
        s.add_argument("--threads", type=int, default=1, help="runtime.threads of each run")
        s.add_argument("--parallel", type=int, default=2, help="runs at once (one per core)")
        if name == "plan":
            s.add_argument("--budget-h", type=float, default=3.0, help="say how many epochs fit in this many hours")
        else:
            s.add_argument("--no-knee", dest="knee", action="store_false",
                           help="skip bench/knee_study.py after the table (BWMA at A = 1…8 on the CIM chip, into "
                                "<out>-knee)")
        s.add_argument("--data-path", default="/usr/share/datasets/fashion-mnist")
        s.add_argument("--bwma", default=os.path.join(REPO, ".build", "release", "bwma"), help="the bwma binary")
    args = p.parse_args(argv)
    args.out = os.path.abspath(args.out)
    args.fn(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Our CIM cost model against DNN+NeuroSim V1.4's calibration set, per component (docs/cim.md §Agreement).

Runs `bwma cim report --network ... --json` for every row of docs/data/neurosim-v1.4/calibration.csv (SRAM and RRAM,
k = 1..8, pipeline and layer-by-layer) and prints Markdown tables: totals (energy, latency, area per image) and the
component breakdown mapped onto NeuroSim's categories.

    python3 bench/compare_neurosim.py [--bwma .build/release/bwma] [--detail]
"""
import argparse
import csv
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "docs", "data", "neurosim-v1.4")

# Our blocks summed into NeuroSim's categories.
ENERGY = {
    "ADC + array": ("energy_adc_pJ", ["array", "adc"]),
    "accumulation": ("energy_accum_pJ", ["shift_add", "accumulation"]),
    "other (wires, buffers, decoders)": ("energy_other_pJ", ["wordline", "buffer", "interconnect", "other"]),
    "  of which interconnect": ("ic_energy_pJ", ["interconnect"]),
    "  of which buffers": ("buffer_energy_pJ", ["buffer"]),
    "leakage": ("leakage_energy_per_image_pJ", ["leakage"]),
}
AREA = {
    "array": ("area_cim_array_um2", ["array"]),
    "ADC": ("area_adc_um2", ["adc"]),
    "accumulation": ("area_accum_um2", ["shift_add", "accumulation"]),
    "interconnect": ("area_ic_um2", ["interconnect"]),
    "other (buffers, decoders, drivers)": ("area_other_um2", ["buffer", "other"]),
    "unassigned": ("area_unassigned_um2", ["unassigned"]),
}


def report(bwma, device, k, mode):
    out = subprocess.run([bwma, "cim", "report", "--network", os.path.join(DATA, "resnet20w4_network.csv"),
                          "--device", device.lower(), "--abits", str(k), "--mode", mode, "--adc", "mlsa",
                          "--adc-bits", "5", "--cols-per-adc", "8", "--subarray", "128", "--node", "22", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["chip"]


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "–"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bwma", default=os.path.join(HERE, "..", ".build", "release", "bwma"))
    ap.add_argument("--detail", action="store_true", help="component tables for every row (default: k = 1, 4, 8)")
    a = ap.parse_args()
    rows = [r for r in csv.DictReader(open(os.path.join(DATA, "calibration.csv"))) if r["variant"] != "instr"]
    print("| device | mode | k | energy pJ (NeuroSim) | ratio | latency ns (NeuroSim) | ratio | area mm² (NeuroSim) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    chips = []
    lo, hi = float("inf"), 0.0
    for r in rows:
        mode = "pipeline" if r["mode"] == "pipeline" else "layer-by-layer"
        k = int(r["act_bits"])
        c = report(a.bwma, r["memcell"], k, mode)
        chips.append((r, c, mode, k))
        e, l, ar = c["energy_pj"]["total"], c["latency_ns"], c["area_mm2"]["total"]
        ne, nl, na = (float(r["read_total_energy_per_image_pJ"]), float(r["read_latency_per_image_ns"]),
                      float(r["chip_area_mm2"]))
        for x, y in ((e, ne), (l, nl), (ar, na)):
            lo, hi = min(lo, x / y), max(hi, x / y)
        print(f"| {r['memcell']} | {mode} | {k} | {e:.3g} ({ne:.3g}) | {ratio(e, ne)} | {l:.4g} ({nl:.4g}) | "
              f"{ratio(l, nl)} | {ar:.3g} ({na:.3g}) | {ratio(ar, na)} |")
    print(f"\nratios ours / NeuroSim from {lo:.2f}x to {hi:.2f}x (acceptance: every one in 0.7x–1.3x)\n")
    for r, c, mode, k in chips:
        if not a.detail and k not in (1, 4, 8):
            continue
        print(f"\n{r['memcell']} {mode} k={k}\n")
        print("| energy per image | ours pJ | NeuroSim pJ | ratio |\n|---|---|---|---|")
        for name, (col, keys) in ENERGY.items():
            ours = sum(c["energy_pj"][x] for x in keys)
            theirs = float(r[col]) if r[col] else 0
            print(f"| {name} | {ours:.3g} | {theirs:.3g} | {ratio(ours, theirs)} |")
        print("\n| area | ours mm² | NeuroSim mm² | ratio |\n|---|---|---|---|")
        for name, (col, keys) in AREA.items():
            ours = sum(c["area_mm2"][x] for x in keys)
            theirs = float(r[col]) / 1e6
            print(f"| {name} | {ours:.3g} | {theirs:.3g} | {ratio(ours, theirs)} |")
        print(f"\nsubarrays {c['subarrays']}, tiles {c['tiles']}, clock {c['clock_ns']:.3g} ns "
              f"(NeuroSim {float(r['clock_period_ns']):.4g}), bottleneck {c['bottleneck_layer']}, "
              f"Σ layers {c['sum_layer_latency_ns']:.4g} ns (NeuroSim {float(r['sum_layer_latency_ns']):.4g})")
    return 0 if lo > 0.7 and hi < 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())

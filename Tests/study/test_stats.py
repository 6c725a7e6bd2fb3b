"""The accuracy study's statistics (bench/study_stats.py) and table (bench/accuracy_study.py table) against values
worked by hand. Python 3 standard library only: python3 -m unittest discover -s Tests/study"""

import io
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))
import study_stats as st  # noqa: E402
import accuracy_study  # noqa: E402


class StatisticsTests(unittest.TestCase):
    def test_mean_and_sample_std(self):
        # 91.0, 91.5, 92.0: mean 274.5 / 3 = 91.5; deviations -0.5, 0, +0.5; squares sum 0.5; / (3 - 1) = 0.25;
        # sample std sqrt(0.25) = 0.5.
        self.assertAlmostEqual(st.mean([91.0, 91.5, 92.0]), 91.5, places=12)
        self.assertAlmostEqual(st.sample_std([91.0, 91.5, 92.0]), 0.5, places=12)
        # 2, 4, 4, 4, 5, 5, 7, 9: mean 40 / 8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32; 32 / 7 = 4.571428...;
        # sqrt = 2.138090 (the population std would be sqrt(32/8) = 2: the n - 1 denominator is used).
        self.assertAlmostEqual(st.sample_std([2, 4, 4, 4, 5, 5, 7, 9]), 2.138090, places=6)
        self.assertEqual(st.sample_std([3.0]), 0.0)

    def test_paired_differences_match_seeds(self):
        # Pairs only seeds both have, in seed order: seed 0: 91.0 - 90.0 = 1.0; seed 2: 92.0 - 90.5 = 1.5;
        # seed 1 (only in a) and seed 3 (only in b) are left out.
        seeds, d = st.paired_differences({0: 91.0, 1: 91.5, 2: 92.0}, {2: 90.5, 0: 90.0, 3: 80.0})
        self.assertEqual(seeds, [0, 2])
        self.assertEqual(len(d), 2)
        self.assertAlmostEqual(d[0], 1.0, places=12)
        self.assertAlmostEqual(d[1], 1.5, places=12)

    def test_t_interval_containing_zero(self):
        # Differences 1.0, 0.5, 1.5: mean 1.0; squared deviations 0 + 0.25 + 0.25 = 0.5; s² = 0.5 / 2 = 0.25, s = 0.5;
        # s/√n = 0.5 / 1.7320508 = 0.2886751; t_{0.975, 2} = 4.303; half width 4.303 · 0.2886751 = 1.2421691;
        # interval [1.0 - 1.2421691, 1.0 + 1.2421691] = [-0.2421691, 2.2421691]: contains 0, no claim.
        ci = st.t_interval([1.0, 0.5, 1.5])
        self.assertEqual(ci["n"], 3)
        self.assertAlmostEqual(ci["mean"], 1.0, places=12)
        self.assertAlmostEqual(ci["std"], 0.5, places=12)
        self.assertAlmostEqual(ci["half"], 1.2421691, places=6)
        self.assertAlmostEqual(ci["lo"], -0.2421691, places=6)
        self.assertAlmostEqual(ci["hi"], 2.2421691, places=6)
        self.assertEqual(st.verdict(ci), "no claim (CI contains 0)")

    def test_t_interval_excluding_zero(self):
        # Differences 2.0, 2.2, 1.8: mean 2.0; squared deviations 0 + 0.04 + 0.04 = 0.08; s² = 0.04, s = 0.2;
        # s/√3 = 0.1154701; half width 4.303 · 0.1154701 = 0.4968676; interval [1.5031324, 2.4968676] > 0: a claim.
        ci = st.t_interval([2.0, 2.2, 1.8])
        self.assertAlmostEqual(ci["half"], 0.4968676, places=6)
        self.assertAlmostEqual(ci["lo"], 1.5031324, places=6)
        self.assertAlmostEqual(ci["hi"], 2.4968676, places=6)
        self.assertEqual(st.verdict(ci), "BWMA higher")
        # The mirror image lies entirely below 0.
        self.assertEqual(st.verdict(st.t_interval([-2.0, -2.2, -1.8])), "BWMA lower")

    def test_t_interval_two_pairs_and_one(self):
        # Differences 1, 3: mean 2; squared deviations 1 + 1 = 2; s² = 2 / 1 = 2, s = 1.4142136; s/√2 = 1;
        # t_{0.975, 1} = 12.706; interval [2 - 12.706, 2 + 12.706] = [-10.706, 14.706].
        ci = st.t_interval([1.0, 3.0])
        self.assertAlmostEqual(ci["std"], 1.4142136, places=6)
        self.assertAlmostEqual(ci["lo"], -10.706, places=9)
        self.assertAlmostEqual(ci["hi"], 14.706, places=9)
        # One pair: no spread, no interval.
        ci = st.t_interval([1.0])
        self.assertIsNone(ci["lo"])
        self.assertEqual(st.verdict(ci), "n < 2: no interval")

    def test_t_quantile_table_and_numeric_method(self):
        # Standard two-sided 95 % Student-t critical values.
        self.assertEqual(st.t975(1), 12.706)
        self.assertEqual(st.t975(2), 4.303)
        self.assertEqual(st.t975(4), 2.776)
        self.assertEqual(st.t975(30), 2.042)
        # The numeric method (incomplete beta + bisection) reproduces every table entry to its 3 decimals ...
        for df, t in st.T975_TABLE.items():
            self.assertAlmostEqual(st.t_quantile_numeric(0.975, df), t, delta=6e-4, msg=f"df {df}")
        # ... and goes on beyond it: t_{0.975, 40} = 2.021, t_{0.975, 120} = 1.980, the normal limit 1.960.
        self.assertAlmostEqual(st.t975(40), 2.021, delta=6e-4)
        self.assertAlmostEqual(st.t975(120), 1.980, delta=6e-4)
        self.assertAlmostEqual(st.t975(100000), 1.960, delta=6e-4)
        # df = 1 is the Cauchy distribution: P(T <= 1) = 1/2 + atan(1)/pi = 0.75.
        self.assertAlmostEqual(st.t_cdf(1.0, 1), 0.75, places=9)
        with self.assertRaises(ValueError):
            st.t975(0)


# A hand-made results.csv: BWMA, one baseline and FP32 at A = 4, BWMA and the baseline at A = 2, seeds 0-2.
CSV = """row,abits,seed,accuracy,epochs,images_per_s,wall_s,run
bwma,4,0,91.0,5,465,700,bwma-a4-s0
bwma,4,1,91.5,5,465,700,bwma-a4-s1
bwma,4,2,92.0,5,465,700,bwma-a4-s2
bwn-ste,4,0,90.0,5,465,700,bwn-ste-a4-s0
bwn-ste,4,1,91.0,5,465,700,bwn-ste-a4-s1
bwn-ste,4,2,90.5,5,465,700,bwn-ste-a4-s2
fp32,32,0,89.0,5,503,650,fp32-s0
fp32,32,1,89.3,5,503,650,fp32-s1
fp32,32,2,89.7,5,503,650,fp32-s2
fp32-plateau,32,0,90.25,15,503,1950,fp32-plateau-s0
bwma,2,0,90.0,5,465,700,bwma-a2-s0
bwma,2,1,90.2,5,465,700,bwma-a2-s1
bwma,2,2,89.8,5,465,700,bwma-a2-s2
bwn-ste,2,0,88.0,5,465,700,bwn-ste-a2-s0
bwn-ste,2,1,88.0,5,465,700,bwn-ste-a2-s1
bwn-ste,2,2,88.0,5,465,700,bwn-ste-a2-s2
abl-bwma-opt,4,0,91.2,5,465,700,abl-bwma-opt-a4-s0
abl-bwma-opt,4,1,91.1,5,465,700,abl-bwma-opt-a4-s1
"""


class TableTests(unittest.TestCase):
    def table(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "results.csv")
            with open(path, "w") as f:
                f.write(CSV)
            # The command line, as a user runs it ...
            out = subprocess.run([sys.executable, os.path.join(REPO, "bench", "accuracy_study.py"), "table",
                                  "--csv", path], capture_output=True, text=True, check=True).stdout
            # ... and in process: the same text.
            buf = io.StringIO()
            with redirect_stdout(buf):
                accuracy_study.main(["table", "--csv", path])
            self.assertEqual(out, buf.getvalue())
            return out

    def section(self, out, title):
        start = out.index(f"## {title}\n")
        end = out.find("\n## ", start + 1)
        return out[start:end if end >= 0 else len(out)]

    def test_table_numbers(self):
        out = self.table()
        a4 = self.section(out, "A = 4 bits")
        # BWMA A = 4: 91.0, 91.5, 92.0 -> 91.50 ± 0.50 (test_mean_and_sample_std).
        self.assertIn("| bwma | BWMA weights + BWMA activations (ours) | 3 | 91.50 ± 0.50 | 91.00, 91.50, 92.00 |", a4)
        # bwn-ste A = 4: 90.0, 91.0, 90.5 -> mean 90.5; deviations -0.5, 0.5, 0; s² = 0.5/2 = 0.25 -> 90.50 ± 0.50.
        self.assertIn("| 3 | 90.50 ± 0.50 | 90.00, 91.00, 90.50 |", a4)
        # BWMA - bwn-ste: 1.0, 0.5, 1.5 -> +1.00 [-0.24, +2.24], no claim (test_t_interval_containing_zero).
        self.assertIn("| bwn-ste | 3 | +1.00 | [−0.24, +2.24] | no claim (CI contains 0) |", a4)
        # FP32 is the reference of every A: 89.0, 89.3, 89.7 -> mean 89.3333; deviations -0.3333, -0.0333, 0.3667;
        # squares 0.11111 + 0.00111 + 0.13444 = 0.24667; / 2 = 0.12333; s = 0.35119 -> 89.33 ± 0.35.
        self.assertIn("| fp32 | FP32 weights and activations | 3 | 89.33 ± 0.35 |", a4)
        # BWMA - FP32: 2.0, 2.2, 2.3 -> mean 2.16667; deviations -0.16667, 0.03333, 0.13333; squares 0.027778 +
        # 0.001111 + 0.017778 = 0.046667; s² = 0.023333, s = 0.152753; s/√3 = 0.088192; half 4.303 · 0.088192 =
        # 0.379489 -> [1.787178, 2.546156] -> [+1.79, +2.55], BWMA higher.
        self.assertIn("| fp32 | 3 | +2.17 | [+1.79, +2.55] | BWMA higher |", a4)
        # The ablation and the plateau run are not in the main table.
        self.assertNotIn("abl-bwma-opt", a4)
        self.assertNotIn("fp32-plateau", a4)
        # Plateau check: 90.25 after 15 epochs vs 89.0 on seed 0 -> +1.25 points to go.
        self.assertIn("Plateau check: FP32 with 3x the epochs, seed 0: 90.25 %; the FP32 row on the same seed: "
                      "89.00 % (+1.25 points to go).", out)

        a2 = self.section(out, "A = 2 bits")
        # BWMA A = 2: 90.0, 90.2, 89.8 -> 90.00 ± 0.20; bwn-ste 88.0 x 3 -> 88.00 ± 0.00.
        self.assertIn("| 3 | 90.00 ± 0.20 |", a2)
        self.assertIn("| 3 | 88.00 ± 0.00 |", a2)
        # BWMA - bwn-ste: 2.0, 2.2, 1.8 -> +2.00 [+1.50, +2.50], BWMA higher (test_t_interval_excluding_zero).
        self.assertIn("| bwn-ste | 3 | +2.00 | [+1.50, +2.50] | BWMA higher |", a2)
        # BWMA A = 2 - FP32: 1.0, 0.9, 0.1 -> mean 0.66667; deviations 0.33333, 0.23333, -0.56667; squares 0.11111 +
        # 0.054444 + 0.321111 = 0.486667; s² = 0.243333, s = 0.493288; s/√3 = 0.284800; half 4.303 · 0.284800 =
        # 1.225494 -> [-0.558827, 1.892161] -> [-0.56, +1.89], no claim.
        self.assertIn("| fp32 | 3 | +0.67 | [−0.56, +1.89] | no claim (CI contains 0) |", a2)

        factors = self.section(out, "Where the differences come from")
        # BWMA A = 4 - A = 2: 1.0, 1.3, 2.2 -> mean 1.5; deviations -0.5, -0.2, 0.7; squares 0.25 + 0.04 + 0.49 =
        # 0.78; s² = 0.39, s = 0.624500; s/√3 = 0.360555; half 4.303 · 0.360555 = 1.551468 -> [-0.05, +3.05].
        self.assertIn("| width: bwma, A = 4 vs A = 2 | 4 − 2 | 3 | +1.50 | [−0.05, +3.05] | no claim (CI contains 0) |",
                      factors)
        # bwn-ste A = 4 - A = 2: 2.0, 3.0, 2.5 -> mean 2.5, s = 0.5; half 4.303 · 0.288675 = 1.242169 -> [+1.26, +3.74].
        self.assertIn("| width: bwn-ste, A = 4 vs A = 2 | 4 − 2 | 3 | +2.50 | [+1.26, +3.74] | A = 4 higher |", factors)
        # No LSQ/PACT/XNOR rows in this CSV: no factor line for them; the ablation row has no A = 2 twin.
        self.assertNotIn("weights:", factors)
        self.assertNotIn("abl-", factors)

        abl = self.section(out, "Ablations of BWMA (A = 4 bits)")
        # abl-bwma-opt: 91.2, 91.1 -> mean 91.15; deviations ±0.05; s² = 0.005 / 1, s = 0.070711 -> 91.15 ± 0.07.
        self.assertIn("| 2 | 91.15 ± 0.07 | 91.20, 91.10 |", abl)
        # BWMA - abl-bwma-opt on seeds 0, 1: -0.2, 0.4 -> mean 0.1; deviations ∓0.3; s² = 0.18, s = 0.424264;
        # s/√2 = 0.3; half 12.706 · 0.3 = 3.8118 -> [-3.7118, 3.9118] -> [-3.71, +3.91].
        self.assertIn("| abl-bwma-opt | 2 | +0.10 | [−3.71, +3.91] | no claim (CI contains 0) |", abl)


class PlanTests(unittest.TestCase):
    def test_grid(self):
        # 8 main rows: FP32 once per seed, the 7 quantized rows at A = 2 and 4; 5 ablations at A = 4 (bwma-opt,
        # per layer, amplitude 0 and 1, learned clip); the plateau check once, on the first seed, 3x the epochs.
        rows = list(accuracy_study.ROW_INFO)
        runs = accuracy_study.plan_runs(rows, [2, 4], [0, 1, 2])
        self.assertEqual(len(runs), 3 * (1 + 7 * 2 + 5) + 1)
        self.assertIn(("fp32-plateau", 32, 0), runs)
        self.assertNotIn(("fp32-plateau", 32, 1), runs)
        self.assertEqual(accuracy_study.config_for("fp32-plateau", 32, 0, _Args())["schedule"]["epochs"], 15)
        self.assertEqual(accuracy_study.config_for("fp32", 32, 0, _Args())["schedule"]["epochs"], 5)
        self.assertIn(("fp32", 32, 0), runs)
        self.assertIn(("abl-per-layer", 4, 2), runs)
        self.assertNotIn(("abl-per-layer", 2, 2), runs)
        self.assertIn(("abl-amp0", 4, 1), runs)
        self.assertNotIn(("abl-learned-clip", 2, 0), runs)
        cfg = accuracy_study.config_for("abl-learned-clip", 4, 0, _Args())
        self.assertEqual((cfg["quant"]["bwma_range"], cfg["quant"]["activations"]), ("learned", "bwma"))
        cfg = accuracy_study.config_for("bwn-pact", 2, 1, _Args())
        self.assertEqual(cfg["quant"], {"first_layer": "fp32", "last_layer": "fp32", "weights": "bwn",
                                        "per_channel": False, "activations": "pact", "abits": 2})
        self.assertEqual((cfg["seed"], cfg["name"], cfg["data"]["augment"]), (1, "bwn-pact-a2-s1", "crop-flip"))


class _Args:
    data_path = "/usr/share/datasets/fashion-mnist"
    limit_train = limit_test = 0
    epochs = 5
    threads = 1
    precision = "fp32"
    out = "/tmp/study"


if __name__ == "__main__":
    unittest.main()

"""The knee study's rule and table (bench/knee_study.py) on hand-made records. python3 -m unittest discover -s
Tests/study"""

import os
import sys
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))
import knee_study  # noqa: E402


def rec(a, adc, hw, energy=1.0):
    return {"abits": a, "adc_bits": adc, "software_accuracy": 90.0, "hardware_accuracy": hw, "energy_nj": energy,
            "area_mm2": 0.5, "latency_us": 400.0, "tops_per_w": 100.0}


class KneeTests(unittest.TestCase):
    def test_smallest_width_within_half_a_point_of_the_best(self):
        # Best 88.0 at A = 6; within 0.5 points: 87.5 and up → A = 4 (87.6) is the smallest; A = 3 (87.4) is not.
        rs = [rec(2, 8, 85.0), rec(3, 8, 87.4), rec(4, 8, 87.6), rec(6, 8, 88.0), rec(8, 8, 87.9)]
        self.assertEqual(knee_study.knee(rs), 4)
        # Exactly at the tolerance counts: 87.5 = 88.0 − 0.5.
        self.assertEqual(knee_study.knee([rec(3, 8, 87.5), rec(6, 8, 88.0)]), 3)
        # Not monotone: the smallest qualifying width, even if a larger one falls below.
        self.assertEqual(knee_study.knee([rec(2, 5, 70.0), rec(3, 5, 80.0), rec(4, 5, 60.0), rec(5, 5, 80.2)]), 3)
        self.assertIsNone(knee_study.knee([]))

    def test_table_has_one_section_per_adc_with_its_own_knee(self):
        rs = [rec(2, 5, 40.0), rec(4, 5, 70.0), rec(2, 8, 88.0), rec(4, 8, 88.3)]
        md = knee_study.markdown(rs)
        self.assertIn("### 5-bit ADC — knee: 4 bits", md)
        self.assertIn("### 8-bit ADC — knee: 2 bits", md)
        self.assertIn("| 2 **(knee)** | 90.00 | 88.00 |", md)
        self.assertEqual(md.count("**(knee)**"), 2)


if __name__ == "__main__":
    unittest.main()

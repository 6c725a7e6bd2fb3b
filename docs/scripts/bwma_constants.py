#!/usr/bin/env python3
"""Derives the two constants of the BWMA activation quantizer (docs/method.md, section 2).

1. kappa_k: the MSE-optimal clipping range of a k-bit unsigned uniform quantizer, in units of the input's RMS, for the
   reference input x = max(z, 0), z ~ N(0, 1) (a batch-normalised pre-activation through a ReLU). The quantizer maps
   x to Delta * round(min(x, c) / Delta), Delta = c / (2^k - 1); its expected squared error is computed by numerical
   integration and minimised over c.
2. tau: the sharpness (in units of one quantization step) of the smooth staircase
   s(u) = sum_i sigmoid(tau (u - i + 1/2)), chosen so that the gradient between two thresholds (its minimum) is half
   of its mean value 1: no input inside the range gets less than half the straight-through gradient, and the
   gradient mass sits on the thresholds where rounding flips.

Run: python3 docs/scripts/bwma_constants.py   (needs numpy and scipy)
"""
import numpy as np
from scipy import integrate, optimize, stats

RMS = np.sqrt(0.5)  # E[max(z,0)^2] = 1/2


def mse(c, k):
    levels = 2 ** k - 1
    delta = c / levels
    pdf = stats.norm.pdf
    # Region x in (0, c]: rounding error; sum over bins exactly.
    err = 0.0
    for i in range(levels + 1):
        lo, hi = max((i - 0.5) * delta, 0.0), min((i + 0.5) * delta, c)
        if hi <= lo:
            continue
        err += integrate.quad(lambda x: (x - i * delta) ** 2 * pdf(x), lo, hi)[0]
    # Clipping region x > c.
    err += integrate.quad(lambda x: (x - c) ** 2 * pdf(x), c, np.inf)[0]
    # Mass at exactly 0 (z <= 0) is represented exactly.
    return err


def kappa(k):
    res = optimize.minimize_scalar(lambda c: mse(c, k), bounds=(0.05, 12), method="bounded",
                                   options={"xatol": 1e-6})
    return res.x / RMS


def grad_min(tau, periods=40):
    u = 0.0  # midway between thresholds at +-1/2 (far from the range ends)
    i = np.arange(-periods, periods + 1)
    s = 0.5 * (1 + np.tanh(0.5 * tau * (u - i + 0.5)))  # the logistic function, overflow-free
    return float(np.sum(tau * s * (1 - s)))


if __name__ == "__main__":
    for k in range(1, 9):
        print(f"kappa[{k}] = {kappa(k):.4f}")
    tau = optimize.brentq(lambda t: grad_min(t) - 0.5, 0.5, 20)
    print(f"tau = {tau:.4f}")

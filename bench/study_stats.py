"""Statistics of the accuracy study (bench/accuracy_study.py, issue 16): mean and sample standard deviation over
seeds, paired differences (same seed) and their 95 % Student-t confidence interval. Python 3 standard library only;
tested by Tests/study/test_stats.py against values worked by hand.

The t quantile t_{0.975, df} comes from the standard table of two-sided 95 % Student-t critical values for
df = 1 … 30 (as printed in every statistics text, e.g. NIST/SEMATECH e-Handbook of Statistical Methods, table
1.3.6.7.2, rounded to 3 decimals). Beyond df = 30 it is computed: the Student-t CDF through the regularized incomplete
beta function, I_x(df/2, 1/2) with x = df/(df + t²), evaluated by its continued fraction (modified Lentz, as in
Numerical Recipes §6.4), and inverted by bisection. The test checks that the numeric method reproduces the table.
"""

import math

# t_{0.975, df}: the two-sided 95 % critical value of Student's t with df degrees of freedom, df = 1 … 30.
T975_TABLE = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
    11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086,
    21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042,
}


def mean(xs):
    xs = list(xs)
    if not xs:
        raise ValueError("mean of no values")
    return math.fsum(xs) / len(xs)


def sample_std(xs):
    """Standard deviation with the n − 1 denominator (0 for a single value: no spread can be estimated)."""
    xs = list(xs)
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def paired_differences(a, b):
    """a, b: {seed: value}. Returns (seeds, [a[s] − b[s]]) over the seeds both have, in seed order."""
    seeds = sorted(set(a) & set(b))
    return seeds, [a[s] - b[s] for s in seeds]


def _betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a, b, x):
    """Regularized incomplete beta function I_x(a, b), 0 ≤ x ≤ 1."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1 - x) / b


def t_cdf(t, df):
    """P(T ≤ t) for Student's t with df degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile_numeric(p, df):
    """The p quantile (p > 0.5) of Student's t by bisection on t_cdf."""
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def t975(df):
    """t_{0.975, df}: the table for df ≤ 30, the numeric method beyond."""
    if df < 1:
        raise ValueError("a t interval needs df >= 1 (at least two pairs)")
    return T975_TABLE[df] if df in T975_TABLE else t_quantile_numeric(0.975, df)


def t_interval(xs):
    """95 % confidence interval of the mean of xs (paired differences): mean ± t_{0.975, n−1} · s/√n.
    Returns a dict with n, mean, std, half (the half width), lo, hi; half/lo/hi are None for n < 2."""
    xs = list(xs)
    n = len(xs)
    m = mean(xs)
    s = sample_std(xs)
    if n < 2:
        return {"n": n, "mean": m, "std": s, "half": None, "lo": None, "hi": None}
    half = t975(n - 1) * s / math.sqrt(n)
    return {"n": n, "mean": m, "std": s, "half": half, "lo": m - half, "hi": m + half}


def verdict(ci, higher="BWMA higher", lower="BWMA lower"):
    """The claim an interval allows: only where it excludes zero."""
    if ci["lo"] is None:
        return "n < 2: no interval"
    if ci["lo"] > 0:
        return higher
    if ci["hi"] < 0:
        return lower
    return "no claim (CI contains 0)"

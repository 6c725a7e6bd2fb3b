#!/usr/bin/env python3
"""Draws docs/img/soft_staircase_k{2,4}.svg: the k-bit staircase the forward pass computes, the soft staircase
s(x) = x - (a*Delta/2pi) sin(2 pi x / Delta) whose derivative the backward pass uses, and that derivative
s'(x) = 1 - a cos(2 pi x / Delta) (0 outside [0, c]), for a = 1/2, with x in units of the input RMS
(c = kappa_k * rms). Standard library only: writes SVG by hand.

Run: python3 docs/scripts/plot_soft_staircase.py
"""
import math
import os

KAPPA = [1.7310, 2.7610, 3.4986, 4.0994, 4.6246, 5.1017, 5.5444, 5.9605]
A = 0.5
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "img")


def curves(k, n=1200):
    c = KAPPA[k - 1]
    levels = 2 ** k - 1
    delta = c / levels
    xmax = c * 1.15
    xs = [xmax * i / (n - 1) for i in range(n)]
    stair, soft, grad = [], [], []
    for x in xs:
        v = min(max(x, 0.0), c)
        stair.append(delta * math.floor(v / delta + 0.5))
        soft.append(v - A * delta / (2 * math.pi) * math.sin(2 * math.pi * v / delta))
        grad.append(1 - A * math.cos(2 * math.pi * x / delta) if x <= c else 0.0)
    return c, xs, stair, soft, grad


def nice_ticks(top, target=4):
    """0 and the multiples of a 1-2-5 step up to top (as Plots/NiceScale.swift)."""
    raw = top / target
    e = math.floor(math.log10(raw))
    f = raw / 10 ** e
    step = (1 if f < math.sqrt(2) else 2 if f < math.sqrt(10) else 5 if f < math.sqrt(50) else 10) * 10 ** e
    return [round(i * step, 10) for i in range(int(top / step + 1e-9) + 1)]


def svg(k):
    c, xs, stair, soft, grad = curves(k)
    w, h, m = 640, 300, 40
    xmax = xs[-1]
    ymax1, ymax2 = c * 1.1, 1.6

    def px(x):
        return m + (w / 2 - 1.5 * m) * x / xmax

    def line(xv, yv, ox, ymax, color, dash=""):
        pts = " ".join(f"{ox + px(x) - m:.1f},{h - m - (h - 2 * m) * y / ymax:.1f}" for x, y in zip(xv, yv))
        d = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<polyline fill="none" stroke="{color}" stroke-width="1.8"{d} points="{pts}"/>'

    def axes(ox, ymax, title, yticks):
        out = [f'<line x1="{ox}" y1="{h - m}" x2="{ox + w / 2 - 1.5 * m}" y2="{h - m}" stroke="black"/>',
               f'<line x1="{ox}" y1="{m}" x2="{ox}" y2="{h - m}" stroke="black"/>',
               f'<text x="{ox + 10}" y="{m - 12}" font-size="13" font-family="sans-serif">{title}</text>',
               f'<text x="{ox + w / 2 - 2.5 * m}" y="{h - m + 28}" font-size="11" font-family="sans-serif">x / rms</text>']
        for t in yticks:
            y = h - m - (h - 2 * m) * t / ymax
            out.append(f'<line x1="{ox}" y1="{y:.1f}" x2="{ox + w / 2 - 1.5 * m}" y2="{y:.1f}" stroke="#e6e6e6"/>')
            out.append(f'<text x="{ox - 6}" y="{y + 4:.1f}" font-size="10" font-family="sans-serif" text-anchor="end">{t:g}</text>')
        for t in range(0, int(xmax) + 1):
            out.append(f'<text x="{ox + px(t) - m - 3:.1f}" y="{h - m + 14}" font-size="10" font-family="sans-serif">{t}</text>')
        cx = ox + px(c) - m
        out.append(f'<line x1="{cx:.1f}" y1="{m}" x2="{cx:.1f}" y2="{h - m}" stroke="#999" stroke-dasharray="3,3"/>')
        out.append(f'<text x="{cx - 8:.1f}" y="{m + 10}" font-size="10" fill="#666" font-family="sans-serif">c</text>')
        return out

    left, right = m, w / 2 + m
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">',
             '<rect width="100%" height="100%" fill="white"/>']
    parts += axes(left, ymax1, f"k = {k}: staircase (black), s(x) (blue)", nice_ticks(ymax1))
    parts.append(line(xs, stair, left, ymax1, "black"))
    parts.append(line(xs, soft, left, ymax1, "#1f5fbf", "5,3"))
    parts += axes(right, ymax2, f"k = {k}: s'(x) (red), straight-through (grey)", [0, 0.5, 1, 1.5])
    parts.append(line(xs, [1.0 if x <= c else 0.0 for x in xs], right, ymax2, "#bbb", "2,2"))
    parts.append(line(xs, grad, right, ymax2, "#c0392b"))
    parts.append("</svg>")
    return "\n".join(parts)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for k in (2, 4):
        path = os.path.join(OUT, f"soft_staircase_k{k}.svg")
        with open(path, "w") as f:
            f.write(svg(k))
        print("wrote", path)

#!/usr/bin/env python3
"""The f32 exp polynomial of src/jit/math/exp.rs (EXPF_P): a degree-4 fit of
(e^r - 1 - r) / r^2 on |r| <= ln(2)/2, weighted by r^2 / e^r, made
near-minimax by Lawson's iteration. Needs numpy and mpmath.

    python3 scripts/expf_fit.py
"""
import numpy as np, mpmath as mp
mp.mp.dps = 40
L = float(mp.log(2)/2) * 1.001
N = 4000
x = np.cos(np.pi*(np.arange(N)+0.5)/N) * L
def g(r):
    r = mp.mpf(r)
    if abs(r) < 1e-12: return 0.5
    return float((mp.e**r - 1 - r)/r**2)
gx = np.array([g(v) for v in x])
ex = np.array([float(mp.e**mp.mpf(v)) for v in x])
deg = 4
A = np.vander(x, deg+1, increasing=True)
w = np.ones(N)
for it in range(60):
    # error in e^r: r^2*(p - g) relative to e^r
    W = (x**2/ex) * np.sqrt(w)
    c, *_ = np.linalg.lstsq(A*W[:,None], gx*W, rcond=None)
    err = np.abs((A@c - gx)*x**2/ex)
    w = w*err; w /= w.sum()
print("coeffs", [repr(float(v)) for v in c])
print("max rel err of e^r", err.max(), "in ulp(f32) ~", err.max()/2**-24)
# compare 6-coef Cephes
ceph=[5.0000001201e-1,1.6666665459e-1,4.1665795894e-2,8.3334519073e-3,1.3981999507e-3,1.9875691500e-4]
pc = np.polyval(ceph[::-1], x)
print("cephes max rel err", np.abs((pc-gx)*x**2/ex).max())

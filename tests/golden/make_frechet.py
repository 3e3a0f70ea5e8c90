#!/usr/bin/python3
# make_frechet.py - golden values for dc_mean_cov and dc_frechet
# (lib/metrics/frechet.c): the Frechet distance between two Gaussians
# fitted to feature sets, as pytorch-fid's calculate_frechet_distance:
#   mu = x.mean(0), S = np.cov(x, rowvar=False)  (divisor n-1)
#   FD = |mu1-mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr(sqrtm(S1 @ S2))
# with scipy.linalg.sqrtm (real part).  The rank-deficient case (n < d)
# uses the eigenvalue form Tr sqrt(S1^1/2 S2 S1^1/2) (scipy.linalg.eigh,
# eigenvalues below d*1e-15 of the largest taken as 0: they are exactly 0 in
# exact arithmetic and their square roots, ~1e-8, would bias the trace),
# since sqrtm of a singular product is ill-conditioned; the sqrtm value is
# printed for comparison.
# Output: tests/golden/frechet/cases.txt, one block per case:
#   name n1 n2 d
#   x1 (n1*d numbers), x2 (n2*d), mu1 (d), cov1 (d*d), fd
import numpy as np
import scipy.linalg as la
import os

rng = np.random.default_rng(20261128)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "frechet", "cases.txt")


def fd_sqrtm(m1, s1, m2, s2):
    c, _ = la.sqrtm(s1 @ s2, disp=False)
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(c.real))


def clamp(w):
    # eigenvalues below d * 1e-15 of the largest are rounding noise of a
    # singular PSD matrix (exactly 0 in exact arithmetic): 0
    return np.where(w > w.max() * 1e-15 * len(w), w, 0.0)


def fd_eig(m1, s1, m2, s2):
    w, v = la.eigh(s1)
    r = (v * np.sqrt(clamp(w))) @ v.T
    e = la.eigvalsh(r @ s2 @ r)
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(clamp(e)).sum())


cases = []
# well conditioned, correlated features, shifted and rescaled second set
a = rng.standard_normal((40, 6)) @ rng.standard_normal((6, 6))
b = rng.standard_normal((50, 6)) @ rng.standard_normal((6, 6)) * 0.7 + 0.5
cases.append(("full6", a, b, False))
# larger d, scales differing by 1e3 between features
s = np.array([1e-2, 1, 10, 0.1, 3, 1e1, 0.5, 2, 1, 1, 0.3, 5])
a = rng.standard_normal((60, 12)) * s
b = rng.standard_normal((45, 12)) * s * 1.2 + 0.1
cases.append(("scaled12", a, b, False))
# rank deficient: fewer samples than features
a = rng.standard_normal((5, 8))
b = rng.standard_normal((6, 8)) + 0.3
cases.append(("rankdef8", a, b, True))

with open(out, "w") as f:
    for name, x1, x2, rd in cases:
        m1, m2 = x1.mean(0), x2.mean(0)
        s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
        v_sq, v_eig = fd_sqrtm(m1, s1, m2, s2), fd_eig(m1, s1, m2, s2)
        v = v_eig if rd else v_sq
        print("%s: fd %.12g (sqrtm %.12g, eigh %.12g)" % (name, v, v_sq, v_eig))
        f.write("%s %d %d %d\n" % (name, len(x1), len(x2), x1.shape[1]))
        for arr in (x1.ravel(), x2.ravel(), m1, s1.ravel()):
            f.write(" ".join("%.17g" % t for t in arr) + "\n")
        f.write("%.17g\n" % v)

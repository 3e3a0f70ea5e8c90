#!/usr/bin/python3
# block_torch.py - the PixArt-alpha transformer block of bench_block.c in
# PyTorch (1.13: no scaled_dot_product_attention, so softmax(q k^T s) v per
# head via bmm), batch 1, f32, no_grad, timed with time.perf_counter.
#   usage: block_torch.py [-t threads] [-r runs] [--label NAME] N...
# Prints "RESULT <label> N min_ms median_ms" per N and which BLAS/OpenMP
# libraries the process actually loaded (from /proc/self/maps).
import argparse
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F

C, HEADS, HD, CT, FF = 1152, 16, 72, 120, 4608


def attention(q, k, v):
    n, m = q.shape[0], k.shape[0]
    q = q.view(n, HEADS, HD).transpose(0, 1)
    k = k.view(m, HEADS, HD).transpose(0, 1)
    v = v.view(m, HEADS, HD).transpose(0, 1)
    p = torch.softmax(torch.bmm(q, k.transpose(1, 2)) * (1.0 / math.sqrt(HD)), dim=-1)
    return torch.bmm(p, v).transpose(0, 1).reshape(n, C)


def block(x, cond, w):
    sh_msa, sc_msa, g_msa, sh_mlp, sc_mlp, g_mlp = w["mod"].chunk(6)
    h = F.layer_norm(x, (C,), eps=1e-6) * (1 + sc_msa) + sh_msa
    q, k, v = F.linear(h, w["Wqkv"], w["bqkv"]).chunk(3, dim=-1)
    x = x + g_msa * F.linear(attention(q, k, v), w["Wo"], w["bo"])
    q = F.linear(x, w["Wq"], w["bq"])
    k, v = F.linear(cond, w["Wkv"], w["bkv"]).chunk(2, dim=-1)
    x = x + F.linear(attention(q, k, v), w["Wo2"], w["bo2"])
    h = F.layer_norm(x, (C,), eps=1e-6) * (1 + sc_mlp) + sh_mlp
    h = F.linear(F.gelu(F.linear(h, w["W1"], w["b1"]), approximate="tanh"), w["W2"], w["b2"])
    return x + g_mlp * h


def loaded_libs():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            b = os.path.basename(p)
            if any(s in b for s in ("blas", "blis", "lapack", "omp", "mkl")):
                libs.add(os.path.realpath(p))
    return sorted(libs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-r", type=int, default=5)
    ap.add_argument("--label", default="torch")
    ap.add_argument("n", type=int, nargs="*", default=[1024, 4096])
    a = ap.parse_args()
    torch.set_num_threads(a.t)
    torch.manual_seed(0)
    s = 0.02
    w = {
        "Wqkv": torch.randn(3 * C, C) * s, "bqkv": torch.randn(3 * C) * s,
        "Wo": torch.randn(C, C) * s, "bo": torch.randn(C) * s,
        "Wq": torch.randn(C, C) * s, "bq": torch.randn(C) * s,
        "Wkv": torch.randn(2 * C, C) * s, "bkv": torch.randn(2 * C) * s,
        "Wo2": torch.randn(C, C) * s, "bo2": torch.randn(C) * s,
        "W1": torch.randn(FF, C) * s, "b1": torch.randn(FF) * s,
        "W2": torch.randn(C, FF) * s, "b2": torch.randn(C) * s,
        "mod": torch.randn(6 * C) * 0.1,
    }
    with torch.no_grad():
        for n in a.n:
            x = torch.randn(n, C)
            cond = torch.randn(CT, C)
            block(x, cond, w)  # warm-up
            ts = []
            for _ in range(a.r):
                t0 = time.perf_counter()
                block(x, cond, w)
                ts.append(time.perf_counter() - t0)
            print("RESULT %s %d %.1f %.1f" % (a.label, n, min(ts) * 1e3,
                                              statistics.median(ts) * 1e3), flush=True)
    print("# %s: torch %s, %d threads, OMP_NUM_THREADS=%s, libraries: %s" % (
        a.label, torch.__version__, torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS", "unset"),
        " ".join(loaded_libs())), flush=True)


if __name__ == "__main__":
    main()

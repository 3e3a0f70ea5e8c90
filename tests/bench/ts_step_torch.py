#!/usr/bin/python3
"""ts_step_torch.py - the peer of tests/bench/bench_ts_step.c: one training
step of a Time-Series-Library model in PyTorch (CPU), as TSLib's
exp/exp_long_term_forecasting.py takes it: zero_grad, the forward in
training mode on (x, x_mark, decoder input = label part and zeros, y_mark),
MSE, backward, Adam step.  Batch 32 of random windows of the ETTh1 shape
(7 channels, 4 time features, lookback 96, label 48).

usage: ts_step_torch.py TSLIB_DIR MODEL HORIZON RUNS THREADS [key=value ...]
Prints: torch MODEL H params min_ms median_ms loss (params: the trainable
ones; loss: the first step's MSE against zeros, a check that the step ran).  The TSLib checkout is
imported from TSLIB_DIR (nothing of it is copied).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import tslib_import  # noqa: E402

import torch  # noqa: E402


def main():
    tslib, name, horizon, runs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(2021)
    tslib_import.setup(tslib)
    import importlib
    mod = importlib.import_module("models." + name)
    kw = dict(seq_len=96, label_len=48, pred_len=horizon, d_model=512, n_heads=8, e_layers=2, d_layers=1,
              d_ff=2048, dropout=0.1, factor=3, embed="timeF", freq="h", activation="gelu", use_norm=1,
              output_attention=False, distil=True)
    for kv in sys.argv[6:]:
        k, v = kv.split("=", 1)
        kw[k] = type(kw[k])(float(v)) if k in kw and not isinstance(kw[k], str) else v
    args = tslib_import.Args(**kw)
    model = mod.Model(args).float()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    crit = torch.nn.MSELoss()
    B, L, S, H, C, M = 32, 96, 48, horizon, 7, 4
    g = torch.Generator().manual_seed(7)
    x = torch.randn(B, L, C, generator=g)
    xm = torch.rand(B, L, M, generator=g)
    ym = torch.rand(B, S + H, M, generator=g)
    dec = torch.cat([x[:, -S:, :], torch.zeros(B, H, C)], dim=1)
    zero = torch.zeros(B, H, C)
    times, loss0 = [], None
    for i in range(runs + 1):  # step 0 warms up
        t0 = time.perf_counter()
        opt.zero_grad()
        out = model(x, xm, dec, ym)[:, -H:, :]
        loss = crit(out, zero)
        loss.backward()
        opt.step()
        if i == 0:
            loss0 = loss.item()
        else:
            times.append(time.perf_counter() - t0)
    times.sort()
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print("torch\t%s\t%d\t%d\t%.1f\t%.1f\t%.6g" % (name, H, n, 1e3 * times[0], 1e3 * times[len(times) // 2], loss0))


if __name__ == "__main__":
    main()

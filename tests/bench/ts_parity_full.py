#!/usr/bin/python3
"""ts_parity_full.py - repeat a ts_parity_dump forward and backward in
Time-Series-Library's own PyTorch model and compare: the output, and every
parameter's gradient (relative to that tensor's largest reference
gradient, or to 1e-2 of the largest anywhere where a gradient is zero in
exact arithmetic, as the unit tests judge them).

usage: ts_parity_full.py TSLIB_DIR DUMP.safetensors
Prints one line: model horizon config y_rel grad_worst worst_tensor; exits 1 if the
output differs by more than 1e-4 relative or a gradient by more than 1e-3.
A dump with dropout statistics (ts_parity_dump ... RUNS) is repeated with
as many training forwards in torch: printed are the mean spread of y over
the runs on each side and their ratio (1 when the dropout sites and scales
agree: 1.003 for PatchTST's ETTh2 shape over 200 runs, 1.178 with one of
its fourteen dropouts, the head's, switched off in torch), and the largest
difference of the means in units of the spread; exits 1 if the ratio is
off by more than 0.5/sqrt(RUNS) or a mean by more than 5 sqrt(2/RUNS)
spreads.
The TSLib checkout is imported from TSLIB_DIR (nothing of it is copied).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
sys.path.insert(0, HERE)
import tslib_import  # noqa: E402
from st_io import read_safetensors  # noqa: E402

import torch  # noqa: E402


def main():
    tslib, path = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    t, meta = read_safetensors(path)
    name, cfg = meta["model"], json.loads(meta["config"])
    B, L, C = t["x"].shape
    H = t["target"].shape[1]
    tslib_import.setup(tslib)
    import importlib
    mod = importlib.import_module("models." + name)
    kw = dict(seq_len=L, label_len=48, pred_len=H, enc_in=C, dec_in=C, c_out=C, d_model=512, n_heads=8,
              e_layers=2, d_layers=1, d_ff=2048, dropout=0.1, factor=3, embed="timeF", freq="h",
              activation="gelu", use_norm=1, output_attention=False, distil=True, moving_avg=25)
    kw.update(cfg)
    model = mod.Model(tslib_import.Args(**kw)).float()
    sd = model.state_dict()
    for k in sd:
        if k not in t:
            if k.endswith(".pe"):  # fixed sinusoid tables: recomputed, not stored
                continue
            sys.exit("ts_parity_full: %s missing from %s" % (k, path))
        sd[k] = t[k].to(sd[k].dtype).reshape(sd[k].shape)
    model.load_state_dict(sd)
    model.train()
    x = t["x"]
    xm = t.get("x_mark", torch.zeros(B, L, 4))
    ym = t.get("y_mark", torch.zeros(B, 48 + H, 4))
    dec = torch.cat([x[:, -48:, :], torch.zeros(B, H, C)], dim=1)
    runs = int(meta.get("runs", "0"))
    if runs:
        torch.manual_seed(1)
        with torch.no_grad():
            ys = torch.stack([model(x, xm, dec, ym)[:, -H:, :] for _ in range(runs)]).double()
        m, sd_t = ys.mean(0), ys.std(0)
        so, st = float(t["y_std"].double().mean()), float(sd_t.mean())
        dmean = float(((t["y_mean"].double() - m).abs() / (sd_t + 1e-12)).max())
        ratio = so / st
        print("%s\tH%d\t%s\tdropout spread ours %.4g torch %.4g ratio %.3f\tmeans within %.2f spreads"
              % (name, H, json.dumps(cfg, separators=(",", ":")), so, st, ratio, dmean))
        ok = abs(ratio - 1) <= 0.5 / runs ** 0.5 and dmean <= 5 * (2 / runs) ** 0.5
        sys.exit(0 if ok else 1)
    y = model(x, xm, dec, ym)[:, -H:, :]
    loss = torch.nn.functional.mse_loss(y, t["target"])
    loss.backward()
    yref = y.detach()
    y_rel = float((yref - t["y"]).abs().max() / yref.abs().max())
    grads = {k: p.grad for k, p in model.named_parameters() if p.grad is not None}
    gall = max(float(g.abs().max()) for g in grads.values())
    worst, wname = 0.0, "-"
    for k, g in grads.items():
        ours = t["grad." + k].reshape(g.shape)
        d = float((ours - g).abs().max()) / max(float(g.abs().max()), 1e-2 * gall)
        if d > worst:
            worst, wname = d, k
    print("%s\tH%d\t%s\ty_rel %.3g\tgrad_worst %.3g\t%s" % (name, H, json.dumps(cfg, separators=(",", ":")),
                                                          y_rel, worst, wname))
    sys.exit(0 if y_rel <= 1e-4 and worst <= 1e-3 else 1)


if __name__ == "__main__":
    main()

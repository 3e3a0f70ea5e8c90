#!/usr/bin/python3
"""ts_fit_torch.py - the peer for tests/bench/ts_fit.sh: fit a
Time-Series-Library model in PyTorch (CPU) on the long-term protocol, as
TSLib's exp/exp_long_term_forecasting.py does (Adam, MSE, lradj type1,
early stopping on the validation MSE with patience 3, best checkpoint
reloaded), and score every test window (drop_last False).

usage: ts_fit_torch.py TSLIB_DIR DATA.csv MODEL HORIZON [EPOCHS] [THREADS] [key=value ...]
Prints one TSV line: torch  model  data  seq_len  horizon  mse  mae  fit_seconds
The TSLib checkout is imported from TSLIB_DIR (nothing of it is copied).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import tslib_import  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


def main():
    tslib, data, model_name, horizon = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    epochs = int(sys.argv[5]) if len(sys.argv) > 5 else 10
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    extra = dict(kv.split("=", 1) for kv in sys.argv[7:])
    torch.set_num_threads(threads)
    torch.manual_seed(2021)
    np.random.seed(2021)
    tslib_import.setup(tslib)
    from data_provider.data_loader import Dataset_ETT_hour, Dataset_ETT_minute, Dataset_Custom
    import importlib
    mod = importlib.import_module("models." + model_name)

    base = os.path.basename(data)
    kw = dict(seq_len=96, label_len=48, pred_len=horizon, d_model=512, n_heads=8, e_layers=2, d_layers=1,
              d_ff=2048, dropout=0.1, factor=1, embed="timeF", freq="h", activation="gelu", use_norm=1,
              output_attention=False, batch_size=32, learning_rate=1e-4, patience=3)
    for k, v in extra.items():
        kw[k] = type(kw.get(k, 0.0))(float(v)) if k in kw and not isinstance(kw[k], str) else v
    loader = Dataset_Custom
    if base.startswith("ETTh"):
        loader = Dataset_ETT_hour
    elif base.startswith("ETTm"):
        loader = Dataset_ETT_minute
    import pandas as pd
    n_vars = pd.read_csv(data, nrows=1).shape[1] - 1
    args = tslib_import.Args(enc_in=n_vars, dec_in=n_vars, c_out=n_vars, **kw)
    size = [args.seq_len, args.label_len, args.pred_len]
    root, fname = os.path.dirname(os.path.abspath(data)), base
    sets = {f: loader(args, root, flag=f, size=size, features="M", data_path=fname, target="OT",
                      timeenc=1, freq="h") for f in ("train", "val", "test")}
    dl = {f: torch.utils.data.DataLoader(sets[f], batch_size=args.batch_size, shuffle=(f != "test"),
                                         drop_last=False) for f in sets}
    model = mod.Model(args).float()
    opt = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    crit = torch.nn.MSELoss()

    def run(batch, train):
        bx, by, bxm, bym = [t.float() for t in batch]
        dec = torch.cat([by[:, :args.label_len, :], torch.zeros_like(by[:, -args.pred_len:, :])], dim=1)
        out = model(bx, bxm, dec, bym)[:, -args.pred_len:, :]
        return out, by[:, -args.pred_len:, :]

    t0 = time.time()
    best, best_state, counter = None, None, 0
    for epoch in range(epochs):
        model.train()
        for batch in dl["train"]:
            opt.zero_grad()
            out, y = run(batch, True)
            loss = crit(out, y)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            losses = [crit(*run(b, False)).item() for b in dl["val"]]
        val = float(np.average(losses))
        if best is None or val < best:
            best, counter = val, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            counter += 1
            if counter >= args.patience:
                break
        for g in opt.param_groups:
            g["lr"] = args.learning_rate * (0.5 ** epoch)  # adjust_learning_rate(epoch + 1), type1
    fit_s = time.time() - t0
    model.load_state_dict(best_state)
    model.eval()
    se = ae = n = 0.0
    with torch.no_grad():
        for b in dl["test"]:
            out, y = run(b, False)
            se += ((out - y) ** 2).sum().item()
            ae += (out - y).abs().sum().item()
            n += y.numel()
    print("torch\t%s\t%s\t%d\t%d\t%.6f\t%.6f\t%.2f" % (model_name, data, args.seq_len, horizon, se / n, ae / n, fit_s))


if __name__ == "__main__":
    main()
